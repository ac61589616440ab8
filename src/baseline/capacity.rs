//! Storage of capacities: `baselines/<name>[.<profile>].capacity.json`, beside the baseline.

use std::path::{Path, PathBuf};

use crate::baseline::BaselineError;
use crate::fsutil::write_atomic;
use crate::result::capacity::{Capacity, CAPACITY_SCHEMA_VERSION};

/// Where the capacity of `baseline_name` (`<name>` or `<name>.<profile>`) lives in `dir`.
pub fn path_for(dir: &Path, baseline_name: &str) -> PathBuf {
    dir.join(format!("{baseline_name}.capacity.json"))
}

/// Reads a capacity; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Capacity>, BaselineError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let corrupt = |problem: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        problem,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not valid JSON ({e})")))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == CAPACITY_SCHEMA_VERSION as u64 => {}
        Some(v) => {
            return Err(BaselineError::Version {
                path: path.to_path_buf(),
                found: v,
            })
        }
        None => return Err(corrupt("it has no `schema_version`".to_string())),
    }
    let c: Capacity = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    if c.capacity_rps == 0 || c.broke_at_rps < c.capacity_rps {
        return Err(corrupt(
            "its capacity is 0 or above the rate that broke: the file was edited or damaged"
                .to_string(),
        ));
    }
    Ok(Some(c))
}

/// Writes a capacity atomically.
pub fn save(path: &Path, c: &Capacity) -> Result<(), BaselineError> {
    let mut json =
        serde_json::to_vec_pretty(c).map_err(|e| BaselineError::Encode(e.to_string()))?;
    json.push(b'\n');
    write_atomic(path, &json)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_a_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "demo.nightly");
        assert!(path.ends_with("demo.nightly.capacity.json"));
        assert_eq!(load(&path).unwrap(), None);
        let c = Capacity {
            schema_version: CAPACITY_SCHEMA_VERSION,
            scenario_name: "demo".into(),
            profile: Some("nightly".into()),
            scenario_hash: "ab".into(),
            capacity_rps: 190,
            broke_at_rps: 201,
            resolution_rps: 11,
            step_duration_ms: 1000,
            tool_version: "t".into(),
            git_commit: None,
            host: crate::result::testing::result().meta.host,
            recorded_at: "2026-12-01T00:00:00Z".into(),
        };
        save(&path, &c).unwrap();
        assert_eq!(load(&path).unwrap(), Some(c));
        std::fs::write(&path, b"{\"schema_version\": 1, \"capacity_rps\": 0}").unwrap();
        assert!(load(&path).is_err());
    }
}

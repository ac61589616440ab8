//! Storage of capacities: `baselines/<name>[.<profile>].capacity.json`, beside the baseline.

use std::path::{Path, PathBuf};

use crate::baseline::side;
use crate::baseline::BaselineError;
use crate::result::capacity::{Capacity, CAPACITY_SCHEMA_VERSION};

/// How to replace a damaged or outdated capacity.
const FIX: &str = "re-record it with `loadgate stress SCENARIO --record`";

/// Where the capacity of `baseline_name` (`<name>` or `<name>.<profile>`) lives in `dir`.
pub fn path_for(dir: &Path, baseline_name: &str) -> PathBuf {
    dir.join(format!("{baseline_name}.capacity.json"))
}

/// Reads a capacity; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Capacity>, BaselineError> {
    let Some(c) = side::load::<Capacity>(path, CAPACITY_SCHEMA_VERSION, FIX)? else {
        return Ok(None);
    };
    if c.capacity_rps == 0 || c.broke_at_rps < c.capacity_rps {
        return Err(side::corrupt(
            path,
            "its capacity is 0 or above the rate that broke: the file was edited or damaged"
                .to_string(),
            FIX,
        ));
    }
    Ok(Some(c))
}

/// Writes a capacity atomically.
pub fn save(path: &Path, c: &Capacity) -> Result<(), BaselineError> {
    side::save(path, c)
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

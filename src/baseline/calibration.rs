//! Storage of calibrations: `baselines/<scenario>.calibration.json`, beside the baseline.

use std::path::{Path, PathBuf};

use crate::baseline::BaselineError;
use crate::fsutil::write_atomic;
use crate::result::calibration::{Calibration, CALIBRATION_SCHEMA_VERSION};

/// Where the calibration of `scenario_name` lives in `dir`.
pub fn path_for(dir: &Path, scenario_name: &str) -> PathBuf {
    dir.join(format!("{scenario_name}.calibration.json"))
}

/// Reads a calibration; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Calibration>, BaselineError> {
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
        Some(v) if v == CALIBRATION_SCHEMA_VERSION as u64 => {}
        Some(v) => {
            return Err(BaselineError::Version {
                path: path.to_path_buf(),
                found: v,
            })
        }
        None => return Err(corrupt("it has no `schema_version`".to_string())),
    }
    let c: Calibration = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    if c.tau.values().any(|t| !t.is_finite() || *t < 0.0) {
        return Err(corrupt(
            "a noise value is negative or not finite".to_string(),
        ));
    }
    Ok(Some(c))
}

/// Writes a calibration atomically.
pub fn save(path: &Path, c: &Calibration) -> Result<(), BaselineError> {
    let mut json =
        serde_json::to_vec_pretty(c).map_err(|e| BaselineError::Encode(e.to_string()))?;
    json.push(b'\n');
    write_atomic(path, &json)?;
    Ok(())
}

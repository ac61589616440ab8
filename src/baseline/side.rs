//! Files stored beside a baseline (`<name>.calibration.json`, `<name>.capacity.json`): versioned
//! JSON, read leniently when absent and strictly when present, written atomically.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::baseline::BaselineError;
use crate::fsutil::write_atomic;

/// Reads a side file of format `version`; `Ok(None)` when there is none. Whatever the type checks
/// beyond its shape is the caller's. `fix` says how to make a good file: the command that writes
/// this kind (a calibration is not re-made by `loadgate record`).
pub fn load<T: DeserializeOwned>(
    path: &Path,
    version: u32,
    fix: &'static str,
) -> Result<Option<T>, BaselineError> {
    let bytes = match crate::fsutil::read_limited(path, crate::fsutil::limits::RESULT) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(path, format!("not valid JSON ({e})"), fix))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(version) => {}
        Some(v) => {
            return Err(corrupt(
                path,
                format!("it has schema_version {v}, this loadgate reads {version}"),
                fix,
            ))
        }
        None => return Err(corrupt(path, "it has no `schema_version`".to_string(), fix)),
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| corrupt(path, e.to_string(), fix))
}

/// A side file that parsed but cannot be right.
pub fn corrupt(path: &Path, problem: String, fix: &'static str) -> BaselineError {
    BaselineError::Side {
        path: path.to_path_buf(),
        problem,
        fix,
    }
}

/// Writes a side file atomically (pretty JSON, final newline).
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), BaselineError> {
    let mut json =
        serde_json::to_vec_pretty(value).map_err(|e| BaselineError::Encode(e.to_string()))?;
    json.push(b'\n');
    write_atomic(path, &json)?;
    Ok(())
}

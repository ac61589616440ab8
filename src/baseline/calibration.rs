//! Storage of calibrations: `baselines/<scenario>.calibration.json`, beside the baseline.

use std::path::{Path, PathBuf};

use crate::baseline::side;
use crate::baseline::BaselineError;
use crate::result::calibration::{Calibration, CALIBRATION_SCHEMA_VERSION};

/// How to replace a damaged or outdated calibration.
const FIX: &str = "re-measure it with `loadgate calibrate SCENARIO` (or delete it to use the uncalibrated defaults)";

/// Where the calibration of `scenario_name` lives in `dir`.
pub fn path_for(dir: &Path, scenario_name: &str) -> PathBuf {
    dir.join(format!("{scenario_name}.calibration.json"))
}

/// Reads a calibration; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Calibration>, BaselineError> {
    let Some(c) = side::load::<Calibration>(path, CALIBRATION_SCHEMA_VERSION, FIX)? else {
        return Ok(None);
    };
    if c.tau.values().any(|t| !t.is_finite() || *t < 0.0) {
        return Err(side::corrupt(
            path,
            "a noise value is negative or not finite".to_string(),
            FIX,
        ));
    }
    Ok(Some(c))
}

/// Writes a calibration atomically.
pub fn save(path: &Path, c: &Calibration) -> Result<(), BaselineError> {
    side::save(path, c)
}

//! `--history DIR` for the commands that measure: the scenario's folder is prepared before any
//! load, and a complete run is appended after it.

use std::path::Path;

use crate::error::Error;
use crate::history;
use crate::result::RunResult;

/// `--history DIR` preflight: the scenario's folder exists (created) and takes a new file.
pub fn preflight(dir: Option<&Path>, scenario: &str) -> Result<(), Error> {
    if let Some(dir) = dir {
        history::store::prepare(dir, scenario)?;
    }
    Ok(())
}

/// `--history DIR` after a complete run: appends the result and says where.
pub fn append(dir: Option<&Path>, result: &RunResult) -> Result<(), Error> {
    if let Some(dir) = dir {
        let path = history::append(dir, result)?;
        eprintln!("loadgate: appended the run to history: {}", path.display());
    }
    Ok(())
}

//! Storage of reference runs: `baselines/<scenario>.json`, one self-describing RunResult per scenario.
//!
//! Loading checks the schema version, completeness and that the baseline belongs to the scenario;
//! saving is atomic. A failed run never reaches [`save`].

pub mod calibration;
pub mod capacity;
pub mod consistency;
pub mod side;

use std::path::{Path, PathBuf};

use crate::fsutil::{write_atomic, WriteError};
use crate::result::{RunResult, RESULT_SCHEMA_VERSION};
use crate::scenario::Scenario;

/// Default folder of baselines, relative to the working directory.
pub const DEFAULT_DIR: &str = "baselines";

/// Where the baseline of `scenario_name` lives in `dir`.
pub fn path_for(dir: &Path, scenario_name: &str) -> PathBuf {
    dir.join(format!("{scenario_name}.json"))
}

/// Reads and checks a result file named on the command line (`compare`, `report`): a missing file
/// is "no result", not "no baseline", and the fix says how to write one.
pub fn load_result(path: &Path) -> Result<RunResult, BaselineError> {
    load(path).map_err(|e| match e {
        BaselineError::Missing { path } => BaselineError::NotFound {
            path,
            what: "result",
            fix: "write one with `loadgate run SCENARIO --out FILE` (or `gate --out FILE`)",
        },
        other => other,
    })
}

/// Reads and checks a stored result (a baseline or a `--out` file).
pub fn load(path: &Path) -> Result<RunResult, BaselineError> {
    let bytes =
        crate::fsutil::read_limited(path, crate::fsutil::limits::RESULT).map_err(|source| {
            match source.kind() {
                std::io::ErrorKind::NotFound => BaselineError::Missing {
                    path: path.to_path_buf(),
                },
                _ => BaselineError::Read {
                    path: path.to_path_buf(),
                    source,
                },
            }
        })?;
    parse(path, &bytes)
}

/// Parses and checks stored result bytes; `path` is for messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<RunResult, BaselineError> {
    let corrupt = |problem: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        problem,
    };
    // Read the version first, so an old or future file gets a precise message instead of a field error.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        corrupt(if e.is_eof() {
            format!("the file is truncated ({e})")
        } else {
            format!("not valid JSON ({e})")
        })
    })?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == RESULT_SCHEMA_VERSION as u64 => {}
        Some(v) => {
            return Err(BaselineError::Version {
                path: path.to_path_buf(),
                found: v,
            })
        }
        // Present but not a whole number (`"1"`, `1.0`): say so, rather than that it is missing.
        None if value.get("schema_version").is_some() => {
            return Err(corrupt(
                "`schema_version` is not a whole number; write `\"schema_version\": 1`".to_string(),
            ))
        }
        None => {
            return Err(corrupt(
                "it has no `schema_version`: not a loadgate result".to_string(),
            ))
        }
    }
    // Parsed again from the bytes (not the value) so the error has a line: quoting that line names
    // the key, e.g. `"requests": -5`, where a bare "expected u64" would leave the user searching.
    let result: RunResult =
        serde_json::from_slice(bytes).map_err(|e| corrupt(with_line(bytes, &e)))?;
    consistency::check(&result)
        .map_err(|p| corrupt(format!("{p}: the file was edited or damaged")))?;
    Ok(result)
}

/// The serde error, with the line it points at quoted (when it points at one).
fn with_line(bytes: &[u8], e: &serde_json::Error) -> String {
    let line = String::from_utf8_lossy(bytes)
        .lines()
        .nth(e.line().saturating_sub(1))
        .map(|l| l.trim().trim_end_matches(',').to_string())
        // A closing `}` (where "missing field" points) names nothing: quote only a line with a key.
        .filter(|l| e.line() > 0 && l.contains(':') && l.len() <= 200);
    match line {
        Some(l) => format!("{e}: `{l}`"),
        None => e.to_string(),
    }
}

/// Checks that `baseline` (read from `path`) was recorded for `scenario` as it is now.
pub fn check_matches(
    baseline: &RunResult,
    path: &Path,
    scenario: &Scenario,
) -> Result<(), BaselineError> {
    if baseline.meta.scenario_name != scenario.name {
        return Err(BaselineError::OtherScenario {
            path: path.to_path_buf(),
            scenario: scenario.path.clone(),
            recorded_for: baseline.meta.scenario_name.clone(),
            name: scenario.name.clone(),
        });
    }
    if baseline.meta.scenario_hash != scenario.hash {
        return Err(BaselineError::ScenarioChanged {
            path: path.to_path_buf(),
            scenario: scenario.path.clone(),
            recorded_for: baseline.meta.scenario_name.clone(),
        });
    }
    Ok(())
}

/// Checks that a stored result (`gate --result`) can be judged against `baseline` for `scenario`:
/// the same scenario and version of it, the same window width (the noise guard's unit), and a
/// whole run rather than one shard of it.
pub fn check_stored(
    run: &RunResult,
    path: &Path,
    baseline: &RunResult,
    baseline_path: &Path,
    scenario: &Scenario,
) -> Result<(), BaselineError> {
    let refuse = |problem: String| BaselineError::StoredResult {
        path: path.to_path_buf(),
        problem,
    };
    let m = &run.meta;
    if m.scenario_name != scenario.name {
        return Err(refuse(format!(
            "it was measured for scenario `{}`, not `{}` ({}); pass the result of a run of {}",
            m.scenario_name,
            scenario.name,
            scenario.path.display(),
            scenario.path.display()
        )));
    }
    if m.scenario_hash != scenario.hash {
        return Err(refuse(format!(
            "it was measured with another version of scenario `{}` ({}) than the one given; run the current scenario again",
            scenario.name,
            scenario.path.display()
        )));
    }
    let (w, bw) = (m.load.window_ms, baseline.meta.load.window_ms);
    if w != bw {
        return Err(refuse(format!(
            "its windows are {w} ms wide and those of baseline {} are {bw} ms; the noise guard compares windows of one width, so measure both with the same `load.window`",
            baseline_path.display()
        )));
    }
    if let Some(shard) = m.shard {
        return Err(refuse(format!(
            "it is shard {shard} of a sharded run and carries about 1/{} of its load; merge the shards first (`loadgate merge`) and gate the merged result",
            shard.count
        )));
    }
    Ok(())
}

/// Writes `result` as the baseline at `path`, atomically.
pub fn save(path: &Path, result: &RunResult) -> Result<(), BaselineError> {
    let mut json =
        serde_json::to_vec_pretty(result).map_err(|e| BaselineError::Encode(e.to_string()))?;
    json.push(b'\n');
    write_atomic(path, &json)?;
    Ok(())
}

/// A listed file and what loading it gave.
pub type Listed = (PathBuf, Result<RunResult, BaselineError>);

/// Every `*.json` file in `dir`, sorted, each loaded (or its error).
pub fn list(dir: &Path) -> Result<Vec<Listed>, BaselineError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BaselineError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| !p.to_string_lossy().ends_with(".calibration.json"))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|p| {
            let r = load(&p);
            (p, r)
        })
        .collect())
}

/// A baseline or result file cannot be used. Messages name the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// No file.
    #[error("no baseline at {}; record one with `loadgate record SCENARIO` (or pass `--baseline FILE`)", path.display())]
    Missing {
        /// Expected path.
        path: PathBuf,
    },
    /// A file named on the command line that is not a baseline does not exist.
    #[error("no {what} at {}; {fix}", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
        /// What it should hold: "result", "calibration".
        what: &'static str,
        /// How to make one.
        fix: &'static str,
    },
    /// A file stored beside a baseline (calibration, capacity) cannot be used.
    #[error("{} cannot be used: {problem}; {fix}", path.display())]
    Side {
        /// File.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// How to make a good one, e.g. "re-measure it with `loadgate calibrate`".
        fix: &'static str,
    },
    /// Unreadable.
    #[error("cannot read {}: {source}; check that it is a readable file", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Damaged, truncated or not a loadgate result.
    #[error("{} is not a usable loadgate result: {problem}; restore it from version control or re-record it with `loadgate record`", path.display())]
    Corrupt {
        /// File.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Written by another format version.
    #[error("{} has schema_version {found}, this loadgate reads {RESULT_SCHEMA_VERSION}; re-record it with `loadgate record`", path.display())]
    Version {
        /// File.
        path: PathBuf,
        /// Version in the file.
        found: u64,
    },
    /// The scenario's requests or load changed since the baseline was recorded.
    #[error("baseline {} was recorded for a different version of scenario `{recorded_for}` (its requests or [load] changed since); comparing would be meaningless: re-record it with `loadgate record {}`", path.display(), scenario.display())]
    ScenarioChanged {
        /// Baseline file.
        path: PathBuf,
        /// Scenario file.
        scenario: PathBuf,
        /// Scenario name stored in the baseline.
        recorded_for: String,
    },
    /// The baseline belongs to another scenario (a wrong `--baseline`).
    #[error("baseline {} was recorded for scenario `{recorded_for}`, not `{name}`; pass the baseline of `{name}`, or record one with `loadgate record {}`", path.display(), scenario.display())]
    OtherScenario {
        /// Baseline file.
        path: PathBuf,
        /// Scenario file.
        scenario: PathBuf,
        /// Scenario name stored in the baseline.
        recorded_for: String,
        /// Name of the scenario being run.
        name: String,
    },
    /// A stored result cannot be gated against this baseline and scenario (`gate --result`).
    #[error("cannot gate the stored result {}: {problem}", path.display())]
    StoredResult {
        /// The result file.
        path: PathBuf,
        /// What does not match, naming both sides, and the fix.
        problem: String,
    },
    /// Serialization failed.
    #[error("cannot encode the result: {0}; this is a bug in loadgate, please report it")]
    Encode(String),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

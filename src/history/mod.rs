//! Nightly history: an append-only folder of past runs, their trends and change points.
//!
//! Sits beside `baseline` after `compare`: it stores [`RunResult`]s (`history/<scenario>/<time>-<commit>.json`,
//! each a plain result file, never rewritten), reads them back in time order, prunes them only when
//! the user asks, and turns them into per-metric [`Trend`]s with their change points. It imports
//! `result` (the data), `baseline` (the result-file loader), `stats` (the change-point tests and the
//! median) and `scenario::units` (durations); `report` renders what it produces. It never
//! prints: warnings and removals are returned for the command to show.

pub mod changepoint;
pub mod retention;
pub mod store;
pub mod trend;

use std::path::PathBuf;

use serde::Serialize;

pub use store::{append, load, scenarios, Loaded, Skipped};
pub use trend::{trends, trends_with, value_of, Summary};

use crate::result::metric::Metric;
use crate::result::RunResult;

/// Default folder of the history, relative to the working directory (docs/nightly.md).
pub const DEFAULT_DIR: &str = "history";

/// The metrics `loadgate history` shows unless `--metric` is given: latency, throughput, errors and
/// memory (CPU and max are too noisy run to run to trend usefully).
pub const DEFAULT_METRICS: [Metric; 8] = [
    Metric::P50,
    Metric::P95,
    Metric::P99,
    Metric::Mean,
    Metric::Throughput,
    Metric::ErrorRate,
    Metric::PeakRss,
    Metric::RssGrowth,
];

/// One metric over the history of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// Metric name (`p95`, `throughput`, ...).
    pub metric: String,
    /// Unit of the values (`micros`, `per_second`, `fraction`, `bytes`, `bytes_per_minute`, `cpu_percent`).
    pub unit: String,
    /// The runs that have a value for the metric, oldest first.
    pub points: Vec<TrendPoint>,
    /// Where the metric moved to a new level; `index` points into `points`.
    pub change_points: Vec<ChangePoint>,
}

/// One run's value of a metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// Start of the run's measured window (RFC 3339, UTC).
    pub started_at: String,
    /// Commit of the code under test, when known.
    pub git_commit: Option<String>,
    /// The metric's value, in the trend's unit.
    pub value: f64,
}

/// A change of level in a trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangePoint {
    /// Index in `Trend::points` of the first run at the new level.
    pub index: usize,
    /// Mean of the runs since the previous change point (or the first run), up to `index`.
    pub before: f64,
    /// Mean of the runs from `index` to the next change point (or the last run).
    pub after: f64,
    /// Relative change in the metric's bad direction: positive is worse (latency or errors up,
    /// throughput down), negative is better; infinite (`null` in JSON) when `before` is 0.
    pub change: f64,
}

/// What went wrong with the history folder; every message names the path and the fix.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The history folder does not exist.
    #[error("history folder {} does not exist; append runs to it with `loadgate run SCENARIO --history {}` (or `gate --history`), or pass the right `--dir`", path.display(), path.display())]
    MissingDir {
        /// The folder.
        path: PathBuf,
    },
    /// A named scenario has no history.
    #[error("no history for scenario `{name}` in {}{}; append runs with `--history {}`", dir.display(), known_list(known), dir.display())]
    NoScenario {
        /// The folder.
        dir: PathBuf,
        /// The scenario asked for.
        name: String,
        /// Scenarios that do have a history.
        known: Vec<String>,
    },
    /// A named scenario's folder holds no readable run.
    #[error("no readable run in {}{}; append runs with `--history`", folder.display(), if *skipped > 0 { format!(" ({skipped} file(s) skipped: see the warnings above)") } else { String::new() })]
    NoRuns {
        /// The scenario's folder.
        folder: PathBuf,
        /// Files skipped as unreadable.
        skipped: usize,
    },
    /// A scenario name that cannot be a folder name.
    #[error("scenario name `{name}` cannot name a history folder; use letters, digits, `-`, `_` and `.` (not first)")]
    BadName {
        /// The name.
        name: String,
    },
    /// A folder or file could not be read.
    #[error("cannot read {}: {source}; check that it exists and is readable", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A history file could not be written; nothing was stored.
    #[error("cannot append to history {}: {source}; {}; nothing was stored", path.display(), crate::fsutil::fix(path, source))]
    Write {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A history file could not be pruned.
    #[error("cannot remove {} while pruning: {source}; check the folder's permissions", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The result could not be encoded.
    #[error("cannot encode the result for the history: {0}; this is a bug in loadgate, please report it")]
    Encode(String),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (it holds no scenario's runs yet)".to_string()
    } else {
        format!(" (it has: {})", known.join(", "))
    }
}

/// The history of one scenario, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioHistory {
    /// Scenario name (the folder's name).
    pub scenario: String,
    /// Runs read (after `--last`).
    pub runs: usize,
    /// Files that were not read, and why.
    pub skipped: Vec<Skipped>,
    /// One trend per requested metric that has at least one value.
    pub trends: Vec<Trend>,
}

/// Builds the history view of `entries` (oldest first) for `metrics`.
pub fn scenario_history(
    scenario: &str,
    entries: &[RunResult],
    skipped: Vec<Skipped>,
    metrics: &[Metric],
) -> ScenarioHistory {
    ScenarioHistory {
        scenario: scenario.to_string(),
        runs: entries.len(),
        skipped,
        trends: trends(entries, metrics),
    }
}

//! The history of nightly runs: `--history DIR` for the commands that measure (the scenario's
//! folder prepared before any load, a complete run appended after it), and `loadgate history`
//! (read, prune, show trends and change points).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::exit;
use crate::history::retention::{self, Retention};
use crate::history::{self, HistoryError};
use crate::report::history::HistoryReport;
use crate::report::{export, Format, Options, View};
use crate::result::metric::Metric;
use crate::result::RunResult;

/// What `loadgate history` shows, and the pruning it does first.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The history folder.
    pub dir: PathBuf,
    /// Scenarios to show; all of them when empty.
    pub scenarios: Vec<String>,
    /// Metrics to show.
    pub metrics: Vec<Metric>,
    /// Only the most recent N runs.
    pub last: Option<usize>,
    /// Output format.
    pub format: Format,
    /// What to delete first.
    pub retention: Retention,
}

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

/// Reads the history folder, prunes it when asked, and shows each scenario's trends and change
/// points; returns the exit code.
pub fn show(shown_flags: Shown) -> Result<u8, Error> {
    let Shown {
        dir,
        scenarios,
        metrics,
        last,
        format,
        retention,
    } = shown_flags;
    let known = history::scenarios(&dir)?;
    let named = !scenarios.is_empty();
    let names = if named { scenarios } else { known };
    let now = chrono::Utc::now();
    let mut err = std::io::stderr().lock();
    let mut shown = Vec::with_capacity(names.len());
    for name in &names {
        let mut loaded = history::load(&dir, name)?;
        for s in &loaded.skipped {
            // A warning that cannot reach stderr has nowhere else to go.
            let _ = writeln!(
                err,
                "warning: skipped {}: {}; the file is left as it is",
                s.file.display(),
                s.problem
            );
        }
        if retention != Retention::default() {
            for r in retention::prune(&mut loaded, &retention, now)? {
                let _ = writeln!(err, "loadgate: removed {} ({})", r.path.display(), r.why);
            }
        }
        if named && loaded.entries.is_empty() {
            return Err(HistoryError::NoRuns {
                folder: history::store::folder(&dir, name)?,
                skipped: loaded.skipped.len(),
            }
            .into());
        }
        let from = last.map_or(0, |n| loaded.entries.len().saturating_sub(n));
        let entries: Vec<RunResult> = loaded.entries.drain(from..).map(|e| e.result).collect();
        shown.push(history::scenario_history(
            name,
            &entries,
            loaded.skipped,
            &metrics,
        ));
    }
    let report = HistoryReport {
        dir: &dir,
        scenarios: &shown,
    };
    crate::pipeline::outputs::print(&export(
        &View::History(&report),
        format,
        &Options::default(),
    )?)?;
    Ok(exit::PASS)
}

//! `loadgate history`: read the history folder, prune it when asked, show each scenario's trends and
//! change points.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::HistoryArgs;
use crate::cli::HistoryFormat;
use crate::error::Error;
use crate::exit;
use crate::history::retention::{self, Retention};
use crate::history::{self, HistoryError};
use crate::report::history::HistoryReport;
use crate::report::{export, Options, View};
use crate::result::metric::Metric;
use crate::result::RunResult;
use crate::scenario::units::parse_duration;

/// Validated `history` flags.
struct HistoryOptions {
    dir: PathBuf,
    scenarios: Vec<String>,
    metrics: Vec<Metric>,
    last: Option<usize>,
    format: HistoryFormat,
    retention: Retention,
}

impl TryFrom<HistoryArgs> for HistoryOptions {
    type Error = Error;
    fn try_from(a: HistoryArgs) -> Result<Self, Error> {
        let HistoryArgs {
            scenarios,
            dir,
            metrics,
            last,
            format,
            keep,
            max_age,
        } = a;
        let max_age: Option<Duration> = max_age
            .map(|text| {
                parse_duration(&text).map_err(|e| Error::Flag {
                    flag: "--max-age",
                    problem: format!("{e}; e.g. --max-age 90d or --max-age 2w"),
                })
            })
            .transpose()?;
        let mut metrics = if metrics.is_empty() {
            history::DEFAULT_METRICS.to_vec()
        } else {
            metrics
        };
        let mut seen = std::collections::BTreeSet::new();
        metrics.retain(|m| seen.insert(*m));
        Ok(Self {
            dir,
            scenarios,
            metrics,
            last: last.map(|n| n as usize),
            format,
            retention: Retention {
                keep: keep.map(|n| n as usize),
                max_age,
            },
        })
    }
}

pub fn run(args: HistoryArgs) -> Result<u8, Error> {
    let HistoryOptions {
        dir,
        scenarios,
        metrics,
        last,
        format,
        retention,
    } = HistoryOptions::try_from(args)?;
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
        format.format(),
        &Options::default(),
    )?)?;
    Ok(exit::PASS)
}

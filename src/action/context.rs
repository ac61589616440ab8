//! What every action reads: the verdict, the rendered reports, the files written and the worst
//! regressions. Built once after the verdict, from the [`Report`]; owned, so actions can run as
//! independent tasks. Nothing here judges anything: the worst rows are the verdict's own reasons,
//! in its order.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::compare::Status;
use crate::report::junit::JunitError;
use crate::report::{self, Judged, Report};
use crate::result::RunResult;
use crate::verdict::Outcome;

/// How many of the verdict's reasons travel as "worst regressions" (hook environment, chat
/// messages, step outputs): enough to act on, short enough for a chat line.
pub const WORST_MAX: usize = 5;

/// One of the verdict's reasons, with the change of its row when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Worst {
    /// Request name, `None` for all requests together.
    pub request: Option<String>,
    /// Metric name (or `gate`/`run` for a verdict-level reason).
    pub metric: String,
    /// Status of the reason.
    pub status: Status,
    /// Relative change of the row, when computable.
    pub change: Option<f64>,
    /// The verdict's explanation.
    pub message: String,
}

impl fmt::Display for Worst {
    /// `all p95 +43.2%`, or `all gate (incomplete)` when there is no change to show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = self.request.as_deref().unwrap_or("all");
        match self.change {
            Some(c) => write!(f, "{scope} {} {}", self.metric, report::change(Some(c))),
            None => write!(f, "{scope} {} ({})", self.metric, self.status.name()),
        }
    }
}

/// Everything an action may use. Built by [`ActionContext::new`] from the judged report.
#[derive(Debug, Clone)]
pub struct ActionContext {
    /// Scenario name.
    pub scenario: String,
    /// The verdict.
    pub outcome: Outcome,
    /// The exit code the gate will return (decided from the verdict before any action runs).
    pub exit_code: u8,
    /// The Markdown report (PR comment, job summary).
    pub markdown: String,
    /// The JUnit XML report, or why it could not be rendered.
    pub junit: Result<String, Arc<JunitError>>,
    /// The JSON report, when one was written (`--format json --output FILE`).
    pub report_json: Option<PathBuf>,
    /// The full result, when one was written (`--out FILE`).
    pub result_json: Option<PathBuf>,
    /// The verdict's reasons that are critical, incomplete or warn, worst first, at most [`WORST_MAX`].
    pub worst: Vec<Worst>,
    /// Reasons per status: (critical, warn, incomplete).
    pub counts: Counts,
}

/// How many of the verdict's reasons have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Critical reasons.
    pub critical: usize,
    /// Warnings.
    pub warn: usize,
    /// Metrics (or the run) that could not be judged.
    pub incomplete: usize,
}

/// The files a gate wrote, for the hook and the notifications.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// JSON report.
    pub report_json: Option<PathBuf>,
    /// Full result.
    pub result_json: Option<PathBuf>,
}

impl ActionContext {
    /// Renders the reports the actions need and collects the worst rows, from the judged run.
    /// `options.warn_fails` is `--fail-on warn` (a warning is then a JUnit failure, as it fails the
    /// build); `options.report_url` links the Markdown report to the published HTML one.
    pub fn new(
        run: &RunResult,
        judged: Judged<'_>,
        exit_code: u8,
        options: &report::Options,
        files: Files,
    ) -> Self {
        let report = Report {
            run,
            judged: Some(judged),
        };
        let verdict = judged.verdict;
        let worst: Vec<Worst> = verdict
            .reasons
            .iter()
            .filter(|r| {
                matches!(
                    r.status,
                    Status::Critical | Status::Incomplete | Status::Warn
                )
            })
            .take(WORST_MAX)
            .map(|r| Worst {
                request: r.request.clone(),
                metric: r.metric.to_string(),
                status: r.status,
                change: judged
                    .comparison
                    .rows
                    .iter()
                    .find(|row| r.is_about(row))
                    .and_then(|row| row.change)
                    .filter(|c| c.is_finite()),
                message: r.message.clone(),
            })
            .collect();
        let count = |s: Status| verdict.reasons.iter().filter(|r| r.status == s).count();
        Self {
            scenario: run.meta.scenario_name.clone(),
            outcome: verdict.outcome,
            exit_code,
            markdown: report::markdown::render(&report, options.report_url.as_deref()),
            junit: report::junit::render(&report, options.warn_fails).map_err(Arc::new),
            report_json: files.report_json.map(absolute),
            result_json: files.result_json.map(absolute),
            worst,
            counts: Counts {
                critical: count(Status::Critical),
                warn: count(Status::Warn),
                incomplete: count(Status::Incomplete),
            },
        }
    }

    /// The worst rows on one line: `all p95 +43.2%; all mean +39.0%`.
    pub fn worst_line(&self) -> String {
        self.worst
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `path` made absolute against the working directory, so a hook that changes directory still finds
/// the file; left as is if the working directory is unknown.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A context for unit tests of the actions.
    pub(crate) fn context(outcome: Outcome) -> ActionContext {
        ActionContext {
            scenario: "checkout".to_string(),
            outcome,
            exit_code: if outcome == Outcome::Critical { 1 } else { 0 },
            markdown: "### loadgate: ❌ critical — `checkout`\n".to_string(),
            junit: Ok("<testsuites/>".to_string()),
            report_json: Some(PathBuf::from("/tmp/report.json")),
            result_json: None,
            worst: vec![
                Worst {
                    request: None,
                    metric: "p95".to_string(),
                    status: Status::Critical,
                    change: Some(0.432),
                    message: "p95 +43.2%".to_string(),
                },
                Worst {
                    request: Some("search".to_string()),
                    metric: "error_rate".to_string(),
                    status: Status::Incomplete,
                    change: None,
                    message: "no data".to_string(),
                },
            ],
            counts: Counts {
                critical: 1,
                warn: 0,
                incomplete: 1,
            },
        }
    }

    #[test]
    fn worst_rows_read_as_one_line() {
        assert_eq!(
            context(Outcome::Critical).worst_line(),
            "all p95 +43.2%; search error_rate (incomplete)"
        );
    }
}

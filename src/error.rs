//! The crate's error: one variant per stage's error, plus the command-level refusals. Every message
//! says what is wrong and how to fix it; `main` prints the chain and exits with [`crate::exit::ERROR`].

use std::path::PathBuf;

use crate::baseline::BaselineError;
use crate::fsutil::WriteError;
use crate::load::LoadError;
use crate::scenario::ScenarioError;

/// Anything that stops loadgate from doing its job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Scenario file.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Baseline or result file.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// Load stage.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The results given to `merge` do not fit together.
    #[error(transparent)]
    Merge(#[from] crate::result::merge::MergeError),
    /// Writing an output.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The run history (`--history`, `loadgate history`).
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// Another tool's output cannot be imported.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// A baseline and a result that cannot be compared (another tool's, another unit).
    #[error("cannot compare {} with {}: {problem}", result.display(), baseline.display())]
    Incomparable {
        /// Baseline file.
        baseline: PathBuf,
        /// Result file.
        result: PathBuf,
        /// Why, and the fix.
        problem: String,
    },
    /// A flag value is invalid or flags conflict.
    #[error("{flag}: {problem}")]
    Flag {
        /// The flag.
        flag: &'static str,
        /// What is wrong and the fix.
        problem: String,
    },
    /// No request of the load proper could be sent (a login's capture found nothing, a feeder
    /// was empty): the run measured nothing, which is never a success.
    #[error("nothing of the load was sent: {not_sent} request(s) went unsent because a variable they use had no value (see the notes above: a capture that found nothing, e.g. a login without its token) or a feeder ran out; fix the scenario's captures and run again")]
    NothingSent {
        /// Requests not sent.
        not_sent: u64,
    },
    /// `record` judged the run unfit as a baseline; nothing was written.
    #[error("not recording {}: {reason}; the existing baseline (if any) is unchanged", path.display())]
    RecordRefused {
        /// Baseline that would have been written.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `record` measured a fit run but could not write it; the old baseline is untouched
    /// ([`crate::fsutil::write_atomic`]).
    #[error("{source}; the existing baseline is unchanged")]
    RecordWrite {
        /// Cause (names the file).
        #[source]
        source: BaselineError,
    },
    /// The service cannot be monitored.
    #[error("cannot monitor the service: {0}")]
    Sample(#[from] crate::sample::SampleError),
    /// An action (rollback hook, PR comment, CI outputs, notification) cannot be prepared.
    #[error(transparent)]
    Action(#[from] crate::action::ActionError),
    /// `loadgate init` found its file already there: it never overwrites.
    #[error("{} already exists; `loadgate init` never overwrites a file: edit it, or choose another name with --name", path.display())]
    InitExists {
        /// The scenario file.
        path: std::path::PathBuf,
    },
    /// `loadgate init` could not write its scenario file or make its folders.
    #[error("cannot create {}: {source}; check that the folder is writable", path.display())]
    Init {
        /// The file or folder.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The watch file.
    #[error(transparent)]
    WatchFile(#[from] crate::watch::FileError),
    /// The watch's source cannot be used.
    #[error(transparent)]
    WatchSource(#[from] crate::watch::SourceError),
    /// The demo service could not start, or its knobs are out of range.
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    /// A report could not be rendered.
    #[error(transparent)]
    Render(#[from] crate::report::ExportError),
    /// The action outcomes could not be added to a written JSON report.
    #[error("cannot add the action outcomes to the JSON report {}: {problem}; the report stays as written, and the outcomes are in the summary on stderr (and in --actions-json FILE when given)", path.display())]
    ReportOutcomes {
        /// The report file.
        path: std::path::PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// Writing to stdout failed (other than a closed pipe).
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] std::io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

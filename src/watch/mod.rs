//! `loadgate watch` — after the deploy: read live counts from Prometheus, a `/metrics` page or a
//! command, judge them against objectives and the time before the deploy, and end with the verdict
//! (early on a certain breach). A pipeline of its own beside the gate's, reusing its verdict type
//! and its actions:
//!
//! ```text
//! file ──► source (poll) ──► series (counts) ──► state + decide ──► report ──► actions
//! ```
//!
//! `file`, `series`, `stats`, `decide`, `state` and `report` are pure; `source` alone does I/O
//! (reqwest, a child process). The maths is in docs/watch.md.

pub mod decide;
pub mod file;
pub mod report;
pub mod series;
pub mod source;
pub mod state;
pub mod stats;

pub use file::{FileError, WatchSpec};
pub use source::{Fetcher, SourceError};
pub use state::{State, Step};

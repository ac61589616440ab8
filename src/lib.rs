//! loadgate: load a service, measure it, compare the run with a stored baseline, decide, act.
//!
//! The pipeline flows one way; each stage is a module and imports only the stages to its left,
//! plus `result` (the plain data), `fsutil`, `secret`, `http`, `terminal`, `error` and `exit`:
//!
//! ```text
//! scenario ──► load (goose) ──► result ──► compare ──► verdict ──► report
//!                                 ▲
//!                              baseline (store)
//! ```
//!
//! | module | may import |
//! | --- | --- |
//! | `scenario` | `result::metric` (metric names), `result::imported` (a suite's format) |
//! | `stats` | nothing (leaf maths: distributions, intervals, Theil–Sen, the change-point tests) |
//! | `result` | `stats` (the memory floor's slope in `result::service`), nothing else (leaf data) |
//! | `load` | `scenario`, `result` |
//! | `import` | `result`, `scenario::suite` (other tools' output turned into results; a suite run) |
//! | `baseline` | `result`, `scenario` (to check a baseline matches its scenario) |
//! | `compare` | `scenario`, `result`, `baseline`, `stats` |
//! | `verdict` | `compare`, `result` |
//! | `history` | `result`, `baseline` (the result-file loader), `stats`, `scenario::units` |
//! | `report` | the data types of the stages above |
//! | `action` | `verdict`, `report`, `compare` (the status carried by the verdict's reasons) |
//! | `pipeline` | `compare`, `result` (the gate's measuring loop, fed runs by its caller) |
//! | `watch` | `verdict` (its outcome), `sample::prometheus` (the text parser), `scenario::units`, `load::target` (URL redaction), `action` (durations in messages) |
//! | `commands` | everything |
//!
//! goose appears only in `load/goose.rs`, comfy-table only in `report/table.rs`, sysinfo only in
//! `sample/`, octocrab only in `action/github.rs`, statrs only in `stats/`, plotters only in
//! `report/charts.rs`, indicatif only in `load/progress.rs`, anstream and anstyle only in
//! `terminal.rs`, clap_complete and clap_mangen only in `commands/docs.rs`.

pub mod action;
pub mod baseline;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod error;
pub mod exit;
pub mod fsutil;
pub mod history;
pub mod http;
pub mod import;
pub mod load;
pub mod logging;
pub mod pipeline;
pub mod report;
pub mod result;
pub mod sample;
pub mod scenario;
pub mod secret;
pub mod stats;
pub mod terminal;
pub mod verdict;
pub mod watch;

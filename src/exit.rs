//! Exit codes: public API, documented in the README. Change them only with a major version.

/// The gate passed (a warning passes too, unless `--fail-on warn`).
pub const PASS: u8 = 0;
/// A critical regression or an SLO breach (or a warning with `--fail-on warn`).
pub const REGRESSION: u8 = 1;
/// loadgate could not do its job: bad input, unreachable target, I/O error.
pub const ERROR: u8 = 2;
/// Incomplete: a tracked metric was missing or had too few samples to judge. Never a silent pass.
pub const INCOMPLETE: u8 = 3;
/// Interrupted by Ctrl-C or SIGTERM: nothing was judged or stored. 128 + SIGINT, what shells and CI
/// runners report for a command stopped by Ctrl-C; kept apart from [`ERROR`] and [`INCOMPLETE`] so a
/// wrapper can tell "stopped on request" from "broke" and from "too little data" (which a pipeline
/// may choose to tolerate). A second signal exits at once with the same code.
pub const INTERRUPTED: u8 = 130;

//! The outcome of one compared row. The rule that decides it lives in `guard.rs` (latency and
//! throughput) and in `mod.rs` (error rate, SLOs, missing data).

use serde::{Deserialize, Serialize};

/// Outcome of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Better beyond the warn threshold.
    Improved,
    /// Within thresholds.
    Pass,
    /// Reported, not gated.
    Info,
    /// Worse beyond warn.
    Warn,
    /// Could not be judged: missing or too little data.
    Incomplete,
    /// Worse beyond critical, or an SLO breach.
    Critical,
}

impl Status {
    /// Lower-case name, as serialized (`"warn"`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Improved => "improved",
            Status::Pass => "pass",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Incomplete => "incomplete",
            Status::Critical => "critical",
        }
    }

    /// The name for human tables: what needs attention is upper-case (`"WARN"`).
    pub fn label(self) -> &'static str {
        match self {
            Status::Warn => "WARN",
            Status::Incomplete => "INCOMPLETE",
            Status::Critical => "CRITICAL",
            other => other.name(),
        }
    }
}

//! Stage 5 — fold a [`Comparison`] into one [`Verdict`] with its reasons. Computed once; every report
//! and action reads it, none recomputes it.

use serde::{Deserialize, Serialize};

use crate::compare::{Comparison, Status};

/// The gate's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// No gated metric regressed.
    Pass,
    /// A gated metric regressed beyond warn.
    Warn,
    /// A gated metric could not be judged (and nothing is critical). Never a silent pass.
    Incomplete,
    /// A gated metric regressed beyond critical, or an SLO was breached.
    Critical,
}

impl Outcome {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Incomplete => "incomplete",
            Outcome::Critical => "critical",
        }
    }
}

/// Why the verdict is what it is: one line per row that moved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Request name, `None` for the aggregate.
    pub request: Option<String>,
    /// Metric name.
    pub metric: String,
    /// Row status.
    pub status: Status,
    /// Explanation.
    pub message: String,
}

/// The decision with its reasons, worst first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Decision.
    pub outcome: Outcome,
    /// Rows that are critical, incomplete or warn, worst first.
    pub reasons: Vec<Reason>,
    /// Gated rows judged.
    pub gated_rows: usize,
}

/// Folds rows: any critical → critical; else any incomplete → incomplete; else any warn → warn.
pub fn decide(c: &Comparison) -> Verdict {
    let mut reasons: Vec<Reason> = c
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                Status::Critical | Status::Incomplete | Status::Warn
            )
        })
        .map(|r| Reason {
            request: r.request.clone(),
            metric: r.metric.to_string(),
            status: r.status,
            message: r.reason.clone(),
        })
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.status));
    let worst = reasons.first().map(|r| r.status);
    let outcome = match worst {
        Some(Status::Critical) => Outcome::Critical,
        Some(Status::Incomplete) => Outcome::Incomplete,
        Some(Status::Warn) => Outcome::Warn,
        _ => Outcome::Pass,
    };
    let gated_rows = c.rows.iter().filter(|r| r.gated).count();
    let outcome = if gated_rows == 0 {
        Outcome::Incomplete
    } else {
        outcome
    };
    Verdict {
        outcome,
        reasons,
        gated_rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Row;
    use crate::result::metric::Metric;

    fn row(status: Status, gated: bool) -> Row {
        Row {
            request: None,
            metric: Metric::P95,
            baseline: Some(1.0),
            run: Some(1.0),
            change: Some(0.0),
            gated,
            status,
            reason: String::new(),
        }
    }

    #[test]
    fn worst_row_wins_and_nothing_compared_is_incomplete() {
        let cases = [
            (vec![row(Status::Pass, true)], Outcome::Pass),
            (
                vec![row(Status::Pass, true), row(Status::Warn, true)],
                Outcome::Warn,
            ),
            (
                vec![row(Status::Warn, true), row(Status::Incomplete, true)],
                Outcome::Incomplete,
            ),
            (
                vec![row(Status::Incomplete, true), row(Status::Critical, true)],
                Outcome::Critical,
            ),
            (vec![row(Status::Info, false)], Outcome::Incomplete),
            (vec![], Outcome::Incomplete),
        ];
        for (rows, want) in cases {
            let v = decide(&Comparison {
                rows,
                notes: vec![],
            });
            assert_eq!(v.outcome, want);
        }
    }
}

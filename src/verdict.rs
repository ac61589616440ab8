//! Stage 5 — fold a [`Comparison`] into one [`Verdict`] with its reasons. Computed once; every report
//! and action reads it, none recomputes it.

use serde::{Deserialize, Serialize};

use crate::compare::{Comparison, Status};
use crate::result::metric::Metric;

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

/// What a reason is about: a metric's row, or the gate or the run as a whole. Written as the
/// metric's name, `gate` or `run` in every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A row of the comparison.
    Metric(Metric),
    /// The gate as a whole (too few metrics judged).
    Gate,
    /// The candidate run (unstable).
    Run,
}

impl Subject {
    /// The name reports show.
    pub fn name(self) -> &'static str {
        match self {
            Subject::Metric(m) => m.name(),
            Subject::Gate => "gate",
            Subject::Run => "run",
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "gate" => Ok(Subject::Gate),
            "run" => Ok(Subject::Run),
            other => other
                .parse::<Metric>()
                .map(Subject::Metric)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Why the verdict is what it is: one line per row that moved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Request name, `None` for the aggregate.
    pub request: Option<String>,
    /// The metric (or the gate, or the run) it is about.
    pub metric: Subject,
    /// Row status.
    pub status: Status,
    /// Explanation.
    pub message: String,
}

impl Reason {
    /// Whether this reason is the one of `row`.
    pub fn is_about(&self, row: &crate::compare::Row) -> bool {
        self.request == row.request && self.metric == Subject::Metric(row.metric)
    }
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
/// Also incomplete: an unstable candidate run (unless a decisive critical stands), half or more of
/// the critical-eligible rows missing their data (Kayenta's NODATA rule), or none of them judged.
/// A row too noisy to gate is the service's nature, not missing data: it is listed as a reason, so a
/// pass never hides a metric that was not really gated, but it does not withhold the verdict.
pub fn decide(c: &Comparison) -> Verdict {
    let mut reasons: Vec<Reason> = c
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                Status::Critical | Status::Incomplete | Status::Warn
            ) || (r.too_noisy && r.gated)
        })
        .map(|r| Reason {
            request: r.request.clone(),
            metric: Subject::Metric(r.metric),
            status: if matches!(r.status, Status::Pass | Status::Improved) {
                Status::Info
            } else {
                r.status
            },
            message: r.reason.clone(),
        })
        .collect();
    let eligible: Vec<_> = c.rows.iter().filter(|r| r.gated && r.can_fail).collect();
    // Missing data blocks a verdict; noise that is the service's nature does not (it is listed above
    // as informational). Only when no critical metric at all could be judged is there no verdict.
    let missing = eligible
        .iter()
        .filter(|r| r.status == Status::Incomplete)
        .count();
    let judged = eligible
        .iter()
        .filter(|r| r.status != Status::Incomplete && !r.too_noisy)
        .count();
    let already = reasons.iter().any(|r| r.status == Status::Incomplete);
    if !eligible.is_empty() && judged == 0 && !already {
        reasons.push(Reason {
            request: None,
            metric: Subject::Gate,
            status: Status::Incomplete,
            message: format!(
                "none of the {} critical metrics could be judged (too little data, or too noisy to gate at their thresholds): lengthen `load.duration` or record more baseline runs",
                eligible.len()
            ),
        });
    } else if !eligible.is_empty() && 2 * missing >= eligible.len() && !already {
        reasons.push(Reason {
            request: None,
            metric: Subject::Gate,
            status: Status::Incomplete,
            message: format!(
                "{missing} of {} critical metrics could not be judged (too little data)",
                eligible.len()
            ),
        });
    }
    let decisive = c
        .rows
        .iter()
        .any(|r| r.decisive && r.status == Status::Critical);
    if let Some(why) = &c.unstable {
        if !decisive {
            reasons.push(Reason {
                request: None,
                metric: Subject::Run,
                status: Status::Incomplete,
                message: format!("unstable run, not judged: {why}; run the gate again"),
            });
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.status));
    let worst = reasons.first().map(|r| r.status);
    let mut outcome = match worst {
        Some(Status::Critical) => Outcome::Critical,
        Some(Status::Incomplete) => Outcome::Incomplete,
        Some(Status::Warn) => Outcome::Warn,
        _ => Outcome::Pass,
    };
    if c.unstable.is_some() && !decisive {
        outcome = Outcome::Incomplete;
    }
    let gated_rows = c.rows.iter().filter(|r| r.gated).count();
    if gated_rows == 0 {
        outcome = Outcome::Incomplete;
    }
    Verdict {
        outcome,
        reasons,
        gated_rows,
    }
}

/// The process exit code of a verdict (README "Exit codes"): a critical verdict fails the build, a
/// warning only when `warn_fails` (`--fail-on warn`), and an incomplete one has its own code.
pub fn exit_code(outcome: Outcome, warn_fails: bool) -> u8 {
    use crate::exit;
    match (outcome, warn_fails) {
        (Outcome::Critical, _) | (Outcome::Warn, true) => exit::REGRESSION,
        (Outcome::Incomplete, _) => exit::INCOMPLETE,
        (Outcome::Pass | Outcome::Warn, _) => exit::PASS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_names_its_subject_as_a_string_in_json() {
        for (subject, name) in [
            (Subject::Metric(Metric::P95), "\"p95\""),
            (Subject::Metric(Metric::ErrorRate), "\"error_rate\""),
            (Subject::Gate, "\"gate\""),
            (Subject::Run, "\"run\""),
        ] {
            let json = serde_json::to_string(&subject).expect("serializes");
            assert_eq!(json, name);
            let back: Subject = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back, subject);
        }
        assert!(serde_json::from_str::<Subject>("\"p97\"").is_err());
    }
    use crate::compare::Row;
    use crate::result::metric::Metric;

    fn row(status: Status, gated: bool) -> Row {
        Row {
            request: None,
            metric: Metric::P95,
            baseline: Some(1.0),
            run: Some(1.0),
            change: Some(0.0),
            interval: None,
            mde: None,
            gated,
            can_fail: gated,
            too_noisy: false,
            suspect: false,
            decisive: false,
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
            let v = decide(&comparison(rows, None));
            assert_eq!(v.outcome, want);
        }
    }

    fn comparison(rows: Vec<Row>, unstable: Option<String>) -> Comparison {
        Comparison {
            rows,
            notes: vec![],
            noise: String::new(),
            runs: (1, 1),
            unstable,
            confirmed: false,
        }
    }

    #[test]
    fn an_unstable_run_is_not_judged_unless_decisively_critical() {
        let v = decide(&comparison(
            vec![row(Status::Pass, true)],
            Some("stall".into()),
        ));
        assert_eq!(v.outcome, Outcome::Incomplete);
        let mut slo = row(Status::Critical, true);
        slo.decisive = true;
        assert_eq!(
            decide(&comparison(vec![slo], Some("stall".into()))).outcome,
            Outcome::Critical
        );
    }

    #[test]
    fn noisy_metrics_are_listed_not_incomplete_unless_nothing_was_judged() {
        let mut noisy = row(Status::Pass, true);
        noisy.too_noisy = true;
        let v = decide(&comparison(
            vec![
                noisy.clone(),
                row(Status::Pass, true),
                row(Status::Pass, true),
            ],
            None,
        ));
        assert_eq!(v.outcome, Outcome::Pass);
        assert_eq!(v.reasons.len(), 1, "the noisy row is named");
        let v = decide(&comparison(
            vec![noisy.clone(), row(Status::Pass, true)],
            None,
        ));
        assert_eq!(
            v.outcome,
            Outcome::Pass,
            "half too noisy is still a verdict"
        );
        let v = decide(&comparison(vec![noisy.clone(), noisy], None));
        assert_eq!(
            v.outcome,
            Outcome::Incomplete,
            "nothing judged is no verdict"
        );
        assert!(v
            .reasons
            .iter()
            .any(|r| r.message.contains("none of the 2")));
    }
}

//! The rule for one metric: relative change in the bad direction against warn/critical thresholds,
//! with absolute floors. Pure arithmetic over two numbers, property-tested.

use serde::{Deserialize, Serialize};

use crate::compare::policy::{ERROR_RATE_CRITICAL_FLOOR, ERROR_RATE_WARN_FLOOR};
use crate::result::metric::{Direction, Metric, Unit};
use crate::scenario::Thresholds;

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

/// Inputs of the rule for one row.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Metric judged.
    pub metric: Metric,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Latency floor (µs).
    pub latency_floor_us: f64,
    /// Whether this row may go critical (else capped at warn).
    pub can_fail: bool,
}

/// Relative change in the bad direction: +0.25 means 25% worse, −0.1 means 10% better.
pub fn bad_change(direction: Direction, base: f64, run: f64) -> f64 {
    if base == run {
        return 0.0;
    }
    let signed = if base == 0.0 {
        f64::INFINITY.copysign(run - base)
    } else {
        (run - base) / base.abs()
    };
    match direction {
        Direction::HigherIsWorse => signed,
        Direction::LowerIsWorse => -signed,
    }
}

/// Judges `run` against `base` (both in the metric's unit). Returns the status and why.
pub fn judge(rule: &Rule, base: f64, run: f64) -> (Status, String) {
    let m = rule.metric;
    let change = bad_change(m.direction(), base, run);
    let (warn, critical) = (
        rule.thresholds.warn.fraction(),
        rule.thresholds.critical.fraction(),
    );
    let abs_diff = (run - base).abs();
    let pct = |c: f64| {
        if c.is_finite() {
            format!("{:+.1}%", c * 100.0)
        } else {
            "from zero".to_string()
        }
    };
    if m.unit() == Unit::Micros && abs_diff < rule.latency_floor_us {
        let why = format!(
            "{} ({abs_diff:.0}us) is within the latency floor of {:.0}us",
            pct(change),
            rule.latency_floor_us
        );
        return (Status::Pass, why);
    }
    if m == Metric::ErrorRate && change > 0.0 && abs_diff < ERROR_RATE_WARN_FLOOR {
        return (
            Status::Pass,
            format!(
                "error rate up by {:.3} points, below the 0.1-point floor",
                abs_diff * 100.0
            ),
        );
    }
    let cap = |s: Status| {
        if s == Status::Critical && !rule.can_fail {
            Status::Warn
        } else {
            s
        }
    };
    let error_rate_small = m == Metric::ErrorRate && abs_diff < ERROR_RATE_CRITICAL_FLOOR;
    if change >= critical && !error_rate_small {
        let status = cap(Status::Critical);
        let tail = if status == Status::Critical {
            ""
        } else {
            " (per-request rows warn unless overridden)"
        };
        (
            status,
            format!(
                "{} worse, beyond the critical threshold {}{tail}",
                pct(change),
                rule.thresholds.critical
            ),
        )
    } else if change >= warn {
        (
            Status::Warn,
            format!(
                "{} worse, beyond the warn threshold {}",
                pct(change),
                rule.thresholds.warn
            ),
        )
    } else if change <= -warn {
        (
            Status::Improved,
            format!("{} better", pct(-change).trim_start_matches('+')),
        )
    } else {
        (
            Status::Pass,
            format!(
                "{} is within the warn threshold {}",
                pct(change),
                rule.thresholds.warn
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Percent;
    use proptest::prelude::*;

    const T: Thresholds = Thresholds {
        warn: Percent::from_fraction(0.10),
        critical: Percent::from_fraction(0.20),
    };

    fn rule(metric: Metric) -> Rule {
        Rule {
            metric,
            thresholds: T,
            latency_floor_us: 200.0,
            can_fail: true,
        }
    }

    #[test]
    fn table() {
        let cases = [
            (Metric::P95, 10_000.0, 10_500.0, Status::Pass),
            (Metric::P95, 10_000.0, 11_500.0, Status::Warn),
            (Metric::P95, 10_000.0, 15_000.0, Status::Critical),
            (Metric::P95, 10_000.0, 8_000.0, Status::Improved),
            (Metric::P50, 100.0, 250.0, Status::Pass), // +150% but 150us: under the floor
            (Metric::Throughput, 200.0, 150.0, Status::Critical),
            (Metric::Throughput, 200.0, 260.0, Status::Improved),
            (Metric::ErrorRate, 0.0, 0.0005, Status::Pass), // below 0.1 point
            (Metric::ErrorRate, 0.0, 0.003, Status::Warn),  // above 0.1 point, below 0.5
            (Metric::ErrorRate, 0.0, 0.02, Status::Critical),
        ];
        for (m, base, run, want) in cases {
            assert_eq!(judge(&rule(m), base, run).0, want, "{m} {base} -> {run}");
        }
    }

    #[test]
    fn rows_that_cannot_fail_cap_at_warn() {
        let r = Rule {
            can_fail: false,
            ..rule(Metric::P99)
        };
        assert_eq!(judge(&r, 10_000.0, 30_000.0).0, Status::Warn);
    }

    fn any_metric() -> impl Strategy<Value = Metric> {
        proptest::sample::select(Metric::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn an_unchanged_run_always_passes(m in any_metric(), v in 0.0f64..1e7) {
            prop_assert_eq!(judge(&rule(m), v, v).0, Status::Pass);
        }

        #[test]
        fn making_a_metric_worse_never_improves_the_verdict(m in any_metric(), base in 1.0f64..1e6,
                                                            run in 1.0f64..1e6, extra in 0.0f64..1e6) {
            let worse = match m.direction() { Direction::HigherIsWorse => run + extra, Direction::LowerIsWorse => (run - extra).max(0.0) };
            let before = judge(&rule(m), base, run).0;
            let after = judge(&rule(m), base, worse).0;
            prop_assert!(after >= before || (before == Status::Improved && after >= Status::Improved),
                "{m}: {base} -> {run} gave {before:?}, worse {worse} gave {after:?}");
        }

        #[test]
        fn flipping_the_direction_mirrors_the_change(base in 1.0f64..1e6, run in 1.0f64..1e6) {
            let up = bad_change(Direction::HigherIsWorse, base, run);
            let down = bad_change(Direction::LowerIsWorse, base, run);
            prop_assert!((up + down).abs() < 1e-12);
        }
    }
}

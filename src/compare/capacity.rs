//! Stage 4 — capacity: the search for the highest sustainable rate, the judgement of each step,
//! and the gate of a found capacity against a stored one (higher is better). Pure functions over
//! step outcomes and [`RunResult`]s; `pipeline/stress.rs` runs the steps.
//!
//! Search: geometric steps from a start rate (×factor) until a step breaks or the maximum is
//! reached, then `refine` bisection steps between the last good and the first bad rate. The
//! capacity is the last good rate; its resolution is the gap to the first bad one.

use crate::compare::rules::Status;
use crate::result::metric::{Direction, Metric};
use crate::result::RunResult;
use crate::scenario::{Slo, Thresholds};

/// A step whose achieved rate is below this share of its target was saturated: every user was busy
/// and requests piled up. 5% is beyond the few slots in flight at a window's edges.
pub const MIN_ACHIEVED_SHARE: f64 = 0.95;

/// How the search proceeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchSpec {
    /// First rate tried.
    pub start_rps: u32,
    /// Growth between steps before the first break (> 1).
    pub factor: f64,
    /// Highest rate tried.
    pub max_rps: u32,
    /// Bisection steps after the first break.
    pub refine: u32,
    /// Hard bound on steps, whatever else is set.
    pub max_steps: u32,
}

/// State of a capacity search: feed it each step's outcome, ask it for the next rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    spec: SearchSpec,
    good: Option<u32>,
    bad: Option<u32>,
    steps: u32,
    refined: u32,
}

/// Where a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Highest rate that held (`None`: even the lowest rate tried broke).
    pub capacity_rps: Option<u32>,
    /// Lowest rate that broke (`None`: nothing broke up to the maximum).
    pub broke_at_rps: Option<u32>,
}

impl Found {
    /// Width of the interval the true capacity lies in, when both ends are known.
    pub fn resolution_rps(&self) -> Option<u32> {
        match (self.capacity_rps, self.broke_at_rps) {
            (Some(g), Some(b)) => Some(b.saturating_sub(g)),
            _ => None,
        }
    }
}

impl Search {
    /// A new search.
    pub fn new(spec: SearchSpec) -> Self {
        Self {
            spec,
            good: None,
            bad: None,
            steps: 0,
            refined: 0,
        }
    }

    /// The next rate to try, or `None` when the search is over.
    pub fn next(&self) -> Option<u32> {
        if self.steps >= self.spec.max_steps {
            return None;
        }
        let max = self.spec.max_rps.max(1);
        match (self.good, self.bad) {
            (None, None) => Some(self.spec.start_rps.clamp(1, max)),
            (Some(g), None) => {
                if g >= max {
                    return None;
                }
                let grown = (g as f64 * self.spec.factor).ceil() as u32;
                Some(grown.max(g + 1).min(max))
            }
            (good, Some(b)) => {
                let g = good.unwrap_or(0);
                if self.refined >= self.spec.refine || b <= g + 1 {
                    return None;
                }
                Some(g + (b - g) / 2)
            }
        }
    }

    /// Records the outcome of a step at `rps`.
    pub fn record(&mut self, rps: u32, held: bool) {
        if self.bad.is_some() {
            self.refined += 1;
        }
        self.steps += 1;
        if held {
            self.good = Some(self.good.map_or(rps, |g| g.max(rps)));
        } else {
            self.bad = Some(self.bad.map_or(rps, |b| b.min(rps)));
        }
    }

    /// What the search found so far.
    pub fn found(&self) -> Found {
        Found {
            capacity_rps: self.good,
            broke_at_rps: self.bad,
        }
    }
}

/// Why a step broke, or `None` when it held: an absolute SLO breached, the error rate above
/// `max_error_rate`, or the achieved rate below [`MIN_ACHIEVED_SHARE`] of the target (saturated).
pub fn step_breaks(run: &RunResult, slos: &[Slo], max_error_rate: f64) -> Option<String> {
    let secs = run.measured_seconds();
    if run.all.requests == 0 {
        return Some("no request completed".to_string());
    }
    let achieved = run.all.requests as f64 / secs;
    if let Some(o) = &run.meta.open_model {
        if achieved < MIN_ACHIEVED_SHARE * o.target_rps {
            return Some(format!(
                "saturated: achieved {achieved:.1} of {:.1} req/s ({} late)",
                o.target_rps, o.late_requests
            ));
        }
    }
    let errors = run.all.error_rate().unwrap_or(0.0);
    if errors > max_error_rate {
        return Some(format!(
            "errors {:.2}% > {:.2}%",
            errors * 100.0,
            max_error_rate * 100.0
        ));
    }
    for slo in slos {
        let Some(v) = slo.metric.value_of(&run.all, secs) else {
            continue;
        };
        let breached = match slo.metric.direction() {
            Direction::HigherIsWorse => v > slo.limit,
            Direction::LowerIsWorse => v < slo.limit,
        };
        if breached {
            return Some(format!(
                "SLO {}: {} > {}",
                slo.metric,
                show(slo.metric, v),
                show(slo.metric, slo.limit)
            ));
        }
    }
    None
}

fn show(m: Metric, v: f64) -> String {
    match m {
        Metric::ErrorRate => format!("{:.2}%", v * 100.0),
        Metric::Throughput => format!("{v:.1} req/s"),
        _ => format!("{:.1}ms", v / 1000.0),
    }
}

/// The gate of a found capacity against a stored one: a drop beyond warn/critical is warn/critical,
/// but a drop no larger than the coarser search resolution cannot be told from the search's own
/// granularity and is not judged.
pub fn gate_capacity(
    stored_rps: u32,
    stored_resolution_rps: u32,
    found: Found,
    thresholds: Thresholds,
) -> (Status, String) {
    let Some(now) = found.capacity_rps else {
        return (
            Status::Incomplete,
            "no rate held, so there is no capacity to compare; lower --start-rate".to_string(),
        );
    };
    let resolution = stored_resolution_rps.max(found.resolution_rps().unwrap_or(0));
    let drop = (stored_rps as f64 - now as f64) / (stored_rps.max(1) as f64);
    let change = format!(
        "{now} req/s vs {stored_rps} req/s stored ({:+.1}%)",
        -drop * 100.0
    );
    if drop <= 0.0 {
        return (Status::Pass, format!("{change}: not lower"));
    }
    if stored_rps - now <= resolution {
        return (
            Status::Pass,
            format!(
                "{change}: a drop within the search resolution ({resolution} req/s) is not judged"
            ),
        );
    }
    let status = if drop >= thresholds.critical.fraction() {
        Status::Critical
    } else if drop >= thresholds.warn.fraction() {
        Status::Warn
    } else {
        Status::Pass
    };
    let why = match status {
        Status::Critical => format!("beyond the critical threshold {}", thresholds.critical),
        Status::Warn => format!("beyond the warn threshold {}", thresholds.warn),
        _ => format!("within the warn threshold {}", thresholds.warn),
    };
    (status, format!("{change}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Percent;
    use proptest::prelude::*;

    fn spec(start: u32, max: u32, refine: u32, max_steps: u32) -> SearchSpec {
        SearchSpec {
            start_rps: start,
            factor: 1.5,
            max_rps: max,
            refine,
            max_steps,
        }
    }

    /// Runs a search against a service that holds any rate ≤ `capacity`.
    fn run(spec: SearchSpec, capacity: u32) -> (Found, Vec<u32>) {
        let mut s = Search::new(spec);
        let mut tried = Vec::new();
        while let Some(r) = s.next() {
            tried.push(r);
            s.record(r, r <= capacity);
        }
        (s.found(), tried)
    }

    #[test]
    fn steps_up_then_bisects() {
        let (found, tried) = run(spec(50, 1000, 3, 20), 200);
        assert_eq!(&tried[..5], &[50, 75, 113, 170, 255]);
        assert_eq!(found.capacity_rps, Some(191));
        assert_eq!(found.broke_at_rps, Some(201));
        assert_eq!(tried.len(), 8);
    }

    #[test]
    fn a_service_that_never_breaks_stops_at_the_maximum() {
        let (found, tried) = run(spec(50, 120, 3, 20), 10_000);
        assert_eq!(tried, vec![50, 75, 113, 120]);
        assert_eq!(found.capacity_rps, Some(120));
        assert_eq!(found.resolution_rps(), None);
    }

    #[test]
    fn a_first_step_that_breaks_bisects_towards_zero() {
        let (found, _) = run(spec(100, 1000, 2, 20), 10);
        assert_eq!(found.broke_at_rps, Some(25));
        assert_eq!(found.capacity_rps, None);
    }

    proptest! {
        #[test]
        fn finds_the_boundary_within_resolution_and_never_exceeds_max_steps(
            start in 1u32..500, capacity in 1u32..5_000, max in 1u32..10_000,
            refine in 0u32..8, max_steps in 1u32..30,
        ) {
            let sp = spec(start, max, refine, max_steps);
            let (found, tried) = run(sp, capacity);
            prop_assert!(tried.len() as u32 <= max_steps);
            prop_assert!(tried.iter().all(|r| *r >= 1 && *r <= max.max(1)));
            if let Some(g) = found.capacity_rps { prop_assert!(g <= capacity); }
            if let Some(b) = found.broke_at_rps { prop_assert!(b > capacity); }
            // With enough steps, the true capacity lies in [good, bad) and the gap halves per refine.
            if let (Some(g), Some(b)) = (found.capacity_rps, found.broke_at_rps) {
                prop_assert!(g <= capacity && capacity < b);
            }
        }
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            warn: Percent::from_fraction(0.10),
            critical: Percent::from_fraction(0.20),
        }
    }

    fn found(g: u32, b: u32) -> Found {
        Found {
            capacity_rps: Some(g),
            broke_at_rps: Some(b),
        }
    }

    #[test]
    fn capacity_is_gated_higher_is_better_outside_the_resolution() {
        let t = thresholds();
        assert_eq!(gate_capacity(200, 10, found(210, 220), t).0, Status::Pass);
        assert_eq!(gate_capacity(200, 10, found(175, 180), t).0, Status::Warn);
        assert_eq!(
            gate_capacity(200, 10, found(150, 160), t).0,
            Status::Critical
        );
        let (status, why) = gate_capacity(200, 50, found(155, 170), t);
        assert_eq!(
            status,
            Status::Pass,
            "a 45 req/s drop is inside a 50 req/s resolution"
        );
        assert!(why.contains("not judged"), "{why}");
        let none = Found {
            capacity_rps: None,
            broke_at_rps: Some(10),
        };
        assert_eq!(gate_capacity(200, 10, none, t).0, Status::Incomplete);
    }
}

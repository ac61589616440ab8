//! Watch — the decision on counts (docs/watch.md "The maths"): an objective on a rate (errors, or
//! requests slower than a latency bound) by an exact binomial test at the end of the window and
//! Wald's likelihood ratio at every poll for an early verdict; a before/after rise by the
//! conditional test of two Poisson rates; a plain bound held for several polls. Pure: counts in,
//! a [`Judgement`] out.

use serde::Serialize;

use crate::verdict::Outcome;
use crate::watch::series::Histogram;
use crate::watch::stats;

/// False-alarm rate of the early verdict over a whole window, however often it is checked (Ville).
pub const ALPHA_EARLY: f64 = 0.005;
/// False-alarm rate of the end-of-window tests. With [`ALPHA_EARLY`], at most 1% of unchanged
/// services' windows end in a false rollback per signal (union bound).
pub const ALPHA_END: f64 = 0.005;
/// A rise beyond this is a warning (the project's thresholds).
pub const WARN_RISE: f64 = 0.10;
/// A rise beyond this is critical.
pub const CRITICAL_RISE: f64 = 0.20;
/// Fewest requests on each side of a before/after comparison without `min_requests`.
pub const MIN_REQUESTS_COMPARE: u64 = 100;

/// The verdict on one signal at one poll.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// Its status (a pass before the end only means "nothing certain yet").
    pub outcome: Outcome,
    /// Why, in one line.
    pub message: String,
}

impl Judgement {
    fn new(outcome: Outcome, message: String) -> Self {
        Self { outcome, message }
    }
}

/// The fewest requests an objective on the rate `p0` is judged on: the rule of three (with none of
/// `n` bad, the 95% upper bound on the rate is about 3/n), so a clean window proves the objective.
pub fn min_requests(p0: f64, given: Option<u64>) -> u64 {
    given.unwrap_or_else(|| (3.0 / p0).ceil().max(1.0) as u64)
}

/// `bad` of `n` against the objective "the rate is at most `p0`": critical as soon as Wald's ratio
/// makes the breach certain, otherwise judged at the `end` on at least `min` requests. `what`
/// names the bad ones ("errors", "slower than 350 ms").
pub fn objective(n: u64, bad: u64, p0: f64, min: u64, end: bool, what: &str) -> Judgement {
    let rate = if n > 0 { bad as f64 / n as f64 } else { 0.0 };
    let seen = format!("{bad} of {n} requests {what} ({})", percent(rate));
    let target = percent(p0);
    let llr = stats::log_likelihood_ratio(n, bad, p0, stats::alternative(p0));
    if n > 0 && llr >= (1.0 / ALPHA_EARLY).ln() {
        return Judgement::new(
            Outcome::Critical,
            format!(
                "{seen}: certainly over {target} (sequential test, false alarms ≤ {})",
                percent(ALPHA_EARLY)
            ),
        );
    }
    if !end {
        return Judgement::new(Outcome::Pass, format!("{seen}, objective ≤ {target}"));
    }
    // Too little traffic is judged neither way: a breach that the counts make certain has already
    // been caught by the sequential test above, whatever the traffic.
    if n < min {
        return Judgement::new(
            Outcome::Incomplete,
            format!("{seen}: fewer than the {min} requests needed to judge ≤ {target}"),
        );
    }
    let p = stats::binomial_upper_tail(n, bad, p0);
    if p < ALPHA_END {
        return Judgement::new(
            Outcome::Critical,
            format!("{seen}: over {target} (binomial test p = {p:.2e})"),
        );
    }
    if rate > p0 {
        return Judgement::new(
            Outcome::Warn,
            format!("{seen}: above {target}, but not certainly (binomial test p = {p:.2})"),
        );
    }
    Judgement::new(Outcome::Pass, format!("{seen}, within ≤ {target}"))
}

/// Error counts after against before: critical when the rate after is certainly more than 20%
/// above the rate before, a warning beyond 10%.
pub fn error_rise(after: (u64, u64), before: (u64, u64), min: u64) -> Judgement {
    let ((n_a, k_a), (n_b, k_b)) = (after, before);
    let rate = |n: u64, k: u64| if n > 0 { k as f64 / n as f64 } else { 0.0 };
    let seen = format!(
        "error rate {} after vs {} before ({k_a}/{n_a} vs {k_b}/{n_b})",
        percent(rate(n_a, k_a)),
        percent(rate(n_b, k_b))
    );
    if n_a < min || n_b < min {
        return Judgement::new(
            Outcome::Incomplete,
            format!("{seen}: fewer than the {min} requests on each side needed to compare"),
        );
    }
    for (t, outcome) in [
        (CRITICAL_RISE, Outcome::Critical),
        (WARN_RISE, Outcome::Warn),
    ] {
        let p = stats::rise_p_value(k_a, n_a, k_b, n_b, t);
        if p < ALPHA_END {
            return Judgement::new(
                outcome,
                format!(
                    "{seen}: certainly more than +{:.0}% (p = {p:.2e})",
                    t * 100.0
                ),
            );
        }
    }
    Judgement::new(Outcome::Pass, format!("{seen}: no certain rise"))
}

/// The quantile `q` after against before: critical when certainly more than `q`'s share of the
/// requests after are slower than the quantile before +20% (that is, the quantile rose by more), a
/// warning for +10%. `ms` turns bucket bounds into milliseconds.
pub fn latency_rise(after: &Histogram, before: &Histogram, q: f64, min: u64, ms: f64) -> Judgement {
    let (n_a, n_b) = (after.total() as u64, before.total() as u64);
    let (Some(qa), Some(qb)) = (after.quantile(q), before.quantile(q)) else {
        return Judgement::new(
            Outcome::Incomplete,
            format!("no requests to compare ({n_a} after, {n_b} before)"),
        );
    };
    let seen = format!(
        "p{} {:.1} ms after vs {:.1} ms before ({n_a} vs {n_b} requests)",
        pct_name(q),
        qa * ms,
        qb * ms
    );
    if n_a < min || n_b < min {
        return Judgement::new(
            Outcome::Incomplete,
            format!("{seen}: fewer than the {min} requests on each side needed to compare"),
        );
    }
    for (t, outcome) in [
        (CRITICAL_RISE, Outcome::Critical),
        (WARN_RISE, Outcome::Warn),
    ] {
        let Some(slow) = after.above(qb * (1.0 + t)) else {
            return Judgement::new(
                Outcome::Incomplete,
                format!(
                    "{seen}: the histogram's largest finite bucket is below {:.1} ms, so it cannot tell",
                    qb * (1.0 + t) * ms
                ),
            );
        };
        let p = stats::binomial_upper_tail(n_a, slow, 1.0 - q);
        if p < ALPHA_END {
            return Judgement::new(
                outcome,
                format!(
                    "{seen}: certainly more than +{:.0}% ({slow} requests slower than {:.1} ms, p = {p:.2e})",
                    t * 100.0,
                    qb * (1.0 + t) * ms
                ),
            );
        }
    }
    Judgement::new(Outcome::Pass, format!("{seen}: no certain rise"))
}

/// A value with bounds, breached when out of them for `for_polls` polls in a row. `values` are the
/// polls so far (`None`: that poll had no value).
pub fn bound(
    values: &[Option<f64>],
    max: Option<f64>,
    min: Option<f64>,
    for_polls: u32,
    end: bool,
) -> Judgement {
    let out = |v: f64| max.is_some_and(|m| v > m) || min.is_some_and(|m| v < m);
    let limits = match (min, max) {
        (Some(lo), Some(hi)) => format!("within [{lo}, {hi}]"),
        (None, Some(hi)) => format!("≤ {hi}"),
        (Some(lo), None) => format!("≥ {lo}"),
        (None, None) => "unbounded".to_string(),
    };
    let n = for_polls.max(1) as usize;
    let last: Vec<Option<f64>> = values.iter().rev().take(n).copied().collect();
    if last.len() == n && last.iter().all(|v| v.is_some_and(out)) {
        return Judgement::new(
            Outcome::Critical,
            format!(
                "out of {limits} for {n} polls in a row (last {})",
                show(last[0])
            ),
        );
    }
    match values.last().copied().flatten() {
        None if end => Judgement::new(Outcome::Incomplete, "no value at the last poll".to_string()),
        Some(v) if end && out(v) => Judgement::new(
            Outcome::Warn,
            format!("{v} is out of {limits} at the end, for fewer than {n} polls"),
        ),
        v => Judgement::new(Outcome::Pass, format!("{}, objective {limits}", show(v))),
    }
}

fn show(v: Option<f64>) -> String {
    v.map_or_else(|| "no value".to_string(), |v| format!("{v}"))
}

/// `0.0123` → `1.23%`.
pub fn percent(f: f64) -> String {
    let p = f * 100.0;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.1}%")
    } else if p >= 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{p:.3}%")
    }
}

/// `0.95` → `95`, `0.999` → `99.9`.
pub fn pct_name(q: f64) -> String {
    let p = (q * 1000.0).round() / 10.0;
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// The watch's verdict from its signals: critical at once; otherwise, at the end, the worst of
/// them (incomplete above warn, as for `gate`); before the end, `None` (keep watching).
pub fn fold(judgements: &[Outcome], end: bool) -> Option<Outcome> {
    if judgements.contains(&Outcome::Critical) {
        return Some(Outcome::Critical);
    }
    if !end {
        return None;
    }
    Some(
        judgements
            .iter()
            .copied()
            .max()
            .unwrap_or(Outcome::Incomplete),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_error_in_twenty_does_not_roll_back() {
        let j = objective(20, 1, 0.01, min_requests(0.01, None), true, "failed");
        assert_eq!(j.outcome, Outcome::Incomplete, "{}", j.message);
        assert!(j.message.contains("300 requests"), "{}", j.message);
        assert_eq!(
            objective(20, 1, 0.01, 300, false, "failed").outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn thirty_percent_errors_end_the_watch_at_once() {
        let j = objective(50, 15, 0.01, 300, false, "failed");
        assert_eq!(j.outcome, Outcome::Critical, "{}", j.message);
        assert!(j.message.contains("sequential"), "{}", j.message);
    }

    #[test]
    fn a_window_at_the_objective_passes_and_above_it_fails() {
        assert_eq!(
            objective(10_000, 80, 0.01, 300, true, "failed").outcome,
            Outcome::Pass
        );
        assert_eq!(
            objective(10_000, 105, 0.01, 300, true, "failed").outcome,
            Outcome::Warn
        );
        assert_eq!(
            objective(10_000, 200, 0.01, 300, true, "failed").outcome,
            Outcome::Critical
        );
        // No traffic at all is never a pass.
        assert_eq!(
            objective(0, 0, 0.01, 300, true, "failed").outcome,
            Outcome::Incomplete
        );
    }

    #[test]
    fn rises_are_judged_on_counts() {
        assert_eq!(
            error_rise((20, 1), (1000, 0), 100).outcome,
            Outcome::Incomplete
        );
        assert_eq!(
            error_rise((5000, 50), (5000, 50), 100).outcome,
            Outcome::Pass
        );
        assert_eq!(
            error_rise((5000, 250), (5000, 50), 100).outcome,
            Outcome::Critical
        );
    }

    fn hist(fast: f64, slow: f64) -> Histogram {
        // Buckets every 10 ms to 1 s; `fast` requests at 45 ms, `slow` at 65 ms.
        let mut b: Vec<(f64, f64)> = (1..=100)
            .map(|i| {
                let le = f64::from(i) * 0.01;
                let mut c = 0.0;
                if le >= 0.05 {
                    c += fast;
                }
                if le >= 0.07 {
                    c += slow;
                }
                (le, c)
            })
            .collect();
        b.push((f64::INFINITY, fast + slow));
        Histogram::new(b).unwrap()
    }

    #[test]
    fn a_thirty_percent_slower_service_is_a_critical_rise() {
        let before = hist(1000.0, 0.0);
        assert_eq!(
            latency_rise(&hist(1000.0, 0.0), &before, 0.95, 100, 1000.0).outcome,
            Outcome::Pass
        );
        let j = latency_rise(&hist(0.0, 1000.0), &before, 0.95, 100, 1000.0);
        assert_eq!(j.outcome, Outcome::Critical, "{}", j.message);
        let j = latency_rise(&hist(0.0, 30.0), &before, 0.95, 100, 1000.0);
        assert_eq!(j.outcome, Outcome::Incomplete, "{}", j.message);
    }

    #[test]
    fn a_bound_needs_several_polls_out() {
        let v = |xs: &[f64]| xs.iter().map(|x| Some(*x)).collect::<Vec<_>>();
        assert_eq!(
            bound(&v(&[0.5, 0.95]), Some(0.9), None, 2, false).outcome,
            Outcome::Pass
        );
        assert_eq!(
            bound(&v(&[0.95, 0.95]), Some(0.9), None, 2, false).outcome,
            Outcome::Critical
        );
        assert_eq!(
            bound(&v(&[0.5, 0.95]), Some(0.9), None, 2, true).outcome,
            Outcome::Warn
        );
        assert_eq!(
            bound(&[Some(0.5), None], Some(0.9), None, 2, true).outcome,
            Outcome::Incomplete
        );
        assert_eq!(
            bound(&v(&[0.1, 0.1]), None, Some(0.2), 2, false).outcome,
            Outcome::Critical
        );
    }

    #[test]
    fn the_fold_is_critical_first_then_waits_for_the_end() {
        assert_eq!(
            fold(&[Outcome::Pass, Outcome::Critical], false),
            Some(Outcome::Critical)
        );
        assert_eq!(fold(&[Outcome::Pass, Outcome::Incomplete], false), None);
        assert_eq!(
            fold(&[Outcome::Warn, Outcome::Incomplete], true),
            Some(Outcome::Incomplete)
        );
        assert_eq!(fold(&[], true), Some(Outcome::Incomplete));
    }

    proptest! {
        /// Within the objective, no count makes the early verdict critical on tiny traffic, and a
        /// rate at or below the objective is never critical at the end unless the binomial test
        /// says the counts are unlikely; more bad requests never make the verdict better.
        #[test]
        fn more_bad_requests_never_improve_the_verdict(n in 0u64..20_000, bad in 0u64..2000, p0 in 0.001f64..0.2, end: bool) {
            let bad = bad.min(n);
            let a = objective(n, bad, p0, min_requests(p0, None), end, "failed").outcome;
            let b = objective(n, (bad + 1).min(n), p0, min_requests(p0, None), end, "failed").outcome;
            let rank = |o: Outcome| match o { Outcome::Pass => 0, Outcome::Incomplete => 1, Outcome::Warn => 1, Outcome::Critical => 2 };
            prop_assert!(rank(b) >= rank(a) || (a == Outcome::Incomplete && b == Outcome::Warn));
            if n > 0 && (bad as f64) <= p0 * n as f64 {
                prop_assert!(a != Outcome::Critical, "{bad}/{n} at {p0}");
            }
        }

        #[test]
        fn a_single_bad_request_never_rolls_back(n in 1u64..100_000, p0 in 0.001f64..0.2) {
            prop_assert!(objective(n, 1, p0, min_requests(p0, None), true, "failed").outcome != Outcome::Critical);
        }
    }
}

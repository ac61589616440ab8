//! What a multi-run baseline teaches the noise guard, found once when `record` writes it: the
//! run-to-run noise τ of each metric (empirical Bayes: the runs' excess spread, pooled over request
//! names and shrunk toward a modest prior) and the rows this scenario cannot gate (too few requests,
//! a quantile between two latency modes, an MDE beyond twice the critical threshold). Pure.
//!
//! Why here and not in a calibration ritual: the runs of one baseline are A/A evidence already, and a
//! gate that calls a metric "too noisy" at every run is a gate that fails every pull request.

use std::collections::BTreeMap;

use crate::compare::bootstrap::{bootstrap, Evidence, MIN_WINDOWS, RESAMPLES};
use crate::compare::guard::{self, Levels, LogThresholds, Z_BETA};
use crate::compare::policy::Policy;
use crate::result::learned::{Learned, NotGated};
use crate::result::metric::{Direction, Metric};
use crate::result::RunResult;
use crate::scenario::units::format_micros;
use crate::stats::{chi_square_quantile, seed_of};

/// Metrics whose τ the runs can teach: latencies and throughput (error rates have their own
/// binomial intervals; memory and CPU keep their documented defaults).
pub const LEARNED: [Metric; 8] = [
    Metric::P5,
    Metric::P50,
    Metric::P90,
    Metric::P95,
    Metric::P99,
    Metric::Mean,
    Metric::Max,
    Metric::Throughput,
];

/// The prior τ a baseline's runs are shrunk toward: the run-to-run noise of a service on a quiet,
/// dedicated machine, a quarter to a half of the conservative defaults that are used only when there
/// is no evidence at all (`noise::default_tau`).
pub fn prior_tau(m: Metric) -> f64 {
    match m {
        Metric::P5 | Metric::P50 | Metric::Mean | Metric::Throughput => 0.02,
        Metric::P90 | Metric::P95 => 0.03,
        Metric::P99 => 0.045,
        _ => 0.08,
    }
}

/// Weight of the prior, in degrees of freedom: four runs' worth, so three baseline runs (two
/// degrees of freedom) move τ a third of the way toward what they showed.
pub const PRIOR_DF: f64 = 4.0;

/// τ in use is the posterior's 75% quantile, not its mean: with a few degrees of freedom a lucky
/// set of runs that happened to agree must not shrink τ to nothing.
const COVER: f64 = 0.75;

/// τ from the runs' excess spread: `observed²` with `df` degrees of freedom, shrunk toward the prior
/// (scaled-inverse-χ² posterior), read at its 75% quantile (`COVER`).
pub fn shrunk_tau(m: Metric, observed: f64, df: f64) -> f64 {
    let prior = prior_tau(m);
    let nu = PRIOR_DF + df;
    let post = (PRIOR_DF * prior * prior + df * observed * observed) / nu;
    (post * nu / chi_square_quantile(1.0 - COVER, nu)).sqrt()
}

/// One (scope, metric) cell of the baseline's runs.
struct Cell {
    /// ln θ per run.
    logs: Vec<f64>,
    /// Within-run bootstrap variance of ln θ per run.
    vars: Vec<f64>,
}

impl Cell {
    fn spread(&self) -> f64 {
        let k = self.logs.len() as f64;
        let mean = self.logs.iter().sum::<f64>() / k;
        self.logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)
    }

    fn mean_var(&self) -> f64 {
        self.vars.iter().sum::<f64>() / self.vars.len() as f64
    }
}

/// Each run's bootstrap evidence for one scope (`None` when a run lacks the scope or its windows).
fn evidence(runs: &[RunResult], scope: Option<&str>) -> Vec<Option<BTreeMap<Metric, Evidence>>> {
    runs.iter()
        .enumerate()
        .map(|(i, r)| {
            let stats = r.stats(scope)?;
            let secs = r.meta.load.window_ms as f64 / 1000.0;
            let seed = seed_of(&[
                "learn",
                &r.meta.started_at,
                scope.unwrap_or(""),
                &i.to_string(),
            ]);
            bootstrap(&[&stats.windows], secs, seed, RESAMPLES)
        })
        .collect()
}

fn cell(
    runs: &[RunResult],
    ev: &[Option<BTreeMap<Metric, Evidence>>],
    scope: Option<&str>,
    m: Metric,
) -> Option<Cell> {
    let mut c = Cell {
        logs: Vec::new(),
        vars: Vec::new(),
    };
    for (r, e) in runs.iter().zip(ev) {
        let stats = r.stats(scope)?;
        if stats.requests < m.min_requests() {
            return None;
        }
        let v = m
            .value_of(stats, r.measured_seconds())
            .filter(|v| *v > 0.0)?;
        let e = e.as_ref()?.get(&m)?;
        c.logs.push(v.ln());
        c.vars.push(e.log_var);
    }
    Some(c)
}

/// The baseline `record` writes from `runs` of one build: the runs pooled, with what they taught.
/// `None` for no runs.
pub fn recorded(runs: &[RunResult], policy: &Policy) -> Option<RunResult> {
    let mut pooled = RunResult::pool(runs)?;
    pooled.learned = Some(learn(runs, policy));
    Some(pooled)
}

/// What the baseline's runs taught, with more A/A evidence: `candidate` runs of one build (a gate's
/// first run and its confirmation run). Their spread does not move with a regression, so it is
/// evidence of τ whatever the verdict; its degrees of freedom add to the baseline's.
pub fn with_candidate_runs(l: &Learned, candidate: &[RunResult], policy: &Policy) -> Learned {
    if candidate.len() < 2 {
        return l.clone();
    }
    let more = learn(candidate, policy);
    let (df_b, df_c) = (
        l.runs.saturating_sub(1) as f64,
        (candidate.len() - 1) as f64,
    );
    let mut out = l.clone();
    for m in LEARNED {
        let (Some(b), Some(c)) = (l.observed_tau.get(&m), more.observed_tau.get(&m)) else {
            continue;
        };
        let observed = ((df_b * b * b + df_c * c * c) / (df_b + df_c)).sqrt();
        out.observed_tau.insert(m, observed);
        out.tau.insert(m, shrunk_tau(m, observed, df_b + df_c));
    }
    out
}

/// Learns τ and gateability from the runs of one baseline (all of the same build, in order).
pub fn learn(runs: &[RunResult], policy: &Policy) -> Learned {
    let names: Vec<&String> = runs
        .first()
        .map(|r| r.requests.keys().collect())
        .unwrap_or_default();
    let scopes: Vec<Option<&str>> = std::iter::once(None)
        .chain(names.iter().map(|n| Some(n.as_str())))
        .collect();
    let evidence: Vec<_> = crate::compare::evidence::par_map(&scopes, |s| evidence(runs, *s));
    let k = runs.len();
    let df = k.saturating_sub(1) as f64;
    let mut tau = BTreeMap::new();
    let mut observed_tau = BTreeMap::new();
    for m in LEARNED {
        let cells: Vec<Cell> = scopes
            .iter()
            .zip(&evidence)
            .filter_map(|(s, e)| cell(runs, e, *s, m))
            .collect();
        let observed = if k >= 2 {
            pooled_excess(&cells, prior_tau(m)).sqrt()
        } else {
            0.0
        };
        let used_df = if k >= 2 && !cells.is_empty() { df } else { 0.0 };
        observed_tau.insert(m, observed);
        tau.insert(m, shrunk_tau(m, observed, used_df));
    }
    let levels = levels_for(policy, &names);
    let mut not_gated = Vec::new();
    let mut expected_mde = BTreeMap::new();
    for (scope, ev) in scopes.iter().zip(&evidence) {
        // Every metric a row may fail on, gated today or not: `[gate] metrics` is not part of the
        // scenario's hash, so a gate may ask for one that `record` was not told about.
        for m in LEARNED {
            if !policy.for_row(*scope, m).1 {
                continue;
            }
            let t = tau.get(&m).copied().unwrap_or_else(|| prior_tau(m));
            let (reason, mde) = gateability(runs, ev, *scope, m, t, policy, levels);
            if let (None, Some(mde)) = (scope, mde) {
                expected_mde.insert(m, mde);
            }
            if let Some(reason) = reason {
                not_gated.push(NotGated {
                    request: scope.map(str::to_string),
                    metric: m,
                    reason,
                });
            }
        }
    }
    Learned {
        runs: k as u32,
        host_fingerprint: runs
            .first()
            .map(|r| r.meta.host.fingerprint.clone())
            .unwrap_or_default(),
        tau,
        observed_tau,
        expected_mde,
        not_gated,
    }
}

/// The run-to-run variance beyond the within-run noise, pooled over scopes: each scope's
/// `spread − mean within-run variance`, weighted by the inverse of its sampling variance
/// (∝ (τ² + v)², so a thin request name cannot outvote the aggregate). Never negative.
fn pooled_excess(cells: &[Cell], prior: f64) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for c in cells {
        let v = c.mean_var();
        let w = 1.0 / (v + prior * prior).powi(2);
        num += w * (c.spread() - v);
        den += w;
    }
    if den > 0.0 {
        (num / den).max(0.0)
    } else {
        0.0
    }
}

/// The significance levels a gate of this scenario will use (the same family sizes as `compare`).
fn levels_for(policy: &Policy, names: &[&String]) -> Levels {
    let scopes: Vec<Option<&str>> = std::iter::once(None)
        .chain(names.iter().map(|n| Some(n.as_str())))
        .collect();
    let (critical, warn) = crate::compare::families(policy, &scopes, |_, _| false);
    Levels::new(critical, warn, Z_BETA)
}

/// Why a row cannot be gated for this scenario, if it cannot, and the MDE a gate of one candidate
/// run against this baseline can expect for it, when its noise could be estimated.
#[allow(
    clippy::too_many_arguments,
    reason = "one row's inputs; grouping them would only rename them"
)]
fn gateability(
    runs: &[RunResult],
    ev: &[Option<BTreeMap<Metric, Evidence>>],
    scope: Option<&str>,
    m: Metric,
    tau: f64,
    policy: &Policy,
    levels: Levels,
) -> (Option<String>, Option<f64>) {
    let need = m.min_requests();
    let fewest = runs
        .iter()
        .map(|r| r.stats(scope).map_or(0, |s| s.requests))
        .min()
        .unwrap_or(0);
    if fewest < need {
        return (Some(format!(
            "{m} needs at least {need} requests per run and the baseline's runs completed {fewest}: raise `load.rate` or lengthen `load.duration` to gate it"
        )), None);
    }
    let windows = runs
        .iter()
        .map(|r| r.stats(scope).map_or(0, |s| s.windows.len()))
        .min()
        .unwrap_or(0);
    if windows < MIN_WINDOWS {
        return (Some(format!(
            "{m} needs {MIN_WINDOWS} windows of measurement per run to estimate its noise; the baseline's runs have {windows}: lengthen `load.duration`"
        )), None);
    }
    let Some(c) = cell(runs, ev, scope, m) else {
        return (None, None);
    };
    // What a gate against this baseline will see: the baseline's within-run noise over its runs, a
    // candidate's over one run, and τ on both sides.
    let k = runs.len() as f64;
    let v = c.mean_var();
    let s = (v / k + v + tau * tau * (1.0 / k + 1.0)).sqrt();
    let (thresholds, can_fail) = policy.for_row(scope, m);
    let lower = m.direction() == Direction::LowerIsWorse;
    let j = guard::judge_log_change(
        0.0,
        s,
        LogThresholds::new(thresholds, lower),
        levels,
        can_fail,
    );
    let mde = format!("{:.0}%", j.mde * 100.0);
    // p5 is gated for the uniform slowdown the busier metrics cannot see through a machine's
    // interference. Where it cannot see a critical change either, it adds only a chance to fail.
    if m == Metric::P5 && j.mde > thresholds.critical.fraction() {
        return (Some(format!(
            "p5 varies between runs as much as a regression here (expected MDE {mde}, beyond the critical {}): the other latencies gate this scenario",
            thresholds.critical
        )), Some(j.mde));
    }
    if !j.too_noisy {
        return (None, Some(j.mde));
    }
    let modes = RunResult::pool(runs).and_then(|pooled| {
        m.quantile()
            .and_then(|q| between_modes(&pooled, scope, q, thresholds.critical.fraction()))
    });
    if let Some((lo, hi, q_lo, q_hi)) = modes {
        return (Some(format!(
            "{m} sits between two latency modes ({} at p{q_lo:.0}, {} at p{q_hi:.0}), so it jumps between them from run to run (MDE {mde}); the other metrics gate this scenario",
            format_micros(lo),
            format_micros(hi)
        )), Some(j.mde));
    }
    (Some(format!(
        "{m} is too noisy to gate at {} (expected MDE {mde}, more than twice the threshold): lengthen `load.duration` or record more runs (`record --runs`)",
        thresholds.critical
    )), Some(j.mde))
}

/// Whether quantile `q` of a scope sits in a gap between two modes: the values a couple of
/// percentiles either side differ by more than `jump` (relative). Returns the two values and their
/// percentiles.
fn between_modes(
    r: &RunResult,
    scope: Option<&str>,
    q: f64,
    jump: f64,
) -> Option<(f64, f64, f64, f64)> {
    let h = &r.stats(scope)?.histogram;
    let delta = (0.02f64).min((1.0 - q) / 2.0);
    let (ql, qh) = (q - delta, q + delta);
    let lo = h.quantile_us(ql)? as f64;
    let hi = h.quantile_us(qh)? as f64;
    (lo > 0.0 && hi / lo > 1.0 + jump).then_some((lo, hi, ql * 100.0, qh * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::testing::run_of;
    use crate::scenario::validate::default_gate;

    fn policy() -> Policy {
        Policy::from_gate(&default_gate())
    }

    #[test]
    fn shrinkage_moves_toward_the_runs_with_more_evidence() {
        let m = Metric::P95;
        let none = shrunk_tau(m, 0.0, 0.0);
        let quiet = shrunk_tau(m, 0.0, 2.0);
        let loud = shrunk_tau(m, 0.2, 2.0);
        let louder = shrunk_tau(m, 0.2, 20.0);
        assert!(quiet < none, "{quiet} {none}");
        assert!(loud > none && louder > loud, "{none} {loud} {louder}");
        // Much evidence of a quiet service ends near zero; of a loud one near what it showed.
        assert!(shrunk_tau(m, 0.0, 200.0) < 0.01);
        assert!((louder - 0.2).abs() < 0.06, "{louder}");
    }

    #[test]
    fn quiet_runs_learn_a_modest_tau_and_leave_the_unimodal_metrics_gated() {
        let modes = [(10_000, 1)];
        let runs: Vec<RunResult> = (0..3).map(|i| run_of(&modes, 150, 20, 1.0, i)).collect();
        let l = learn(&runs, &policy());
        assert_eq!(l.runs, 3);
        for m in [Metric::P50, Metric::P95, Metric::Mean] {
            let t = l.tau[&m];
            assert!(
                t > 0.0 && t < crate::compare::noise::default_tau(m),
                "{m}: {t}"
            );
        }
        assert!(
            l.not_gated.iter().all(|n| n.metric == Metric::P99),
            "{:?}",
            l.not_gated
        );
    }

    #[test]
    fn runs_that_disagree_teach_a_larger_tau() {
        let modes = [(10_000, 1)];
        let quiet: Vec<RunResult> = (0..3).map(|i| run_of(&modes, 150, 20, 1.0, i)).collect();
        let loud: Vec<RunResult> = [1.0, 1.15, 0.88]
            .iter()
            .enumerate()
            .map(|(i, f)| run_of(&modes, 150, 20, *f, i as u64))
            .collect();
        let (q, l) = (learn(&quiet, &policy()), learn(&loud, &policy()));
        assert!(
            l.tau[&Metric::P50] > 1.5 * q.tau[&Metric::P50],
            "{q:?} {l:?}"
        );
        assert!(l.observed_tau[&Metric::P50] > 0.08, "{l:?}");
    }

    #[test]
    fn candidate_runs_that_disagree_raise_tau_and_agreeing_ones_lower_it() {
        let modes = [(10_000, 1)];
        let base: Vec<RunResult> = (0..3).map(|i| run_of(&modes, 150, 20, 1.0, i)).collect();
        let l = learn(&base, &policy());
        let apart = [
            run_of(&modes, 150, 20, 1.0, 7),
            run_of(&modes, 150, 20, 1.2, 8),
        ];
        let close = [
            run_of(&modes, 150, 20, 1.0, 7),
            run_of(&modes, 150, 20, 1.0, 8),
        ];
        let (wide, narrow) = (
            with_candidate_runs(&l, &apart, &policy()),
            with_candidate_runs(&l, &close, &policy()),
        );
        let m = Metric::P50;
        assert!(
            wide.tau[&m] > l.tau[&m],
            "{} vs {}",
            wide.tau[&m],
            l.tau[&m]
        );
        assert!(
            narrow.tau[&m] < l.tau[&m],
            "{} vs {}",
            narrow.tau[&m],
            l.tau[&m]
        );
        // One candidate run is no A/A evidence.
        assert_eq!(with_candidate_runs(&l, &apart[..1], &policy()), l);
    }

    #[test]
    fn a_median_between_two_modes_is_not_gated_and_says_why() {
        // Half the requests at 10 ms, half at 20 ms: the median sits in the gap.
        let modes = [(10_000, 1), (20_000, 1)];
        let runs: Vec<RunResult> = (0..3).map(|i| run_of(&modes, 151, 20, 1.0, i)).collect();
        let l = learn(&runs, &policy());
        let why = l.not_gated(None, Metric::P50).expect("p50 not gated");
        assert!(why.contains("between two latency modes"), "{why}");
        assert!(
            l.not_gated(None, Metric::Mean).is_none(),
            "{:?}",
            l.not_gated
        );
    }

    #[test]
    fn a_p5_that_cannot_see_a_critical_change_is_not_gated_while_the_median_still_is() {
        // Whole runs 3% faster or 5% slower than the first: every quantile moves alike, so p5
        // adds no power the median lacks, only a chance to fail.
        let runs: Vec<RunResult> = [1.0, 1.05, 0.97]
            .iter()
            .enumerate()
            .map(|(i, level)| run_of(&[(5_000, 1)], 150, 20, *level, i as u64))
            .collect();
        let l = learn(&runs, &policy());
        let why = l.not_gated(None, Metric::P5).expect("p5 not gated");
        assert!(
            why.contains("varies between runs as much as a regression"),
            "{why}"
        );
        assert!(l.expected_mde[&Metric::P5] > 0.20, "{:?}", l.expected_mde);
        assert!(
            l.not_gated(None, Metric::P50).is_none(),
            "{:?}",
            l.not_gated
        );
        // Quiet runs keep p5 gated.
        let quiet: Vec<RunResult> = (0..3)
            .map(|i| run_of(&[(5_000, 1)], 150, 20, 1.0, i))
            .collect();
        assert!(learn(&quiet, &policy())
            .not_gated(None, Metric::P5)
            .is_none());
    }

    #[test]
    fn a_low_rate_scenario_does_not_gate_the_quantiles_it_cannot_reach() {
        let runs: Vec<RunResult> = (0..3)
            .map(|i| run_of(&[(5_000, 1)], 20, 20, 1.0, i))
            .collect();
        let l = learn(&runs, &policy());
        let why = l.not_gated(None, Metric::P99).expect("p99 not gated");
        assert!(
            why.contains("needs at least 2000 requests per run"),
            "{why}"
        );
        assert!(
            l.not_gated(None, Metric::P50).is_none(),
            "{:?}",
            l.not_gated
        );
    }
}

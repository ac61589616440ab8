//! Stage 4 — compare a run with its baseline: pure functions, no I/O, no printing.
//!
//! `compare(baseline, run, criteria)` walks every (request, metric) and yields one [`Row`] each: the
//! aggregate for every metric, and each request name for the gated metrics. This file holds the
//! types and the walk (missing data, too few requests, objectives); each metric family judges its
//! rows in its own file:
//!
//! - `latency.rs` — latency and throughput, through the noise guard (`guard.rs`): a block bootstrap
//!   over per-second windows gives each run's within-run variance, `noise.rs` adds the run-to-run
//!   term τ, and a change counts only when it is beyond the threshold and beyond what noise explains;
//! - `errors.rs` — error rates, by Wilson/Newcombe intervals widened for bursts;
//! - `service.rs` — the service's memory and CPU, and the leak rule;
//! - `confirm.rs` — whether a confirmation run is due, and the rule that keeps a critical row after it.
//!
//! Latency, throughput, peak memory and CPU share one log-change judge (`log_change.rs`).

pub mod bootstrap;
pub mod capacity;
pub mod confirm;
mod errors;
pub mod evidence;
pub mod guard;
mod latency;
pub mod learn;
pub mod log_change;
pub mod noise;
pub mod policy;
pub mod rules;
pub mod service;
pub mod stability;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::result::metric::{Direction, Metric, Unit};
use crate::result::{RequestStats, RunResult};
pub use confirm::{confirm, needs_confirmation};
pub use noise::Noise;
pub use policy::Policy;
pub use rules::Status;

use self::bootstrap::Evidence;
use self::guard::Levels;

/// One compared value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Request name; `None` for all requests together.
    pub request: Option<String>,
    /// Metric.
    pub metric: Metric,
    /// Baseline value in the metric's unit (µs, req/s, fraction).
    pub baseline: Option<f64>,
    /// Run value.
    pub run: Option<f64>,
    /// Relative change (run − baseline) / baseline, signed; `None` when not computable.
    pub change: Option<f64>,
    /// 95% interval of the relative change, when the noise could be estimated.
    pub interval: Option<(f64, f64)>,
    /// Minimum detectable effect: the smallest regression this row flags with 95% power.
    pub mde: Option<f64>,
    /// Whether this row decides the verdict.
    pub gated: bool,
    /// Whether this row may go critical (aggregate rows, and per-request overrides).
    pub can_fail: bool,
    /// Too noisy to gate at its critical threshold: reported, never critical.
    pub too_noisy: bool,
    /// Close enough to critical that a confirmation run is worth it.
    pub suspect: bool,
    /// Critical without confirmation: an SLO breach, an error-rate rise, or a gross regression.
    pub decisive: bool,
    /// Outcome.
    pub status: Status,
    /// Why, in words.
    pub reason: String,
}

impl Row {
    /// A row not judged yet: no values, status info.
    pub(crate) fn new(
        request: Option<String>,
        metric: Metric,
        gated: bool,
        can_fail: bool,
    ) -> Self {
        Row {
            request,
            metric,
            baseline: None,
            run: None,
            change: None,
            interval: None,
            mde: None,
            gated,
            can_fail: gated && can_fail,
            too_noisy: false,
            suspect: false,
            decisive: false,
            status: Status::Info,
            reason: String::new(),
        }
    }

    /// The status of a row that cannot be judged: missing or thin data blocks the verdict only
    /// where the row could have failed it.
    fn unjudged(&self) -> Status {
        if self.can_fail {
            Status::Incomplete
        } else {
            Status::Info
        }
    }
}

/// All rows, plus facts about the pair of runs that a reader must see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Rows, aggregate first, then request names in order.
    pub rows: Vec<Row>,
    /// Warnings about the comparison itself (different host, different load settings).
    pub notes: Vec<String>,
    /// Where the run-to-run noise term came from.
    pub noise: String,
    /// Runs pooled on each side (baseline, candidate).
    pub runs: (usize, usize),
    /// Why the candidate run is unfit to judge (outlier seconds), if it is.
    pub unstable: Option<String>,
    /// The candidate pools a confirmation re-run of a suspect regression (`gate --confirm`).
    #[serde(default)]
    pub confirmed: bool,
}

/// What a comparison judges by: the thresholds, the noise, and the power it asks for.
#[derive(Debug, Clone, Copy)]
pub struct Criteria<'a> {
    /// Thresholds, metrics, SLOs.
    pub policy: &'a Policy,
    /// Run-to-run noise.
    pub noise: &'a Noise,
    /// Power quantile: [`guard::Z_BETA`], or [`guard::Z_BETA_CONFIRMED`] after a confirmation run.
    pub z_beta: f64,
}

/// Compares `run` with `baseline`. Either side may pool several runs (their windows concatenated,
/// `meta.run_windows` telling where each run starts).
pub fn compare(baseline: &RunResult, run: &RunResult, settings: Criteria<'_>) -> Comparison {
    let adapted = settings.policy.adapted_to(baseline, run);
    let settings = Criteria {
        policy: &adapted,
        ..settings
    };
    let policy = settings.policy;
    let benchmark = baseline.is_benchmark() || run.is_benchmark();
    let names: BTreeSet<&String> = baseline
        .requests
        .keys()
        .chain(run.requests.keys())
        .collect();
    let mut scopes: Vec<Option<&String>> = vec![None];
    scopes.extend(names.iter().copied().map(Some));
    // The service's metrics (memory, CPU) exist once per run, not per request.
    let per_request: Vec<Metric> = policy
        .metrics
        .iter()
        .copied()
        .filter(|m| !m.is_service())
        .collect();
    let not_gated = |r: Option<&str>, m: Metric| {
        baseline
            .learned
            .as_ref()
            .is_some_and(|l| l.not_gated(r, m).is_some())
    };
    let scope_names: Vec<Option<&str>> = scopes.iter().map(|s| s.map(String::as_str)).collect();
    let (critical_family, warn_family) = families(policy, &scope_names, not_gated);
    let monitored = !baseline.samples.is_empty() || !run.samples.is_empty();
    let levels = Levels::new(critical_family, warn_family, settings.z_beta);
    // Each scope's bootstraps and rows in one piece of work, so the rows' point estimates (a walk
    // over each dense histogram) are spread over the cores along with the bootstraps.
    let rows: Vec<Row> = evidence::par_map(&scopes, |&scope| {
        let (eb, er) = evidence::of(baseline, run, scope, policy, &per_request);
        let req = scope.map(String::as_str);
        let (b, r) = (baseline.stats(req), run.stats(req));
        let metrics: Vec<Metric> = if scope.is_none() {
            Metric::ALL
                .into_iter()
                .filter(|m| !m.is_service() || monitored || policy.gates(*m))
                // A benchmark's iterations per second is its mean time per iteration, inverted.
                .filter(|m| !(benchmark && *m == Metric::Throughput))
                .collect()
        } else {
            // A request's own objectives are judged on it whether or not their metric is gated.
            let mut ms = per_request.clone();
            for slo in policy.slos_for(req) {
                if !ms.contains(&slo.metric) {
                    ms.push(slo.metric);
                }
            }
            ms
        };
        let sides = Sides {
            baseline,
            run,
            b,
            r,
            eb: eb.as_ref(),
            er: er.as_ref(),
        };
        metrics
            .into_iter()
            .map(|metric| row(&sides, settings, levels, scope, metric))
            .collect::<Vec<Row>>()
    })
    .into_iter()
    .flatten()
    .collect();
    let mut rows = rows;
    // A micro-benchmark's histograms hold nanoseconds; rows speak µs like every other result.
    for r in &mut rows {
        if r.metric.unit() == Unit::Micros {
            r.baseline = r.baseline.map(|v| v * baseline.micros_per_unit());
            r.run = r.run.map(|v| v * run.micros_per_unit());
        }
    }
    let mut notes = notes(baseline, run);
    if let Some(l) = &baseline.learned {
        let skipped: Vec<String> = l
            .not_gated
            .iter()
            .map(|n| {
                format!(
                    "{} {}: {}",
                    n.request.as_deref().unwrap_or("all"),
                    n.metric,
                    n.reason
                )
            })
            .collect();
        if !skipped.is_empty() {
            notes.push(format!(
                "not gated for this scenario (found when the baseline was recorded): {}",
                skipped.join("; ")
            ));
        }
    }
    Comparison {
        rows,
        notes,
        noise: settings.noise.source.clone(),
        runs: (baseline.runs(), run.runs()),
        unstable: stability::unstable(run),
        confirmed: false,
    }
}

/// The sizes of the critical and warn families of a comparison over `scopes` (`None` = all
/// requests), for the Bonferroni levels: rows `skip` names (not gated for the scenario) are left out.
pub fn families(
    policy: &Policy,
    scopes: &[Option<&str>],
    skip: impl Fn(Option<&str>, Metric) -> bool,
) -> (usize, usize) {
    let (mut critical, mut warn) = (0, 0);
    for &scope in scopes {
        for &m in &policy.metrics {
            if (scope.is_some() && m.is_service()) || skip(scope, m) {
                continue;
            }
            warn += 1;
            if policy.for_row(scope, m).1 {
                critical += 1;
            }
        }
    }
    (critical, warn)
}

/// The two sides of one scope (a request name, or the aggregate): results, stats and bootstraps.
struct Sides<'a> {
    baseline: &'a RunResult,
    run: &'a RunResult,
    b: Option<&'a RequestStats>,
    r: Option<&'a RequestStats>,
    eb: Option<&'a BTreeMap<Metric, Evidence>>,
    er: Option<&'a BTreeMap<Metric, Evidence>>,
}

fn notes(baseline: &RunResult, run: &RunResult) -> Vec<String> {
    let mut notes = Vec::new();
    let (bh, rh) = (&baseline.meta.host, &run.meta.host);
    if bh.fingerprint != rh.fingerprint {
        notes.push(format!(
            "the baseline was recorded on another machine ({}, {} CPUs) than this run ({}, {} CPUs): \
             absolute latencies rarely transfer between machines; record a baseline on this runner class",
            bh.cpu_model, bh.cpus, rh.cpu_model, rh.cpus
        ));
    }
    // An import's load settings are its length and sample width, not a load loadgate applied.
    let imported = baseline.imported.is_some() || run.imported.is_some();
    if baseline.meta.load != run.meta.load && !imported {
        notes.push("the baseline and the run used different load settings".to_string());
    }
    for (r, who) in [(baseline, "baseline"), (run, "run")] {
        if let Some(i) = &r.imported {
            notes.push(format!("the {who} was {}", i.describe()));
        }
    }
    for (r, who) in [(baseline, "baseline"), (run, "run")] {
        if let Some(why) = &r.meta.stopped_early {
            notes.push(format!("the {who} stopped early: {why}"));
        }
    }
    notes
}

/// One row; a row the baseline found ungateable for this scenario is reported, with why, and
/// never decides the verdict.
fn row(
    s: &Sides<'_>,
    settings: Criteria<'_>,
    levels: Levels,
    request: Option<&String>,
    metric: Metric,
) -> Row {
    let skipped = s
        .baseline
        .learned
        .as_ref()
        .and_then(|l| l.not_gated(request.map(String::as_str), metric));
    let mut out = judge_row(s, settings, levels, request, metric, skipped.is_none());
    if let Some(why) = skipped.filter(|_| out.status != Status::Critical) {
        out.too_noisy = false;
        out.reason = format!("not gated: {why}. Measured: {}", out.reason);
    }
    out
}

fn judge_row(
    s: &Sides<'_>,
    settings: Criteria<'_>,
    levels: Levels,
    request: Option<&String>,
    metric: Metric,
    gateable: bool,
) -> Row {
    let policy = settings.policy;
    let req = request.map(String::as_str);
    // Several benchmarks pooled mean nothing together: each is gated on its own row.
    let pooled_benchmarks = req.is_none()
        && (s.baseline.is_benchmark() || s.run.is_benchmark())
        && s.baseline.requests.len().max(s.run.requests.len()) > 1;
    let gated = policy.gates(metric) && gateable && !pooled_benchmarks;
    let (thresholds, can_fail) = policy.for_row(req, metric);
    if metric.is_service() {
        // CPU is warn-only (docs/statistics.md §6): it follows load and code paths too closely to fail a build.
        let can_fail = can_fail && metric != Metric::Cpu;
        return service::service_row(s, settings, levels, metric, thresholds, gated, can_fail);
    }
    let value = |st: Option<&RequestStats>, r: &RunResult| {
        st.and_then(|st| metric.value_of(st, r.measured_seconds()))
    };
    let (b, r) = (value(s.b, s.baseline), value(s.r, s.run));
    let change = match (b, r) {
        (Some(b), Some(r)) if b != 0.0 => Some((r - b) / b),
        (Some(b), Some(r)) if b == r => Some(0.0),
        _ => None,
    };
    let mut out = Row::new(request.cloned(), metric, gated, can_fail);
    (out.baseline, out.run, out.change) = (b, r, change);
    if let Some(a) = s
        .run
        .meta
        .aborted
        .as_ref()
        .filter(|a| a.metric == metric && a.request.as_deref() == req)
    {
        // The load stopped on this breach: it stands however few requests the run completed.
        out.status = Status::Critical;
        out.decisive = true;
        out.reason = format!(
            "SLO breached beyond doubt, the load was stopped: {metric} is at least {} (lower bound; measured {}) against an objective of {}",
            show(metric, a.lower_bound),
            show(metric, a.value),
            show(metric, a.objective)
        );
        return out;
    }
    let short = out.unjudged();
    let (Some(bv), Some(rv)) = (b, r) else {
        let side = match (s.b, s.r) {
            (None, _) => "the baseline has no such request",
            (_, None) => "the run has no such request",
            (_, Some(st)) if st.requests == 0 => "the run completed no requests",
            _ => "no value could be computed (no successful responses)",
        };
        (out.status, out.reason) = (short, side.to_string());
        return out;
    };
    if s.baseline.is_benchmark() || s.run.is_benchmark() {
        // A benchmark's values are its harness's samples (windows), not iterations.
        let need = metric.min_samples();
        let samples = (
            s.b.map_or(0, |x| x.windows.len()),
            s.r.map_or(0, |x| x.windows.len()),
        );
        if samples.0 < need || samples.1 < need {
            out.status = Status::Info;
            (out.gated, out.can_fail) = (false, false);
            out.reason = format!(
                "reported, not gated: {metric} needs {need} samples on each side (baseline {}, run {}); raise the harness's sample count (criterion's `sample_size`, hyperfine's `--runs`)",
                samples.0, samples.1
            );
            return out;
        }
    }
    let need = if s.baseline.is_benchmark() || s.run.is_benchmark() {
        0
    } else {
        metric.min_requests()
    };
    let counts = (s.b.map_or(0, |x| x.requests), s.r.map_or(0, |x| x.requests));
    // A run that completed few requests because most of them failed (a hung or dead service) is the
    // clearest regression there is: its error rate is still judged, by the same interval test, which
    // is wide with few requests, so only a decisive rise gets through.
    let decisive_errors = metric == Metric::ErrorRate
        && counts.0 >= need
        && errors::error_rate(s, thresholds, levels, can_fail).0 == Status::Critical;
    if (counts.0 < need || counts.1 < need) && !decisive_errors {
        out.status = short;
        out.reason = format!(
            "too few requests to judge {metric} (baseline {}, run {}; need {need}): run longer or at a higher rate",
            counts.0, counts.1
        );
        return out;
    }
    if let Some(slo) = policy.slos_for(req).iter().find(|x| x.metric == metric) {
        let breached = match metric.direction() {
            Direction::HigherIsWorse => rv > slo.limit,
            Direction::LowerIsWorse => rv < slo.limit,
        };
        if breached {
            out.status = Status::Critical;
            out.decisive = true;
            out.reason = format!(
                "SLO breached: {metric} is {} against an objective of {}",
                show(metric, rv),
                show(metric, slo.limit)
            );
            return out;
        }
    }
    let (status, reason) = if metric == Metric::ErrorRate {
        errors::error_rate(s, thresholds, levels, can_fail)
    } else {
        latency::guarded(
            s, settings, levels, metric, thresholds, can_fail, bv, rv, &mut out,
        )
    };
    out.reason = reason;
    out.status = if gated || status == Status::Info {
        status
    } else {
        Status::Info
    };
    if metric == Metric::ErrorRate && out.status == Status::Critical {
        out.decisive = true;
    }
    if !gated {
        out.can_fail = false;
        out.suspect = false;
        out.decisive = false;
    }
    out
}

/// Why two results cannot be compared at all (another tool's results, another unit), or `None`.
pub fn incomparable(baseline: &RunResult, run: &RunResult) -> Option<String> {
    let origin = |r: &RunResult| {
        r.imported.as_ref().map_or_else(
            || "loadgate's own load".to_string(),
            |i| format!("{} output", i.format),
        )
    };
    let (b, r) = (origin(baseline), origin(run));
    if b != r {
        return Some(format!(
            "the baseline holds {b} and the result {r}: compare results of one kind (record a new baseline from the same tool)"
        ));
    }
    if baseline.micros_per_unit() != run.micros_per_unit() {
        return Some(
            "the baseline and the result store their times in different units (ns and µs): re-import both with this version of loadgate".to_string(),
        );
    }
    None
}

/// A value in its unit, for messages.
pub fn show(metric: Metric, v: f64) -> String {
    match metric.unit() {
        Unit::Micros => crate::scenario::units::format_micros(v),
        Unit::PerSecond => format!("{v:.1} req/s"),
        Unit::Fraction => format!("{:.2}%", v * 100.0),
        Unit::Bytes => format!("{:.1} MB", v / 1e6),
        Unit::BytesPerMinute => format!("{:+.2} MB/min", v / 1e6),
        Unit::CpuPercent => format!("{v:.1}% CPU"),
    }
}

#[cfg(test)]
mod imported_tests;

#[cfg(test)]
mod few_requests_tests {
    use super::*;
    use crate::result::{ErrorCounts, LatencyHistogram, Window};

    /// `requests` over 12 windows, the first `errors` of them timeouts, the rest 5 ms.
    fn side(requests: u64, errors: u64) -> RunResult {
        let mut r = crate::result::testing::result();
        r.meta.measured_duration_ms = 12_000;
        let mut all = RequestStats {
            requests,
            errors: ErrorCounts {
                timeout: errors,
                ..ErrorCounts::default()
            },
            ..RequestStats::default()
        };
        for w in 0..12 {
            let n = requests / 12 + u64::from(w < requests % 12);
            let e = (errors / 12 + u64::from(w < errors % 12)).min(n);
            let mut h = LatencyHistogram::new();
            h.record_n(5_000, n - e);
            all.histogram.merge(&h);
            all.windows.push(Window {
                requests: n,
                errors: e,
                histogram: h.into(),
            });
        }
        all.latency = crate::result::LatencySummary::of(&all.histogram);
        r.all = all;
        r
    }

    fn error_rate_row(base: &RunResult, run: &RunResult) -> Row {
        let policy = Policy::from_gate(&crate::scenario::validate::default_gate());
        let noise = Noise::defaults();
        let c = compare(
            base,
            run,
            Criteria {
                policy: &policy,
                noise: &noise,
                z_beta: guard::Z_BETA,
            },
        );
        c.rows
            .into_iter()
            .find(|r| r.request.is_none() && r.metric == Metric::ErrorRate)
            .expect("an error-rate row")
    }

    #[test]
    fn a_run_that_mostly_failed_is_critical_even_with_few_requests() {
        // A hung service: every request of the run timed out, so it completed only 48.
        let row = error_rate_row(&side(750, 0), &side(48, 48));
        assert_eq!(row.status, Status::Critical, "{}", row.reason);
        assert!(row.decisive);
    }

    #[test]
    fn a_run_stopped_by_abort_on_slo_is_critical_on_that_objective_however_short() {
        let mut run = side(48, 0);
        run.meta.aborted = Some(crate::result::Aborted {
            request: None,
            metric: Metric::P95,
            objective: 1_000.0,
            value: 5_000.0,
            lower_bound: 4_900.0,
            requests: 48,
            after_ms: 2_000,
        });
        let policy = Policy::from_gate(&crate::scenario::validate::default_gate());
        let noise = Noise::defaults();
        let settings = Criteria {
            policy: &policy,
            noise: &noise,
            z_beta: guard::Z_BETA,
        };
        let c = compare(&side(750, 0), &run, settings);
        let row = c
            .rows
            .iter()
            .find(|r| r.request.is_none() && r.metric == Metric::P95)
            .expect("a p95 row");
        assert_eq!(row.status, Status::Critical, "{}", row.reason);
        assert!(row.decisive);
        assert!(
            row.reason.contains("the load was stopped"),
            "{}",
            row.reason
        );
        assert_eq!(
            crate::verdict::decide(&c).outcome,
            crate::verdict::Outcome::Critical
        );
        // Without the abort the same short run is not judged on p95 at all.
        run.meta.aborted = None;
        let c = compare(&side(750, 0), &run, settings);
        assert_ne!(
            crate::verdict::decide(&c).outcome,
            crate::verdict::Outcome::Critical
        );
    }

    #[test]
    fn few_requests_with_a_few_errors_stay_unjudged() {
        let row = error_rate_row(&side(750, 0), &side(48, 2));
        assert_ne!(row.status, Status::Critical, "{}", row.reason);
        assert!(row.reason.contains("too few requests"), "{}", row.reason);
    }
}

#[cfg(test)]
mod request_slo_tests {
    use super::*;
    use crate::result::testing::run_of;
    use crate::scenario::Slo;

    fn judge(p95_limit_us: f64) -> Comparison {
        let base = run_of(&[(10_000, 1)], 100, 20, 1.0, 1);
        let run = run_of(&[(10_000, 1)], 100, 20, 1.0, 2);
        let mut policy = Policy::from_gate(&crate::scenario::validate::default_gate());
        policy.request_slos.insert(
            "all of it".into(),
            vec![Slo {
                metric: Metric::P95,
                limit: p95_limit_us,
            }],
        );
        compare(
            &base,
            &run,
            Criteria {
                policy: &policy,
                noise: &Noise::defaults(),
                z_beta: guard::Z_BETA,
            },
        )
    }

    fn p95(c: &Comparison, request: Option<&str>) -> Row {
        c.rows
            .iter()
            .find(|r| r.request.as_deref() == request && r.metric == Metric::P95)
            .cloned()
            .unwrap_or_else(|| panic!("no p95 row for {request:?}"))
    }

    #[test]
    fn a_request_breaching_its_own_objective_is_critical_whatever_the_baseline() {
        // Unchanged from the baseline (p95 ≈ 10.5 ms), but the request's objective is 5 ms.
        let c = judge(5_000.0);
        let row = p95(&c, Some("all of it"));
        assert_eq!(row.status, Status::Critical, "{}", row.reason);
        assert!(
            row.decisive && row.reason.contains("SLO breached"),
            "{}",
            row.reason
        );
        // The aggregate has no objective: it is judged against the baseline only.
        assert_ne!(p95(&c, None).status, Status::Critical);
        assert_eq!(
            crate::verdict::decide(&c).outcome,
            crate::verdict::Outcome::Critical
        );
        // Within its objective: the request's row is judged as before.
        let c = judge(50_000.0);
        assert_ne!(p95(&c, Some("all of it")).status, Status::Critical);
    }

    #[test]
    fn a_request_objective_on_a_metric_not_gated_still_has_its_row() {
        let base = run_of(&[(10_000, 1)], 100, 20, 1.0, 1);
        let run = run_of(&[(10_000, 1)], 100, 20, 1.0, 2);
        let mut policy = Policy::from_gate(&crate::scenario::validate::default_gate());
        policy.metrics.retain(|m| *m != Metric::P95);
        policy.request_slos.insert(
            "all of it".into(),
            vec![Slo {
                metric: Metric::P95,
                limit: 5_000.0,
            }],
        );
        let settings = Criteria {
            policy: &policy,
            noise: &Noise::defaults(),
            z_beta: guard::Z_BETA,
        };
        let c = compare(&base, &run, settings);
        assert_eq!(p95(&c, Some("all of it")).status, Status::Critical);
        assert_eq!(
            crate::verdict::decide(&c).outcome,
            crate::verdict::Outcome::Critical
        );
    }
}

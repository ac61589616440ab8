//! Stage 4 — compare a run with its baseline: pure functions, no I/O, no printing.
//!
//! `compare(baseline, run, policy)` yields one [`Row`] per (request, metric): the aggregate for every
//! metric, and each request name for the gated metrics. The verdict is folded from the rows
//! downstream; renderers only display them. The statistical noise guard will live here too.

pub mod policy;
pub mod rules;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::result::metric::Metric;
use crate::result::{RequestStats, RunResult};
pub use policy::Policy;
pub use rules::Status;

use self::rules::{judge, Rule};

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
    /// Whether this row decides the verdict.
    pub gated: bool,
    /// Outcome.
    pub status: Status,
    /// Why, in words.
    pub reason: String,
}

/// All rows, plus facts about the pair of runs that a reader must see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Rows, aggregate first, then request names in order.
    pub rows: Vec<Row>,
    /// Warnings about the comparison itself (different host, different load settings).
    pub notes: Vec<String>,
}

/// Compares `run` with `baseline` under `policy`.
pub fn compare(baseline: &RunResult, run: &RunResult, policy: &Policy) -> Comparison {
    let mut rows = Vec::new();
    for metric in Metric::ALL {
        rows.push(row(baseline, run, policy, None, metric));
    }
    let names: BTreeSet<&String> = baseline
        .requests
        .keys()
        .chain(run.requests.keys())
        .collect();
    for name in names {
        for &metric in &policy.metrics {
            rows.push(row(baseline, run, policy, Some(name), metric));
        }
    }
    Comparison {
        rows,
        notes: notes(baseline, run),
    }
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
    if baseline.meta.load != run.meta.load {
        notes.push("the baseline and the run used different load settings".to_string());
    }
    for (r, who) in [(baseline, "baseline"), (run, "run")] {
        if let Some(why) = &r.meta.stopped_early {
            notes.push(format!("the {who} stopped early: {why}"));
        }
    }
    notes
}

fn row(
    baseline: &RunResult,
    run: &RunResult,
    policy: &Policy,
    request: Option<&String>,
    metric: Metric,
) -> Row {
    let req = request.map(String::as_str);
    let gated = policy.gates(metric);
    let (thresholds, can_fail) = policy.for_row(req, metric);
    let (b_stats, r_stats) = (baseline.stats(req), run.stats(req));
    let value = |s: Option<&RequestStats>, r: &RunResult| {
        s.and_then(|s| metric.value_of(s, r.measured_seconds()))
    };
    let (b, r) = (value(b_stats, baseline), value(r_stats, run));
    let change = match (b, r) {
        (Some(b), Some(r)) if b != 0.0 => Some((r - b) / b),
        (Some(b), Some(r)) if b == r => Some(0.0),
        _ => None,
    };
    let mut out = Row {
        request: request.cloned(),
        metric,
        baseline: b,
        run: r,
        change,
        gated,
        status: Status::Info,
        reason: String::new(),
    };
    // A missing or thin row blocks the verdict only where it could have failed it.
    let short = if gated && can_fail {
        Status::Incomplete
    } else {
        Status::Info
    };
    let (Some(bv), Some(rv)) = (b, r) else {
        let side = match (b_stats, r_stats) {
            (None, _) => "the baseline has no such request",
            (_, None) => "the run has no such request",
            (_, Some(s)) if s.requests == 0 => "the run completed no requests",
            _ => "no value could be computed (no successful responses)",
        };
        (out.status, out.reason) = (short, side.to_string());
        return out;
    };
    let need = metric.min_requests();
    let counts = (
        b_stats.map_or(0, |s| s.requests),
        r_stats.map_or(0, |s| s.requests),
    );
    if counts.0 < need || counts.1 < need {
        out.status = short;
        out.reason = format!(
            "too few requests to judge {metric} (baseline {}, run {}; need {need}): run longer or at a higher rate",
            counts.0, counts.1
        );
        return out;
    }
    if req.is_none() {
        if let Some(slo) = policy.slos.iter().find(|s| s.metric == metric) {
            let breached = match metric.direction() {
                crate::result::metric::Direction::HigherIsWorse => rv > slo.limit,
                crate::result::metric::Direction::LowerIsWorse => rv < slo.limit,
            };
            if breached {
                out.status = Status::Critical;
                out.reason = format!(
                    "SLO breached: {} is {} against an objective of {}",
                    metric,
                    show(metric, rv),
                    show(metric, slo.limit)
                );
                return out;
            }
        }
    }
    let rule = Rule {
        metric,
        thresholds,
        latency_floor_us: policy.latency_floor_us,
        can_fail,
    };
    let (status, reason) = judge(&rule, bv, rv);
    out.reason = reason;
    out.status = if gated || status == Status::Info {
        status
    } else {
        Status::Info
    };
    out
}

/// A value in its unit, for messages.
pub fn show(metric: Metric, v: f64) -> String {
    use crate::result::metric::Unit;
    match metric.unit() {
        Unit::Micros => crate::scenario::units::format_micros(v),
        Unit::PerSecond => format!("{v:.1} req/s"),
        Unit::Fraction => format!("{:.2}%", v * 100.0),
    }
}

//! A judged report for the renderers' tests: a p95 regression on the aggregate and on one request,
//! a warning, passes and an informational row, with known commits and dates; the candidate pooled
//! a confirmation re-run.

use crate::compare::{Comparison, Row, Status};
use crate::result::metric::Metric;
use crate::result::RunResult;
use crate::verdict::{decide, Verdict};

/// A row with `baseline`/`run` in the metric's unit and the change between them.
pub(crate) fn row(
    request: Option<&str>,
    metric: Metric,
    (baseline, run): (f64, f64),
    half_width: f64,
    status: Status,
    gated: bool,
) -> Row {
    let change = (run - baseline) / baseline;
    Row {
        baseline: Some(baseline),
        run: Some(run),
        change: Some(change),
        interval: Some((change - half_width, change + half_width)),
        mde: Some(0.08),
        status,
        reason: format!("{metric} moved {:+.1}%", change * 100.0),
        ..Row::new(request.map(str::to_string), metric, gated, true)
    }
}

/// The baseline, the run, the comparison and its verdict.
pub(crate) fn judged() -> (RunResult, RunResult, Comparison, Verdict) {
    let mut base = crate::result::testing::result();
    base.meta.scenario_name = "checkout".into();
    base.meta.git_commit = Some("abc1234def5678".into());
    base.meta.started_at = "2026-11-30T09:15:00Z".into();
    let mut run = base.clone();
    run.meta.git_commit = Some("0123456789abcdef".into());
    run.meta.started_at = "2026-12-07T10:00:00Z".into();
    let rows = vec![
        row(
            None,
            Metric::P50,
            (10_000.0, 10_300.0),
            0.02,
            Status::Pass,
            true,
        ),
        row(
            None,
            Metric::P95,
            (20_000.0, 26_000.0),
            0.05,
            Status::Critical,
            true,
        ),
        row(
            None,
            Metric::P99,
            (30_000.0, 34_500.0),
            0.06,
            Status::Warn,
            true,
        ),
        row(
            None,
            Metric::Mean,
            (12_000.0, 13_000.0),
            0.03,
            Status::Info,
            false,
        ),
        row(
            None,
            Metric::Throughput,
            (100.0, 99.0),
            0.02,
            Status::Pass,
            true,
        ),
        row(
            None,
            Metric::ErrorRate,
            (0.01, 0.01),
            0.01,
            Status::Pass,
            true,
        ),
        row(
            Some("search"),
            Metric::P95,
            (25_000.0, 40_000.0),
            0.1,
            Status::Critical,
            true,
        ),
        row(
            Some("cart"),
            Metric::P95,
            (15_000.0, 15_200.0),
            0.04,
            Status::Pass,
            true,
        ),
    ];
    let c = Comparison {
        rows,
        notes: vec!["the baseline was measured on another machine".into()],
        noise: "learned from the baseline's 3 runs".into(),
        runs: (3, 2),
        unstable: None,
        confirmed: true,
    };
    let v = decide(&c);
    (base, run, c, v)
}

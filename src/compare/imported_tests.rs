//! Imported results through the same judge: benchmarks by the noise guard over their samples,
//! summaries-only results on thresholds alone.

use super::*;
use crate::import::testing::{ctx, fixture};
use crate::import::{import, Input};
use crate::result::imported::Format;

fn criterion(dir: &str) -> RunResult {
    let inputs: Vec<Input> = ["push", "pop"]
        .iter()
        .flat_map(|b| {
            ["benchmark.json", "sample.json"].map(|f| fixture(&format!("{dir}/queue/{b}/new/{f}")))
        })
        .collect();
    import(Format::Criterion, &inputs, &ctx()).unwrap()
}

fn judge(baseline: &RunResult, run: &RunResult) -> Comparison {
    let policy = Policy::from_gate(&crate::scenario::validate::default_gate());
    compare(
        baseline,
        run,
        Criteria {
            policy: &policy,
            noise: &Noise::defaults(),
            z_beta: guard::Z_BETA,
        },
    )
}

fn row<'a>(c: &'a Comparison, request: Option<&str>, metric: Metric) -> &'a Row {
    c.rows
        .iter()
        .find(|r| r.request.as_deref() == request && r.metric == metric)
        .unwrap_or_else(|| panic!("no row {request:?} {metric}"))
}

#[test]
fn a_benchmark_slowed_by_a_quarter_fails_on_its_own_row() {
    let c = judge(&criterion("criterion"), &criterion("criterion-slow"));
    let push = row(&c, Some("queue/push"), Metric::Mean);
    assert_eq!(push.status, Status::Critical, "{}", push.reason);
    assert!(push.can_fail, "every benchmark can fail the build");
    assert!(push.mde.is_some(), "judged by the noise guard");
    // Rows speak µs: 48 ns per iteration is 0.048 µs.
    let b = push.baseline.unwrap();
    assert!((0.045..0.052).contains(&b), "{b}");
    let pop = row(&c, Some("queue/pop"), Metric::Mean);
    assert_eq!(pop.status, Status::Pass, "{}", pop.reason);
    // 20 samples: p95 is gated, p99 (100 samples) only reported.
    assert!(row(&c, Some("queue/push"), Metric::P95).gated);
    let p99 = row(&c, Some("queue/push"), Metric::P99);
    assert_eq!(p99.status, Status::Info);
    assert!(p99.reason.contains("needs 100 samples"), "{}", p99.reason);
    assert!(!c.rows.iter().any(|r| r.metric == Metric::Throughput));
    assert_eq!(
        crate::verdict::decide(&c).outcome,
        crate::verdict::Outcome::Critical
    );
}

#[test]
fn an_unchanged_benchmark_passes() {
    let c = judge(&criterion("criterion"), &criterion("criterion-same"));
    let bad: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| matches!(r.status, Status::Critical | Status::Incomplete))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn a_summaries_only_result_is_judged_on_thresholds_and_says_so() {
    let base = import(Format::Artillery, &[fixture("artillery.json")], &ctx()).unwrap();
    let mut slow = base.clone();
    for stats in std::iter::once(&mut slow.all).chain(slow.requests.values_mut()) {
        let mut h = crate::result::LatencyHistogram::new();
        for (v, n) in stats.histogram.buckets() {
            h.record_n(v * 3 / 2, n);
        }
        stats.histogram = h;
    }
    let c = judge(&base, &slow);
    let p50 = row(&c, None, Metric::P50);
    assert_eq!(p50.status, Status::Critical, "{}", p50.reason);
    assert!(p50.reason.contains("thresholds only"), "{}", p50.reason);
    assert!(p50.mde.is_none(), "no noise guard pretended");
    // No p5 in the summaries: none is made up from the rebuilt histogram.
    let p5 = row(&c, None, Metric::P5);
    assert_eq!(p5.status, Status::Info, "{}", p5.reason);
    assert!(
        !p5.gated && p5.baseline.is_none() && p5.run.is_none(),
        "{p5:?}"
    );
    assert!(p5.reason.contains("report no p5"), "{}", p5.reason);
    assert!(
        c.notes.iter().any(|n| n.contains("per-period summaries")),
        "{:?}",
        c.notes
    );
}

#[test]
fn results_of_other_tools_are_not_compared() {
    let k6 = import(Format::K6, &[fixture("k6.ndjson")], &ctx()).unwrap();
    let jmeter = import(Format::Jmeter, &[fixture("jmeter.jtl")], &ctx()).unwrap();
    let why = incomparable(&k6, &jmeter).unwrap();
    assert!(
        why.contains("k6 output") && why.contains("jmeter output"),
        "{why}"
    );
    assert!(incomparable(&k6, &k6).is_none());
    let own = crate::result::testing::run_of(&[(5_000, 1)], 100, 12, 1.0, 1);
    assert!(incomparable(&own, &k6)
        .unwrap()
        .contains("loadgate's own load"));
}

//! `loadgate run`: load an in-process demo service, print the measurements, keep the full result.

use loadgate::demo::DemoKnobs;

use crate::support::{scenario, Demo, Test, SCENARIO};

/// The demo's `/products` sleeps 5 ms before answering, so no measured latency can be lower; a
/// deterministic lower bound (4 ms leaves room for the histogram's 0.1% quantization and more).
const PRODUCTS_FLOOR_US: u64 = 4_000;

#[test]
fn run_writes_a_result_and_prints_only_json() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), ""));
    let out = t.run(&["run", SCENARIO, "--out", "r.json", "--format", "json"]);
    out.code(0).stderr_has(&["wrote r.json"]);
    // Nothing but the report on stdout: the whole stream parses as one JSON document.
    let report: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not pure JSON ({e})\n{out}"));
    assert_eq!(report["schema_version"], 1);
    assert!(report["verdict"].is_null(), "a run has no verdict");
    let names: Vec<&String> = report["run"]["requests"]
        .as_object()
        .expect("run.requests")
        .keys()
        .collect();
    assert_eq!(names, ["fast", "products"]);

    let result = t.json("r.json");
    assert_eq!(result["schema_version"], 1);
    assert_eq!(result["meta"]["scenario_name"], "t");
    assert_eq!(result["all"]["requests"], report["run"]["all"]["requests"]);
    assert!(result["all"]["histogram"]
        .as_str()
        .is_some_and(|h| h.starts_with("HISTF")));
    let p50 = result["requests"]["products"]["latency"]["p50_us"]
        .as_u64()
        .expect("products p50");
    assert!(p50 >= PRODUCTS_FLOOR_US, "products p50 {p50}us < 5ms sleep");
}

#[test]
fn run_prints_a_table_with_every_request_name() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), ""));
    let out = t.run(&["run", SCENARIO]);
    out.code(0)
        .stdout_has(&["scenario `t`", "│ fast", "│ products", "│ all", "p95"])
        .stderr_has(&["8 users at 250 req/s (open model) against"]);
    assert!(!out.stdout.contains("verdict"), "{out}");
    assert!(
        !out.stdout.contains("loadgate:"),
        "progress on stdout\n{out}"
    );
}

#[test]
fn run_against_a_target_that_fails_every_request_still_reports() {
    let broken = Demo::with(DemoKnobs {
        error_rate: 1.0,
        ..DemoKnobs::default()
    });
    let t = Test::new().scenario(&scenario(broken.url(), ""));
    let out = t.run(&["run", SCENARIO, "--out", "r.json"]);
    out.code(0).stdout_has(&["100.00%", "unexpected status"]);
    let r = t.json("r.json");
    let requests = r["all"]["requests"].as_u64().expect("all.requests");
    assert!(requests > 0, "{out}");
    assert_eq!(r["all"]["errors"]["status"].as_u64(), Some(requests));
    assert_eq!(r["all"]["status_codes"]["500"].as_u64(), Some(requests));
}

/// Regression test: without a rate cap, latencies go through `LatencyHistogram::record`, which once
/// clamped every value to 2 µs (`saturating_record` on a histogram that had not grown yet); only the
/// rate-capped, coordinated-omission path measured real latencies.
#[test]
fn uncapped_run_measures_real_latency() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), "").replace("rate = 250\n", ""));
    t.run(&["run", SCENARIO, "--out", "r.json"]).code(0);
    let r = t.json("r.json");
    assert!(r["meta"]["load"]["rate_rps"].is_null());
    let p50 = r["requests"]["products"]["latency"]["p50_us"]
        .as_u64()
        .expect("products p50");
    assert!(p50 >= PRODUCTS_FLOOR_US, "products p50 {p50}us < 5ms sleep");
}

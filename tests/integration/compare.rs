//! `loadgate compare BASELINE RESULT`: judge two stored results, with loadgate's default policy or a
//! scenario's `[gate]`. No load is sent, so most tests reuse the shared recorded baseline as a result.

use crate::support::{judged, scenario, shared_baseline, Demo, Test, SCENARIO};

/// Writes the shared recorded result as `base.json`, with the template scenario beside it.
fn with_result(gate_extra: &str) -> Test {
    Test::new()
        .scenario(&scenario("http://127.0.0.1:9", gate_extra))
        .write("base.json", shared_baseline())
}

/// `base.json` with its measured duration stretched by `factor`: the same requests over a longer
/// time, i.e. throughput divided by `factor`, every latency unchanged.
fn stretched(t: &Test, factor: f64) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut r = t.json("base.json");
    let ms = r["meta"]["measured_duration_ms"]
        .as_u64()
        .ok_or("base.json has no meta.measured_duration_ms")?;
    r["meta"]["measured_duration_ms"] = serde_json::json!((ms as f64 * factor).round() as u64);
    // Stretch the windows too, so the per-window series the noise guard resamples agree.
    let window = r["meta"]["load"]["window_ms"]
        .as_u64()
        .ok_or("base.json has no meta.load.window_ms")?;
    r["meta"]["load"]["window_ms"] = serde_json::json!((window as f64 * factor).round() as u64);
    Ok(serde_json::to_vec_pretty(&r)?)
}

#[test]
fn two_stored_runs_compare_and_print_a_verdict() {
    let demo = Demo::start();
    // The 2 ms latency floor keeps noise between two live runs from failing the build; the runs take
    // the machine alone, and are taken again if it disturbed them anyway.
    let t = Test::new()
        .scenario(&scenario(demo.url(), r#"latency_floor = "2ms""#))
        .exclusive();
    let out = judged(|| {
        t.run(&["run", SCENARIO, "--out", "a.json"]).code(0);
        t.run(&["run", SCENARIO, "--out", "b.json"]).code(0);
        t.run(&["compare", "a.json", "b.json", "--scenario", SCENARIO])
    });
    out.code(0)
        .stdout_has(&["compared with the baseline of", "verdict: "]);
    assert!(
        out.stdout.contains("verdict: PASS") || out.stdout.contains("verdict: WARN"),
        "{out}"
    );
}

#[test]
fn a_result_compared_with_itself_passes() {
    let t = with_result("");
    let out = t.run(&["compare", "base.json", "base.json", "--scenario", SCENARIO]);
    out.code(0).stdout_has(&["verdict: PASS"]);
    assert!(!out.stdout.contains("WARN"), "{out}");
}

#[test]
fn p99_that_the_runs_cannot_reach_is_not_gated_and_says_so_once() {
    // The baseline's runs hold ~750 requests each: p99 needs 2 000 per run to be judged. `record`
    // found that, stored it in the baseline, and every gate says so instead of withholding a verdict.
    let t = with_result("").write(
        "scenarios/p99.toml",
        scenario("http://127.0.0.1:9", "").replace(
            r#"metrics = ["p50", "p95""#,
            r#"metrics = ["p99", "p50", "p95""#,
        ),
    );
    let out = t.run(&[
        "compare",
        "base.json",
        "base.json",
        "--scenario",
        "scenarios/p99.toml",
    ]);
    out.code(0).stdout_has(&[
        "verdict: PASS",
        "not gated for this scenario",
        "p99 needs at least 2000 requests per run",
    ]);
}

#[test]
fn a_warning_fails_only_with_fail_on_warn() {
    // A lenient critical threshold (60%): throughput −23% is beyond the warn threshold and the noise,
    // and far from critical.
    let t = with_result("").write(
        "scenarios/lenient.toml",
        scenario("http://127.0.0.1:9", r#"critical = "60%""#),
    );
    t.put("slower.json", stretched(&t, 1.3).expect("stretch"));
    let args = [
        "compare",
        "base.json",
        "slower.json",
        "--scenario",
        "scenarios/lenient.toml",
    ];
    t.run(&args)
        .code(0)
        .stdout_has(&["verdict: WARN", "all throughput"]);
    t.run(&[&args[..], &["--fail-on", "warn"]].concat())
        .code(1)
        .stdout_has(&["verdict: WARN"]);
    let out = t.run(&[&args[..], &["--format", "json"]].concat());
    out.code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON report");
    assert_eq!(report["verdict"]["outcome"], "warn");

    t.put("halved.json", stretched(&t, 2.0).expect("stretch")); // throughput -50%: critical
    t.run(&[
        "compare",
        "base.json",
        "halved.json",
        "--scenario",
        SCENARIO,
    ])
    .code(1)
    .stdout_has(&["verdict: CRITICAL"]);
}

//! `loadgate calibrate`: τ from A/A pairs, stored beside the baseline and used by `gate`.

use crate::support::{judged, scenario, Demo, Test, SCENARIO};

#[test]
fn calibrate_from_stored_results_then_gate_uses_it() {
    let demo = Demo::start();
    let t = Test::new()
        .scenario(&scenario(demo.url(), r#"latency_floor = "2ms""#))
        .exclusive();
    t.run(&["run", SCENARIO, "--out", "a.json"]).code(0);
    t.run(&["run", SCENARIO, "--out", "b.json"]).code(0);
    t.run(&["record", SCENARIO]).code(0);
    let before = t.read("baselines/t.json");
    // Three pairs (the same two runs, reused) are the fewest a calibration accepts.
    let out = t.run(&[
        "calibrate",
        SCENARIO,
        "--from",
        "a.json",
        "b.json",
        "a.json",
        "b.json",
        "a.json",
        "b.json",
    ]);
    out.code(0)
        .stdout_has(&[
            "calibrated t from 3 A/A pairs",
            "baselines/t.calibration.json",
            "p50",
        ])
        .stderr_has(&["fewer than the 30"]);
    let c = t.json("baselines/t.calibration.json");
    assert_eq!(c["pairs"], 3);
    assert!(c["tau"]["p50"].as_f64().is_some_and(|v| v >= 0.0), "{c}");
    assert_eq!(
        t.read("baselines/t.json"),
        before,
        "calibrating never touches the baseline"
    );
    judged(|| t.run(&["gate", SCENARIO]))
        .code(0)
        .stdout_has(&["noise: calibrated from 3 A/A pairs", "verdict: PASS"]);
    // `baselines list` skips calibration files instead of calling them damaged.
    let list = t.run(&["baselines", "list"]);
    list.code(0);
    assert!(!list.stderr.contains("calibration"), "{list}");
}

#[test]
fn calibrate_refuses_results_of_another_scenario() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), ""));
    t.run(&["run", SCENARIO, "--out", "a.json"]).code(0);
    let other = scenario(demo.url(), "").replace(r#"path = "/fast""#, r#"path = "/search""#);
    let t = t.write("scenarios/other.toml", other);
    t.run(&[
        "calibrate",
        "scenarios/other.toml",
        "--from",
        "a.json",
        "a.json",
    ])
    .code(2)
    .stderr_has(&["a.json", "re-record"]);
    assert!(!t.path("baselines/other.calibration.json").exists());
}

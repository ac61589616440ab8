//! `loadgate gate`: record a baseline against one in-process demo service, gate against another
//! (or the same), and check the verdict, the exit code and the reports.
//!
//! Injected regressions are large (latency doubled, 20% errors), and tests that expect a pass gate
//! the same server twice with a 2 ms latency floor: a verdict here must not depend on machine noise.
//! A verdict that rests on latencies runs alone ([`Test::exclusive`]), and again when loadgate says
//! the machine disturbed it ([`judged`]).

use loadgate::demo::DemoKnobs;

use crate::support::{judged, scenario, shared_baseline, Demo, Test, BASELINE, SCENARIO};

/// Latency changes under 2 ms (about a third of the template's latencies) are jitter: for tests that
/// gate an unchanged service and must pass on a busy runner.
const NOISE_FLOOR: &str = r#"latency_floor = "2ms""#;

/// Records the template scenario against `demo` (with `gate_extra` in `[gate]`).
fn recorded(demo: &Demo, gate_extra: &str, exclusive: bool) -> Test {
    let t = Test::new().scenario(&scenario(demo.url(), gate_extra));
    let t = if exclusive { t.exclusive() } else { t };
    t.run(&["record", SCENARIO]).code(0);
    t
}

#[test]
fn unchanged_service_passes() {
    let demo = Demo::start();
    let t = recorded(&demo, NOISE_FLOOR, true);
    judged(|| t.run(&["gate", SCENARIO]))
        .code(0)
        .stdout_has(&["verdict: PASS", "compared with the baseline"])
        .stderr_has(&["verdict pass (exit 0)"]);
}

#[test]
fn doubled_latency_is_critical() {
    let demo = Demo::start();
    let t = recorded(&demo, "", true);
    // Slowdown 2 doubles the service time: /fast 2 → 4 ms, /products 5 → 10 ms, about +60% end to
    // end, three times the 20% critical threshold (slowdown 1.5 measures only about +30%).
    let slow = Demo::with(DemoKnobs {
        slowdown: 2.0,
        ..DemoKnobs::default()
    });
    let out = judged(|| t.run(&["gate", SCENARIO, "--target", slow.url()]));
    out.code(1).stdout_has(&["verdict: CRITICAL"]);
    let critical: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("CRITICAL"))
        .collect();
    assert!(
        critical
            .iter()
            .any(|l| l.contains("all p50") || l.contains("all mean")),
        "no critical p50 or mean row\n{out}"
    );
}

#[test]
fn json_report_goes_to_the_file_and_the_table_to_stdout() {
    let demo = Demo::start();
    let t = recorded(&demo, NOISE_FLOOR, true);
    let out = judged(|| {
        t.run(&[
            "gate",
            SCENARIO,
            "--format",
            "json",
            "--output",
            "report.json",
        ])
    });
    out.code(0)
        .stdout_has(&["verdict: PASS", "│ all"])
        .stderr_has(&["wrote JSON report to report.json"]);
    assert!(
        serde_json::from_str::<serde_json::Value>(&out.stdout).is_err(),
        "stdout should hold the table, not the JSON\n{out}"
    );
    let report = t.json("report.json");
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["verdict"]["outcome"], "pass", "{report:#}");
    assert!(
        report["rows"].as_array().is_some_and(|r| !r.is_empty()),
        "{report:#}"
    );
    assert_eq!(report["run"]["meta"]["scenario_name"], "t");
    assert!(report["baseline"]["all"]["requests"].as_u64() > Some(0));
    assert_eq!(t.files("."), ["baselines", "report.json", "scenarios"]);
}

#[test]
fn fail_on_warn_turns_a_warning_into_exit_1() {
    let demo = Demo::start();
    // A lenient critical threshold (500%) turns the doubled latency below into a warning: far beyond
    // the warn threshold and any noise, and nowhere near critical.
    let t = recorded(&demo, r#"critical = "500%""#, true);
    let slow = Demo::with(DemoKnobs {
        slowdown: 2.0,
        ..DemoKnobs::default()
    });
    let out = judged(|| {
        t.run(&[
            "gate",
            SCENARIO,
            "--target",
            slow.url(),
            "--fail-on",
            "warn",
        ])
    });
    out.code(1)
        .stdout_has(&["verdict: WARN"])
        .stderr_has(&["verdict warn (exit 1)"]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("WARN") && (l.contains("all p50") || l.contains("all mean"))),
        "no warning on the aggregate latency\n{out}"
    );
    // Without --fail-on warn the same verdict passes the build.
    judged(|| t.run(&["gate", SCENARIO, "--target", slow.url()]))
        .code(0)
        .stdout_has(&["verdict: WARN"]);
}

#[test]
fn error_rate_breach_is_critical() {
    let demo = Demo::start();
    let t = recorded(&demo, r#"slo = { error_rate = "1%" }"#, false);
    let failing = Demo::with(DemoKnobs {
        error_rate: 0.2,
        ..DemoKnobs::default()
    });
    let out = t.run(&["gate", SCENARIO, "--target", failing.url()]);
    out.code(1)
        .stdout_has(&["verdict: CRITICAL", "SLO breached: error_rate"]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("CRITICAL") && l.contains("all error_rate")),
        "no critical error_rate row\n{out}"
    );
}

#[test]
fn paired_mode_passes_two_identical_builds_and_catches_a_slow_one() {
    let base = Demo::start();
    let same = Demo::start();
    let t = Test::new()
        .scenario(&scenario(same.url(), NOISE_FLOOR))
        .exclusive();
    // No baseline file: paired mode measures the baseline build itself, in alternating segments.
    judged(|| t.run(&["gate", SCENARIO, "--paired", base.url(), "--segments", "2"]))
        .code(0)
        .stdout_has(&["verdict: PASS", "paired mode"])
        .stderr_has(&["paired segment 2 of 2: baseline"]);
    let slow = Demo::with(DemoKnobs {
        slowdown: 2.0,
        ..DemoKnobs::default()
    });
    judged(|| {
        t.run(&[
            "gate",
            SCENARIO,
            "--target",
            slow.url(),
            "--paired",
            base.url(),
            "--segments",
            "2",
        ])
    })
    .code(1)
    .stdout_has(&["verdict: CRITICAL"]);
    assert!(t.baselines().is_empty(), "paired mode writes no baseline");
}

#[test]
fn paired_mode_refuses_too_many_segments_and_a_bad_url() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), ""));
    t.run(&["gate", SCENARIO, "--paired", demo.url(), "--segments", "20"])
        .code(2)
        .stderr_has(&["--segments", "fewer segments"]);
    t.run(&["gate", SCENARIO, "--paired", "http://u:secret@127.0.0.1:1/"])
        .code(2)
        .stderr_has(&["--paired", "credentials"])
        .never_shows("secret");
}

#[test]
fn a_baseline_without_windows_is_refused_and_kept() {
    let demo = Demo::start();
    let t = recorded(&demo, "", false);
    let mut b = t.json("baselines/t.json");
    b["all"]["windows"] = serde_json::json!([]);
    t.put(
        "baselines/t.json",
        serde_json::to_vec_pretty(&b).expect("json"),
    );
    let before = t.baselines();
    t.run(&["gate", SCENARIO]).code(2).stderr_has(&[
        "baselines/t.json",
        "no per-window series",
        "loadgate record",
    ]);
    assert_eq!(t.baselines(), before);
}

#[test]
fn too_few_seconds_to_bootstrap_are_said_at_record_and_incomplete_for_an_old_baseline() {
    let demo = Demo::start();
    // One-second windows over a 3 s run: 3 windows, the noise guard needs 10.
    let text = scenario(demo.url(), "").replace(r#"window = "250ms""#, r#"window = "1s""#);
    let t = Test::new().scenario(&text);
    // Such a baseline gates no latency: said when recording, and once at every gate, which then
    // judges the error rate alone.
    t.run(&["record", SCENARIO, "--runs", "2"])
        .code(0)
        .stderr_has(&[
            "could gate none of its latency and throughput metrics",
            "needs 10 windows",
        ]);
    t.run(&["gate", SCENARIO])
        .code(0)
        .stdout_has(&["not gated for this scenario", "needs 10 windows"]);
    // A stored result used as a baseline (no learned gateability) is judged as before: incomplete.
    t.run(&["run", SCENARIO, "--out", "baselines/t.json"])
        .code(0);
    t.run(&["gate", SCENARIO]).code(3).stdout_has(&[
        "verdict: INCOMPLETE",
        "too few windows to estimate the noise",
    ]);
}

#[test]
fn a_calibration_from_another_machine_is_not_used_and_says_so() {
    let demo = Demo::start();
    let t = recorded(&demo, NOISE_FLOOR, true);
    let hash = t.json("baselines/t.json")["meta"]["scenario_hash"].clone();
    let calibration = serde_json::json!({
        "schema_version": 1,
        "scenario_name": "t",
        "scenario_hash": hash,
        "host": { "cpu_model": "Some Other CPU", "cpus": 64, "memory_bytes": 1u64 << 38, "os": "Linux", "fingerprint": "ffffffffffff" },
        "created_at": "2026-01-01T00:00:00Z",
        "pairs": 30,
        "tau": { "p50": 0.001 },
        "sd_aa": { "p50": 0.001 }
    });
    t.put(
        "baselines/t.calibration.json",
        serde_json::to_vec_pretty(&calibration).expect("json"),
    );
    let before = t.baselines();
    t.run(&["gate", SCENARIO]).code(0).stdout_has(&[
        "measured on another machine",
        "Some Other CPU",
        "learned from the baseline's 3 runs",
    ]);
    t.put("baselines/t.calibration.json", b"{ not json");
    t.run(&["gate", SCENARIO])
        .code(2)
        .stderr_has(&["t.calibration.json", "not valid JSON"]);
    let mut after = t.baselines();
    after.insert(
        "t.calibration.json".into(),
        before["t.calibration.json"].clone(),
    );
    assert_eq!(after, before, "the baseline is untouched");
}

/// `[gate] abort_on_slo`: a service 20 ms slower than a 5 ms p95 objective is stopped after the
/// 1 s grace period and the ~1.6 s the 400 responses p95 needs, not after the scenario's 30 s; the
/// verdict is critical, and the report says when the run stopped and why. The baseline is the
/// shared one, re-stamped for the 30 s scenario (its length is part of the scenario's hash).
#[test]
fn abort_on_slo_stops_a_breaching_run_early() -> Result<(), Box<dyn std::error::Error>> {
    let slow = Demo::with(DemoKnobs {
        delay: std::time::Duration::from_millis(20),
        ..DemoKnobs::default()
    });
    let text = scenario(
        slow.url(),
        "abort_on_slo = true\nabort_grace = \"1s\"\nslo = { p95 = \"5ms\" }",
    )
    .replace("duration = \"3s\"", "duration = \"30s\"");
    let t = Test::new().scenario(&text);
    let hash = loadgate::scenario::load(&t.path(SCENARIO))?.hash;
    let mut baseline: serde_json::Value = serde_json::from_slice(shared_baseline())?;
    baseline["meta"]["scenario_hash"] = serde_json::Value::String(hash);
    t.put(BASELINE, serde_json::to_vec(&baseline)?);
    let started = std::time::Instant::now();
    let out = t.run(&[
        "gate",
        SCENARIO,
        "--report",
        "json=r.json",
        "--report",
        "junit=r.xml",
        "--report",
        "markdown=r.md",
    ]);
    let took = started.elapsed();
    out.code(1).stdout_has(&[
        "verdict: CRITICAL",
        "SLO breached beyond doubt, the load was stopped: p95",
        "the run stopped early: aborted after",
    ]);
    assert!(
        took < std::time::Duration::from_secs(15),
        "took {took:?}\n{out}"
    );
    let report = t.json("r.json");
    let aborted = &report["run"]["meta"]["aborted"];
    assert_eq!(aborted["metric"], "p95", "{report:#}");
    assert!(aborted["lower_bound"].as_f64() > Some(5_000.0), "{aborted}");
    assert!(aborted["after_ms"].as_u64() < Some(10_000), "{aborted}");
    for file in ["r.xml", "r.md"] {
        let text = String::from_utf8(t.read(file))?;
        assert!(
            text.contains("aborted after"),
            "{file} does not say why:\n{text}"
        );
    }
    Ok(())
}

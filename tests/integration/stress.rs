//! `loadgate stress` and the load shapes: the capacity search against the demo's `--capacity`
//! knob, staged arrival rates, profiles, and the soak's leak verdict. Tiny steps (1 s, 250 ms
//! windows) and few of them keep each test to a few seconds.

use crate::support::{Test, SCENARIO};

/// A scenario for the built-in demo (`--demo`), with `load` as its `[load]` body and `extra` after.
fn demo_scenario(load: &str, extra: &str) -> String {
    format!(
        r#"schema_version = 1
name = "t"

[target]
health = {{ path = "/health", retries = 1, interval = "100ms", timeout = "1s" }}

[load]
max_requests = 20000
request_timeout = "2s"
window = "250ms"
{load}

[[request]]
name = "products"
path = "/products"

{extra}
"#
    )
}

/// Capacity 200 req/s: beyond it the demo queues (up to 1 s), latency climbs past the SLO and the
/// pool saturates. The SLO is loose and the warm-up long so that a slow start on a busy runner
/// (goose building its clients) cannot break a step below capacity. The search must bracket 200 (the boundary is fuzzy by the few percent a 1 s step
/// cannot tell apart, hence the margin).
#[test]
fn stress_finds_the_demo_capacity_and_records_it() {
    let t = Test::new().exclusive().scenario(&demo_scenario(
        "users = 16\nramp_up = \"500ms\"\nduration = \"1s\"",
        "[gate]\nslo = { p95 = \"300ms\" }",
    ));
    let out = t.run(&[
        "stress",
        SCENARIO,
        "--demo",
        "--capacity",
        "200",
        "--start-rate",
        "100",
        "--step-duration",
        "1s",
        "--step-warmup",
        "1s",
        "--refine",
        "2",
        "--max-steps",
        "6",
        "--record",
        "--format",
        "json",
        "--output",
        "stress.json",
        "--history",
        "history",
    ]);
    out.code(0)
        .stdout_has(&["capacity search of `t`", "highest sustainable rate"]);
    // The step at the capacity is kept as its own history series.
    assert_eq!(t.files("history"), vec!["t.capacity".to_string()]);
    assert_eq!(t.files("history/t.capacity").len(), 1);
    let r = t.json("stress.json");
    let steps = r["steps"].as_array().expect("steps");
    assert!(!steps.is_empty() && steps.len() <= 6, "{r}");
    let capacity = r["capacity_rps"].as_u64().expect("a capacity");
    let broke = r["broke_at_rps"].as_u64().expect("a rate that broke");
    assert!(capacity < broke, "{r}");
    assert!(
        (150..=230).contains(&capacity),
        "capacity {capacity} is not near 200\n{out}"
    );
    assert!(
        broke >= 190,
        "broke at {broke}, below the demo's capacity of 200\n{out}"
    );
    assert!(steps.iter().any(|s| !s["broke"].is_null()), "{r}");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/stress.schema.json"))
            .expect("stress schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("stress schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&r)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let stored = t.json("baselines/t.capacity.json");
    assert_eq!(stored["capacity_rps"].as_u64(), Some(capacity));
    assert_eq!(stored["resolution_rps"].as_u64(), Some(broke - capacity));
    let kept: serde_json::Value = {
        let name = &t.files("history/t.capacity")[0];
        t.json(&format!("history/t.capacity/{name}"))
    };
    assert_eq!(
        kept["meta"]["load"]["rate_rps"].as_u64(),
        Some(capacity),
        "the run at the capacity"
    );
}

#[test]
fn a_staged_rate_is_followed_and_reported_beside_its_target() {
    let t = Test::new().scenario(&demo_scenario(
        "users = 8\nramp_up = \"250ms\"\nstages = [{ duration = \"1s\", rate = 40 }, { duration = \"1s\", rate = 240 }, { duration = \"1s\", rate = 240 }]",
        "",
    ));
    let out = t.run(&["run", SCENARIO, "--demo", "--out", "r.json"]);
    out.code(0).stderr_has(&["through 3 stages"]);
    let r = t.json("r.json");
    let open = &r["meta"]["open_model"];
    // ∫ rate = 40 + (40 + 240) / 2 + 240 = 420 requests intended in the 3 s.
    let intended = open["target_requests"].as_u64().expect("target_requests");
    assert!((410..=430).contains(&intended), "{open}");
    assert_eq!(
        r["meta"]["load"]["stages"].as_array().map(Vec::len),
        Some(3)
    );
    let per_window: Vec<u64> = r["all"]["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .map(|w| w["requests"].as_u64().unwrap_or(0))
        .collect();
    assert!(per_window.len() >= 12, "{per_window:?}");
    let (first, last): (u64, u64) = (per_window[..4].iter().sum(), per_window[8..12].iter().sum());
    assert!(
        last > 3 * first,
        "the achieved rate did not follow the stages: {per_window:?}"
    );
    out.stdout_has(&["req/s target"]);
}

#[test]
fn an_unknown_profile_is_an_error_listing_the_defined_ones() {
    let t = Test::new().scenario(&demo_scenario(
        "duration = \"1s\"",
        "[profile.nightly]\nusers = 2\n\n[profile.spike]\nrate = 50",
    ));
    for cmd in ["run", "stress"] {
        t.run(&[cmd, SCENARIO, "--demo", "--profile", "weekly"])
            .code(2)
            .stderr_has(&["profile.weekly", "nightly, spike"]);
    }
}

#[test]
fn bad_stages_are_errors_naming_the_key_and_the_fix() {
    let cases = [
        ("stages = []", "load.stages", "at least one stage"),
        (
            "duration = \"2s\"\nstages = [{ duration = \"1s\", rate = 5 }]",
            "load.duration",
            "remove `duration`",
        ),
        (
            "stages = [{ duration = \"0s\", rate = 5 }]",
            "load.stages[0].duration",
            "above zero",
        ),
        (
            "stages = [{ duration = \"1s\", rate = 5 }, { duration = \"1s\", users = 2 }]",
            "load.stages[1]",
            "not both",
        ),
    ];
    for (load, key, fix) in cases {
        let t = Test::new().scenario(&demo_scenario(load, ""));
        t.run(&["run", SCENARIO, "--demo"])
            .code(2)
            .stderr_has(&[key, fix]);
    }
}

/// 100 KB leaked per request at 50 req/s grows RSS by ~5 MB/s: far beyond the leak floor.
#[test]
fn a_short_soak_reports_the_demo_leak() {
    let t = Test::new().scenario(&demo_scenario(
        "users = 4\nramp_up = \"250ms\"\nduration = \"1s\"",
        "",
    ));
    let out = t.run(&[
        "stress",
        SCENARIO,
        "--demo",
        "--leak-bytes",
        "100000",
        "--no-search",
        "--soak",
        "4s",
        "--soak-rate",
        "50",
        "--sample-interval",
        "200ms",
        "--history",
        "history",
    ]);
    out.code(1)
        .stdout_has(&["soak at 50 req/s", "leak CRITICAL: a leak"])
        .stderr_has(&["appended the run to history"]);
    // The soak is its own history series, which `loadgate history` reads back.
    let series = t.files("history");
    assert_eq!(
        series,
        vec!["t.soak".to_string()],
        "no capacity series without a search"
    );
    assert_eq!(t.files("history/t.soak").len(), 1);
    t.run(&["history", "t.soak", "--metric", "rss_growth"])
        .code(0)
        .stdout_has(&["t.soak", "1 run"]);
}

/// A profile's baseline is its own file; the default baseline path is unchanged.
#[test]
fn a_profile_records_its_own_baseline() {
    let t = Test::new().scenario(&demo_scenario(
        "users = 2\nrate = 100\nramp_up = \"250ms\"\nduration = \"2s\"",
        "[gate]\nmetrics = [\"p50\", \"error_rate\"]\n\n[profile.quick]\nrate = 150\nduration = \"2s\"",
    ));
    t.run(&["record", SCENARIO, "--demo", "--profile", "quick"])
        .code(0);
    assert_eq!(t.files("baselines"), ["t.quick.json"]);
    let b = t.json("baselines/t.quick.json");
    assert_eq!(b["meta"]["load"]["rate_rps"], 150);
    // The default baseline is looked up at its usual path, and is missing.
    t.run(&["gate", SCENARIO, "--demo", "--confirm", "0"])
        .code(2)
        .stderr_has(&["baselines/t.json"]);
}

/// Users stages: the closed model ramps the active users, so completed requests grow with them.
#[test]
fn users_stages_ramp_the_closed_model() {
    let t = Test::new().exclusive().scenario(&demo_scenario(
        "ramp_up = \"250ms\"\nstages = [{ duration = \"1s\", users = 1 }, { duration = \"1s\", users = 1 }, { duration = \"1s\", users = 6 }, { duration = \"1s\", users = 6 }]",
        "",
    ));
    t.run(&["run", SCENARIO, "--demo", "--out", "r.json"])
        .code(0);
    let r = t.json("r.json");
    assert_eq!(r["meta"]["load"]["users"], 6);
    assert!(r["meta"]["open_model"].is_null());
    let w: Vec<u64> = r["all"]["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .map(|w| w["requests"].as_u64().unwrap_or(0))
        .collect();
    assert!(w.len() >= 16, "{w:?}");
    let (first, last): (u64, u64) = (w[..4].iter().sum(), w[12..16].iter().sum());
    assert!(
        last > 3 * first,
        "active users did not follow the stages: {w:?}"
    );
}

/// A stored capacity is gated: the same service with half the capacity is a critical drop.
#[test]
fn a_capacity_drop_against_the_stored_one_is_critical() {
    let t = Test::new().exclusive().scenario(&demo_scenario(
        "users = 16\nramp_up = \"500ms\"\nduration = \"1s\"",
        "[gate]\nslo = { p95 = \"300ms\" }",
    ));
    let search = |capacity: &str, start: &str, record: bool| {
        let mut args = vec![
            "stress",
            SCENARIO,
            "--demo",
            "--capacity",
            capacity,
            "--start-rate",
            start,
            "--step-factor",
            "2",
            "--step-duration",
            "1s",
            "--step-warmup",
            "1s",
            "--refine",
            "1",
            "--max-steps",
            "5",
        ];
        if record {
            args.push("--record");
        }
        t.run(&args)
    };
    search("240", "60", true).code(0);
    let stored = t.json("baselines/t.capacity.json");
    assert!(
        stored["capacity_rps"].as_u64().unwrap_or(0) >= 120,
        "{stored}"
    );
    // A quarter of the capacity (found as 30 or 60 req/s): far beyond the 20% critical threshold
    // and the search resolution.
    search("60", "30", false)
        .code(1)
        .stdout_has(&["capacity CRITICAL"]);
    assert_eq!(
        t.json("baselines/t.capacity.json"),
        stored,
        "gating never rewrites the stored capacity"
    );
}

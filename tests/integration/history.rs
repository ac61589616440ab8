//! `loadgate history` and `--history DIR`: change points at the right run, unreadable files skipped
//! and left byte-identical, `--keep` pruning the oldest only, `run`/`gate` appending without ever
//! overwriting, user mistakes exiting 2, and the JSON output matching schemas/history.schema.json.
//!
//! Histories are seeded from the committed `baselines/demo.json` with its latency histogram rescaled
//! per run (a synthetic step: cheap and deterministic); only the `--history` tests load a live
//! demo service.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures: a seeding step that fails must fail the calling test, with a message \
              saying which step; clippy's allow-*-in-tests covers #[test] fns, not their helpers"
)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use loadgate::result::{LatencyHistogram, LatencySummary, RunResult};

use crate::support::{dead_url, scenario, Demo, Test, SCENARIO};

/// Scenario of the committed demo baseline: the folder name of the seeded histories.
const DEMO: &str = "demo";
/// Runs of a seeded history, and the run where its latency steps up.
const RUNS: usize = 30;
const STEP_AT: usize = 20;
/// The step: +30% latency, against a deterministic ±2% wiggle between runs.
const STEP: f64 = 1.3;

/// A short scenario against the demo: 1 s measured in 250 ms windows (4 windows).
fn tiny(base_url: &str) -> String {
    format!(
        r#"schema_version = 1
name = "tiny"

[target]
base_url = "{base_url}"
health = {{ path = "/health", retries = 2, interval = "100ms", timeout = "2s" }}

[load]
users = 2
rate = 200
ramp_up = "200ms"
duration = "1s"
max_requests = 5000
request_timeout = "2s"
window = "250ms"

[[request]]
name = "fast"
path = "/fast"
"#
    )
}

fn demo_baseline() -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/demo.json");
    let bytes = std::fs::read(&path).expect("read baselines/demo.json");
    loadgate::baseline::parse(&path, &bytes).expect("baselines/demo.json loads")
}

/// The commit of seeded run `i`: 40 hex digits, distinct per run.
fn commit(i: usize) -> String {
    format!("{:07x}{}", 0xc0ffee0 + i, "0".repeat(33))
}

/// Seeded run `i` of `runs`, `runs - i` days ago: the demo baseline with its latencies scaled by
/// `factor` and a ±2% wiggle.
fn synthetic(base: &RunResult, i: usize, runs: usize, factor: f64) -> RunResult {
    let mut r = base.clone();
    let started: DateTime<Utc> = Utc::now() - Duration::days((runs - i) as i64);
    r.meta.started_at = started.to_rfc3339_opts(SecondsFormat::Secs, true);
    r.meta.git_commit = Some(commit(i));
    let wiggle = 1.0 + 0.01 * ((i * 7 % 5) as f64 - 2.0);
    let mut h = LatencyHistogram::new();
    for (us, n) in base.all.histogram.buckets() {
        h.record_n((us as f64 * factor * wiggle).round() as u64, n);
    }
    r.all.latency = LatencySummary::of(&h);
    r.all.histogram = h;
    r
}

/// Writes `runs` runs of the demo scenario into `<test>/history`, latency stepping up at `step_at`.
fn seed(t: &Test, runs: usize, step_at: usize) -> Vec<PathBuf> {
    let base = demo_baseline();
    (0..runs)
        .map(|i| {
            let factor = if i >= step_at { STEP } else { 1.0 };
            loadgate::history::append(&t.path("history"), &synthetic(&base, i, runs, factor))
                .expect("append a seeded run")
        })
        .collect()
}

fn history_json(t: &Test, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["history", "--format", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    out.code(0);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{out}"))
}

fn validate(v: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/history.schema.json");
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read the schema")).expect("schema");
    jsonschema::meta::validate(&schema).expect("a valid JSON Schema");
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compile the schema");
    let errors: Vec<String> = validator.iter_errors(v).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "history JSON breaks its schema: {errors:#?}"
    );
}

#[test]
fn a_latency_step_is_a_change_point_at_its_run() {
    let t = Test::new();
    seed(&t, RUNS, STEP_AT);
    let v = history_json(&t, &["--metric", "p95", "--metric", "throughput"]);
    validate(&v);
    let s = &v["scenarios"][0];
    assert_eq!(s["scenario"], DEMO);
    assert_eq!(s["runs"], RUNS);
    let p95 = &s["trends"][0];
    assert_eq!(p95["metric"], "p95");
    let cps = p95["change_points"].as_array().expect("change_points");
    assert_eq!(cps.len(), 1, "{cps:#?}");
    assert_eq!(cps[0]["index"], STEP_AT);
    assert_eq!(cps[0]["git_commit"], commit(STEP_AT));
    let change = cps[0]["change"].as_f64().expect("change");
    assert!((change - (STEP - 1.0)).abs() < 0.05, "{change}");
    // Throughput did not move.
    assert_eq!(s["trends"][1]["change_points"], serde_json::json!([]));

    let out = t.run(&["history", "--metric", "p95"]);
    out.code(0)
        .stdout_has(&[DEMO, "30 runs", &commit(STEP_AT)[..7], "worse"]);
    let md = t.run(&["history", "--format", "markdown"]);
    md.code(0)
        .stdout_has(&["### loadgate history", "| p95 | 30 |"]);
    // The HTML page: one chart per metric, the change point in the p95 chart's title.
    let html = t.run(&[
        "history",
        "--metric",
        "p95",
        "--metric",
        "throughput",
        "--format",
        "html",
    ]);
    html.code(0)
        .stdout_has(&["<!DOCTYPE html>", "p95", &commit(STEP_AT)[..7]]);
    assert_eq!(
        html.stdout.matches("<svg").count(),
        2,
        "one chart per metric"
    );
    assert!(!html.stdout.contains("http://") || html.stdout.contains("http://www.w3.org/2000/svg"));
}

#[test]
fn last_limits_the_runs_analysed() {
    let t = Test::new();
    seed(&t, RUNS, STEP_AT);
    let v = history_json(&t, &["--last", "8", "--metric", "p95"]);
    assert_eq!(v["scenarios"][0]["runs"], 8);
    // The last 8 runs are all after the step: nothing changed within them.
    assert_eq!(
        v["scenarios"][0]["trends"][0]["change_points"],
        serde_json::json!([])
    );
}

#[test]
fn an_unreadable_file_is_skipped_with_a_warning_and_left_byte_identical() {
    let t = Test::new();
    seed(&t, 8, 8);
    let corrupt = "history/demo/20200101T000000Z-deadbee.json";
    let wrong = "history/demo/hand-made.json";
    t.put(corrupt, b"{\"schema_version\": 1, \"meta\": {");
    t.put(wrong, br#"{"schema_version": 7}"#);
    let out = t.run(&["history", "--keep", "3"]);
    out.code(0).stderr_has(&[
        "warning: skipped",
        "20200101T000000Z-deadbee.json",
        "truncated",
        "hand-made.json",
        "schema_version 7",
    ]);
    assert_eq!(t.read(corrupt), b"{\"schema_version\": 1, \"meta\": {");
    assert_eq!(t.read(wrong), br#"{"schema_version": 7}"#);
    let v = history_json(&t, &[]);
    validate(&v);
    assert_eq!(v["scenarios"][0]["runs"], 3);
    assert_eq!(
        v["scenarios"][0]["skipped"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn keep_prunes_the_oldest_runs_only() {
    let t = Test::new();
    let paths = seed(&t, 10, 10);
    let name = |p: &PathBuf| p.file_name().expect("name").to_string_lossy().into_owned();
    let out = t.run(&["history", DEMO, "--keep", "4", "--metric", "p50"]);
    out.code(0).stdout_has(&["4 runs"]);
    assert_eq!(out.stderr.matches("loadgate: removed").count(), 6, "{out}");
    assert!(out.stderr.contains("beyond the 4 most recent runs"));
    let mut left = t.files("history/demo");
    left.sort();
    let mut newest: Vec<String> = paths[6..].iter().map(name).collect();
    newest.sort();
    assert_eq!(left, newest);
    // Without --keep nothing more is removed.
    t.run(&["history"]).code(0);
    assert_eq!(t.files("history/demo").len(), 4);
}

#[test]
fn max_age_prunes_runs_older_than_the_bound() {
    let t = Test::new();
    seed(&t, 10, 10);
    let out = t.run(&["history", "--max-age", "5d"]);
    // Runs are 10..1 days old: the five older than 5 days go (the one exactly 5 days old too).
    out.code(0).stderr_has(&["older than 5d"]);
    let removed = out.stderr.matches("loadgate: removed").count();
    assert!((5..=6).contains(&removed), "{out}");
    assert_eq!(t.files("history/demo").len(), 10 - removed);
}

#[test]
fn user_mistakes_exit_2_with_a_message() {
    let t = Test::new();
    t.run(&["history", "--dir", "nope"])
        .code(2)
        .stderr_has(&["history folder nope does not exist", "--history nope"]);
    std::fs::create_dir(t.path("empty")).expect("mkdir");
    t.run(&["history", "--dir", "empty"])
        .code(0)
        .stdout_has(&["No runs in empty yet"]);
    seed(&t, 3, 3);
    t.run(&["history", "checkout"])
        .code(2)
        .stderr_has(&["no history for scenario `checkout`", "it has: demo"]);
    t.run(&["history", "--max-age", "90x"])
        .code(2)
        .stderr_has(&["--max-age", "`90x` is not a duration"]);
    t.run(&["history", "--metric", "p42"])
        .code(2)
        .stderr_has(&["p42"]);
}

#[test]
fn run_appends_to_history_and_never_overwrites() {
    let demo = Demo::start();
    let t = Test::new().scenario(&tiny(demo.url()));
    t.put("kept.json", b"a stored result someone cares about");
    std::fs::create_dir_all(t.path("hist/tiny")).expect("mkdir");
    t.put("hist/tiny/hand-placed.json", b"kept as is");
    let first = t.run(&["run", SCENARIO, "--history", "hist"]);
    first
        .code(0)
        .stderr_has(&["appended the run to history: hist/tiny/"]);
    let files = t.files("hist/tiny");
    assert_eq!(files.len(), 2, "{files:?}");
    let appended = files
        .iter()
        .find(|f| f.as_str() != "hand-placed.json")
        .expect("the appended file")
        .clone();
    // Not in a git repository and no GITHUB_SHA: the name says so.
    assert!(appended.ends_with("-nocommit.json"), "{appended}");
    let bytes = t.read(&format!("hist/tiny/{appended}"));
    let result: RunResult = serde_json::from_slice(&bytes).expect("a plain RunResult");
    assert_eq!(result.meta.scenario_name, "tiny");

    t.run(&["run", SCENARIO, "--history", "hist"]).code(0);
    assert_eq!(t.files("hist/tiny").len(), 3);
    assert_eq!(t.read(&format!("hist/tiny/{appended}")), bytes);
    assert_eq!(t.read("hist/tiny/hand-placed.json"), b"kept as is");
    t.run(&["history", "--dir", "hist"])
        .code(0)
        .stdout_has(&["tiny — 2 runs"])
        .stderr_has(&["hand-placed.json"]);
}

#[test]
fn a_failed_run_appends_nothing() {
    let t = Test::new().scenario(&tiny(&dead_url()));
    t.run(&["run", SCENARIO, "--history", "hist"]).code(2);
    let stored: Vec<String> = std::fs::read_dir(t.path("hist"))
        .map(|d| {
            d.flatten()
                .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(stored.is_empty(), "{stored:?}");
}

#[test]
fn gate_appends_its_run_whatever_the_verdict() {
    let demo = Demo::start();
    let t = Test::new()
        .scenario(&scenario(demo.url(), ""))
        .with_baseline();
    let out = t.run(&["gate", SCENARIO, "--history", "hist", "--confirm", "0"]);
    assert!([0, 1, 3].contains(&out.code), "{out}");
    out.stderr_has(&["appended the run to history: hist/t/"]);
    assert_eq!(t.files("hist/t").len(), 1);
}

//! Snapshots of the human outputs: the comfy-table view, the Markdown PR comment
//! and `--help`. The reports are built from fixed fixture data, not from a live run, so they hold no
//! timestamps, ports or host details of the machine running the tests. Update after an intended
//! change with `INSTA_UPDATE=always cargo test --test integration snapshots`, then review the diff.

use std::collections::BTreeMap;
use std::time::Duration;

use loadgate::compare::guard::Z_BETA;
use loadgate::compare::{compare, Comparison, Criteria, Noise, Policy};
use loadgate::report::{render, Format, Judged, Report};
use loadgate::result::calibration::{Calibration, CALIBRATION_SCHEMA_VERSION};
use loadgate::result::metric::Metric;
use loadgate::result::{
    Host, LatencySummary, LoadSettings, Meta, RequestStats, RunResult, Window,
    RESULT_SCHEMA_VERSION,
};
use loadgate::scenario::validate::{
    DEFAULT_CRITICAL, DEFAULT_LATENCY_FLOOR, DEFAULT_METRICS, DEFAULT_RECORD_MAX_ERROR_RATE,
    DEFAULT_WARN,
};
use loadgate::scenario::{GateSpec, Thresholds};
use loadgate::verdict::{decide, Verdict};

/// The latencies of one request name: (latency in µs, how many requests took that long).
type Shape = &'static [(u64, u64)];

/// The fixtures record with `LatencyHistogram::record_corrected` and this interval, longer than any
/// latency, so nothing is back-filled: it records each value exactly. `LatencyHistogram::record`
/// cannot be used here: it clamps every value above 2 µs to 2 µs (a bug in
/// src/result/histogram.rs: `saturating_record` never grows the histogram).
const NO_BACKFILL_US: u64 = u64::MAX;

/// Both fixture runs measure 10 s in ten 1 s windows.
const MEASURED_MS: u64 = 10_000;
const WINDOW_MS: u64 = 1_000;
const WINDOWS: u64 = MEASURED_MS / WINDOW_MS;

// The baseline: 4000 requests (400 req/s). Together: p50 10 ms, p95 20 ms, p99 30 ms.
const BASE_LIST: Shape = &[(10_000, 2_000), (12_000, 1_000)];
const BASE_SEARCH: Shape = &[(12_000, 600), (20_000, 300), (30_000, 100)];

// The run: 4600 requests, 3 of them failed. Against the baseline, all requests together:
// - p95 20 ms → 30 ms (+50%): critical;
// - p50 10 ms → 11.5 ms (+15%): warn;
// - throughput 400 → 459.7 req/s (+15%): improved;
// - p99 stays at 30 ms, the mean moves +7%: pass; the error rate rises 0.065 points: below the floor.
const RUN_LIST: Shape = &[(10_000, 2_100), (11_500, 1_400)];
const RUN_SEARCH: Shape = &[(11_500, 500), (25_000, 300), (30_000, 300)];
const RUN_SEARCH_FAILED: u64 = 3;

/// Stats of one request name: `shape`'s latencies spread round-robin over the windows; the last
/// `failed` requests answered 500, the others 200.
fn stats(shape: Shape, failed: u64) -> RequestStats {
    let mut s = RequestStats {
        windows: vec![Window::default(); WINDOWS as usize],
        ..RequestStats::default()
    };
    let total: u64 = shape.iter().map(|&(_, n)| n).sum();
    let latencies = shape
        .iter()
        .flat_map(|&(us, n)| std::iter::repeat_n(us, n as usize));
    for (i, us) in (0u64..).zip(latencies) {
        let window = &mut s.windows[(i % WINDOWS) as usize];
        window.requests += 1;
        window.histogram.record(us);
        if i >= total - failed {
            window.errors += 1;
        }
        s.histogram.record_corrected(us, NO_BACKFILL_US);
    }
    s.requests = total;
    s.errors.status = failed;
    s.status_codes.insert("200".to_string(), total - failed);
    if failed > 0 {
        s.status_codes.insert("500".to_string(), failed);
    }
    s.latency = LatencySummary::of(&s.histogram);
    s
}

fn meta(started_at: &str) -> Meta {
    Meta {
        tool_version: "0.1.0".to_string(),
        scenario_name: "checkout".to_string(),
        scenario_hash: "5e1f0c3c9d2b4a7e8f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6"
            .to_string(),
        target_url: "http://127.0.0.1:8080".to_string(),
        started_at: started_at.to_string(),
        measured_duration_ms: MEASURED_MS,
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".to_string()),
        host: Host {
            cpu_model: "Fixture CPU".to_string(),
            cpus: 4,
            memory_bytes: 16 << 30,
            os: "Linux (fixture)".to_string(),
            fingerprint: "0a1b2c3d4e5f".to_string(),
        },
        load: LoadSettings {
            users: 8,
            rate_rps: None,
            ramp_up_ms: 2_000,
            duration_ms: MEASURED_MS,
            max_requests: 1_000_000,
            request_timeout_ms: 5_000,
            window_ms: WINDOW_MS,
            stages: Vec::new(),
        },
        warmup_requests: 250,
        stopped_early: None,
        co_correction_interval_us: None,
        open_model: None,
        aborted: None,
        run_windows: Vec::new(),
        measure_start_unix_ms: None,
        shard: None,
        merged: None,
    }
}

fn result(started_at: &str, requests: [(&str, RequestStats); 2]) -> RunResult {
    let mut all = RequestStats::default();
    for (_, s) in &requests {
        all.merge(s);
    }
    RunResult {
        schema_version: RESULT_SCHEMA_VERSION,
        meta: meta(started_at),
        all,
        requests: requests
            .into_iter()
            .map(|(name, s)| (name.to_string(), s))
            .collect(),
        samples: Vec::new(),
        learned: None,
        imported: None,
    }
}

/// The recorded baseline.
pub(crate) fn baseline() -> RunResult {
    result(
        "2026-01-05T09:00:00Z",
        [
            ("list products", stats(BASE_LIST, 0)),
            ("search", stats(BASE_SEARCH, 0)),
        ],
    )
}

/// The run under test: one critical, one warning and one improved metric on the aggregate.
pub(crate) fn run() -> RunResult {
    result(
        "2026-01-06T09:00:00Z",
        [
            ("list products", stats(RUN_LIST, 0)),
            ("search", stats(RUN_SEARCH, RUN_SEARCH_FAILED)),
        ],
    )
}

/// The policy of a scenario with an empty `[gate]`: loadgate's defaults.
pub(crate) fn default_policy() -> Policy {
    Policy::from_gate(&GateSpec {
        thresholds: Thresholds {
            warn: DEFAULT_WARN,
            critical: DEFAULT_CRITICAL,
        },
        metrics: DEFAULT_METRICS.to_vec(),
        slos: Vec::new(),
        request_slos: BTreeMap::new(),
        latency_floor: DEFAULT_LATENCY_FLOOR,
        record_max_error_rate: DEFAULT_RECORD_MAX_ERROR_RATE,
        overrides: BTreeMap::new(),
        abort: None,
    })
}

/// A calibration of this fixture's runner: 2% run-to-run noise on every metric, so the +50% p95
/// regression is gateable (uncalibrated defaults make p95 of a one-run baseline informational).
pub(crate) fn calibrated_noise() -> Noise {
    let tau: BTreeMap<Metric, f64> = Metric::ALL.iter().map(|m| (*m, 0.02)).collect();
    Noise::calibrated(&Calibration {
        schema_version: CALIBRATION_SCHEMA_VERSION,
        scenario_name: "checkout".to_string(),
        scenario_hash: meta("x").scenario_hash,
        host: meta("x").host,
        created_at: "2026-01-04T09:00:00Z".to_string(),
        pairs: 30,
        sd_aa: tau.clone(),
        tau,
        requests: BTreeMap::new(),
    })
}

/// The fixture pair judged: what `gate` computes before rendering.
pub(crate) fn judged() -> (RunResult, RunResult, Comparison, Verdict) {
    let (base, run) = (baseline(), run());
    let policy = default_policy();
    let noise = calibrated_noise();
    let settings = Criteria {
        policy: &policy,
        noise: &noise,
        z_beta: Z_BETA,
    };
    let comparison = compare(&base, &run, settings);
    let verdict = decide(&comparison);
    (base, run, comparison, verdict)
}

fn render_judged(format: Format) -> String {
    let (base, run, comparison, verdict) = judged();
    render(
        &Report {
            run: &run,
            judged: Some(Judged {
                baseline: &base,
                comparison: &comparison,
                verdict: &verdict,
            }),
        },
        format,
    )
}

fn render_run(format: Format) -> String {
    render(
        &Report {
            run: &run(),
            judged: None,
        },
        format,
    )
}

#[test]
fn the_fixture_has_criticals_a_warning_and_an_improvement() {
    use loadgate::compare::Status;
    use loadgate::result::metric::Metric;
    use loadgate::verdict::Outcome;

    let (_, _, comparison, verdict) = judged();
    let aggregate: BTreeMap<Metric, Status> = comparison
        .rows
        .iter()
        .filter(|r| r.request.is_none())
        .map(|r| (r.metric, r.status))
        .collect();
    let expected = [
        // +15% on precise data is critical: the noise guard's critical line sits below 20% when the
        // noise is small, so that a real 20% regression is caught 95% of the time.
        (Metric::P5, Status::Pass),
        (Metric::P50, Status::Critical),
        (Metric::P90, Status::Info),
        (Metric::P95, Status::Critical),
        (Metric::P99, Status::Pass),
        (Metric::Mean, Status::Pass),
        (Metric::Max, Status::Info),
        (Metric::Throughput, Status::Improved),
        (Metric::ErrorRate, Status::Pass),
    ];
    assert_eq!(aggregate, BTreeMap::from(expected));
    assert_eq!(verdict.outcome, Outcome::Critical);
    assert!(
        comparison.rows.iter().any(|r| r.status == Status::Warn),
        "a per-request row warns"
    );
}

#[test]
fn table_of_a_judged_run() {
    insta::assert_snapshot!("table_judged", render_judged(Format::Table));
}

#[test]
fn markdown_of_a_judged_run() {
    insta::assert_snapshot!("markdown_judged", render_judged(Format::Markdown));
}

#[test]
fn table_of_a_run_without_baseline() {
    insta::assert_snapshot!("table_run", render_run(Format::Table));
}

#[test]
fn markdown_of_a_run_without_baseline() {
    insta::assert_snapshot!("markdown_run", render_run(Format::Markdown));
}

/// `loadgate <args>` with a fixed help width and no colours, whatever the terminal running the tests.
fn help(args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let assert = assert_cmd::Command::cargo_bin("loadgate")?
        .args(args)
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .write_stdin("")
        .timeout(Duration::from_secs(30))
        .assert()
        .success();
    let out = assert.get_output();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout.clone())?)
}

#[test]
fn top_level_help() -> Result<(), Box<dyn std::error::Error>> {
    insta::assert_snapshot!("help", help(&["--help"])?);
    Ok(())
}

#[test]
fn gate_help() -> Result<(), Box<dyn std::error::Error>> {
    insta::assert_snapshot!("gate_help", help(&["gate", "--help"])?);
    Ok(())
}

#[test]
fn history_help() -> Result<(), Box<dyn std::error::Error>> {
    insta::assert_snapshot!("history_help", help(&["history", "--help"])?);
    Ok(())
}

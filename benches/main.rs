//! Criterion benchmarks of loadgate's own costs: per-request recording (the hot path under load),
//! histogram serialization, compare + verdict over many request names, and report rendering.
//!
//! Run with `cargo bench`; quote ratios from one run (machines here are shared and noisy).
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use loadgate::compare::bootstrap::{bootstrap, RESAMPLES, WARN_ONLY_RESAMPLES};
use loadgate::compare::guard::Z_BETA;
use loadgate::compare::{compare, Criteria, Noise, Policy};
use loadgate::load::recorder::{Outcome, Recorder, Timing};
use loadgate::report::{self, Format, Judged, Report};
use loadgate::result::{
    Host, LatencyHistogram, LatencySummary, LoadSettings, Meta, RequestStats, RunResult, Window,
};
use loadgate::scenario::{GateSpec, Percent, Thresholds};
use loadgate::stats::SplitMix64;

fn timing() -> Timing {
    let now = Instant::now();
    Timing {
        measure_from: now,
        measure_until: now + Duration::from_secs(3600),
        window: Duration::from_secs(1),
    }
}

fn recording(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    g.measurement_time(Duration::from_secs(3));
    let ok = Outcome {
        latency_us: 1_234,
        status: Some(200),
        error: None,
        check: None,
    };
    let recorder = Recorder::new(
        vec!["a".into(), "b".into(), "c".into()],
        8,
        timing(),
        u64::MAX,
        None,
    );
    let mut i = 0usize;
    g.bench_function("one request into a shard", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            recorder.record(i % 8, i % 3, black_box(ok), Instant::now());
        })
    });
    // The floor the recorder is measured against: reading the clock, which any recording needs.
    g.bench_function("Instant::now alone", |b| {
        b.iter(|| black_box(Instant::now()))
    });
    g.finish();
}

/// 30 one-second windows of 200 requests each, latencies log-normal around 2 ms (σ = 0.5 in log
/// space: p99 ≈ 6.4 ms), as a service's latencies are skewed with a long right tail. Deterministic.
fn stats(seed: u64, windows: usize) -> RequestStats {
    let mut s = RequestStats::default();
    let mut rng = SplitMix64::new(seed);
    let mut uniform = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    for _ in 0..windows {
        let mut win = Window::default();
        let mut h = LatencyHistogram::new();
        for _ in 0..200 {
            // Irwin–Hall: the sum of 12 uniforms minus 6 is close to a standard normal.
            let z: f64 = (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
            let v = (2_000.0 * (0.5 * z).exp()) as u64;
            h.record(v);
            s.histogram.record(v);
        }
        // Recorded dense and handed over once, as the recorder does.
        win.histogram = (&h).into();
        win.requests = 200;
        s.requests += 200;
        s.windows.push(win);
    }
    s.latency = LatencySummary::of(&s.histogram);
    s
}

fn result(names: usize, seed: u64) -> RunResult {
    let mut requests = BTreeMap::new();
    let mut all = RequestStats::default();
    for n in 0..names {
        let s = stats(seed + n as u64, 30);
        all.merge(&s);
        requests.insert(format!("request {n:03}"), s);
    }
    let host = Host {
        cpu_model: "bench".into(),
        cpus: 2,
        memory_bytes: 1 << 34,
        os: "linux".into(),
        fingerprint: "0".into(),
    };
    let load = LoadSettings {
        users: 8,
        rate_rps: None,
        ramp_up_ms: 0,
        duration_ms: 30_000,
        max_requests: 1 << 30,
        request_timeout_ms: 5_000,
        window_ms: 1_000,
        stages: Vec::new(),
    };
    let meta = Meta {
        tool_version: "bench".into(),
        scenario_name: "bench".into(),
        scenario_hash: "0".into(),
        target_url: "http://127.0.0.1:1".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        measured_duration_ms: 30_000,
        git_commit: None,
        host,
        load,
        warmup_requests: 0,
        stopped_early: None,
        co_correction_interval_us: None,
        run_windows: Vec::new(),
        measure_start_unix_ms: None,
        shard: None,
        merged: None,
        open_model: None,
        aborted: None,
    };
    RunResult {
        schema_version: 1,
        meta,
        all,
        requests,
        samples: Vec::new(),
        learned: None,
        imported: None,
    }
}

fn policy() -> Policy {
    Policy::from_gate(&GateSpec {
        thresholds: Thresholds {
            warn: Percent::from_fraction(0.1),
            critical: Percent::from_fraction(0.2),
        },
        metrics: loadgate::scenario::validate::DEFAULT_METRICS.to_vec(),
        slos: Vec::new(),
        request_slos: BTreeMap::new(),
        latency_floor: Duration::from_micros(200),
        record_max_error_rate: Percent::from_fraction(0.01),
        overrides: BTreeMap::new(),
        abort: None,
    })
}

fn histograms(c: &mut Criterion) {
    let h: LatencyHistogram = stats(1, 30).histogram;
    let text = h.to_base64().unwrap_or_default();
    let mut g = c.benchmark_group("histogram");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("V2+DEFLATE encode", |b| b.iter(|| black_box(h.to_base64())));
    g.bench_function("V2+DEFLATE decode", |b| {
        b.iter(|| black_box(LatencyHistogram::from_base64(&text)))
    });
    g.finish();
}

fn settings<'a>(p: &'a Policy, noise: &'a Noise) -> Criteria<'a> {
    Criteria {
        policy: p,
        noise,
        z_beta: Z_BETA,
    }
}

/// One request's block bootstrap (30 one-second windows, one run per side): the unit of work
/// `compare` repeats for the aggregate and every request name, on both sides.
fn bootstrapping(c: &mut Criterion) {
    let s = stats(1, 30);
    let mut g = c.benchmark_group("bootstrap");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(3));
    for (name, resamples) in [
        ("one request, 30 windows, 2000 resamples", RESAMPLES),
        (
            "one request, 30 windows, 400 resamples",
            WARN_ONLY_RESAMPLES,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(bootstrap(&[&s.windows], 1.0, 7, resamples)))
        });
    }
    g.finish();
}

fn comparing(c: &mut Criterion) {
    let p = policy();
    let noise = Noise::defaults();
    let mut g = c.benchmark_group("compare");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(4));
    // Every row goes through the bootstrap: the aggregate with 2000 resamples, per-request rows
    // (warn-only without an override) with fewer.
    for names in [50, 500] {
        let (base, run) = (result(names, 1), result(names, 2));
        g.bench_function(
            format!("compare + verdict, {names} request names, 30 windows"),
            |b| {
                b.iter(|| {
                    black_box(loadgate::verdict::decide(&compare(
                        &base,
                        &run,
                        settings(&p, &noise),
                    )))
                })
            },
        );
    }
    g.finish();
}

/// Every renderer on one 50-name comparison. HTML draws SVG charts with plotters and is the
/// costliest by far.
fn rendering(c: &mut Criterion) {
    let (base, run) = (result(50, 1), result(50, 2));
    let p = policy();
    let noise = Noise::defaults();
    let comparison = compare(&base, &run, settings(&p, &noise));
    let verdict = loadgate::verdict::decide(&comparison);
    let r = Report {
        run: &run,
        judged: Some(Judged {
            baseline: &base,
            comparison: &comparison,
            verdict: &verdict,
        }),
    };
    let mut g = c.benchmark_group("render");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(3));
    for (name, f) in [
        ("table", Format::Table),
        ("markdown", Format::Markdown),
        ("json", Format::Json),
        ("html", Format::Html),
    ] {
        g.bench_function(format!("{name}, 50 request names"), |b| {
            b.iter(|| black_box(report::render(&r, f)))
        });
    }
    g.bench_function("junit, 50 request names", |b| {
        b.iter(|| black_box(report::junit::render(&r, false)))
    });
    g.finish();
}

/// The HTML report of a run without a baseline (5 request names, 30 windows: the demo scenario's
/// shape), beside the judged one in `render`.
fn render_html(c: &mut Criterion) {
    let run = result(5, 2);
    let alone = Report {
        run: &run,
        judged: None,
    };
    let mut g = c.benchmark_group("render_html");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("run alone, 5 request names", |b| {
        b.iter(|| black_box(report::render(&alone, Format::Html)))
    });
    g.finish();
}

/// The per-request cost of a scenario for a real API: filling a path, a header and a body from a
/// feeder row, a captured token and the user's id, then judging the response (status, a JSON check,
/// a capture), against the cost of a static request (nothing to render, status only).
fn flows(c: &mut Criterion) {
    use loadgate::load::flow::{check_response, render, Feeds, UserState};
    use loadgate::scenario::check::Response;
    let dir = std::env::temp_dir().join(format!("loadgate-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("items.csv"), "id,sku\n1,A-1\n2,B-2\n3,C-3\n");
    let text = r#"
name = "bench"
[[feeder]]
name = "items"
file = "items.csv"
[[request]]
name = "login"
path = "/login"
on_start = true
[[request.capture]]
var = "token"
json = "/token"
[[request]]
name = "item"
path = "/items/${items.id}?u=${user.id}"
headers = { Authorization = "Bearer ${token}" }
body = '{"sku": "${items.sku}"}'
[[request.check]]
json = "/ok"
equals = true
[[request]]
name = "static"
path = "/fast"
"#;
    let Ok(scenario) =
        loadgate::scenario::validate::from_toml(&dir.join("bench.toml"), text, &|_| None)
    else {
        return;
    };
    let feeds = Feeds::new(&scenario.feeders, 8);
    let mut user = UserState::new(3, scenario.captures.len(), scenario.feeders.len());
    let header = |_: &str| None;
    let login = Response {
        status: 200,
        header: &header,
        body: br#"{"token":"t-123"}"#,
        len: 17,
    };
    let _ = check_response(&scenario.requests[0], &login, Some(&mut user));
    let ok = Response {
        status: 200,
        header: &header,
        body: br#"{"id":"1","ok":true}"#,
        len: 20,
    };
    let mut g = c.benchmark_group("flow");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("render_and_judge_dynamic", |b| {
        b.iter(|| {
            let r = render(
                &scenario.requests[1],
                &[],
                &mut user,
                &feeds,
                &scenario.captures,
            );
            black_box(&r);
            black_box(check_response(&scenario.requests[1], &ok, Some(&mut user)))
        })
    });
    g.bench_function("judge_static", |b| {
        b.iter(|| black_box(check_response(&scenario.requests[2], &ok, None)))
    });
    g.finish();
}

criterion_group!(
    benches,
    recording,
    histograms,
    bootstrapping,
    comparing,
    rendering,
    render_html,
    flows
);
criterion_main!(benches);

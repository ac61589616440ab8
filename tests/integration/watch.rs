//! `loadgate watch` against live sources started here (issue 23): a real Prometheus server (the
//! Debian package `prometheus`; `.ci/run` installs it) on a free loopback port with a temporary
//! data folder and a 1 s scrape interval, scraping small simulated services whose traffic, error
//! fraction and latency are switched while the watch runs; and `/metrics` pages scraped directly.
//! One Prometheus process serves every live case; the breadth is in the unit tests of src/watch/.

#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed setup must stop the test loudly"
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{free_port, wait_at_most, Reaped, Test};

/// What a simulated service does now.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    /// Requests per second.
    rate: f64,
    /// Fraction that fail.
    error_fraction: f64,
    /// Latency of every request, seconds.
    latency_s: f64,
}

/// Counters of a simulated service (floats, shown rounded down, as a client library would).
#[derive(Debug, Default)]
struct Counts {
    requests: f64,
    errors: f64,
    /// Requests per bucket bound, cumulative, for BOUNDS.
    buckets: Vec<f64>,
}

/// Bucket bounds, seconds: every 10 ms to 400 ms.
fn bounds() -> Vec<f64> {
    (1..=40).map(|i| f64::from(i) * 0.01).collect()
}

/// A service exposing `/metrics` whose counts grow every 50 ms by its knobs; `reset` zeroes them
/// (a restart). Serves a bounded number of scrapes.
struct Service {
    url: String,
    knobs: Arc<Mutex<Knobs>>,
    counts: Arc<Mutex<Counts>>,
}

impl Service {
    fn start(knobs: Knobs) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let knobs = Arc::new(Mutex::new(knobs));
        let counts = Arc::new(Mutex::new(Counts {
            buckets: vec![0.0; bounds().len()],
            ..Counts::default()
        }));
        let (k, c) = (Arc::clone(&knobs), Arc::clone(&counts));
        std::thread::spawn(move || {
            // At most two minutes of traffic: a failed test leaves no thread spinning for long.
            for _ in 0..2400 {
                std::thread::sleep(Duration::from_millis(50));
                let knobs = *k.lock().expect("knobs");
                let mut c = c.lock().expect("counts");
                let n = knobs.rate * 0.05;
                c.requests += n;
                c.errors += n * knobs.error_fraction;
                for (i, b) in bounds().iter().enumerate() {
                    if knobs.latency_s <= *b + 1e-9 {
                        c.buckets[i] += n;
                    }
                }
            }
        });
        let c = Arc::clone(&counts);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(2000) {
                let Ok(mut s) = stream else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body = exposition(&c.lock().expect("counts"));
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, knobs, counts }
    }

    fn set(&self, f: impl FnOnce(&mut Knobs)) {
        f(&mut self.knobs.lock().expect("knobs"));
    }

    fn reset(&self) {
        let mut c = self.counts.lock().expect("counts");
        *c = Counts {
            buckets: vec![0.0; bounds().len()],
            ..Counts::default()
        };
    }

    fn host(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

fn exposition(c: &Counts) -> String {
    let mut t = format!(
        "# TYPE app_requests_total counter\napp_requests_total {}\n# TYPE app_errors_total counter\napp_errors_total {}\n# TYPE app_latency_seconds histogram\n",
        c.requests.floor(),
        c.errors.floor()
    );
    for (b, n) in bounds().iter().zip(&c.buckets) {
        t.push_str(&format!(
            "app_latency_seconds_bucket{{le=\"{b:.2}\"}} {}\n",
            n.floor()
        ));
    }
    t.push_str(&format!(
        "app_latency_seconds_bucket{{le=\"+Inf\"}} {}\n",
        c.requests.floor()
    ));
    t
}

/// A Prometheus server on a free loopback port, scraping `jobs` every second, with its data in
/// `dir`. Killed when dropped.
fn prometheus(dir: &std::path::Path, jobs: &[(&str, &Service)]) -> (Reaped, String) {
    let port = free_port();
    let mut config =
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n".to_string();
    for (job, s) in jobs {
        config.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: ['{}']\n",
            s.host()
        ));
    }
    std::fs::write(dir.join("prometheus.yml"), config).expect("write config");
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus: install it with `apt-get install prometheus` (.ci/run does)");
    let url = format!("http://127.0.0.1:{port}");
    (Reaped(child), url)
}

/// Waits until Prometheus has scraped every job at least twice (`count_over_time(up[1m]) >= 2`).
fn wait_scraped(url: &str, jobs: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let path = "/api/v1/query?query=count(count_over_time(up%5B1m%5D)%20%3E%3D%202)";
    loop {
        let ok = http_get(url, path)
            .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .map(str::to_string)
            })
            .is_some_and(|n| n.parse::<usize>().unwrap_or(0) >= jobs);
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not scrape the test services in 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The body of `GET path` on `base` (`http://host:port`), HTTP/1.0 so the server closes the
/// connection; `None` on any failure.
fn http_get(base: &str, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(base.trim_start_matches("http://")).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

/// A watch file for `job` on `source` (a `prometheus = …` or `metrics = …` line).
fn watch_file(source: &str, job: &str, extra_window: &str) -> String {
    let sel = |m: &str| {
        if source.starts_with("prometheus") {
            format!("{m}{{job=\"{job}\"}}")
        } else {
            m.to_string()
        }
    };
    format!(
        r#"name = "{job}"
[source]
{source}
timeout = "900ms"
[window]
duration = "12s"
poll = "1s"
{extra_window}
[errors]
requests = '{}'
errors = '{}'
max_rate = "1%"
[latency]
buckets = '{}'
quantile = 95
max_ms = 350
"#,
        sel("app_requests_total"),
        sel("app_errors_total"),
        sel("app_latency_seconds_bucket")
    )
}

/// A rollback hook writing the verdict and the time it started (Unix ms) to `hook.out`.
fn with_hook(t: Test) -> Test {
    let t = t.write(
        "hook.sh",
        "#!/bin/sh\necho \"$LOADGATE_VERDICT $(date +%s%3N)\" > hook.out\n",
    );
    std::fs::set_permissions(t.path("hook.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod +x");
    t
}

/// Starts `loadgate watch w.toml` with the hook and a JSON report; the child and when it started.
fn spawn_watch(t: &Test, extra: &[&str]) -> (Reaped, Instant) {
    let child = t
        .command()
        .args([
            "watch",
            "w.toml",
            "--output",
            "report.json",
            "--rollback-hook",
            "./hook.sh",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start loadgate watch");
    (Reaped(child), Instant::now())
}

/// Waits for the watch; its exit code and stderr.
fn finish(mut child: Reaped) -> (i32, String) {
    let status = wait_at_most(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (status.code().unwrap_or(-1), err)
}

fn hook_ran(t: &Test) -> bool {
    t.path("hook.out").exists()
}

fn check_schema(report: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/watch-report.schema.json"
        ))
        .expect("read schema"),
    )
    .expect("schema is JSON");
    let v = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = v.iter_errors(report).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "report does not match its schema: {errors:?}"
    );
}

/// Every Prometheus case on one server, concurrently where they can be: healthy → pass; 5% errors
/// switched on mid-watch → critical with the hook run before the window ended; +30% latency →
/// critical against the time before; no traffic → incomplete without the hook; a query matching
/// no series and a PromQL syntax error → exit 2 naming the query and the server's message; then
/// Prometheus killed mid-watch → incomplete without the hook.
#[test]
fn watch_judges_live_traffic_through_prometheus() {
    // `cargo test` on a fresh machine (the README's second command) must not fail for a server it
    // never asked for; CI sets LOADGATE_REQUIRE_PROMETHEUS so a missing server fails there.
    let installed = Command::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed && std::env::var_os("LOADGATE_REQUIRE_PROMETHEUS").is_none() {
        eprintln!(
            "SKIPPED watch_judges_live_traffic_through_prometheus: no `prometheus` on PATH \
             (install the Debian package `prometheus`; .ci/run does)"
        );
        return;
    }
    let calm = Knobs {
        rate: 200.0,
        error_fraction: 0.0,
        latency_s: 0.1,
    };
    let healthy = Service::start(calm);
    let failing = Service::start(calm);
    let slowing = Service::start(calm);
    let idle = Service::start(Knobs { rate: 0.0, ..calm });
    let data = tempfile::tempdir().expect("temp dir");
    let (mut prom, url) = prometheus(
        data.path(),
        &[
            ("healthy", &healthy),
            ("failing", &failing),
            ("slowing", &slowing),
            ("idle", &idle),
        ],
    );
    wait_scraped(&url, 4);
    let source = format!("prometheus = \"{url}\"");

    // Pre-flight: a typo'd label, a syntax error.
    let t = Test::new().write("w.toml", watch_file(&source, "nobody", ""));
    let out = t.run(&["watch", "w.toml"]);
    out.code(2)
        .stderr_has(&["errors.requests", "matches no series"]);
    let t = Test::new().write(
        "w.toml",
        watch_file(&source, "healthy", "").replace(
            "app_latency_seconds_bucket{job=\"healthy\"}",
            "rate(app_latency_seconds_bucket{job=\"healthy\"}",
        ),
    );
    t.run(&["watch", "w.toml"])
        .code(2)
        .stderr_has(&["latency.buckets", "bad_data", "parse error"]);

    let t_healthy = with_hook(Test::new().write("w.toml", watch_file(&source, "healthy", "")));
    let t_failing = with_hook(Test::new().write("w.toml", watch_file(&source, "failing", "")));
    let t_idle = with_hook(Test::new().write("w.toml", watch_file(&source, "idle", "")));
    let (w_healthy, _) = spawn_watch(&t_healthy, &[]);
    let (w_failing, failing_started) = spawn_watch(&t_failing, &[]);
    let (w_idle, _) = spawn_watch(&t_idle, &[]);
    // The slowing service's watch compares with the 6 s before it, so it starts once Prometheus
    // holds them; its latency rises by 30% one second in.
    let t_slowing = with_hook(Test::new().write(
        "w.toml",
        watch_file(&source, "slowing", "compare = \"before\"").replace("max_ms = 350\n", ""),
    ));
    std::thread::sleep(Duration::from_secs(2));
    failing.set(|k| k.error_fraction = 0.05);
    let breach_at = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let (w_slowing, _) = spawn_watch(&t_slowing, &["--window", "6s"]);
    std::thread::sleep(Duration::from_secs(1));
    slowing.set(|k| k.latency_s = 0.13);

    let (code, err) = finish(w_failing);
    let failing_took = failing_started.elapsed();
    assert_eq!(code, 1, "{err}");
    let report = t_failing.json("report.json");
    check_schema(&report);
    assert_eq!(report["ended"], "breach", "{err}");
    assert!(hook_ran(&t_failing), "{err}");
    assert!(
        failing_took < Duration::from_secs(12),
        "the hook ran after the window: {failing_took:?}\n{err}"
    );
    assert!(
        err.contains("loadgate: watch"),
        "one live line per poll:\n{err}"
    );
    eprintln!(
        "5% errors: critical {:?} after the switch",
        breach_at.elapsed()
    );

    let (code, err) = finish(w_healthy);
    assert_eq!(code, 0, "{err}");
    assert!(!hook_ran(&t_healthy));
    let report = t_healthy.json("report.json");
    check_schema(&report);
    assert_eq!(report["outcome"], "pass");
    assert!(
        report["signals"][0]["series"]
            .as_array()
            .map_or(0, Vec::len)
            >= 10,
        "{report}"
    );

    let (code, err) = finish(w_idle);
    assert_eq!(code, 3, "{err}");
    assert!(!hook_ran(&t_idle), "no traffic must never roll back");
    assert!(err.contains("fewer than the 300 requests"), "{err}");

    let (code, err) = finish(w_slowing);
    assert_eq!(code, 1, "{err}");
    assert!(hook_ran(&t_slowing), "{err}");
    let report = t_slowing.json("report.json");
    check_schema(&report);
    let p95 = report["signals"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "p95_vs_before"))
        .unwrap_or_else(|| panic!("no p95_vs_before signal: {report}"));
    assert_eq!(p95["outcome"], "critical", "{report}");

    // Prometheus killed mid-watch: incomplete after three failed polls, no rollback.
    let t_lost = with_hook(Test::new().write("w.toml", watch_file(&source, "healthy", "")));
    let (w_lost, _) = spawn_watch(&t_lost, &[]);
    std::thread::sleep(Duration::from_secs(2));
    let _ = prom.kill();
    let _ = prom.wait();
    let (code, err) = finish(w_lost);
    assert_eq!(code, 3, "{err}");
    assert!(!hook_ran(&t_lost), "a lost source must never roll back");
    assert!(err.contains("polls in a row"), "{err}");
    assert_eq!(t_lost.json("report.json")["ended"], "source_lost");
}

/// The direct scrape of a `/metrics` page: a service restarted mid-watch (its counters reset) is
/// no breach, and 1 error in 20 requests at low traffic does not roll back.
#[test]
fn watch_scrapes_metrics_directly_through_resets_and_low_traffic() {
    let restarting = Service::start(Knobs {
        rate: 200.0,
        error_fraction: 0.002,
        latency_s: 0.1,
    });
    let trickle = Service::start(Knobs {
        rate: 4.0,
        error_fraction: 0.0,
        latency_s: 0.1,
    });
    let file = |s: &Service, job: &str| {
        watch_file(&format!("metrics = \"{}/metrics\"", s.url), job, "")
            .replace("duration = \"12s\"", "duration = \"5s\"")
            .replace("poll = \"1s\"", "poll = \"500ms\"")
            .replace("timeout = \"900ms\"", "timeout = \"400ms\"")
    };
    let t_reset = with_hook(Test::new().write("w.toml", file(&restarting, "restarting")));
    let t_trickle = with_hook(Test::new().write("w.toml", file(&trickle, "trickle")));
    let (w_reset, _) = spawn_watch(&t_reset, &[]);
    let (w_trickle, _) = spawn_watch(&t_trickle, &[]);
    std::thread::sleep(Duration::from_millis(2000));
    restarting.reset();
    // One request in the trickle's window fails: 1 error in about 20 requests.
    trickle.counts.lock().expect("counts").errors += 1.0;

    let (code, err) = finish(w_reset);
    assert_eq!(code, 0, "{err}");
    assert!(!hook_ran(&t_reset));
    let report = t_reset.json("report.json");
    check_schema(&report);
    assert!(report["counter_resets"].as_u64() >= Some(1), "{report}");

    let (code, err) = finish(w_trickle);
    assert_eq!(code, 3, "too few requests to judge is incomplete:\n{err}");
    assert!(
        !hook_ran(&t_trickle),
        "1 error in ~20 requests must not roll back:\n{err}"
    );
}

/// The example watch files match the schema and loadgate's own validator; a malformed file is
/// refused by both, and by the binary with exit 2 naming the file, the key and the fix.
#[test]
fn watch_files_match_their_schema_and_mistakes_are_exit_2() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/watch.schema.json"
        ))
        .expect("read schema"),
    )
    .expect("schema is JSON");
    let v = jsonschema::validator_for(&schema).expect("valid schema");
    let env = |_: &str| Some("token-value".to_string());
    for name in ["prometheus.toml", "command.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/watch")
            .join(name);
        let text = std::fs::read_to_string(&path).expect("read example");
        let doc: serde_json::Value = toml::from_str(&text).expect("example is TOML");
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        loadgate::watch::file::parse(&path, &text, &env).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let bad = "name = \"x\"\n[source]\nmetrics = \"http://127.0.0.1:1/metrics\"\n[window]\nduration = \"soon\"\npoll = \"1s\"\n[errors]\nrequests = \"a\"\nerrors = \"b\"\nmax_rate = \"1%\"\n";
    let doc: serde_json::Value = toml::from_str(bad).expect("TOML");
    assert!(!v.is_valid(&doc), "the schema accepts a duration of `soon`");
    Test::new()
        .write("w.toml", bad)
        .run(&["watch", "w.toml"])
        .code(2)
        .stderr_has(&["w.toml", "`window.duration`", "\"5m\""]);
}

/// A command printing counts as JSON is a source: here counts that grow 1000 a second, no errors.
#[test]
fn watch_reads_counts_from_a_command() {
    let t = Test::new()
        .write(
            "counts.sh",
            "#!/bin/sh\nprintf '{\"requests\": %s, \"errors\": 0}\\n' \"$(date +%s%3N)\"\n",
        )
        .write(
            "w.toml",
            "name = \"cmd\"\n[source]\ncommand = [\"./counts.sh\"]\ntimeout = \"400ms\"\n[window]\nduration = \"2s\"\npoll = \"500ms\"\n[errors]\nrequests = \"requests\"\nerrors = \"errors\"\nmax_rate = \"1%\"\n",
        );
    std::fs::set_permissions(t.path("counts.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod +x");
    let out = t.run(&["watch", "w.toml"]);
    out.code(0).stdout_has(&["\"outcome\": \"pass\""]);
}

/// Ctrl-C mid-watch writes the report so far, runs no action (the hook above all) and exits 130.
#[test]
fn watch_interrupted_writes_the_report_so_far_and_never_rolls_back() {
    let failing = Service::start(Knobs {
        rate: 200.0,
        error_fraction: 0.0,
        latency_s: 0.1,
    });
    let t = with_hook(
        Test::new().write(
            "w.toml",
            watch_file(&format!("metrics = \"{}/metrics\"", failing.url), "x", "")
                .replace("duration = \"12s\"", "duration = \"60s\""),
        ),
    );
    let (mut child, _) = spawn_watch(&t, &[]);
    std::thread::sleep(Duration::from_millis(2500));
    crate::support::interrupt(child.id());
    let status = wait_at_most(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(130));
    assert!(!hook_ran(&t));
    let report = t.json("report.json");
    check_schema(&report);
    assert_eq!(report["ended"], "interrupted");
    assert!(report["polls"].as_u64() >= Some(2), "{report}");
}

/// Credentials in the source URL and a header's `${env:NAME}` value are never printed, whether the
/// source answers or not; an endless body is cut at the cap or the timeout (exit 2, promptly).
#[test]
fn watch_never_shows_secrets_and_bounds_what_it_reads() {
    let svc = Service::start(Knobs {
        rate: 200.0,
        error_fraction: 0.0,
        latency_s: 0.1,
    });
    let secret_url = format!(
        "metrics = \"http://watcher:url-pass-9f3k@{}/metrics\"\nheaders = {{ Authorization = \"Bearer ${{env:WATCH_TOKEN}}\" }}",
        svc.host()
    );
    let short = |source: &str| {
        watch_file(source, "s", "")
            .replace("duration = \"12s\"", "duration = \"1s\"")
            .replace("poll = \"1s\"", "poll = \"500ms\"")
            .replace("timeout = \"900ms\"", "timeout = \"400ms\"")
    };
    let t = Test::new()
        .env("WATCH_TOKEN", "tok-7c1e-secret")
        .write("w.toml", short(&secret_url));
    let out = t.run(&["watch", "w.toml"]);
    out.never_shows("url-pass-9f3k")
        .never_shows("tok-7c1e-secret")
        .stdout_has(&["\"source\": \"metrics http://***@"]);
    assert_ne!(out.code, 2, "{}", out.stderr);
    // The same credentials on a source that is down: the preflight error names it, safely.
    let dead = secret_url.replace(
        svc.host(),
        &format!("127.0.0.1:{}", crate::support::free_port()),
    );
    let t = Test::new()
        .env("WATCH_TOKEN", "tok-7c1e-secret")
        .write("w.toml", short(&dead));
    t.run(&["watch", "w.toml"])
        .code(2)
        .stderr_has(&["connection refused"])
        .never_shows("url-pass-9f3k")
        .never_shows("tok-7c1e-secret");

    // An endless body.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                let line = "app_requests_total 1\n".repeat(1000);
                for _ in 0..100_000 {
                    if s.write_all(line.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let t = Test::new().write(
        "w.toml",
        short(&format!("metrics = \"http://{addr}/metrics\"")),
    );
    let started = Instant::now();
    let out = t.run(&["watch", "w.toml"]);
    out.code(2);
    assert!(
        out.stderr.contains("larger than") || out.stderr.contains("within the timeout"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

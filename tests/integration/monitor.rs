//! Watching the service: memory and CPU sampling, peak memory, leak detection, and every way the
//! monitor can fail (issue 5). All servers are on loopback and started here.

#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed setup must stop the test loudly"
)]

use std::io::{BufRead, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{dead_url, judged, scenario, Demo, Reaped, Test, SCENARIO};

/// The template scenario with a `[monitor]` table and the memory metrics gated.
fn monitored(base_url: &str, monitor: &str) -> String {
    let s = scenario(base_url, "").replace(
        r#"metrics = ["p50", "p95", "mean", "throughput", "error_rate"]"#,
        r#"metrics = ["p50", "mean", "error_rate", "peak_rss", "rss_growth"]"#,
    );
    format!("{s}\n[monitor]\n{monitor}\n")
}

/// `loadgate demo --port 0` as its own process (so its memory is only the demo's), with `args`.
fn demo_process(args: &[&str]) -> (Reaped, String) {
    let mut child = Reaped(
        Command::new(assert_cmd::cargo::cargo_bin("loadgate"))
            .args(["demo", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo"),
    );
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the demo prints its URL");
    (child, line.trim().to_string())
}

/// A loopback HTTP server answering every request with `body`, for a bounded number of requests.
fn metrics_server(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().take(500) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn a_leak_is_caught_and_a_steady_service_is_not() {
    let (_plain, plain_url) = demo_process(&[]);
    let (_leaky, leaky_url) = demo_process(&["--leak-bytes", "4096"]);
    let pid = |c: &Reaped| c.id().to_string();
    let at = |url: &str, p: &str| monitored(url, &format!("pid = {p}\ninterval = \"100ms\""));
    let t = Test::new()
        .scenario(&at(&plain_url, &pid(&_plain)))
        .exclusive();
    t.run(&["record", SCENARIO])
        .code(0)
        .stdout_has(&["service (pid "]);
    let base = t.json("baselines/t.json");
    assert!(
        base["samples"][0]["points"]
            .as_array()
            .is_some_and(|p| p.len() >= 20),
        "samples are stored"
    );
    // The same steady service again: memory passes.
    let out = t.run(&["gate", SCENARIO]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("rss_growth") && l.trim_end().ends_with("pass │")),
        "a steady service shows no leak\n{out}"
    );
    // 4 KB per request at ~360 req/s is ~85 MB/min: far beyond the 2 MB/min critical floor.
    let t = t.write("scenarios/t.toml", at(&leaky_url, &pid(&_leaky)));
    judged(|| t.run(&["gate", SCENARIO]))
        .code(1)
        .stdout_has(&["CRITICAL   all rss_growth: a leak", "B/request"]);
}

#[test]
fn an_unknown_pid_fails_before_any_load() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), ""));
    let out = t.run(&["run", SCENARIO, "--monitor-pid", "4000000"]);
    out.code(2).stderr_has(&[
        "cannot monitor the service",
        "process 4000000 is not running",
    ]);
    assert!(!out.stderr.contains("users"), "no load was started\n{out}");
}

#[test]
fn a_command_that_cannot_start_or_exits_early_is_named() {
    let demo = Demo::start();
    let t = Test::new().scenario(&monitored(
        demo.url(),
        r#"command = ["/nonexistent/service"]"#,
    ));
    t.run(&["run", SCENARIO])
        .code(2)
        .stderr_has(&["/nonexistent/service", "cannot start it"]);
    let t = t.write(
        "scenarios/t.toml",
        monitored(
            demo.url(),
            r#"command = ["sh", "-c", "echo broken config >&2; exit 3"]"#,
        ),
    );
    std::thread::sleep(Duration::from_millis(100));
    t.run(&["run", SCENARIO])
        .code(2)
        .stderr_has(&["exited", "broken config"]);
}

#[test]
fn a_service_that_dies_mid_run_makes_memory_incomplete_not_a_hang() {
    let demo = Demo::start();
    let text = monitored(
        demo.url(),
        "command = [\"sleep\", \"1.5\"]\ninterval = \"100ms\"",
    );
    let t = Test::new().scenario(&text);
    let out = t.run(&["run", SCENARIO, "--out", "r.json"]);
    out.code(0)
        .stderr_has(&["sampling stopped mid-run", "exited"]);
    let r = t.json("r.json");
    assert!(
        r["samples"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("exited")),
        "{r}"
    );
    // Gating on it: the memory metrics are incomplete, never a silent pass.
    t.run(&["compare", "r.json", "r.json", "--scenario", SCENARIO])
        .code(3)
        .stdout_has(&["INCOMPLETE", "sampling of", "failed"]);
}

#[test]
fn a_prometheus_endpoint_is_scraped_and_its_failures_are_clear() {
    let demo = Demo::start();
    let good = metrics_server("# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 4.2e+07\nprocess_cpu_seconds_total 1.5\n");
    let t = Test::new().scenario(&monitored(
        demo.url(),
        &format!("prometheus = \"{good}\"\ninterval = \"200ms\""),
    ));
    t.run(&["run", SCENARIO, "--out", "r.json"])
        .code(0)
        .stdout_has(&["service (http://127.0.0.1:", "42.0 MB"]);
    // Down, garbage, and a metric it does not export.
    let garbage = metrics_server("<html>this is not a metrics page</html>");
    let other = metrics_server("go_goroutines 12\n");
    for (url, want) in [
        (dead_url() + "/metrics", "connection refused"),
        (garbage, "has no `process_resident_memory_bytes`"),
        (other, "memory_metric"),
    ] {
        t.put(
            "scenarios/t.toml",
            monitored(demo.url(), &format!("prometheus = \"{url}\"")),
        );
        t.run(&["run", SCENARIO])
            .code(2)
            .stderr_has(&["cannot monitor the service", want]);
    }
}

#[test]
fn monitor_settings_are_validated() {
    let t = Test::new().scenario(&monitored(
        "http://127.0.0.1:9",
        "pid = 1\nprometheus = \"http://127.0.0.1:9/metrics\"",
    ));
    t.run(&["run", SCENARIO])
        .code(2)
        .stderr_has(&["`monitor`", "exactly one of"]);
    t.put(
        "scenarios/t.toml",
        monitored("http://127.0.0.1:9", "pid = 1\nmemory_metric = \"x\""),
    );
    t.run(&["run", SCENARIO])
        .code(2)
        .stderr_has(&["apply to `prometheus` only"]);
}

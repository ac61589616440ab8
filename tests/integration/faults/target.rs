//! Target faults: down or silent at the start, killed, hanging, a burst of 500s, a trickling body.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;

use super::server::{Fault, FaultServer};
use super::{recorded, stored, Stored, GATE};
use crate::support::{dead_url, Output, Test, SCENARIO};

/// The error counts of `result.json` (`{"status": n, "timeout": n, ...}`).
fn errors_of(t: &Test) -> Value {
    t.json("result.json")["all"]["errors"].clone()
}

fn count(errors: &Value, kind: &str) -> u64 {
    errors[kind]
        .as_u64()
        .unwrap_or_else(|| panic!("no `{kind}` count in {errors}"))
}

/// Asserts a critical verdict (exit 1) with a critical error-rate row.
#[track_caller]
fn critical_on_errors(out: &Output) {
    out.code(1).stderr_has(&["verdict critical (exit 1)"]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("CRITICAL") && l.contains("error_rate")),
        "no critical error_rate row\n{out}"
    );
}

#[test]
fn a_target_down_or_silent_at_the_start_is_refused_before_any_load() {
    // Nothing listening: connection refused. A socket nobody accepts on: the kernel completes the
    // handshake and nothing ever answers, so the probe times out (1 s, 2 attempts).
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let silent_url = format!("http://{}", silent.local_addr().expect("address"));
    for (url, cause) in [
        (dead_url(), "connection refused"),
        (silent_url, "no answer within 1s"),
    ] {
        let t = stored(&url, |s| s);
        let before = Stored::of(&t);
        for args in [GATE, &["record", SCENARIO]] {
            let out = t.run(args);
            out.code(2).stderr_has(&[
                "target is not healthy",
                cause,
                "no load was sent",
                "Check the service is up",
            ]);
            assert!(out.stdout.is_empty(), "stdout carries results only\n{out}");
            before.unchanged(&t, &out);
        }
    }
}

/// The target crashes a third of the way through the measured window: the rest of the requests are
/// refused. The run ends on time, counts the refusals as errors, and the error rate is critical (a
/// service that dies under load is the worst regression there is, not a run that cannot be judged).
#[test]
fn a_target_killed_mid_run_is_a_critical_error_rate() {
    // About 125 requests during the 500 ms ramp-up, then 250 req/s: request 400 is ~1.1 s in.
    let server = FaultServer::start(Fault::Dies { after: 400 });
    let t = stored(server.url(), |s| s);
    let before = Stored::of(&t);
    let out = t.run(GATE);
    critical_on_errors(&out);
    let errors = errors_of(&t);
    let refused = count(&errors, "connect") + count(&errors, "other");
    assert!(refused >= 100, "too few connection errors: {errors}\n{out}");
    assert_eq!(count(&errors, "status"), 0, "{errors}");
    // A complete (if failing) run is a point of the history; nothing stored before changes.
    let added = before.kept(&t, &out);
    assert_eq!(added.len(), 1, "one run appended to the history: {added:?}");
    assert!(added[0].starts_with("history/t"), "{added:?}");
}

/// The target accepts and reads every request from the 200th on, and never answers: each such request
/// times out after `request_timeout` (500 ms) and is counted as a timeout, and the run still ends
/// (bounded by its length plus one request timeout, well inside the command's time limit).
#[test]
fn a_hanging_target_times_out_and_is_a_critical_error_rate() {
    let server = FaultServer::start(Fault::None);
    // The request timeout is part of the scenario's hash: this scenario needs its own baseline.
    let t = recorded(
        &server,
        |s| s.replace(r#"request_timeout = "2s""#, r#"request_timeout = "500ms""#),
        false,
    );
    let before = Stored::of(&t);
    // About 125 requests during the ramp-up: request 200 is ~0.3 s into the measured window.
    server.set(Fault::Hangs { after: 200 });
    let out = t.run(GATE);
    critical_on_errors(&out);
    let errors = errors_of(&t);
    assert!(
        count(&errors, "timeout") >= 10,
        "too few timeouts: {errors}\n{out}"
    );
    assert_eq!(count(&errors, "status"), 0, "{errors}");
    assert!(server.received() > 200, "the server never hung\n{out}");
    before.kept(&t, &out);
}

/// Requests 300 to 419 (well inside the measured window) get a 500: every one is counted, and the
/// error rate is critical against the clean baseline.
#[test]
fn a_burst_of_500s_mid_run_is_a_critical_error_rate() {
    let server = FaultServer::start(Fault::Fails { from: 300, to: 420 });
    let t = stored(server.url(), |s| s);
    let before = Stored::of(&t);
    let out = t.run(GATE);
    critical_on_errors(&out);
    let errors = errors_of(&t);
    assert!(server.failed() >= 10, "the burst never came\n{out}");
    assert_eq!(
        count(&errors, "status"),
        server.failed(),
        "every 500 the server sent is one status error: {errors}"
    );
    before.kept(&t, &out);
}

/// Headers at once, the body in 2 pieces 6 ms apart: a request takes at least 12 ms end to end,
/// against 2–5 ms for the baseline recorded on the same server before. The scenario's objective is a
/// p50 under 10 ms: were the latency taken at the headers (goose's own timer), the run would meet it;
/// the recorder times headers plus body, so the run breaches it, which is critical at once, whatever
/// the noise guard makes of a busy runner. 12 ms keeps each of the 8 users busy well under its 32 ms
/// share of the 250 req/s schedule, so the generator keeps up.
#[test]
fn a_body_that_trickles_counts_in_the_latency() {
    const GAP: Duration = Duration::from_millis(6);
    const CHUNKS: u32 = 2;
    let server = FaultServer::start(Fault::None);
    let t = recorded(&server, |s| s + "slo = { p50 = \"10ms\" }\n", true);
    let before = Stored::of(&t);
    server.set(Fault::Trickles {
        chunks: CHUNKS as usize,
        gap: GAP,
    });
    let mut args = GATE.to_vec();
    args.extend(["--confirm", "0"]);
    let out = t.run(&args);
    out.code(1)
        .stderr_has(&["verdict critical (exit 1)"])
        .stdout_has(&["SLO breached: p50"]);
    let p50_us = t.json("result.json")["all"]["latency"]["p50_us"]
        .as_f64()
        .unwrap_or_else(|| panic!("no all.latency.p50_us in result.json\n{out}"));
    // A sleep never ends early: the body alone takes CHUNKS × GAP.
    let body_us = (GAP * CHUNKS).as_micros() as f64;
    assert!(
        p50_us >= body_us,
        "p50 {p50_us} us excludes the body ({body_us} us)\n{out}"
    );
    before.kept(&t, &out);
}

/// A target that answers every request with a redirect to another host (`localhost`, where a
/// second server listens): nothing follows it there, neither the load nor its `${env:…}` header;
/// every such answer counts as a `redirect` error, and the report says how to allow them.
#[test]
fn a_redirect_to_another_host_is_not_followed_but_counted() {
    let elsewhere = FaultServer::start(Fault::None);
    let port = elsewhere
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port in the server's URL");
    let server = FaultServer::start(Fault::Redirects { port });
    let text = crate::support::scenario(server.url(), "").replace(
        "[load]",
        "headers = { X-Api-Key = \"${env:LG_REDIRECT_KEY}\" }\n\n[load]",
    );
    let t = Test::new()
        .scenario(&text)
        .env("LG_REDIRECT_KEY", "k3y-not-for-elsewhere");
    let out = t.run(&["run", SCENARIO, "--out", "result.json"]);
    out.stdout_has(&[
        "redirect(s) to another host, not followed",
        "cross_host_redirects",
    ]);
    assert_eq!(
        elsewhere.received(),
        0,
        "the load followed the redirect\n{out}"
    );
    let errors = errors_of(&t);
    let requests = t.json("result.json")["all"]["requests"]
        .as_u64()
        .expect("all.requests");
    assert!(requests > 100, "{out}");
    assert_eq!(count(&errors, "redirect"), requests, "{errors}\n{out}");
}

/// A body that never ends, with a `max_body_bytes` check: the check fails as soon as the limit is
/// passed, without waiting for the rest, so every request is a check failure and none a timeout
/// (reading the whole body first, each would have hung until the request timeout).
#[test]
fn a_body_past_max_body_bytes_fails_without_reading_the_rest() {
    let server = FaultServer::start(Fault::Endless { sent: 64 * 1024 });
    let limited = |s: String, path: &str| {
        s.replace(
            &format!("path = \"{path}\"\n"),
            &format!("path = \"{path}\"\n[[request.check]]\nmax_body_bytes = 1000\n"),
        )
    };
    let text = limited(
        limited(crate::support::scenario(server.url(), ""), "/fast"),
        "/products",
    );
    let t = Test::new().scenario(&text);
    let out = t.run(&["run", SCENARIO, "--out", "result.json"]);
    let all = t.json("result.json")["all"].clone();
    let requests = all["requests"].as_u64().expect("all.requests");
    assert!(requests > 100, "{all}\n{out}");
    assert_eq!(count(&all["errors"], "check"), requests, "{out}");
    assert_eq!(count(&all["errors"], "timeout"), 0, "{out}");
}

/// `-vv` logs every failed request (docs/guide.md, "Commands"), a 500 too, not only transport failures; without the
/// URL, which may hold a secret.
#[test]
fn vv_logs_a_500_as_a_failed_request() {
    let server = FaultServer::start(Fault::Fails { from: 0, to: 20 });
    let t = Test::new().scenario(&crate::support::scenario(server.url(), ""));
    let out = t.run(&["-vv", "run", SCENARIO]);
    out.stderr_has(&["failed (Status): answered 500"]);
    assert!(!out.stderr.contains("/fast"), "a URL was logged\n{out}");
}

/// A target that never answers, from the first request: every user waits out its request timeout,
/// so most of the schedule is never sent. The report says how many were due but never sent (not
/// only the few that "started late"), and every request that was sent is a timeout.
#[test]
fn a_target_that_hangs_from_the_start_reports_its_unsent_requests() {
    let server = FaultServer::start(Fault::Hangs { after: 0 });
    let t = Test::new().scenario(&crate::support::scenario(server.url(), ""));
    let out = t.run(&["run", SCENARIO, "--out", "result.json"]);
    out.stdout_has(&["due but never sent"]);
    let result = t.json("result.json");
    let open = &result["meta"]["open_model"];
    let due = open["target_requests"].as_u64().expect("target_requests");
    let unsent = open["unsent_requests"].as_u64().expect("unsent_requests");
    // 250 req/s for 3 s against 8 users each stuck 2 s per request: a handful sent, the rest not.
    assert!(unsent * 2 > due, "{open}\n{out}");
    let errors = errors_of(&t);
    let requests = result["all"]["requests"].as_u64().expect("all.requests");
    assert_eq!(count(&errors, "timeout"), requests, "{errors}\n{out}");
}

/// A `${env:…}` value in the path of the base URL is a secret like any other: neither the progress
/// line, the report nor the stored result shows it, and neither does the error of a target that is
/// down.
#[test]
fn a_secret_in_the_base_url_path_is_never_shown_nor_stored() {
    const SECRET: &str = "tenant-s3cr3t-4242";
    let server = FaultServer::start(Fault::None);
    let text = crate::support::scenario(&format!("{}/${{env:LG_TENANT}}", server.url()), "");
    let t = Test::new().scenario(&text).env("LG_TENANT", SECRET);
    let out = t.run(&[
        "run",
        SCENARIO,
        "--out",
        "result.json",
        "--format",
        "markdown",
    ]);
    out.code(0).never_shows(SECRET);
    let stored = String::from_utf8(t.read("result.json")).expect("UTF-8");
    assert!(!stored.contains(SECRET), "the result stores the secret");
    assert!(stored.contains("/***"), "the masked URL is stored");
    let down = crate::support::scenario(
        &format!("{}/${{env:LG_TENANT}}", crate::support::dead_url()),
        "",
    );
    let t = Test::new().scenario(&down).env("LG_TENANT", SECRET);
    t.run(&["run", SCENARIO])
        .code(2)
        .stderr_has(&["target is not healthy", "/***/health"])
        .never_shows(SECRET);
}

/// A target that answers every request only after the request timeout is failing, not
/// unjudgeable: every timeout counts in the error rate, which is critical (exit 1), so a rollback
/// hook would run.
#[test]
fn a_target_that_times_out_every_request_is_critical() {
    let server = FaultServer::start(Fault::Hangs { after: 0 });
    let t = stored(server.url(), |s| s);
    let before = Stored::of(&t);
    let out = t.run(GATE);
    critical_on_errors(&out);
    out.stdout_has(&["due but never sent"]);
    before.kept(&t, &out);
}

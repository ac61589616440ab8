//! The operator's faults: SIGTERM mid-run, and a second signal while the first one is being honoured.

use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::server::{Fault, FaultServer};
use super::{stored, Stored};
use crate::support::{lines_of, shared_load, wait_at_most, Demo, Output, Reaped, Test, SCENARIO};

/// Spawns `loadgate ARGS` and waits until its load has started (the progress line after the
/// preflight). Returns the child and its stderr lines as they come, and the whole stderr at the end.
fn spawn_measuring(t: &Test, args: &[&str]) -> (Reaped, Receiver<String>, JoinHandle<String>) {
    let mut child = Reaped(
        t.command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn loadgate"),
    );
    let (lines, stderr) = lines_of(child.stderr.take().expect("stderr"));
    wait_for_line(&lines, "users at");
    (child, lines, stderr)
}

/// Waits (at most 30 s) for a stderr line containing `needle`.
#[track_caller]
fn wait_for_line(lines: &Receiver<String>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                panic!("loadgate never printed {needle:?}")
            }
        }
    }
}

fn send(child: &Reaped, signal: Signal) {
    let pid = i32::try_from(child.id()).expect("a pid fits in i32");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("send the signal");
}

/// Waits for the child (at most `limit`) and collects what it printed.
fn finished(mut child: Reaped, stderr: JoinHandle<String>, limit: Duration) -> Output {
    let status = wait_at_most(&mut child, limit);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    Output {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// A 20 s run, so that a signal sent after the ramp-up lands mid-measurement.
fn long(s: String) -> String {
    s.replace(r#"duration = "3s""#, r#"duration = "20s""#)
}

/// `run` appending to `history/`, writing the run to `result.json`: a 20 s scenario has no baseline
/// (its duration is part of the hash), and `gate` and `run` share the load and its interruption.
const RUN: &[&str] = &[
    "run",
    SCENARIO,
    "--history",
    "history",
    "--out",
    "result.json",
];

/// SIGTERM (what CI sends a cancelled job, and `docker stop`) mid-run: the run stops gracefully,
/// exits 130 like Ctrl-C, and nothing is judged, appended or written. Ctrl-C during `record` is
/// `errors::interrupted_record_keeps_the_old_baseline`.
#[test]
fn sigterm_mid_run_stops_gracefully_and_stores_nothing() {
    let demo = Demo::start();
    let t = stored(demo.url(), long);
    let before = Stored::of(&t);
    let _load = shared_load();
    let (child, _lines, stderr) = spawn_measuring(&t, RUN);
    // Past the 500 ms ramp-up, well before the 20 s end.
    std::thread::sleep(Duration::from_millis(1500));
    send(&child, Signal::SIGTERM);
    let out = finished(child, stderr, Duration::from_secs(15));
    out.code(130).stderr_has(&[
        "loadgate: stopping",
        "interrupted",
        "nothing was recorded or judged",
    ]);
    assert!(out.stdout.is_empty(), "no result was printed\n{out}");
    assert!(!t.path("result.json").exists(), "a result was written");
    before.unchanged(&t, &out);
}

/// A second signal exits at once, without waiting for the requests in flight. The target hangs and
/// the request timeout is 10 minutes: a graceful stop would wait for the hung requests (and print
/// the "interrupted" error); an immediate exit prints nothing more.
#[test]
fn a_second_signal_exits_at_once() {
    let server = FaultServer::start(Fault::Hangs { after: 0 });
    let t = stored(server.url(), |s| {
        long(s).replace(r#"request_timeout = "2s""#, r#"request_timeout = "600s""#)
    });
    let before = Stored::of(&t);
    let _load = shared_load();
    let (mut child, lines, stderr) = spawn_measuring(&t, RUN);
    send(&child, Signal::SIGINT);
    wait_for_line(&lines, "loadgate: stopping");
    // The graceful stop waits for the hung requests (600 s): a second later it is still going.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().expect("poll the child").is_none(),
        "the first signal did not wait for the requests in flight"
    );
    send(&child, Signal::SIGTERM);
    let out = finished(child, stderr, Duration::from_secs(30));
    out.code(130);
    assert!(
        !out.stderr.contains("error: interrupted"),
        "the second signal waited for the graceful stop\n{out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
    before.unchanged(&t, &out);
}

/// Ctrl-C while the preflight waits for a target that is down: loadgate stops at once, instead of
/// after every retry (10 000 here, a second apart: hours). Exit 130, nothing stored.
#[test]
fn ctrl_c_during_the_health_check_retries_stops_at_once() {
    let t = stored(&crate::support::dead_url(), |s| {
        s.replace(
            r#"retries = 1, interval = "100ms""#,
            r#"retries = 10000, interval = "1s""#,
        )
    });
    let before = Stored::of(&t);
    let mut child = Reaped(
        t.command()
            .args(["-v", "run", SCENARIO])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn loadgate"),
    );
    let (lines, stderr) = lines_of(child.stderr.take().expect("stderr"));
    wait_for_line(&lines, "preflight attempt 2 of 10001");
    send(&child, Signal::SIGINT);
    let out = finished(child, stderr, Duration::from_secs(30));
    out.code(130).stderr_has(&["interrupted"]);
    assert!(!out.stderr.contains(" users "), "a load started\n{out}");
    before.unchanged(&t, &out);
}

/// A second signal while the rollback hook runs: loadgate exits at once (130), and takes the hook's
/// process group with it, saying so, instead of leaving it running unwatched past
/// `--hook-timeout`.
#[test]
fn a_second_signal_during_the_rollback_hook_kills_the_hook() {
    let failing = crate::actions::failing_demo();
    let t = crate::actions::isolated(stored(failing.url(), |s| s)).write(
        "hook.sh",
        "#!/bin/sh\nsleep 60 &\necho $! > child.pid.tmp\nmv child.pid.tmp child.pid\nwait\n",
    );
    crate::actions::make_executable(&t.path("hook.sh"));
    let _load = shared_load();
    let mut child = Reaped(
        t.command()
            .args([
                "gate",
                SCENARIO,
                "--confirm",
                "0",
                "--rollback-hook",
                "./hook.sh",
                "--hook-timeout",
                "120s",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn loadgate"),
    );
    let (lines, stderr) = lines_of(child.stderr.take().expect("stderr"));
    let pid_file = t.path("child.pid");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pid_file.exists() {
        assert!(Instant::now() < deadline, "the hook never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    send(&child, Signal::SIGTERM);
    wait_for_line(&lines, "loadgate: stopping");
    send(&child, Signal::SIGTERM);
    let out = finished(child, stderr, Duration::from_secs(30));
    out.code(130)
        .stderr_has(&["killed the rollback hook with its process group"]);
    let pid = std::fs::read_to_string(&pid_file).expect("child.pid");
    let stat = format!("/proc/{}/stat", pid.trim());
    let dead = || std::fs::read_to_string(&stat).map_or(true, |s| s.contains(") Z "));
    for _ in 0..50 {
        if dead() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the hook's child {} outlived loadgate\n{out}", pid.trim());
}

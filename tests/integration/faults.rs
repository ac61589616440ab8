//! Faults (issue 8): what loadgate does when the target, the disk or the operator misbehaves. Each
//! test produces one fault itself — a [`FaultServer`] on `127.0.0.1:0` that dies, hangs, fails or
//! trickles, a read-only mount, a file size limit, a signal — then checks the documented verdict or
//! error, the exit code, and with [`Stored`] that every stored baseline and history file kept its
//! bytes. README "What happens when things go wrong" is the table these tests prove.
//!
//! Faults tested elsewhere, with the same [`Stored`] check: a target refusing connections
//! (`errors::target_refusing_connections`), Ctrl-C during `record` (`errors::interrupted_record_…`),
//! the GitHub API answering 403 / 500 / too slowly (`actions::github`), a webhook that is down
//! (`actions::notify`), a hanging rollback hook (`actions::hook`).

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures: a fixture step that fails must fail the calling test, with a message \
              saying which step; clippy's allow-*-in-tests covers #[test] fns, not their helpers"
)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::{
    dead_url, lines_of, scenario, shared_baseline, shared_load, wait_at_most, Demo, Output, Reaped,
    Test, COMMAND_TIMEOUT, SCENARIO,
};

// ---- what is stored ----------------------------------------------------------------------------

/// Folders whose files a fault must never touch.
const STORED_DIRS: [&str; 2] = ["baselines", "history"];

/// The bytes of every file under `baselines/` and `history/` of a test directory, sub-folders
/// walked and hidden temp files included: taken before a fault, compared after it.
#[derive(Debug, PartialEq)]
pub struct Stored(BTreeMap<PathBuf, Vec<u8>>);

impl Stored {
    /// Snapshots `t`'s stored files; there must be at least one to protect.
    pub fn of(t: &Test) -> Self {
        let mut files = BTreeMap::new();
        for dir in STORED_DIRS {
            walk(t.dir(), Path::new(dir), &mut files);
        }
        assert!(!files.is_empty(), "the test must store a file first");
        Self(files)
    }

    /// Asserts that the same files hold the same bytes: nothing rewritten, added or left behind.
    #[track_caller]
    pub fn unchanged(&self, t: &Test, out: &Output) {
        let now = Self::of(t);
        assert_eq!(
            now.names(),
            self.names(),
            "stored files added or removed\n{out}"
        );
        for (path, bytes) in &self.0 {
            assert!(
                now.0.get(path) == Some(bytes),
                "{} changed\n{out}",
                path.display()
            );
        }
    }

    /// Asserts that every file stored before still holds its bytes, and returns the files added
    /// since (a complete run appends itself to the history).
    #[track_caller]
    pub fn kept(&self, t: &Test, out: &Output) -> Vec<PathBuf> {
        let now = Self::of(t);
        for (path, bytes) in &self.0 {
            assert!(
                now.0.get(path) == Some(bytes),
                "{} changed or vanished\n{out}",
                path.display()
            );
        }
        now.0
            .into_keys()
            .filter(|p| !self.0.contains_key(p))
            .collect()
    }

    fn names(&self) -> Vec<&PathBuf> {
        self.0.keys().collect()
    }
}

fn walk(root: &Path, rel: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return; // a folder that does not exist holds nothing to protect
    };
    for entry in entries {
        let entry = entry.expect("folder entry");
        let rel = rel.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            walk(root, &rel, files);
        } else {
            let bytes = std::fs::read(root.join(&rel)).expect("read a stored file");
            files.insert(rel, bytes);
        }
    }
}

/// A past run in `history/t/`, as `gate --history history` appends them (a result file).
const PAST_RUN: &str = "history/t/20260101T000000Z-nocommit.json";

/// The template scenario against `base_url` (with `edit` applied), the shared baseline and one past
/// run in the history.
fn stored(base_url: &str, edit: impl Fn(String) -> String) -> Test {
    let t = Test::new()
        .scenario(&edit(scenario(base_url, "")))
        .with_baseline();
    std::fs::create_dir_all(t.path("history/t")).expect("create history/t");
    t.write(PAST_RUN, shared_baseline())
}

/// The template scenario against `server` (with `edit` applied), recorded against it as it is now
/// (healthy), and one past run in the history.
/// With `exclusive`, no other test's load runs beside this test's (see [`Test::exclusive`]).
fn recorded(server: &FaultServer, edit: impl Fn(String) -> String, exclusive: bool) -> Test {
    // Before the exclusive lock: the shared baseline, recorded on first use, takes the lock shared.
    let past_run = shared_baseline();
    let t = Test::new().scenario(&edit(scenario(server.url(), "")));
    let t = if exclusive { t.exclusive() } else { t };
    t.run(&["record", SCENARIO]).code(0);
    std::fs::create_dir_all(t.path("history/t")).expect("create history/t");
    t.write(PAST_RUN, past_run)
}

/// `gate` appending to `history/`, writing the run to `result.json`.
const GATE: &[&str] = &[
    "gate",
    SCENARIO,
    "--history",
    "history",
    "--out",
    "result.json",
];

// ---- a misbehaving target ----------------------------------------------------------------------

/// How often a server thread looks at its flags while it waits.
const POLL: Duration = Duration::from_millis(5);
/// Body of every answer: a small JSON object, like the demo's `/fast`.
const BODY: &[u8] = br#"{"id":1,"name":"fault-server","items":[1,2,3,4,5,6,7,8]}"#;

/// What [`FaultServer`] does to the measured paths (every path but `/health`, which answers 200
/// while the server listens). Requests are numbered from 0 in arrival order, from the moment the
/// fault is set.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// None: a healthy service, to record a baseline against.
    None,
    /// From request `after` on: closes every connection and stops listening, like a crashed process.
    Dies { after: u64 },
    /// From request `after` on: reads each request and never answers; the connection stays open.
    Hangs { after: u64 },
    /// Requests `from..to` are answered 500.
    Fails { from: u64, to: u64 },
    /// Every answer: the headers at once, then the body in `chunks` pieces, each after `gap`.
    Trickles { chunks: usize, gap: Duration },
}

#[derive(Debug)]
struct State {
    fault: Mutex<Fault>,
    next: AtomicU64,
    /// 500s sent.
    failed: AtomicU64,
    dead: AtomicBool,
    stop: AtomicBool,
}

impl State {
    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.dead.load(Ordering::SeqCst)
    }
}

/// A plain HTTP/1.1 server on `127.0.0.1:0` (std threads, one per connection, keep-alive) that
/// serves `/fast` in 2 ms and `/products` in 5 ms like the demo service until its [`Fault`] strikes.
/// Stops on drop.
struct FaultServer {
    url: String,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FaultServer {
    fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the listening address")
        );
        let state = Arc::new(State {
            fault: Mutex::new(fault),
            next: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dead: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (state, connections) = (state.clone(), connections.clone());
            std::thread::spawn(move || accept_loop(&listener, &state, &connections))
        };
        Self {
            url,
            state,
            accept: Some(accept),
            connections,
        }
    }

    fn url(&self) -> &str {
        &self.url
    }

    /// Sets the fault from now on, numbering requests from 0 again.
    fn set(&self, fault: Fault) {
        *self
            .state
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = fault;
        self.state.next.store(0, Ordering::SeqCst);
    }

    /// Measured requests received since the fault was set.
    fn received(&self) -> u64 {
        self.state.next.load(Ordering::SeqCst)
    }

    /// 500s sent so far.
    fn failed(&self) -> u64 {
        self.state.failed.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        let threads = std::mem::take(
            &mut *self
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Accepts until the server stops or dies; returning drops the listener, so that from then on
/// connections are refused.
fn accept_loop(listener: &TcpListener, state: &Arc<State>, threads: &Mutex<Vec<JoinHandle<()>>>) {
    while !state.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                let state = state.clone();
                let handle = std::thread::spawn(move || serve(stream, &state));
                threads
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(handle);
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Serves one keep-alive connection until the client closes it or the server stops, dies or hangs.
fn serve(mut stream: TcpStream, state: &State) {
    // Blocking reads with a short timeout, so that the flags are seen while the client is idle.
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(POLL * 10)).is_err()
        || stream.set_nodelay(true).is_err()
    {
        return;
    }
    let mut pending = Vec::new();
    let mut chunk = [0_u8; 4096];
    while !state.stopping() {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
            continue;
        };
        // The template sends GETs only: a request is its head.
        let head = String::from_utf8_lossy(&pending[..end]).into_owned();
        pending.drain(..end + 4);
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        if respond(&mut stream, state, path).is_err() {
            return;
        }
    }
}

/// Answers one request, or returns an error to close the connection.
fn respond(stream: &mut TcpStream, state: &State, path: &str) -> std::io::Result<()> {
    if path == "/health" {
        return answer(stream, "200 OK", b"ok");
    }
    let n = state.next.fetch_add(1, Ordering::SeqCst);
    let closed = || std::io::Error::other("the fault closes the connection");
    match state.fault() {
        Fault::Dies { after } if n >= after => {
            state.dead.store(true, Ordering::SeqCst);
            Err(closed())
        }
        Fault::Hangs { after } if n >= after => {
            while !state.stopping() {
                std::thread::sleep(POLL);
            }
            Err(closed())
        }
        Fault::Fails { from, to } if (from..to).contains(&n) => {
            service_time(path);
            state.failed.fetch_add(1, Ordering::SeqCst);
            answer(
                stream,
                "500 Internal Server Error",
                br#"{"error":"injected"}"#,
            )
        }
        Fault::Trickles { chunks, gap } => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                BODY.len()
            )?;
            stream.flush()?;
            for piece in BODY.chunks(BODY.len().div_ceil(chunks.max(1))) {
                std::thread::sleep(gap);
                stream.write_all(piece)?;
                stream.flush()?;
            }
            Ok(())
        }
        _ => {
            service_time(path);
            answer(stream, "200 OK", BODY)
        }
    }
}

/// The demo's base service times, so that a run matches the shared baseline until the fault.
fn service_time(path: &str) {
    let ms = if path.starts_with("/products") { 5 } else { 2 };
    std::thread::sleep(Duration::from_millis(ms));
}

fn answer(stream: &mut TcpStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

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

// ---- the target --------------------------------------------------------------------------------

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
/// against 2–5 ms for the baseline recorded on the same server before. Were the latency taken at the
/// headers (goose's own timer), the run would look faster than the baseline; the recorder times
/// headers plus body, so it is a critical regression. 12 ms keeps each of the 8 users busy well under
/// its 32 ms share of the 250 req/s schedule, so the generator keeps up and the run stays steady.
#[test]
fn a_body_that_trickles_counts_in_the_latency() {
    const GAP: Duration = Duration::from_millis(6);
    const CHUNKS: u32 = 2;
    let server = FaultServer::start(Fault::None);
    let t = recorded(&server, |s| s, true);
    let before = Stored::of(&t);
    server.set(Fault::Trickles {
        chunks: CHUNKS as usize,
        gap: GAP,
    });
    let mut args = GATE.to_vec();
    args.extend(["--confirm", "0"]);
    let out = t.run(&args);
    out.code(1).stderr_has(&["verdict critical (exit 1)"]);
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

// ---- the disk ----------------------------------------------------------------------------------

/// Runs `loadgate ARGS` through `wrapper` (a program and its arguments, which must end by exec-ing
/// its first operand with the rest), with the environment [`Test::command`] sets.
fn wrapped(t: &Test, wrapper: &[&str], args: &[&str]) -> Output {
    let inner = t.command();
    let mut cmd = Command::new(wrapper[0]);
    cmd.args(&wrapper[1..])
        .arg(inner.get_program())
        .args(args)
        .current_dir(t.dir());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let _load = shared_load();
    let out = assert_cmd::Command::from_std(cmd)
        .timeout(COMMAND_TIMEOUT)
        .output()
        .expect("run the wrapped loadgate");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit code of the read-only wrapper when it cannot make the mount (then the fault cannot be made).
const NO_MOUNT: i32 = 97;

/// `record` into a read-only `baselines/`: refused before any load (the target is dead, so an error
/// about the target would mean the folder was not checked first), naming the folder and the fix.
///
/// Root ignores permission bits, and the suite runs as root in CI: `chmod 555` alone cannot make the
/// folder unwritable for it. A read-only bind mount can, for everyone: the binary runs in a private
/// mount namespace (`unshare -m`; `-r` adds a user namespace so that a non-root user may mount too)
/// where `baselines/` is remounted read-only, so the write fails with EROFS as on a read-only volume.
/// Where namespaces are not allowed, a non-root user falls back to `chmod 555` (EACCES); only when
/// neither can make the folder unwritable is the test skipped, saying why.
#[test]
fn a_read_only_baselines_folder_is_refused_before_any_load() {
    let t = stored(&dead_url(), |s| s);
    let before = Stored::of(&t);
    let baselines = t.path("baselines");
    let baselines = baselines.to_str().expect("a UTF-8 temp path");
    let script = format!(
        "mount --bind '{baselines}' '{baselines}' && mount -o remount,ro,bind '{baselines}' \
         || exit {NO_MOUNT}; exec \"$0\" \"$@\""
    );
    let args = ["record", SCENARIO];
    let mut out = wrapped(&t, &["unshare", "-rm", "sh", "-c", &script], &args);
    if out.code == NO_MOUNT {
        // No namespaces here: permission bits, which bind every user but root.
        use std::os::unix::fs::PermissionsExt;
        let mode = |m| std::fs::set_permissions(baselines, std::fs::Permissions::from_mode(m));
        mode(0o555).expect("chmod 555 baselines");
        let probe = t.path("baselines/.probe");
        let writable = std::fs::write(&probe, b"").is_ok();
        if writable {
            let _ = std::fs::remove_file(&probe);
            mode(0o755).expect("chmod 755 baselines");
            eprintln!(
                "SKIPPED a_read_only_baselines_folder_is_refused_before_any_load: running as root \
                 where mount namespaces are not allowed (unshare -rm failed: {}), so no folder can \
                 be made unwritable",
                out.stderr.trim()
            );
            return;
        }
        out = t.run(&args);
        mode(0o755).expect("chmod 755 baselines");
    }
    out.code(2).stderr_has(&[
        "cannot write baselines/t.json",
        "make the folder baselines writable",
    ]);
    assert!(
        !out.stderr.contains("not healthy"),
        "the folder was not checked before the target\n{out}"
    );
    before.unchanged(&t, &out);
}

/// The disk fills up as `record` writes the baseline: a file size limit of one block
/// (`ulimit -f 1`, with SIGXFSZ ignored so the write fails with EFBIG instead of killing the process)
/// lets the preflight's empty probe file through and fails the real write. The old baseline keeps its
/// bytes and no temp file is left behind.
#[test]
fn a_full_disk_during_record_keeps_the_old_baseline() {
    let demo = Demo::start();
    let t = stored(demo.url(), |s| s);
    let before = Stored::of(&t);
    let out = wrapped(
        &t,
        &["sh", "-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\""],
        &["record", SCENARIO],
    );
    out.code(2).stderr_has(&[
        "cannot write baselines/t.json",
        "File too large",
        "free some space",
        "the existing baseline is unchanged",
    ]);
    assert!(
        out.stdout.contains("scenario `t`"),
        "the run itself completed\n{out}"
    );
    before.unchanged(&t, &out);
}

// ---- the operator ------------------------------------------------------------------------------

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

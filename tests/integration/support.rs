//! Shared fixtures of the integration binary: a `#[must_use]` [`Test`] builder (one tempdir with
//! `scenarios/` and `baselines/`, in which the real `loadgate` binary runs), an in-process demo
//! service on `127.0.0.1:0` ([`Demo`]), a loopback port with nothing listening ([`free_port`]) and a
//! short scenario template ([`scenario`]).
//!
//! Every load goes to a loopback server the test started itself, never any other address. Every
//! command runs under a time limit ([`COMMAND_TIMEOUT`]) and every scenario under a request limit.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test harness: a fixture step that fails must fail the calling test, with a message \
              saying which step; clippy's allow-*-in-tests covers #[test] fns, not their helpers"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use loadgate::demo::{self, DemoKnobs, DemoServer};

/// Scenario file written by [`Test::scenario`], relative to the test's directory.
pub const SCENARIO: &str = "scenarios/t.toml";
/// Baseline of the scenario `t` (the template's name) under the default `--baselines`.
pub const BASELINE: &str = "baselines/t.json";
/// Upper bound on one command: a 3.5 s load plus generous slack for a loaded 2-core runner. A hung
/// binary fails its test instead of hanging the suite.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Tests that compare latencies of two live runs take this lock exclusively, every other command
/// takes it shared: two latency measurements must not be skewed by another test's load on the same
/// (2-core) machine. Everything else still runs in parallel.
static LOAD_LOCK: RwLock<()> = RwLock::new(());

/// The scenario template: 250 req/s (open model) from a pool of 8 users for 3 s after a 500 ms
/// ramp-up (about 750 measured requests, 375 per request), `/fast` (2 ms) and `/products` (5 ms)
/// of the demo service.
///
/// - `rate`: an arrival rate keeps the offered load the same on every machine. Latency is measured
///   from each request's intended send time, so the generator must keep up: a request that waits
///   for a free user carries that wait in its latency. 8 users at 250 req/s is one request per user
///   every 32 ms, far above the demo's latencies even at `slowdown = 2`, and light enough for a
///   debug build on a 2-core runner shared with other builds (400 req/s from 4 users was not).
/// - `[gate] metrics` leaves out p99, which needs 2 000 requests per row (`Metric::min_requests`).
///
/// `gate_extra` is appended inside `[gate]` (e.g. `latency_floor = "2ms"`), or may open a sub-table
/// such as `[gate.slo]`. `[target]` and `[gate]` are not part of the scenario hash, so scenarios that
/// differ only in `base_url` or `gate_extra` share a baseline.
pub fn scenario(base_url: &str, gate_extra: &str) -> String {
    format!(
        r#"schema_version = 1
name = "t"
description = "integration-test scenario"

[target]
base_url = "{base_url}"
health = {{ path = "/health", retries = 1, interval = "100ms", timeout = "1s" }}

[load]
users = 8
rate = 250
ramp_up = "500ms"
duration = "3s"
max_requests = 20000
request_timeout = "2s"
window = "250ms"   # 12 windows in 3 s: enough for the noise guard's bootstrap

[[request]]
name = "fast"
path = "/fast"

[[request]]
name = "products"
path = "/products"

[gate]
metrics = ["p50", "p95", "mean", "throughput", "error_rate"]
{gate_extra}
"#
    )
}

/// A loopback port with nothing listening: bound on port 0, then released.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A base URL on loopback that refuses connections.
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// The built-in demo service running in this process on `127.0.0.1:0`, on its own tokio runtime so
/// it serves while a test thread waits for the binary. Stops on drop.
pub struct Demo {
    server: Option<DemoServer>,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl Demo {
    /// A healthy demo service.
    pub fn start() -> Self {
        Self::with(DemoKnobs::default())
    }

    /// A demo service with `knobs` (slowdown, delay, spikes, errors, leak).
    pub fn with(knobs: DemoKnobs) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime for the demo service");
        let server = runtime
            .block_on(demo::start(([127, 0, 0, 1], 0).into(), knobs))
            .expect("start the demo service on 127.0.0.1:0");
        Self {
            url: server.url(),
            server: Some(server),
            runtime,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Output {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, want, "unexpected exit code\n{self}");
        self
    }

    /// Asserts that stdout contains every needle.
    #[track_caller]
    pub fn stdout_has(&self, needles: &[&str]) -> &Self {
        for n in needles {
            assert!(self.stdout.contains(n), "stdout lacks {n:?}\n{self}");
        }
        self
    }

    /// Asserts that stderr contains every needle.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        for n in needles {
            assert!(self.stderr.contains(n), "stderr lacks {n:?}\n{self}");
        }
        self
    }

    /// Asserts that `needle` appears in neither stream.
    #[track_caller]
    pub fn never_shows(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle) && !self.stderr.contains(needle),
            "{needle:?} leaked into the output\n{self}"
        );
        self
    }
}

/// How many times [`judged`] runs a verdict that the machine disturbed: loadgate's own advice for
/// one is "run the gate again", and a runner shared with other jobs can stay busy for a while.
const JUDGE_ATTEMPTS: usize = 3;

/// True for an incomplete verdict (exit 3) that loadgate blames on the machine rather than the
/// service: an unstable run, or critical rows too noisy to judge.
fn disturbed(out: &Output) -> bool {
    let says = |needle: &str| out.stdout.contains(needle) || out.stderr.contains(needle);
    out.code == 3
        && (says("unstable run, not judged")
            || says("could not be judged (too")
            || says("critical metrics could be judged (too"))
}

/// Runs `attempt` (a gate, or the runs a compare needs) again while its verdict is [`disturbed`], at
/// most [`JUDGE_ATTEMPTS`] times, and returns the last output: for tests whose verdict rests on live
/// latencies (pass, warn, or a critical from latency). Any other outcome is returned at once, so a
/// wrong verdict still fails its test on the first run.
pub fn judged(mut attempt: impl FnMut() -> Output) -> Output {
    let mut out = attempt();
    for n in 2..=JUDGE_ATTEMPTS {
        if !disturbed(&out) {
            break;
        }
        eprintln!("the machine disturbed the verdict; attempt {n} of {JUDGE_ATTEMPTS}\n{out}");
        out = attempt();
    }
    out
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Holds [`LOAD_LOCK`] exclusively for a whole test.
type Exclusive = RwLockWriteGuard<'static, ()>;

/// A temporary working directory with `scenarios/` and `baselines/`, in which the real binary runs.
#[must_use]
pub struct Test {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
    exclusive: Option<Exclusive>,
}

impl Test {
    /// An empty working directory with `scenarios/` and `baselines/`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["scenarios", "baselines"] {
            std::fs::create_dir(dir.path().join(sub)).expect("create sub-folder");
        }
        Self {
            dir,
            env: Vec::new(),
            env_remove: Vec::new(),
            exclusive: None,
        }
    }

    /// Writes `text` to `scenarios/t.toml`.
    pub fn scenario(self, text: &str) -> Self {
        self.write(SCENARIO, text)
    }

    /// Writes `bytes` to `rel` (relative to the test directory).
    pub fn write(self, rel: &str, bytes: impl AsRef<[u8]>) -> Self {
        self.put(rel, bytes);
        self
    }

    /// Writes `bytes` to `rel` without consuming the builder (for mid-test changes).
    pub fn put(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path(rel), bytes).expect("write fixture");
    }

    /// Writes a real baseline of the template scenario to `baselines/t.json` ([`shared_baseline`]).
    pub fn with_baseline(self) -> Self {
        self.write(BASELINE, shared_baseline())
    }

    /// Sets an environment variable for every command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Removes an environment variable for every command.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env_remove.push(key.to_string());
        self
    }

    /// Runs this test's loads alone: for tests that compare the latencies of two live runs.
    pub fn exclusive(mut self) -> Self {
        self.exclusive = Some(LOAD_LOCK.write().unwrap_or_else(PoisonError::into_inner));
        self
    }

    /// The test directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` inside the test directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Contents of `rel`.
    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Contents of `rel`, parsed as JSON.
    pub fn json(&self, rel: &str) -> serde_json::Value {
        serde_json::from_slice(&self.read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
    }

    /// Names of the entries of folder `rel` (hidden temp files included), sorted.
    pub fn files(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(rel))
            .expect("read folder")
            .map(|e| {
                e.expect("folder entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Bytes of every file in `baselines/` (temp files included), to check later that nothing
    /// stored was touched.
    pub fn baselines(&self) -> BTreeMap<String, Vec<u8>> {
        self.files("baselines")
            .into_iter()
            .map(|name| {
                let bytes = self.read(&format!("baselines/{name}"));
                (name, bytes)
            })
            .collect()
    }

    /// Runs `loadgate ARGS` in the test directory, bounded by [`COMMAND_TIMEOUT`].
    pub fn run(&self, args: &[&str]) -> Output {
        let _shared = match self.exclusive {
            Some(_) => None,
            None => Some(shared_load()),
        };
        let out = assert_cmd::Command::from_std(self.command())
            .args(args)
            .timeout(COMMAND_TIMEOUT)
            .output()
            .expect("run loadgate");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The command [`Test::run`] runs, without arguments: for tests that drive the process
    /// themselves (signals, streaming output).
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadgate"));
        cmd.current_dir(self.dir());
        // Provenance, colour and CI outputs must not depend on the CI environment the suite runs
        // in: inside GitHub Actions, gate would otherwise write to the job's own summary.
        for k in [
            "GITHUB_SHA",
            "RUST_LOG",
            "NO_COLOR",
            "CLICOLOR",
            "CLICOLOR_FORCE",
            "GITHUB_ACTIONS",
            "GITHUB_OUTPUT",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_TOKEN",
            "GITHUB_EVENT_PATH",
            "GITHUB_REPOSITORY",
            "LOADGATE_SLACK_WEBHOOK",
            "LOADGATE_DISCORD_WEBHOOK",
            "LOADGATE_WEBHOOK_URL",
            "LOADGATE_REPORT_URL",
        ]
        .into_iter()
        .chain(self.env_remove.iter().map(String::as_str))
        {
            cmd.env_remove(k);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// Lets a load that a test drives itself (a spawned child) run beside other ordinary loads, but
/// not beside an [`Test::exclusive`] test. Hold it until the child has exited.
pub fn shared_load() -> RwLockReadGuard<'static, ()> {
    LOAD_LOCK.read().unwrap_or_else(PoisonError::into_inner)
}

/// Bytes of a real baseline of the template scenario, recorded once per test binary against its own
/// demo service (one 3.5 s load instead of one per test that only needs a baseline to exist).
pub fn shared_baseline() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let demo = Demo::start();
        let t = Test::new().scenario(&scenario(demo.url(), ""));
        t.run(&["record", SCENARIO]).code(0);
        t.read(BASELINE)
    })
}

/// Sends SIGINT (what Ctrl-C sends) to the child `pid`.
pub fn interrupt(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT {pid} failed");
}

/// Waits for `child` to exit, at most `limit`; past it, kills the child (SIGKILL) and fails the test.
pub fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            return status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("loadgate did not exit within {limit:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads `stream` line by line on a thread: each line is sent to the returned channel as it
/// arrives, and the thread's result is the whole text once the stream closes.
pub fn lines_of(
    stream: impl std::io::Read + Send + 'static,
) -> (
    std::sync::mpsc::Receiver<String>,
    std::thread::JoinHandle<String>,
) {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            // The receiver may have stopped listening; the text is still collected.
            let _ = tx.send(line);
        }
        all
    });
    (rx, handle)
}

/// A spawned child that is killed (SIGKILL) if the test fails before it has exited: a failing test
/// never leaves a loadgate process behind.
pub struct Reaped(pub std::process::Child);

impl std::ops::Deref for Reaped {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

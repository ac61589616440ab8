//! The rollback hook: a program the gate runs when the verdict calls for it (critical, or warn too
//! with `--rollback-on warn`). An argv, never a shell string, so nothing in a scenario name or a
//! path is ever interpreted. The verdict reaches it in `LOADGATE_*` environment variables; it runs in
//! its own process group, and past `--hook-timeout` the whole group is killed (a shell script's
//! `kubectl` child would otherwise outlive it). Its exit status and the last lines of its output are
//! reported. The only user of nix.
//!
//! Preflight checks that the program exists and is executable, before any load: finding out after a
//! 10-minute run that the rollback could never have happened is the failure this prevents.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::action::context::ActionContext;
use crate::action::tail::{collect, Tail};
use crate::action::{seconds, Action, ActionError, BoxFuture, Done, Env, RollbackOn};
use crate::secret::Secrets;
use crate::verdict::Outcome;
use std::ffi::OsString;

/// The process group of the hook while it runs (0: none), for [`kill_running`].
static RUNNING: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Kills the running hook's process group, if a hook is running; whether one was. For a second
/// Ctrl-C or SIGTERM, which exits at once: the hook (a `kubectl rollout undo` in flight) must not
/// outlive loadgate unwatched, past its `--hook-timeout`.
pub fn kill_running() -> bool {
    let pgid = RUNNING.swap(0, std::sync::atomic::Ordering::SeqCst);
    if pgid == 0 {
        return false;
    }
    #[cfg(unix)]
    {
        use nix::sys::signal::{killpg, Signal};
        use nix::unistd::Pid;
        if let Ok(pid) = i32::try_from(pgid) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    true
}

/// How often the hook is polled for its exit.
const POLL: Duration = Duration::from_millis(20);
/// After the hook exits, how long its output pipes may stay open (a background child holding them)
/// before the rest of its output is abandoned.
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// The hook as asked for by the flags.
#[derive(Debug, Clone)]
pub struct Hook {
    /// Program: a path (with a `/`) or a name looked up on `PATH`.
    pub program: String,
    /// Its arguments, passed as they are.
    pub args: Vec<String>,
    /// Lowest verdict that runs it.
    pub on: RollbackOn,
    /// Past this the hook and its process group are killed.
    pub timeout: Duration,
    /// Secret variables handed to the hook all the same (`--hook-env`).
    pub pass_env: Vec<String>,
}

/// Why the hook cannot run, or how it failed. Messages end with the fix.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The path does not exist.
    #[error("--rollback-hook: {} does not exist; check the path (a relative path starts from the working directory)", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// A bare name not found on PATH.
    #[error(
        "rollback hook `{name}` is not on PATH; give its path instead, e.g. ./scripts/rollback.sh"
    )]
    NotOnPath {
        /// The name given.
        name: String,
    },
    /// A directory or something else that cannot run.
    #[error("rollback hook {} is not a file; give the path of an executable program or script", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// No execute permission.
    #[error("rollback hook {} is not executable; make it so with `chmod +x {}`", path.display(), path.display())]
    NotExecutable {
        /// The path.
        path: PathBuf,
    },
    /// The program could not be started.
    #[error("cannot start rollback hook {}: {source}; check its `#!` line and that it runs by hand", path.display())]
    Spawn {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The hook ended with a failure status.
    #[error("rollback hook {} failed ({status}); see its output, and check that the rollback really happened", path.display())]
    Failed {
        /// The path.
        path: PathBuf,
        /// "exit status 3" or "killed by signal 9".
        status: String,
        /// Last lines of its output.
        output: Vec<String>,
    },
    /// The hook ran past its timeout and was killed.
    #[error("rollback hook {} was still running after {after} and was killed with its process group; raise --hook-timeout or make the hook faster", path.display())]
    TimedOut {
        /// The path.
        path: PathBuf,
        /// The timeout, e.g. "60s".
        after: String,
        /// Last lines of its output.
        output: Vec<String>,
    },
    /// Waiting for the hook failed.
    #[error("lost track of rollback hook {}: {source}; this is a bug in loadgate, please report it", path.display())]
    Wait {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl HookError {
    /// The hook's last lines, when it ran.
    pub fn output(&self) -> &[String] {
        match self {
            HookError::Failed { output, .. } | HookError::TimedOut { output, .. } => output,
            _ => &[],
        }
    }
}

/// The rollback hook, checked and ready.
#[derive(Debug)]
pub struct RollbackHook {
    program: PathBuf,
    settings: Hook,
    /// Variables holding these are withheld from the hook (unless `--hook-env` names them).
    secrets: Secrets,
}

impl RollbackHook {
    /// Finds the program and checks that it can be run.
    pub fn prepare(settings: Hook, env: &Env, secrets: Secrets) -> Result<Self, ActionError> {
        let program = locate(&settings.program, env.get("PATH"))?;
        Ok(Self {
            program,
            settings,
            secrets,
        })
    }
}

/// The variables of `inherited` the hook must not get: those holding a known secret, except the
/// ones `pass` names (docs/guide.md, "Acting on the verdict").
pub fn withheld(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
    secrets: &Secrets,
    pass: &[String],
) -> Vec<OsString> {
    inherited
        .into_iter()
        .filter(|(k, v)| {
            let name = k.to_string_lossy();
            !pass.iter().any(|p| *p == name) && secrets.holds(&name, &v.to_string_lossy())
        })
        .map(|(k, _)| k)
        .collect()
}

/// The executable `program` names: a path when it holds a `/`, else the first match on `path_var`.
fn locate(program: &str, path_var: Option<&str>) -> Result<PathBuf, HookError> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        check_executable(&path)?;
        return Ok(path);
    }
    std::env::split_paths(path_var.unwrap_or_default())
        .map(|dir| dir.join(program))
        .find(|p| check_executable(p).is_ok())
        .ok_or_else(|| HookError::NotOnPath {
            name: program.to_string(),
        })
}

fn check_executable(path: &Path) -> Result<(), HookError> {
    let meta = std::fs::metadata(path).map_err(|_| HookError::Missing {
        path: path.to_path_buf(),
    })?;
    if !meta.is_file() {
        return Err(HookError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(HookError::NotExecutable {
                path: path.to_path_buf(),
            });
        }
    }
    Ok(())
}

impl Action for RollbackHook {
    fn name(&self) -> String {
        format!("rollback hook {}", self.program.display())
    }

    fn skip(&self, outcome: Outcome) -> Option<String> {
        let on = match self.settings.on {
            RollbackOn::Warn => "warn or critical",
            RollbackOn::Critical => "critical",
            RollbackOn::Incomplete => "critical or incomplete",
        };
        match (outcome, self.settings.on) {
            (Outcome::Critical, _)
            | (Outcome::Warn, RollbackOn::Warn)
            | (Outcome::Incomplete, RollbackOn::Incomplete) => None,
            // An incomplete gate measured nothing conclusive: rolling back on it would let a noisy
            // runner undo good deploys. The exit code (3) already fails the job.
            (Outcome::Incomplete, _) => Some(format!(
                "verdict incomplete: nothing conclusive was measured, so nothing is rolled back (the hook runs on {on})"
            )),
            (o, _) => Some(format!("verdict {}; the hook runs on {on} (--rollback-on)", o.name())),
        }
    }

    fn budget(&self) -> Duration {
        // The hook enforces its own timeout (and kills the group); this outer bound only covers
        // collecting its output afterwards.
        self.settings.timeout + OUTPUT_GRACE + Duration::from_secs(5)
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext) -> BoxFuture<'a, Result<Done, ActionError>> {
        let program = self.program.clone();
        let args = self.settings.args.clone();
        let timeout = self.settings.timeout;
        let env = environment(ctx);
        let remove = withheld(std::env::vars_os(), &self.secrets, &self.settings.pass_env);
        Box::pin(async move {
            let joined = tokio::task::spawn_blocking(move || {
                run_blocking(&program, &args, &env, &remove, timeout)
            })
            .await;
            match joined {
                Ok(r) => r.map_err(ActionError::from),
                Err(e) => Err(HookError::Wait {
                    path: self.program.clone(),
                    source: std::io::Error::other(e.to_string()),
                }
                .into()),
            }
        })
    }
}

/// The `LOADGATE_*` variables the hook gets (docs/guide.md, "Acting on the verdict"). A file that was not
/// written is an empty string, so a hook can test `[ -n "$LOADGATE_REPORT_JSON" ]`.
pub fn environment(ctx: &ActionContext) -> Vec<(String, String)> {
    let path = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    [
        ("LOADGATE_VERDICT", ctx.outcome.name().to_string()),
        ("LOADGATE_SCENARIO", ctx.scenario.clone()),
        ("LOADGATE_REPORT_JSON", path(&ctx.report_json)),
        ("LOADGATE_RESULT_JSON", path(&ctx.result_json)),
        ("LOADGATE_WORST", ctx.worst_line()),
        ("LOADGATE_EXIT_CODE", ctx.exit_code.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn run_blocking(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    remove: &[OsString],
    timeout: Duration,
) -> Result<Done, HookError> {
    let mut cmd = Command::new(program);
    for k in remove {
        cmd.env_remove(k);
    }
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so a timeout kills the hook's children too.
        cmd.process_group(0);
    }
    let path = program.to_path_buf();
    let mut child = cmd.spawn().map_err(|source| HookError::Spawn {
        path: path.clone(),
        source,
    })?;
    RUNNING.store(child.id(), std::sync::atomic::Ordering::SeqCst);
    let tail = Arc::new(Mutex::new(Tail::default()));
    let (done_tx, done_rx) = mpsc::channel();
    let mut readers = 0;
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let (tail, done_tx) = (Arc::clone(&tail), done_tx.clone());
        readers += 1;
        std::thread::spawn(move || {
            collect(stream, &tail);
            // The receiver may have given up waiting; the lines are in `tail` either way.
            let _ = done_tx.send(());
        });
    }
    let status = wait(&mut child, timeout);
    RUNNING.store(0, std::sync::atomic::Ordering::SeqCst);
    let status = status.map_err(|source| HookError::Wait {
        path: path.clone(),
        source,
    })?;
    let grace_end = Instant::now() + OUTPUT_GRACE;
    for _ in 0..readers {
        let left = grace_end.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    let output = tail.lock().unwrap_or_else(PoisonError::into_inner).lines();
    match status {
        None => Err(HookError::TimedOut {
            path,
            after: seconds(timeout),
            output,
        }),
        Some(s) if s.success() => Ok(Done {
            detail: format!("ran: {}", describe(s)),
            output,
            skipped: false,
        }),
        Some(s) => Err(HookError::Failed {
            path,
            status: describe(s),
            output,
        }),
    }
}

/// Waits for `child` until `timeout`; past it, kills its process group and returns `None`.
fn wait(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            kill_group(child);
            // Reap it; its status after SIGKILL says nothing new.
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(unix)]
fn kill_group(child: &mut Child) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    // The group id is the child's pid (`process_group(0)`). If the group is already gone there is
    // nothing to kill; fall back to the child alone if the pid does not fit.
    match i32::try_from(child.id()) {
        Ok(pid) => {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        Err(_) => {
            let _ = child.kill();
        }
    }
}

#[cfg(not(unix))]
fn kill_group(child: &mut Child) {
    let _ = child.kill();
}

fn describe(s: ExitStatus) -> String {
    if let Some(code) = s.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("killed by signal {sig}");
        }
    }
    "ended without an exit status".to_string()
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use crate::action::tail::{MAX_LINE_BYTES, TAIL_LINES};
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn preflight_names_the_path_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(dir.path(), "hook.sh", "exit 0", 0o644);
        let e = locate(p.to_str().unwrap(), None).unwrap_err().to_string();
        assert!(e.contains("hook.sh") && e.contains("chmod +x"), "{e}");
        let e = locate("./nope.sh", None).unwrap_err().to_string();
        assert!(e.contains("nope.sh") && e.contains("does not exist"), "{e}");
        let e = locate(dir.path().to_str().unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a file"), "{e}");
        let e = locate("no-such-hook-xyz", Some("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not on PATH"), "{e}");
    }

    #[test]
    fn the_hook_runs_on_the_verdicts_its_trigger_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(dir.path(), "hook.sh", "exit 0", 0o755);
        let hook = |on| {
            let settings = Hook {
                program: p.to_str().unwrap().to_string(),
                args: Vec::new(),
                on,
                timeout: Duration::from_secs(5),
                pass_env: Vec::new(),
            };
            RollbackHook::prepare(settings, &Env::default(), Secrets::default()).unwrap()
        };
        let runs = |on, o| hook(on).skip(o).is_none();
        let all = [
            Outcome::Pass,
            Outcome::Warn,
            Outcome::Incomplete,
            Outcome::Critical,
        ];
        let on = |t| {
            all.iter()
                .filter(|o| runs(t, **o))
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(on(RollbackOn::Critical), [Outcome::Critical]);
        assert_eq!(on(RollbackOn::Warn), [Outcome::Warn, Outcome::Critical]);
        assert_eq!(
            on(RollbackOn::Incomplete),
            [Outcome::Incomplete, Outcome::Critical]
        );
        let why = hook(RollbackOn::Critical)
            .skip(Outcome::Incomplete)
            .unwrap();
        assert!(why.contains("nothing is rolled back"), "{why}");
    }

    #[test]
    fn a_bare_name_is_found_on_path() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "my-rollback", "exit 0", 0o755);
        let path = std::env::join_paths(["/nonexistent", dir.path().to_str().unwrap()]).unwrap();
        let found = locate("my-rollback", path.to_str()).unwrap();
        assert_eq!(found, dir.path().join("my-rollback"));
    }

    #[test]
    fn output_tail_and_status_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(
            dir.path(),
            "h.sh",
            "i=0; while [ $i -lt 30 ]; do echo line $i; i=$((i+1)); done",
            0o755,
        );
        let done = run_blocking(&p, &[], &[], &[], Duration::from_secs(10)).unwrap();
        let want: Vec<String> = (10..30).map(|i| format!("line {i}")).collect();
        assert_eq!(done.output, want);
        assert_eq!(done.output.len(), TAIL_LINES);
        // stderr is kept too (stdout and stderr are merged in the order their lines arrive).
        let p = script(dir.path(), "e.sh", "echo oops >&2; exit 3", 0o755);
        let e = run_blocking(&p, &[], &[], &[], Duration::from_secs(10)).unwrap_err();
        assert!(e.to_string().contains("failed (exit status 3)"), "{e}");
        assert_eq!(e.output(), ["oops"]);
    }

    #[test]
    fn argv_is_passed_without_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(dir.path(), "h.sh", r#"printf '%s\n' "$@""#, 0o755);
        let args = ["a b".to_string(), "$(touch x)".to_string()];
        let done = run_blocking(&p, &args, &[], &[], Duration::from_secs(10)).unwrap();
        assert_eq!(done.output, ["a b", "$(touch x)"]);
        assert!(!dir.path().join("x").exists());
    }

    #[test]
    fn secrets_stay_out_of_the_hooks_environment_unless_passed() {
        let mut secrets = Secrets::of_env(|_| None);
        secrets.add_var("API_KEY", "k3y-v4lue");
        secrets.add_value("ghs_token123");
        let vars = [
            ("GITHUB_TOKEN", "ghs_token123"),
            ("INPUT_GITHUB-TOKEN", "ghs_token123"),
            ("API_KEY", "k3y-v4lue"),
            ("LOADGATE_SLACK_WEBHOOK", "https://hooks.example/x"),
            ("HOME", "/root"),
            ("KUBECONFIG", "/etc/kube"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let gone = withheld(vars.clone(), &secrets, &[]);
        assert_eq!(
            gone,
            [
                "GITHUB_TOKEN",
                "INPUT_GITHUB-TOKEN",
                "API_KEY",
                "LOADGATE_SLACK_WEBHOOK"
            ]
            .map(OsString::from)
        );
        let gone = withheld(vars, &secrets, &["GITHUB_TOKEN".to_string()]);
        assert!(!gone.contains(&OsString::from("GITHUB_TOKEN")), "{gone:?}");
    }

    #[test]
    fn a_long_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = script(
            dir.path(),
            "h.sh",
            "head -c 100000 /dev/zero | tr '\\0' a",
            0o755,
        );
        let done = run_blocking(&p, &[], &[], &[], Duration::from_secs(10)).unwrap();
        assert_eq!(done.output.len(), 1);
        assert_eq!(done.output[0].len(), MAX_LINE_BYTES);
    }
}

//! Disk faults during `record`: a read-only `baselines/`, a write that fails for lack of space.

use std::process::Command;

use super::{stored, Stored, GATE};
use crate::support::{dead_url, shared_load, Demo, Output, Test, COMMAND_TIMEOUT, SCENARIO};

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

/// The disk fills up as `gate` writes its outputs, with a critical verdict: every write fails
/// (`ulimit -f 1`, as above), yet the verdict is printed, the table reaches stdout, the rollback
/// hook runs, and the exit code is the verdict's (1), not an I/O error. Each failed write is named
/// on stderr, and the hook is not pointed at a result file that was never written.
#[test]
fn a_full_disk_during_gate_still_gives_the_verdict_and_the_rollback() {
    let failing = crate::actions::failing_demo();
    let t = crate::actions::isolated(stored(failing.url(), |s| s)).write(
        "hook.sh",
        "#!/bin/sh\necho \"rolling back, result: [$LOADGATE_RESULT_JSON] exit $LOADGATE_EXIT_CODE\"\n",
    );
    crate::actions::make_executable(&t.path("hook.sh"));
    let before = Stored::of(&t);
    let mut args = GATE.to_vec();
    args.extend([
        "--confirm",
        "0",
        "--format",
        "json",
        "--output",
        "report.json",
        "--rollback-hook",
        "./hook.sh",
    ]);
    let out = wrapped(
        &t,
        &["sh", "-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\""],
        &args,
    );
    out.code(1).stderr_has(&[
        "cannot write result.json",
        "cannot append to history history/t/",
        "cannot write report.json",
        "verdict critical (exit 1)",
        "ok       rollback hook ./hook.sh",
        "| rolling back, result: [] exit 1",
    ]);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("CRITICAL")),
        "the table reached stdout\n{out}"
    );
    before.unchanged(&t, &out);
}

/// `--output` naming a pipe, `-` or `/dev/stdout`: written in place, never replaced through a
/// temp file and a rename (which, as root, turned `/dev/null` into a regular file). A reader on
/// the pipe gets the whole report and the pipe is still a pipe; `-` and `/dev/stdout` put the
/// report on stdout, alone.
#[test]
fn a_pipe_or_stdout_as_output_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let t = Test::new().write("run.json", crate::support::shared_baseline());
    let made = Command::new("mkfifo")
        .arg(t.path("pipe"))
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let mut reader = crate::support::Reaped(
        Command::new("sh")
            .args(["-c", "exec cat pipe > got.json"])
            .current_dir(t.dir())
            .spawn()
            .expect("start a reader on the pipe"),
    );
    let out = t.run(&["report", "run.json", "--format", "json", "--output", "pipe"]);
    out.code(0);
    let status = crate::support::wait_at_most(&mut reader.0, COMMAND_TIMEOUT);
    assert!(status.success(), "the reader failed\n{out}");
    let kind = std::fs::symlink_metadata(t.path("pipe")).expect("the pipe is still there");
    assert!(kind.file_type().is_fifo(), "the pipe was replaced\n{out}");
    assert_eq!(t.json("got.json")["schema_version"], 1, "{out}");
    for dest in ["-", "/dev/stdout"] {
        let out = t.run(&["report", "run.json", "--format", "json", "--output", dest]);
        out.code(0);
        let json: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is the JSON report alone ({e})\n{out}"));
        assert_eq!(json["schema_version"], 1);
    }
}

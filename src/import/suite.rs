//! Runs a `[suite]`'s command once and imports what it wrote: the measurement of one run of a
//! suite, for `record` and `gate` as a load is for a scenario. The command runs without a shell,
//! bounded by the suite's timeout; its output goes to stderr (stdout is for results).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::import::{import, read_inputs, Context, ImportError, Input};
use crate::result::imported::Format;
use crate::result::RunResult;
use crate::scenario::suite::Suite;

/// File times on some file systems are whole seconds: a file written in the second the command
/// started is still this run's.
const MTIME_SLACK: Duration = Duration::from_secs(1);

/// Runs the suite's command and imports its fresh results.
pub async fn run(suite: &Suite, ctx: &Context) -> Result<RunResult, ImportError> {
    let shown = suite.command.join(" ");
    let fail = |problem: String| ImportError::Command {
        command: shown.clone(),
        problem,
    };
    let start = SystemTime::now();
    let mut cmd = tokio::process::Command::new(&suite.command[0]);
    cmd.args(&suite.command[1..])
        .stdin(std::process::Stdio::null())
        .stdout(stdout_to_stderr())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        fail(format!(
            "cannot start it ({e}); check `[suite] command` in {} (the program must be on PATH; no shell is used)",
            suite.path.display()
        ))
    })?;
    let status = match tokio::time::timeout(suite.timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| fail(format!("cannot wait for it ({e})")))?,
        Err(_) => {
            let _ = child.kill().await;
            return Err(fail(format!(
                "did not finish within {:?}; raise `[suite] timeout` or make the suite shorter",
                suite.timeout
            )));
        }
    };
    if !status.success() {
        return Err(fail(format!(
            "failed ({status}); its output is above on stderr: fix the suite and run again"
        )));
    }
    if let Some(missing) = suite.results.iter().find(|p| !p.exists()) {
        return Err(fail(format!(
            "wrote nothing to {}: check `[suite] results`",
            missing.display()
        )));
    }
    let inputs = read_inputs(suite.format, &suite.results)?;
    let fresh = fresh(suite.format, inputs, start)?;
    if fresh.is_empty() {
        return Err(fail(format!(
            "it wrote no new results to {} (the files there are older than this run): check `[suite] results` and that the command runs the benchmarks",
            suite
                .results
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    import(suite.format, &fresh, ctx)
}

/// The inputs written since `start`. A criterion benchmark that did not run this time keeps its old
/// files: it is left out (both of its files). Any other stale file is an error: the command did not
/// write where the suite says it does.
fn fresh(format: Format, inputs: Vec<Input>, start: SystemTime) -> Result<Vec<Input>, ImportError> {
    let since = start.checked_sub(MTIME_SLACK).unwrap_or(start);
    let new = |p: &std::path::Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since)
    };
    if format == Format::Criterion {
        let stale: Vec<PathBuf> = inputs
            .iter()
            .filter(|i| i.path.ends_with("sample.json") && !new(&i.path))
            .filter_map(|i| i.path.parent().map(PathBuf::from))
            .collect();
        return Ok(inputs
            .into_iter()
            .filter(|i| {
                !i.path
                    .parent()
                    .is_some_and(|d| stale.iter().any(|s| s == d))
            })
            .collect());
    }
    if let Some(old) = inputs.iter().find(|i| !new(&i.path)) {
        return Err(ImportError::file(
            &old.path,
            "is older than this run of the suite: the command did not write it; check `[suite] results`",
        ));
    }
    Ok(inputs)
}

#[cfg(unix)]
fn stdout_to_stderr() -> std::process::Stdio {
    use std::os::fd::AsFd;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| std::process::Stdio::null(), std::process::Stdio::from)
}

#[cfg(not(unix))]
fn stdout_to_stderr() -> std::process::Stdio {
    std::process::Stdio::null()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testing::ctx;

    fn suite(dir: &std::path::Path, script: &str, results: &str, timeout: Duration) -> Suite {
        let text = format!(
            "name = \"s\"\n[suite]\ncommand = [\"sh\", \"-c\", {script:?}]\nformat = \"hyperfine\"\nresults = [{:?}]\n",
            dir.join(results).display().to_string()
        );
        let mut s = crate::scenario::suite::from_toml(&dir.join("s.toml"), &text).unwrap();
        s.timeout = timeout;
        s
    }

    fn fixture() -> String {
        format!(
            "{}/tests/fixtures/import/hyperfine.json",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_command_that_writes_its_results_is_imported() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("h.json");
        let script = format!("echo benchmarking; cp {} {}", fixture(), out.display());
        let r = block_on(run(
            &suite(dir.path(), &script, "h.json", Duration::from_secs(20)),
            &ctx(),
        ))
        .unwrap();
        assert_eq!(r.requests.len(), 2);
    }

    #[test]
    fn failing_silent_slow_and_stale_commands_are_errors_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join("old.json");
        std::fs::copy(fixture(), &stale).unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        for (script, results, want) in [
            ("exit 3", "h.json", "failed"),
            ("true", "h.json", "wrote nothing"),
            ("sleep 5", "h.json", "did not finish"),
            ("true", "old.json", "older than this run"),
        ] {
            let s = suite(dir.path(), script, results, Duration::from_millis(500));
            let e = block_on(run(&s, &ctx())).unwrap_err().to_string();
            assert!(e.contains(want), "{script}: {e}");
        }
    }
}

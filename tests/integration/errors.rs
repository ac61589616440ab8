//! User mistakes: each one exits 2 with a message that names what is wrong (file, key, flag or URL)
//! and how to fix it, prints nothing on stdout, sends no load where it could be refused before, and
//! leaves every stored baseline byte-identical.

use std::process::Stdio;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use crate::support::{
    dead_url, interrupt, lines_of, scenario, shared_baseline, shared_load, wait_at_most, Demo,
    Output, Reaped, Test, BASELINE, SCENARIO,
};

/// Runs `loadgate ARGS`, expects exit 2 with every needle on stderr, an empty stdout, and
/// `baselines/` exactly as before (at least one stored file must be there to be protected).
#[track_caller]
fn refused(t: &Test, args: &[&str], needles: &[&str]) -> Output {
    let before = t.baselines();
    assert!(!before.is_empty(), "the test must store a baseline first");
    let out = t.run(args);
    out.code(2).stderr_has(needles);
    assert!(out.stdout.is_empty(), "stdout carries results only\n{out}");
    assert_eq!(t.baselines(), before, "baselines/ changed\n{out}");
    out
}

/// The template scenario against a dead port, with a valid baseline stored: anything checked before
/// the preflight fails with its own message, anything after would fail as "not healthy".
fn stored() -> Test {
    Test::new()
        .scenario(&scenario(&dead_url(), ""))
        .with_baseline()
}

/// As [`stored`], with the scenario text passed through `edit`.
fn stored_with(edit: impl Fn(String) -> String) -> Test {
    Test::new()
        .scenario(&edit(scenario(&dead_url(), "")))
        .with_baseline()
}

#[test]
fn missing_scenario_file() {
    refused(
        &stored(),
        &["gate", "scenarios/missing.toml"],
        &["scenarios/missing.toml", "check the path"],
    );
}

#[test]
fn unknown_key() {
    let t = stored_with(|s| s.replace("users = 8\n", "users = 8\nthreads = 2\n"));
    let text = String::from_utf8(t.read(SCENARIO)).expect("UTF-8 scenario");
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with("threads"))
        .expect("the unknown key");
    refused(
        &t,
        &["gate", SCENARIO],
        &[
            SCENARIO,
            "unknown field `threads`",
            &format!("line {line}"),
            "expected one of `users`",
            "scenarios/README.md",
        ],
    );
}

#[test]
fn bad_duration() {
    let t = stored_with(|s| s.replace(r#"duration = "3s""#, r#"duration = "3 parsecs""#));
    refused(
        &t,
        &["gate", SCENARIO],
        &[SCENARIO, "`load.duration`", "3 parsecs", r#"e.g. "250ms""#],
    );
}

#[test]
fn zero_weight() {
    let t = stored_with(|s| s.replace("path = \"/fast\"\n", "path = \"/fast\"\nweight = 0\n"));
    refused(
        &t,
        &["gate", SCENARIO],
        &[
            SCENARIO,
            r#"`request[0].weight ("fast")`"#,
            "weight 0 is out of range",
            "remove the request to stop sending it",
        ],
    );
}

#[test]
fn duplicate_request_name() {
    let t = stored_with(|s| s.replace(r#"name = "products""#, r#"name = "fast""#));
    refused(
        &t,
        &["gate", SCENARIO],
        &[
            SCENARIO,
            r#"`request[1].name ("fast")`"#,
            "duplicate request name",
            "rename one",
        ],
    );
}

#[test]
fn unset_environment_variable() {
    const VAR: &str = "LOADGATE_TEST_SURELY_UNSET";
    let t = stored_with(|s| {
        s.replace(
            r#""/fast""#,
            r#""/fast?key=${env:LOADGATE_TEST_SURELY_UNSET}""#,
        )
    })
    .env_remove(VAR);
    refused(
        &t,
        &["gate", SCENARIO],
        &[
            SCENARIO,
            "request[0].path",
            "environment variable `LOADGATE_TEST_SURELY_UNSET` is not set",
            "export LOADGATE_TEST_SURELY_UNSET=",
        ],
    );
}

#[test]
fn missing_baseline() {
    let t = Test::new()
        .scenario(&scenario(&dead_url(), ""))
        .write("baselines/other.json", shared_baseline());
    refused(
        &t,
        &["gate", SCENARIO],
        &["no baseline at baselines/t.json", "loadgate record"],
    );
}

#[test]
fn corrupt_baseline() {
    let t = Test::new()
        .scenario(&scenario(&dead_url(), ""))
        .write(BASELINE, "garbage\n");
    refused(
        &t,
        &["gate", SCENARIO],
        &[
            BASELINE,
            "not valid JSON",
            "re-record it with `loadgate record`",
        ],
    );
}

#[test]
fn truncated_baseline() {
    let real = shared_baseline();
    let t = Test::new()
        .scenario(&scenario(&dead_url(), ""))
        .write(BASELINE, &real[..real.len() / 2]);
    refused(
        &t,
        &["gate", SCENARIO],
        &[BASELINE, "truncated", "re-record it with `loadgate record`"],
    );
}

#[test]
fn baseline_of_another_schema_version() {
    let text = String::from_utf8(shared_baseline().to_vec()).expect("UTF-8 baseline");
    assert!(text.contains("\"schema_version\": 1,"), "{text}");
    for version in ["0", "99"] {
        let t = Test::new().scenario(&scenario(&dead_url(), "")).write(
            BASELINE,
            text.replacen(
                "\"schema_version\": 1,",
                &format!("\"schema_version\": {version},"),
                1,
            ),
        );
        refused(
            &t,
            &["gate", SCENARIO],
            &[
                &format!("{BASELINE} has schema_version {version}"),
                "re-record it with `loadgate record`",
            ],
        );
    }
}

#[test]
fn scenario_changed_since_the_baseline() {
    // The shared baseline was recorded by `loadgate record` for the template; now a path changes.
    let t = stored_with(|s| s.replace(r#"path = "/products""#, r#"path = "/products?page=2""#));
    refused(
        &t,
        &["gate", SCENARIO],
        &[
            BASELINE,
            "different version of scenario `t`",
            "re-record it with `loadgate record scenarios/t.toml`",
        ],
    );
}

#[test]
fn unwritable_output_is_refused_before_any_load() {
    // The target is dead: had the output been checked after the preflight (or after the load), the
    // error would name the target, not the file.
    let t = stored();
    for args in [
        &["gate", SCENARIO, "--output", "missing/report.json"][..],
        &["gate", SCENARIO, "--out", "missing/result.json"],
        &["run", SCENARIO, "--output", "missing/report.json"],
    ] {
        let out = refused(
            &t,
            args,
            &[
                &format!("cannot write {}", args[3]),
                "check that the directory exists",
            ],
        );
        assert!(!out.stderr.contains("not healthy"), "{out}");
    }
    // A kernel file is no folder to check or make writable: the message says what it is.
    let out = refused(
        &t,
        &["gate", SCENARIO, "--out", "/proc/version"],
        &["cannot write /proc/version", "not a regular file"],
    );
    assert!(!out.stderr.contains("check that the directory"), "{out}");
    assert_eq!(t.files("."), ["baselines", "scenarios"]);
}

#[test]
fn target_refusing_connections() {
    refused(
        &stored(),
        &["gate", SCENARIO],
        &[
            "target is not healthy",
            "failed 2 attempt(s)",
            "connection refused",
            "no load was sent",
            "Check the service is up",
        ],
    );
}

#[test]
fn failing_health_check() {
    let demo = Demo::start();
    let t = Test::new()
        .scenario(&scenario(demo.url(), "").replace(r#"path = "/health""#, r#"path = "/nope""#))
        .with_baseline();
    refused(
        &t,
        &["gate", SCENARIO],
        &[
            "target is not healthy",
            &format!("{}/nope", demo.url()),
            "/nope answered 404",
            "no load was sent",
        ],
    );
}

#[test]
fn credentials_in_the_target_url_are_refused_and_never_echoed() {
    const URL: &str = "http://user:s3cret@127.0.0.1:1/";
    let t = stored();
    refused(
        &t,
        &["gate", SCENARIO, "--target", URL],
        &["--target", "contains credentials", "${env:NAME}"],
    )
    .never_shows("s3cret")
    .never_shows("user:");
    // The same URL in the scenario file: the message names the key instead of the flag.
    t.put(SCENARIO, scenario(URL, ""));
    refused(
        &t,
        &["gate", SCENARIO],
        &["target.base_url", "contains credentials"],
    )
    .never_shows("s3cret");
}

#[test]
fn demo_knob_without_demo() {
    let demo = Demo::start();
    let t = Test::new()
        .scenario(&scenario(demo.url(), ""))
        .with_baseline();
    refused(
        &t,
        &["gate", SCENARIO, "--target", demo.url(), "--slowdown", "2"],
        &[
            "--slowdown",
            "apply only to the built-in demo service",
            "add --demo",
        ],
    );
}

#[test]
fn demo_and_target_together() {
    refused(
        &stored(),
        &["gate", SCENARIO, "--demo", "--target", "http://127.0.0.1:1"],
        &["--target <URL>", "cannot be used with", "--demo"],
    );
}

/// Ctrl-C in the middle of `record`: the run stops gracefully, exits 130 (interrupted), and the
/// stored baseline keeps its old bytes (a failed run never replaces a baseline).
#[test]
fn interrupted_record_keeps_the_old_baseline() {
    let t = stored_with(|s| s.replace(r#"duration = "3s""#, r#"duration = "20s""#));
    let demo = Demo::start();
    let before = t.baselines();
    let _load = shared_load();
    let mut child = Reaped(
        t.command()
            .args(["record", SCENARIO, "--target", demo.url()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn loadgate record"),
    );
    let (lines, stderr) = lines_of(child.stderr.take().expect("stderr"));
    // The progress line comes after the preflight, right before the load starts.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("users at") => break,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                panic!("record never started its load")
            }
        }
    }
    // Past the 500 ms ramp-up, well before the 20 s end: mid-measurement.
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(child.id());
    let status = wait_at_most(&mut child, Duration::from_secs(15));
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("read stdout");
    let out = Output {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: stderr.join().expect("stderr reader"),
    };
    out.code(130)
        .stderr_has(&["interrupted", "nothing was recorded"]);
    assert!(out.stdout.is_empty(), "{out}");
    assert_eq!(t.baselines(), before, "baselines/ changed\n{out}");
}

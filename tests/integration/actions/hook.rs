//! The rollback hook: the verdict in its environment, its argv passed without a shell, its output
//! reported; a hanging hook killed with its process group at `--hook-timeout`.

use std::path::Path;
use std::time::Duration;

use super::{against, critical, failing_demo, gate, make_executable, TOKEN};
use crate::faults::Stored;

// ---- rollback hook -----------------------------------------------------------------------------

#[test]
fn the_rollback_hook_gets_the_verdict_in_its_environment() {
    let failing = failing_demo();
    let t = against(&failing, "").write(
        "rollback.sh",
        "#!/bin/sh\nenv | grep '^LOADGATE_' | sort > \"$1\"\necho \"rolling back $LOADGATE_SCENARIO with $2\"\n",
    );
    make_executable(&t.path("rollback.sh"));
    let out = gate(
        &t,
        &[
            "--rollback-hook",
            "./rollback.sh",
            "--rollback-hook-arg",
            "env.txt",
            "--rollback-hook-arg",
            "--now; rm -rf /",
            "--format",
            "json",
            "--output",
            "report.json",
            "--out",
            "result.json",
        ],
    );
    critical(&out);
    out.stderr_has(&[
        "ok       rollback hook ./rollback.sh: ran: exit status 0",
        "| rolling back t with --now; rm -rf /",
    ]);
    let env = String::from_utf8(t.read("env.txt")).expect("UTF-8");
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} missing from the hook's environment:\n{env}"))
            .to_string()
    };
    assert_eq!(var("LOADGATE_VERDICT"), "critical");
    assert_eq!(var("LOADGATE_SCENARIO"), "t");
    assert_eq!(var("LOADGATE_EXIT_CODE"), "1");
    for (k, file) in [
        ("LOADGATE_REPORT_JSON", "report.json"),
        ("LOADGATE_RESULT_JSON", "result.json"),
    ] {
        let p = var(k);
        assert!(Path::new(&p).is_absolute() && p.ends_with(file), "{k}={p}");
        assert!(
            Path::new(&p).is_file(),
            "{k}: {p} was not written before the hook ran"
        );
    }
    let worst = var("LOADGATE_WORST");
    assert!(
        worst.starts_with("all ") && worst.contains('%'),
        "LOADGATE_WORST={worst}"
    );
    // The JSON report written with --output carries the outcomes too.
    let report = t.json("report.json");
    let actions = report["actions"]
        .as_array()
        .expect("an actions array in the report");
    assert!(
        actions
            .iter()
            .any(|a| a["status"] == "ok"
                && a["name"].as_str().is_some_and(|n| n.contains("rollback"))),
        "{report}"
    );
}

#[test]
fn a_hanging_hook_is_killed_with_its_process_group_at_the_timeout() {
    let failing = failing_demo();
    let t = against(&failing, "").write(
        "hang.sh",
        "#!/bin/sh\nsleep 60 &\necho $! > child.pid\necho waiting for the child\nwait\n",
    );
    make_executable(&t.path("hang.sh"));
    let stored = Stored::of(&t);
    let out = gate(
        &t,
        &["--rollback-hook", "./hang.sh", "--hook-timeout", "1s"],
    );
    critical(&out);
    stored.unchanged(&t, &out);
    out.stderr_has(&[
        "rollback hook ./hang.sh was still running after 1s and was killed with its process group",
        "| waiting for the child",
    ]);
    let pid = String::from_utf8(t.read("child.pid")).expect("UTF-8");
    let pid = pid.trim();
    // SIGKILL is delivered at once; a killed child may linger as a zombie until it is reaped.
    let stat = format!("/proc/{pid}/stat");
    let dead = || std::fs::read_to_string(&stat).map_or(true, |s| s.contains(") Z "));
    for _ in 0..50 {
        if dead() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the hook's child {pid} survived the timeout\n{out}");
}

#[test]
fn the_example_hook_is_executable_and_prints_what_it_got() {
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rollback-hook.sh");
    let out = std::process::Command::new(&hook)
        .arg("checkout")
        .env("LOADGATE_VERDICT", "critical")
        .env("LOADGATE_EXIT_CODE", "1")
        .env("LOADGATE_SCENARIO", "t")
        .env("LOADGATE_WORST", "all p95 +43.2%")
        .env("LOADGATE_REPORT_JSON", "")
        .env("LOADGATE_RESULT_JSON", "/tmp/r.json")
        .output()
        .expect("examples/rollback-hook.sh runs (is it executable?)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for needle in [
        "verdict: critical",
        "all p95 +43.2%",
        "<not written>",
        "arguments:        checkout",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
}

/// The hook's environment goes without the GitHub token, the webhook variables and the variables
/// the scenario reads through `${env:…}`; whatever the hook prints that holds one of their values
/// (read from a file here, as a `set -x` or a config dump would print it) is masked on stderr and
/// in `--actions-json`. `--hook-env` hands one variable over when a hook really needs it.
#[test]
fn the_hook_never_sees_nor_echoes_a_known_secret() {
    const KEY: &str = "k3y-for-the-target-9876";
    const HOOK_URL: &str = "http://127.0.0.1:9/slack/T000/B000/hook-secret-part";
    let failing = failing_demo();
    let t = against(&failing, "")
        .env("GITHUB_TOKEN", TOKEN)
        .env("LG_TEST_API_KEY", KEY)
        .env("LOADGATE_SLACK_WEBHOOK", HOOK_URL)
        .write("secrets.txt", format!("{TOKEN}\n{KEY}\n{HOOK_URL}\n"))
        .write(
            "leak.sh",
            "#!/bin/sh\nenv > env.txt\nset -x\ncat secrets.txt\necho \"token=[$GITHUB_TOKEN]\"\n",
        );
    // The scenario reads the key for its target: a secret of the scenario.
    let text = String::from_utf8(t.read(crate::support::SCENARIO)).expect("UTF-8");
    let text = text.replace(
        "[load]",
        "headers = { X-Api-Key = \"${env:LG_TEST_API_KEY}\" }\n\n[load]",
    );
    let t = t.write(crate::support::SCENARIO, text);
    make_executable(&t.path("leak.sh"));
    let out = gate(
        &t,
        &[
            "--rollback-hook",
            "./leak.sh",
            "--actions-json",
            "actions.json",
        ],
    );
    critical(&out);
    out.stderr_has(&["ok       rollback hook ./leak.sh", "| token=[]", "| ***"]);
    let actions = String::from_utf8(t.read("actions.json")).expect("UTF-8");
    let env = String::from_utf8(t.read("env.txt")).expect("UTF-8");
    for secret in [TOKEN, KEY, HOOK_URL] {
        out.never_shows(secret);
        assert!(
            !actions.contains(secret),
            "{secret} in actions.json:\n{actions}"
        );
        assert!(
            !env.contains(secret),
            "{secret} in the hook's environment:\n{env}"
        );
    }
    for name in [
        "GITHUB_TOKEN=",
        "LG_TEST_API_KEY=",
        "LOADGATE_SLACK_WEBHOOK=",
    ] {
        assert!(
            !env.contains(name),
            "{name} in the hook's environment:\n{env}"
        );
    }
    // Asked for: the hook gets the token, and its output is still masked.
    let out = gate(
        &t,
        &["--rollback-hook", "./leak.sh", "--hook-env", "GITHUB_TOKEN"],
    );
    critical(&out);
    out.stderr_has(&["| token=[***]"]).never_shows(TOKEN);
    let env = String::from_utf8(t.read("env.txt")).expect("UTF-8");
    assert!(env.contains(&format!("GITHUB_TOKEN={TOKEN}")), "{env}");
}

//! `gate --result`: a stored (or merged) result judged with every action, and several reports from
//! one command. No load: the result is the shared baseline's bytes, and the scenario's target is a
//! port nothing listens on, so any attempt to load would fail the test.

use crate::actions::make_executable;
use crate::support::{dead_url, scenario, shared_baseline, Test, BASELINE, SCENARIO};

#[test]
fn a_stored_result_gets_the_verdict_reports_and_actions_of_a_live_gate() {
    // An objective nothing can meet makes the verdict critical without any change in the data.
    let t = Test::new()
        .scenario(&scenario(&dead_url(), r#"slo = { p95 = "1us" }"#))
        .with_baseline()
        .write("merged.json", shared_baseline())
        .write(
            "hook.sh",
            "#!/bin/sh\necho \"$LOADGATE_VERDICT $LOADGATE_EXIT_CODE\" > hook.out\n",
        )
        .write("gh_output", "earlier=1\n")
        .write("summary.md", "");
    make_executable(&t.path("hook.sh"));
    let (output, summary) = (t.path("gh_output"), t.path("summary.md"));
    let t = t
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", output.to_str().expect("UTF-8"))
        .env("GITHUB_STEP_SUMMARY", summary.to_str().expect("UTF-8"));
    let out = t.run(&[
        "gate",
        SCENARIO,
        "--result",
        "merged.json",
        "--rollback-hook",
        "./hook.sh",
        "--report",
        "junit=junit.xml",
        "--report",
        "markdown=comment.md",
        "--report",
        "json=report.json",
        "--report",
        "html=report.html",
        "--report-url",
        "https://ci.example.com/run/1/report.html",
    ]);
    out.code(1)
        .stderr_has(&[
            "judging the stored result merged.json",
            "no confirmation re-run",
            "verdict critical (exit 1, stored result)",
            "ok       step outputs",
            "ok       rollback hook",
        ])
        .stdout_has(&["::error title=loadgate t%3A all p95 critical::all p95: "]);
    assert_eq!(
        String::from_utf8(t.read("hook.out")).expect("UTF-8"),
        "critical 1\n"
    );
    let outputs = String::from_utf8(t.read("gh_output")).expect("UTF-8");
    assert!(
        outputs.starts_with("earlier=1\nverdict=critical\nexit_code=1\n"),
        "{outputs}"
    );
    let comment = String::from_utf8(t.read("comment.md")).expect("UTF-8");
    assert!(
        comment.starts_with("### loadgate: ❌ critical — `t`")
            && comment.contains("[full HTML report](https://ci.example.com/run/1/report.html)"),
        "{comment}"
    );
    assert!(String::from_utf8(t.read("summary.md"))
        .expect("UTF-8")
        .contains("[full HTML report]"));
    let xml = String::from_utf8(t.read("junit.xml")).expect("UTF-8");
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is XML");
    assert!(
        doc.descendants()
            .any(|n| n.has_tag_name("failure") && n.attribute("type") == Some("critical")),
        "{xml}"
    );
    // The JSON report file carries the actions' outcomes, as with `--format json --output`.
    assert!(t.json("report.json")["actions"].is_array());
    assert!(String::from_utf8(t.read("report.html"))
        .expect("UTF-8")
        .starts_with("<!DOCTYPE html>"));
}

#[test]
fn a_result_that_does_not_fit_and_bad_report_flags_are_refused_naming_what_is_wrong() {
    // The shared baseline with `edit` applied to its JSON.
    let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_slice(shared_baseline()).expect("JSON");
        edit(&mut v);
        serde_json::to_vec(&v).expect("JSON")
    };
    let t = Test::new()
        .scenario(&scenario(&dead_url(), ""))
        .with_baseline()
        .write("result.json", shared_baseline())
        .write(
            "other.json",
            edited(&|v| v["meta"]["scenario_name"] = "other".into()),
        )
        .write(
            "wide.json",
            edited(&|v| v["meta"]["load"]["window_ms"] = 500.into()),
        );
    let gate = |extra: &[&str]| {
        let mut args = vec!["gate", SCENARIO];
        args.extend_from_slice(extra);
        t.run(&args)
    };
    gate(&["--result", "other.json"])
        .code(2)
        .stderr_has(&["other.json", "scenario `other`, not `t`"]);
    gate(&["--result", "wide.json"]).code(2).stderr_has(&[
        "wide.json",
        "500 ms wide",
        BASELINE,
        "250 ms",
    ]);
    gate(&["--result", "result.json", "--report", "pdf=r.pdf"])
        .code(2)
        .stderr_has(&["unknown report format `pdf`"]);
    gate(&[
        "--result",
        "result.json",
        "--report",
        "markdown=same.txt",
        "--report",
        "html=same.txt",
    ])
    .code(2)
    .stderr_has(&["another output goes to it too"]);
    gate(&["--result", "result.json", "--report", "json=result.json"])
        .code(2)
        .stderr_has(&["it is also an input of this command (result.json)"]);
    gate(&[
        "--result",
        "result.json",
        "--report",
        "html=missing/dir/r.html",
    ])
    .code(2)
    .stderr_has(&["missing/dir/r.html"]);
    assert!(!t.path("same.txt").exists());
    // `report --format junit` and several reports from `compare`.
    let out = t.run(&[
        "compare",
        BASELINE,
        "result.json",
        "--report",
        "junit=c.xml",
        "--report",
        "markdown=c.md",
    ]);
    // The shared baseline was recorded beside other tests' loads: judged against itself it passes,
    // or is incomplete when its runs were disturbed; either way both reports are written.
    assert!(matches!(out.code, 0 | 3), "{out}");
    roxmltree::Document::parse(&String::from_utf8(t.read("c.xml")).expect("UTF-8")).expect("XML");
    assert!(String::from_utf8(t.read("c.md"))
        .expect("UTF-8")
        .starts_with("### loadgate: "));
    let out = t.run(&[
        "report",
        "result.json",
        "--baseline",
        BASELINE,
        "--format",
        "junit",
    ]);
    out.code(0).stdout_has(&["<testsuites name=\"loadgate\""]);
}

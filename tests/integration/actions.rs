//! `loadgate gate` acting on its verdict (issue 6): the rollback hook, the sticky PR comment against a
//! mock GitHub API, webhook notifications, CI outputs and JUnit. Every server here is a loopback
//! server the test starts (wiremock on `127.0.0.1:0`); nothing reaches the internet.
//!
//! A critical verdict comes from the demo service answering 20% of its requests with 500, gated
//! against the shared baseline (no errors), with `--confirm 0` so a run takes one load. An error-rate
//! rise that large is decisive: critical even when a busy runner makes the latencies too noisy to
//! judge, so these tests do not depend on the machine. Whatever an action does, the exit code must be
//! the verdict's.

#![expect(
    clippy::expect_used,
    reason = "test fixtures: a fixture step that fails must fail the calling test, with a message \
              saying which step; clippy's allow-*-in-tests covers #[test] fns, not their helpers"
)]

mod github;
mod hook;
mod notify;

use std::path::Path;

use loadgate::demo::DemoKnobs;
use loadgate::report::{Judged, Report};
use serde_json::Value;
use wiremock::{Mock, MockServer};

use crate::support::{dead_url, scenario, Demo, Output, Test, SCENARIO};

/// The environment variables that change what `gate` does with its verdict: removed for every test,
/// so a developer's shell or the CI job running the suite cannot make a gate comment, notify or
/// write to the job's real summary.
const ACTION_ENV: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_API_URL",
    "GITHUB_EVENT_PATH",
    "GITHUB_OUTPUT",
    "GITHUB_REPOSITORY",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TOKEN",
    "LOADGATE_SLACK_WEBHOOK",
    "LOADGATE_DISCORD_WEBHOOK",
    "LOADGATE_WEBHOOK_URL",
];

/// A token that must never appear in loadgate's output.
const TOKEN: &str = "ghs_loadgateTestToken0123456789";

/// A test directory whose environment holds none of [`ACTION_ENV`].
pub(crate) fn isolated(t: Test) -> Test {
    ACTION_ENV.iter().fold(t, |t, k| t.env_remove(k))
}

/// A template scenario pointing at `demo`, the shared baseline, no action environment.
fn against(demo: &Demo, gate_extra: &str) -> Test {
    isolated(
        Test::new()
            .scenario(&scenario(demo.url(), gate_extra))
            .with_baseline(),
    )
}

/// The demo service answering 20% of requests with 500: a critical regression against the
/// baseline, whatever the latencies do.
pub(crate) fn failing_demo() -> Demo {
    Demo::with(DemoKnobs {
        error_rate: 0.2,
        ..DemoKnobs::default()
    })
}

/// `gate` with one load (no confirmation run) and `extra` flags.
fn gate(t: &Test, extra: &[&str]) -> Output {
    let mut args = vec!["gate", SCENARIO, "--confirm", "0"];
    args.extend_from_slice(extra);
    t.run(&args)
}

/// Asserts a critical verdict and its exit code, 1, whatever the actions did.
#[track_caller]
fn critical(out: &Output) {
    out.code(1).stderr_has(&["verdict critical (exit 1)"]);
}

/// A preflight error: exit 2, and no load was started (the load's first progress line is absent).
#[track_caller]
fn refused_before_load(out: &Output, needles: &[&str]) {
    out.code(2).stderr_has(needles);
    assert!(!out.stderr.contains(" users "), "a load started\n{out}");
}

/// A wiremock server on loopback with the runtime serving it.
struct Api {
    rt: tokio::runtime::Runtime,
    server: MockServer,
}

impl Api {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime for the mock server");
        let server = rt.block_on(MockServer::start());
        Self { rt, server }
    }

    fn uri(&self) -> String {
        self.server.uri()
    }

    fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    /// Bodies of the requests received at `route`, parsed as JSON.
    fn bodies(&self, http_method: &str, route: &str) -> Vec<Value> {
        let requests = self
            .rt
            .block_on(self.server.received_requests())
            .expect("request recording is on");
        requests
            .iter()
            .filter(|r| r.method.as_str() == http_method && r.url.path() == route)
            .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
            .collect()
    }

    /// Checks every mock's `expect` now (instead of in a panic at drop).
    fn verify(&self) {
        self.rt.block_on(self.server.verify());
    }
}

/// `chmod +x`.
pub(crate) fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod +x");
}

// ---- preflight: refused before any load --------------------------------------------------------

#[test]
fn a_comment_without_a_token_is_refused_before_any_load() {
    // The scenario's target is dead: a load would fail differently (and later).
    let t = isolated(
        Test::new()
            .scenario(&scenario(&dead_url(), ""))
            .with_baseline(),
    );
    let out = t.run(&[
        "gate",
        SCENARIO,
        "--github-comment",
        "--github-repo",
        "acme/api",
        "--github-pr",
        "5",
    ]);
    refused_before_load(&out, &["GITHUB_TOKEN", "secrets.GITHUB_TOKEN"]);
}

#[test]
fn a_bad_repository_or_no_pull_request_number_is_refused_before_any_load_and_the_token_never_shows()
{
    let t = isolated(
        Test::new()
            .scenario(&scenario(&dead_url(), ""))
            .with_baseline(),
    )
    .env("GITHUB_TOKEN", TOKEN);
    let out = t.run(&[
        "gate",
        SCENARIO,
        "--github-comment",
        "--github-repo",
        "acme",
        "--github-pr",
        "5",
    ]);
    refused_before_load(&out, &["`acme` is not a repository name", "OWNER/NAME"]);
    out.never_shows(TOKEN);
    let out = t.run(&[
        "gate",
        SCENARIO,
        "--github-comment",
        "--github-repo",
        "acme/api",
    ]);
    refused_before_load(&out, &["no pull request number", "--github-pr N"]);
    out.never_shows(TOKEN);
}

#[test]
fn a_hook_that_is_not_executable_is_refused_before_any_load() {
    let t = isolated(
        Test::new()
            .scenario(&scenario(&dead_url(), ""))
            .with_baseline(),
    )
    .write("rollback.sh", "#!/bin/sh\nexit 0\n");
    let out = t.run(&["gate", SCENARIO, "--rollback-hook", "./rollback.sh"]);
    refused_before_load(
        &out,
        &["./rollback.sh is not executable", "chmod +x ./rollback.sh"],
    );
    let out = t.run(&["gate", SCENARIO, "--rollback-hook", "./missing.sh"]);
    refused_before_load(&out, &["./missing.sh does not exist"]);
}

#[test]
fn a_bad_webhook_url_is_refused_before_any_load_without_showing_it() {
    let t = isolated(
        Test::new()
            .scenario(&scenario(&dead_url(), ""))
            .with_baseline(),
    )
    .env(
        "LOADGATE_SLACK_WEBHOOK",
        "hooks.example/services/T0/B0/s3cr3t",
    );
    let out = t.run(&["gate", SCENARIO]);
    refused_before_load(
        &out,
        &["--notify-slack", "is not an http:// or https:// URL"],
    );
    out.never_shows("s3cr3t");
}

// ---- CI outputs and JUnit ----------------------------------------------------------------------

#[test]
fn ci_outputs_and_junit_are_written_in_github_actions() {
    let failing = failing_demo();
    let t = against(&failing, "")
        .write("gh_output", "earlier=1\n")
        .write("summary.md", "earlier step\n");
    let (output, summary) = (t.path("gh_output"), t.path("summary.md"));
    let t = t
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", output.to_str().expect("UTF-8"))
        .env("GITHUB_STEP_SUMMARY", summary.to_str().expect("UTF-8"));
    let out = gate(&t, &["--junit", "junit.xml"]);
    critical(&out);
    out.stderr_has(&[
        "ok       job summary",
        "ok       step outputs",
        "ok       junit: wrote junit.xml",
    ]);
    let outputs = String::from_utf8(t.read("gh_output")).expect("UTF-8");
    assert!(
        outputs.starts_with("earlier=1\nverdict=critical\nexit_code=1\ncritical="),
        "{outputs}"
    );
    let critical_count: u32 = outputs
        .lines()
        .find_map(|l| l.strip_prefix("critical="))
        .and_then(|n| n.parse().ok())
        .expect("critical=N");
    assert!(critical_count >= 1, "{outputs}");
    assert!(outputs.contains("\nworst=all "), "{outputs}");
    let summary = String::from_utf8(t.read("summary.md")).expect("UTF-8");
    assert!(
        summary.starts_with("earlier step\n### loadgate: ❌ critical — `t`"),
        "{summary}"
    );
    let xml = String::from_utf8(t.read("junit.xml")).expect("UTF-8");
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert!(
        !cases.is_empty() && cases.iter().all(|c| c.attribute("classname") == Some("t")),
        "{xml}"
    );
    let message = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure") && n.attribute("type") == Some("critical"))
        .filter_map(|n| n.attribute("message"))
        .find(|m| m.starts_with("error_rate"))
        .unwrap_or_else(|| panic!("no critical error_rate failure\n{xml}"));
    // No relative change from a zero baseline: the rise is in percentage points.
    assert!(
        message.starts_with("error_rate: baseline 0.00%, run ")
            && message.contains(", change +")
            && message.contains(" pp, 95% interval"),
        "{message}"
    );
}

/// The fixture's judged report (see snapshots.rs): criticals, a warning, an improvement.
fn with_fixture<T>(f: impl FnOnce(&Report<'_>) -> T) -> T {
    let (base, run, comparison, verdict) = crate::snapshots::judged();
    let report = Report {
        run: &run,
        judged: Some(Judged {
            baseline: &base,
            comparison: &comparison,
            verdict: &verdict,
        }),
    };
    f(&report)
}

#[test]
fn the_markdown_comment_of_the_fixture() {
    let body = with_fixture(|r| {
        let md = loadgate::report::render(r, loadgate::report::Format::Markdown);
        loadgate::action::comment::body("checkout", &md)
    });
    insta::assert_snapshot!("comment", body);
}

#[test]
fn the_junit_file_of_the_fixture_parses_back() {
    let (xml, gated, critical_rows) = with_fixture(|r| {
        let j = r.judged.expect("judged");
        let gated = j.comparison.rows.iter().filter(|r| r.gated).count();
        let critical = j
            .comparison
            .rows
            .iter()
            .filter(|r| r.gated && r.status == loadgate::compare::Status::Critical)
            .count();
        let xml = loadgate::report::junit::render(r, false).expect("JUnit renders");
        (xml, gated, critical)
    });
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a testsuite");
    assert_eq!(suite.attribute("name"), Some("checkout"));
    assert_eq!(suite.attribute("tests"), Some(gated.to_string().as_str()));
    assert_eq!(
        suite.attribute("failures"),
        Some(critical_rows.to_string().as_str())
    );
    let warned = doc
        .descendants()
        .filter(|n| n.has_tag_name("system-out"))
        .any(|n| n.text().is_some_and(|t| t.starts_with("warn: ")));
    assert!(warned, "the per-request warning passes, with a note\n{xml}");
    insta::assert_snapshot!("junit", xml);
}

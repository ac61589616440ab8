//! Secrets never leave the process they were given to (issue 8, "Security"): a scenario that reads
//! `${env:SECRET_*}` into a header, a URL and a body, and a GitHub token, run through record, gate
//! (every action and every output), compare, report and history. Every byte loadgate produced is
//! then searched for the secret values: stdout, stderr, every file under the test directory
//! (baseline, result, reports in every format, JUnit, job summary, step outputs, history store,
//! actions log, hook output) and every request the mock GitHub API and webhook receiver got.
//!
//! Also: the rollback hook gets its data through environment variables only (no argument, nothing
//! on stdin), and the demo service binds loopback only.

#![expect(
    clippy::expect_used,
    reason = "test fixtures: a fixture step that fails must fail the calling test, with a message \
              saying which step; clippy's allow-*-in-tests covers #[test] fns, not their helpers"
)]

use std::path::{Path, PathBuf};

use loadgate::demo::DemoKnobs;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Demo, Output, Test, SCENARIO};

/// Sent as a request header.
const SECRET_HEADER: &str = "hdrSecret7Qx9Zp2Lm8Wv";
/// Sent in a request's URL query.
const SECRET_URL: &str = "urlSecret4Kd1Jh6Tn3Rb";
/// Sent in a request body.
const SECRET_BODY: &str = "bodySecret5Yc2Gf8Nu1Ps";
/// The GitHub token: sent to the (mock) GitHub API as a bearer token and nowhere else.
const TOKEN: &str = "ghp_loadgateSecurityTest0123456789abcdef";

const COMMENTS: &str = "/repos/acme/api/issues/5/comments";

/// The support template's shape (so a run is ~750 requests in 3.5 s), with the three secrets in
/// the requests. Its own baseline is recorded: the secrets' `${env:…}` are part of the hash.
fn secret_scenario(base_url: &str) -> String {
    format!(
        r#"schema_version = 1
name = "t"
description = "secrets in a header, a URL and a body"

[target]
base_url = "{base_url}"
health = {{ path = "/health", retries = 1, interval = "100ms", timeout = "1s" }}
headers = {{ "X-Api-Key" = "${{env:SECRET_X}}" }}

[load]
users = 8
rate = 250
ramp_up = "500ms"
duration = "3s"
max_requests = 20000
request_timeout = "2s"
window = "250ms"

[[request]]
name = "fast"
path = "/fast?key=${{env:SECRET_Y}}"
headers = {{ Authorization = "Bearer ${{env:SECRET_X}}" }}

[[request]]
name = "cart"
method = "POST"
path = "/cart"
body = '{{"token": "${{env:SECRET_Z}}"}}'
headers = {{ "Content-Type" = "application/json" }}
expect_status = [201]

[gate]
metrics = ["p50", "p95", "mean", "throughput", "error_rate"]
"#
    )
}

/// What the mock GitHub API and the webhook receivers answer.
const API_ROUTES: &[(&str, &str, u16)] = &[
    ("GET", COMMENTS, 200),
    ("POST", COMMENTS, 201),
    ("POST", "/hook", 200),
    ("POST", "/slack", 200),
];
/// What a stand-in for the service under test answers (the scenario's three paths).
const TARGET_ROUTES: &[(&str, &str, u16)] = &[
    ("GET", "/health", 200),
    ("GET", "/fast", 200),
    ("POST", "/cart", 201),
];

/// One request a [`Receiver`] got.
struct Received {
    /// Method and URL, e.g. `POST http://127.0.0.1:4000/hook`.
    route: String,
    /// Every header, one `name: value` line each.
    headers: String,
    body: Vec<u8>,
}

/// A wiremock server on loopback that records every request.
struct Receiver {
    rt: tokio::runtime::Runtime,
    server: MockServer,
}

impl Receiver {
    fn start(routes: &[(&str, &str, u16)]) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime for the mock server");
        let server = rt.block_on(MockServer::start());
        for &(m, p, status) in routes {
            // A comment list is empty; a created comment has an id; anything else gets `{}`.
            let body = match (m, p) {
                ("GET", COMMENTS) => json!([]),
                ("POST", COMMENTS) => json!({"id": 42, "body": "x"}),
                _ => json!({}),
            };
            rt.block_on(
                Mock::given(method(m))
                    .and(path(p))
                    .respond_with(ResponseTemplate::new(status).set_body_json(body))
                    .mount(&server),
            );
        }
        Self { rt, server }
    }

    fn uri(&self) -> String {
        self.server.uri()
    }

    /// Every request received.
    fn received(&self) -> Vec<Received> {
        self.rt
            .block_on(self.server.received_requests())
            .expect("request recording is on")
            .into_iter()
            .map(|r| {
                let headers = r
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
                    .collect();
                Received {
                    route: format!("{} {}", r.method, r.url),
                    headers,
                    body: r.body,
                }
            })
            .collect()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read folder") {
            let p = entry.expect("folder entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Asserts that no secret (and not the token) is in `bytes`, naming where it was found.
#[track_caller]
fn clean(what: &str, bytes: &[u8]) {
    for secret in [SECRET_HEADER, SECRET_URL, SECRET_BODY, TOKEN] {
        assert!(
            !contains(bytes, secret),
            "{secret:?} leaked into {what}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[track_caller]
fn clean_output(what: &str, out: &Output) {
    clean(&format!("the stdout of {what}"), out.stdout.as_bytes());
    clean(&format!("the stderr of {what}"), out.stderr.as_bytes());
}

#[test]
fn secrets_from_the_environment_never_reach_any_output_file_or_request() {
    let demo = Demo::start();
    let api = Receiver::start(API_ROUTES);
    let event = json!({"pull_request": {
        "number": 5,
        "head": {"repo": {"full_name": "acme/api"}},
        "base": {"repo": {"full_name": "acme/api"}},
    }});
    let t = Test::new()
        .scenario(&secret_scenario(demo.url()))
        .write("event.json", event.to_string())
        .write(
            "hook.sh",
            // Records how it was called (argument count, stdin) and what it got, then prints its
            // environment's verdict like examples/rollback-hook.sh.
            "#!/bin/sh\necho \"$#\" > hook-argc.txt\ncat > hook-stdin.txt\n\
             env | grep '^LOADGATE_' | sort > hook-env.txt\n\
             echo \"rolling back $LOADGATE_SCENARIO on $LOADGATE_VERDICT: $LOADGATE_WORST\"\n",
        );
    make_executable(&t.path("hook.sh"));
    let dir = t.dir().to_path_buf();
    let abs = |rel: &str| dir.join(rel).to_str().expect("UTF-8 path").to_string();
    let t = t
        .env("SECRET_X", SECRET_HEADER)
        .env("SECRET_Y", SECRET_URL)
        .env("SECRET_Z", SECRET_BODY)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &api.uri())
        .env("GITHUB_REPOSITORY", "acme/api")
        .env("GITHUB_EVENT_PATH", &abs("event.json"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &abs("github-output.txt"))
        .env("GITHUB_STEP_SUMMARY", &abs("step-summary.md"))
        .env("LOADGATE_WEBHOOK_URL", &format!("{}/hook", api.uri()));
    std::fs::create_dir(t.path("out")).expect("create out/");

    let mut outputs = Vec::new();
    let record = t.run(&["-vv", "record", SCENARIO]);
    record.code(0);
    outputs.push(("record", record));

    // A third of the requests fail: an error-rate regression is critical even on a run too noisy
    // for latency to be judged, so every action runs whatever the machine's load.
    let slow = Demo::with(DemoKnobs {
        error_rate: 0.3,
        ..DemoKnobs::default()
    });
    let slack = format!("{}/slack", api.uri());
    let gate = t.run(&[
        "-vv",
        "gate",
        SCENARIO,
        "--target",
        slow.url(),
        "--confirm",
        "0",
        "--out",
        "out/result.json",
        "--history",
        "history",
        "--format",
        "json",
        "--output",
        "out/report.json",
        "--junit",
        "out/junit.xml",
        "--actions-json",
        "out/actions.json",
        "--ci-outputs",
        "--github-comment",
        "--notify-slack",
        &slack,
        "--notify-on",
        "always",
        "--rollback-hook",
        "./hook.sh",
    ]);
    gate.code(1).stderr_has(&[
        "verdict critical (exit 1)",
        "ok       rollback hook ./hook.sh",
        "| rolling back t on critical",
        "created comment 42 on acme/api#5",
    ]);
    outputs.push(("gate", gate));

    for format in ["table", "json", "markdown", "html"] {
        let file = format!("out/compare.{format}");
        let out = t.run(&[
            "compare",
            "baselines/t.json",
            "out/result.json",
            "--format",
            format,
            "--output",
            &file,
        ]);
        assert!(t.path(&file).is_file(), "compare wrote no {file}\n{out}");
        outputs.push(("compare", out));
        let file = format!("out/report.{format}");
        let out = t.run(&[
            "report",
            "out/result.json",
            "--baseline",
            "baselines/t.json",
            "--format",
            format,
            "--output",
            &file,
        ]);
        out.code(0);
        outputs.push(("report", out));
        // The same on stdout, where nothing is written to a file.
        let out = t.run(&["report", "out/result.json", "--format", format]);
        out.code(0);
        outputs.push(("report to stdout", out));
    }
    let out = t.run(&["history", "--dir", "history", "--format", "json"]);
    outputs.push(("history", out));
    let out = t.run(&["baselines", "show", "t"]);
    outputs.push(("baselines show", out));

    // Control: the secrets really are sent, where the scenario says (else this test proves nothing).
    let target = Receiver::start(TARGET_ROUTES);
    let out = t.run(&[
        "run",
        SCENARIO,
        "--target",
        &target.uri(),
        "--out",
        "out/control.json",
    ]);
    out.code(0);
    outputs.push(("run", out));
    let sent = target.received();
    let sent_with = |route: &str, secret: &str, part: fn(&Received) -> &[u8]| {
        sent.iter()
            .any(|r| r.route.contains(route) && contains(part(r), secret))
    };
    assert!(sent_with("/fast", SECRET_HEADER, |r| r.headers.as_bytes()));
    assert!(sent_with("/cart", SECRET_HEADER, |r| r.headers.as_bytes()));
    assert!(sent_with("/fast", SECRET_URL, |r| r.route.as_bytes()));
    assert!(sent_with("/cart", SECRET_BODY, |r| &r.body));

    for (what, out) in &outputs {
        clean_output(what, out);
    }
    // Every file any command wrote, the hook's records included, must be free of every secret.
    let written = files_under(t.dir());
    for must in [
        "baselines/t.json",
        "out/result.json",
        "out/report.json",
        "out/junit.xml",
        "out/actions.json",
        "out/report.html",
        "out/report.markdown",
        "github-output.txt",
        "step-summary.md",
        "hook-env.txt",
    ] {
        assert!(
            written.contains(&t.path(must)),
            "{must} was not written; files: {written:#?}"
        );
    }
    assert!(
        written.iter().any(|p| p.starts_with(t.path("history"))),
        "the history store is empty: {written:#?}"
    );
    for file in &written {
        let bytes = std::fs::read(file).expect("read a written file");
        clean(&file.display().to_string(), &bytes);
    }
    // The PR comment and the webhooks: the token goes only into the API's Authorization header.
    let received = api.received();
    let routes: Vec<&str> = received.iter().map(|r| r.route.as_str()).collect();
    for want in [COMMENTS, "/hook", "/slack"] {
        assert!(
            routes
                .iter()
                .any(|r| r.starts_with("POST") && r.contains(want)),
            "nothing was posted to {want}: {routes:?}"
        );
    }
    for Received {
        route,
        headers,
        body,
    } in &received
    {
        clean(&format!("the body of {route}"), body);
        clean(&format!("the URL of {route}"), route.as_bytes());
        let headers_without_auth: String = headers
            .lines()
            .filter(|l| !l.starts_with("authorization:"))
            .collect();
        clean(
            &format!("the headers of {route}"),
            headers_without_auth.as_bytes(),
        );
    }

    // The hook got its data through LOADGATE_* variables only: no argument, nothing on stdin.
    assert_eq!(
        String::from_utf8_lossy(&t.read("hook-argc.txt")).trim(),
        "0"
    );
    assert!(t.read("hook-stdin.txt").is_empty(), "the hook got stdin");
    let env = String::from_utf8(t.read("hook-env.txt")).expect("UTF-8");
    for k in ["LOADGATE_VERDICT=critical", "LOADGATE_SCENARIO=t"] {
        assert!(env.lines().any(|l| l == k), "{k} missing:\n{env}");
    }
}

/// Issue 8: at `-vv` every failed request is logged (goose did it with its path and URL, which held
/// the secret; loadgate now sends requests itself and logs the error without the URL).
#[test]
fn issue_8_failed_requests_logged_at_vv_show_no_secret_path() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime for the mock server");
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(path("/health"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server),
    );
    // Every request runs past the scenario's 200 ms timeout: a transport error, logged by goose.
    rt.block_on(
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(1)))
            .mount(&server),
    );
    let t = Test::new()
        .scenario(&format!(
            r#"schema_version = 1
name = "t"

[target]
base_url = "{}"

[load]
users = 2
duration = "1s"
max_requests = 20
request_timeout = "200ms"

[[request]]
name = "user"
path = "/users/${{env:SECRET_Y}}?key=${{env:SECRET_X}}"
"#,
            server.uri()
        ))
        .env("SECRET_X", SECRET_HEADER)
        .env("SECRET_Y", SECRET_URL);
    let out = t.run(&["-vv", "run", SCENARIO, "--out", "result.json"]);
    out.stderr_has(&["request \"user\" failed (Timeout): "]);
    clean_output("run -vv", &out);
    clean("result.json", &t.read("result.json"));
}

#[test]
fn the_demo_service_binds_loopback_only() {
    let t = Test::new();
    for addr in ["0.0.0.0", "::", "192.0.2.1"] {
        t.run(&["demo", "--bind", addr, "--port", "0"])
            .code(2)
            .stderr_has(&["refusing to bind the demo service", "use 127.0.0.1 or ::1"]);
    }
}

/// `chmod +x`.
fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod +x");
}

//! Notifications: Slack, Discord and generic webhooks (wiremock receivers on loopback) get the
//! verdict coloured by severity; a receiver that is down or failing is retried, then reported.

use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use loadgate::demo::DemoKnobs;

use super::{against, critical, failing_demo, gate, make_executable, Api};
use crate::faults::Stored;
use crate::support::{free_port, judged, Demo};

// ---- notifications -----------------------------------------------------------------------------

#[test]
fn webhooks_get_the_verdict_coloured_by_severity() {
    let failing = failing_demo();
    let api = Api::start();
    for p in ["/slack", "/discord", "/hook"] {
        api.mount(
            Mock::given(method("POST"))
                .and(path(p))
                .respond_with(ResponseTemplate::new(200))
                .expect(1),
        );
    }
    let t = against(&failing, "").env(
        "LOADGATE_DISCORD_WEBHOOK",
        &format!("{}/discord", api.uri()),
    );
    let slack = format!("{}/slack", api.uri());
    let hook = format!("{}/hook", api.uri());
    let out = gate(&t, &["--notify-slack", &slack, "--notify-webhook", &hook]);
    critical(&out);
    api.verify();
    let s = &api.bodies("POST", "/slack")[0];
    assert_eq!(s["attachments"][0]["color"], "#d73a49", "{s:#}");
    assert!(
        s["text"]
            .as_str()
            .is_some_and(|x| x.contains("CRITICAL on `t` (exit 1)")),
        "{s:#}"
    );
    assert!(
        s["attachments"][0]["text"]
            .as_str()
            .is_some_and(|x| x.contains("• all ")),
        "{s:#}"
    );
    let d = &api.bodies("POST", "/discord")[0];
    assert_eq!(d["embeds"][0]["color"], 0xd7_3a49, "{d:#}");
    let g = &api.bodies("POST", "/hook")[0];
    assert_eq!(g["verdict"], "critical", "{g:#}");
    assert_eq!(g["exit_code"], 1);
    assert!(g["counts"]["critical"].as_u64() >= Some(1), "{g:#}");
    assert!(
        g["worst"].as_array().is_some_and(|w| !w.is_empty()),
        "{g:#}"
    );
    // Only scheme://host:port/… of a webhook URL is ever shown.
    out.never_shows("/slack").never_shows("/discord");
}

#[test]
fn a_webhook_that_is_down_is_reported_not_fatal() {
    let failing = failing_demo();
    let api = Api::start();
    api.mount(
        Mock::given(method("POST"))
            .and(path("/slack"))
            .respond_with(ResponseTemplate::new(503))
            .expect(3),
    );
    let t = against(&failing, "");
    let slack = format!("{}/slack", api.uri());
    let down = format!("http://127.0.0.1:{}/hooks/secret-path", free_port());
    let stored = Stored::of(&t);
    let out = gate(
        &t,
        &[
            "--notify-slack",
            &slack,
            "--notify-webhook",
            &down,
            "--actions-json",
            "actions.json",
        ],
    );
    critical(&out);
    out.stderr_has(&[
        "did not take the message after 3 tries within 5s (last: answered 503 Service Unavailable)",
        "(last: connection refused or unreachable)",
        "2 action(s) failed",
    ])
    .never_shows("secret-path");
    stored.unchanged(&t, &out);
    api.verify();
    let actions = t.json("actions.json");
    assert_eq!(actions["schema_version"], 1);
    let statuses: Vec<&str> = actions["actions"]
        .as_array()
        .expect("an array of outcomes")
        .iter()
        .filter_map(|a| a["status"].as_str())
        .collect();
    assert_eq!(statuses, ["failed", "failed"], "{actions:#}");
}

#[test]
fn a_warning_skips_the_rollback_by_default_and_notifies_with_notify_on_warn() {
    let slow = Demo::with(DemoKnobs {
        slowdown: 2.0,
        ..DemoKnobs::default()
    });
    let api = Api::start();
    api.mount(
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(ResponseTemplate::new(204)),
    );
    // A lenient critical threshold turns the doubled latency into a warning (as in gate.rs). A
    // warning rests on live latencies, so this test runs alone and again if the machine disturbed it.
    let t = against(&slow, r#"critical = "500%""#)
        .write("hook.sh", "#!/bin/sh\ntouch ran\n")
        .exclusive();
    make_executable(&t.path("hook.sh"));
    let hook = format!("{}/hook", api.uri());
    let mut gates = 0;
    let out = judged(|| {
        gates += 1;
        gate(
            &t,
            &[
                "--rollback-hook",
                "./hook.sh",
                "--notify-webhook",
                &hook,
                "--notify-on",
                "warn",
            ],
        )
    });
    out.code(0).stderr_has(&[
        "verdict warn (exit 0)",
        "skipped  rollback hook ./hook.sh: verdict warn; the hook runs on critical",
    ]);
    assert!(!t.path("ran").exists(), "the hook ran on a warning\n{out}");
    let sent = api.bodies("POST", "/hook");
    assert_eq!(sent.len(), gates, "one notification per gate\n{out}");
    let g = sent.last().expect("a notification");
    assert_eq!(
        (g["verdict"].as_str(), g["color"].as_str()),
        (Some("warn"), Some("#dbab09")),
        "{g:#}"
    );
}

/// A webhook answering `307` to another host (`localhost`, where a second receiver listens) is not
/// re-posted there: the payload stays with the host the user named, and the failure says why.
#[test]
fn a_webhook_redirect_to_another_host_is_not_followed() {
    let failing = failing_demo();
    let api = Api::start();
    let elsewhere = Api::start();
    let port = elsewhere
        .uri()
        .rsplit(':')
        .next()
        .map(str::to_string)
        .expect("a port in the receiver's URI");
    api.mount(Mock::given(method("POST")).and(path("/hook")).respond_with(
        ResponseTemplate::new(307).insert_header(
            "location",
            format!("http://localhost:{port}/stolen").as_str(),
        ),
    ));
    elsewhere.mount(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0),
    );
    let t = against(&failing, "");
    let hook = format!("{}/hook", api.uri());
    let out = gate(&t, &["--notify-webhook", &hook]);
    critical(&out);
    out.stderr_has(&["a redirect to another host, not followed"]);
    elsewhere.verify();
}

//! The sticky PR comment against a mock GitHub API (wiremock on loopback): created, then updated in
//! place (across pages); 403, 500 and a slow API reported without touching the exit code; a fork's
//! pull request skipped.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, ResponseTemplate};

use super::{against, critical, failing_demo, gate, Api, TOKEN};
use crate::faults::Stored;
use crate::support::Test;

const COMMENTS: &str = "/repos/acme/api/issues/5/comments";

/// The environment of a GitHub Actions job on pull request 5 of `acme/api`, API at `api`.
fn on_pull_request(t: Test, api: &Api, head_repo: &str) -> Test {
    let event = json!({"pull_request": {
        "number": 5,
        "head": {"repo": {"full_name": head_repo}},
        "base": {"repo": {"full_name": "acme/api"}},
    }});
    let event_path = t.path("event.json");
    let t = t.write("event.json", event.to_string());
    t.env("GITHUB_API_URL", &api.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/api")
        .env(
            "GITHUB_EVENT_PATH",
            event_path.to_str().expect("UTF-8 path"),
        )
}

// ---- sticky PR comment -------------------------------------------------------------------------

#[test]
fn the_comment_is_created_then_updated_in_place() {
    let failing = failing_demo();
    let api = Api::start();
    let t = on_pull_request(against(&failing, ""), &api, "acme/api");
    let auth = format!("Bearer {TOKEN}");
    // First gate: no comment has the marker yet, so one is created.
    api.mount(
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .and(header("authorization", auth.as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([{"id": 7, "body": "LGTM"}])),
            )
            .up_to_n_times(1)
            .expect(1),
    );
    api.mount(
        Mock::given(method("POST"))
            .and(path(COMMENTS))
            .and(header("authorization", auth.as_str()))
            .and(body_string_contains("<!-- loadgate:t -->"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 42, "body": "x"})))
            .expect(1),
    );
    let out = gate(&t, &["--github-comment"]);
    critical(&out);
    out.stderr_has(&["ok       github comment acme/api#5: created comment 42 on acme/api#5"])
        .never_shows(TOKEN);
    let created = api.bodies("POST", COMMENTS);
    let body = created[0]["body"].as_str().expect("a comment body");
    assert!(
        body.starts_with("<!-- loadgate:t -->\n### loadgate: ❌ critical — `t`"),
        "{body}"
    );
    assert!(
        body.contains("| request | metric | baseline | run | change |"),
        "{body}"
    );
    // Second gate: the marked comment is on page 2 (GitHub paginates with a Link header).
    let next = format!(
        "<{}{COMMENTS}?per_page=100&page=2>; rel=\"next\"",
        api.uri()
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .and(query_param_is_missing("page"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("link", next.as_str())
                    .set_body_json(json!([{"id": 7, "body": "LGTM"}])),
            )
            .expect(1),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .and(query_param("page", "2"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([{"id": 42, "body": "<!-- loadgate:t -->\nold"}])),
            )
            .expect(1),
    );
    api.mount(
        Mock::given(method("PATCH"))
            .and(path("/repos/acme/api/issues/comments/42"))
            .and(header("authorization", auth.as_str()))
            .and(body_string_contains("<!-- loadgate:t -->"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 42})))
            .expect(1),
    );
    let out = gate(&t, &["--github-comment"]);
    critical(&out);
    out.stderr_has(&["updated comment 42 on acme/api#5"]);
    api.verify();
    assert_eq!(
        api.bodies("POST", COMMENTS).len(),
        1,
        "no second comment was created"
    );
}

#[test]
fn a_403_explains_the_permission_and_leaves_the_exit_code_alone() {
    let failing = failing_demo();
    let api = Api::start();
    let t = on_pull_request(against(&failing, ""), &api, "acme/api");
    api.mount(
        Mock::given(method("GET")).and(path(COMMENTS)).respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        ),
    );
    let stored = Stored::of(&t);
    let out = gate(&t, &["--github-comment"]);
    critical(&out);
    stored.unchanged(&t, &out);
    out.stderr_has(&[
        "FAILED   GitHub refused to comment on acme/api#5 (403: Resource not accessible by integration)",
        "permissions: pull-requests: write",
        "1 action(s) failed; the verdict and the exit code are unchanged",
    ])
    .never_shows(TOKEN);
}

#[test]
fn a_500_is_reported_and_the_other_actions_still_run() {
    let failing = failing_demo();
    let api = Api::start();
    let t = on_pull_request(against(&failing, ""), &api, "acme/api");
    api.mount(
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"}))),
    );
    let stored = Stored::of(&t);
    let out = gate(&t, &["--github-comment", "--junit", "junit.xml"]);
    critical(&out);
    stored.unchanged(&t, &out);
    out.stderr_has(&[
        "GitHub answered 500 for acme/api#5: boom",
        "ok       junit: wrote junit.xml",
    ]);
    assert!(t.path("junit.xml").is_file());
}

#[test]
fn a_slow_api_is_abandoned_at_the_github_timeout() {
    let failing = failing_demo();
    let api = Api::start();
    let t = on_pull_request(against(&failing, ""), &api, "acme/api");
    api.mount(
        Mock::given(method("GET")).and(path(COMMENTS)).respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(30)),
        ),
    );
    let stored = Stored::of(&t);
    let out = gate(&t, &["--github-comment", "--github-timeout", "1s"]);
    critical(&out);
    stored.unchanged(&t, &out);
    out.stderr_has(&["GitHub did not finish the comment on acme/api#5 within 1s"]);
}

#[test]
fn a_pull_request_from_a_fork_is_skipped_without_a_request() {
    let failing = failing_demo();
    let api = Api::start();
    let t = on_pull_request(against(&failing, ""), &api, "mallory/api");
    api.mount(
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0),
    );
    let out = gate(&t, &["--github-comment"]);
    critical(&out);
    out.stderr_has(&[
        "skipped  github comment acme/api#5: the pull request comes from the fork mallory/api",
        "--github-allow-fork",
    ]);
    api.verify();
}

/// The environment of a job on an `issue_comment` event on pull request 5 of `acme/api`: the
/// payload names the pull request, not where its head lives.
fn on_issue_comment(t: Test, api: &Api) -> Test {
    let event =
        json!({"issue": {"number": 5, "pull_request": {"url": "x"}}, "comment": {"body": "/gate"}});
    let event_path = t.path("event.json");
    let t = t.write("event.json", event.to_string());
    t.env("GITHUB_API_URL", &api.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/api")
        .env(
            "GITHUB_EVENT_PATH",
            event_path.to_str().expect("UTF-8 path"),
        )
}

/// An event that does not prove the head is in the same repository (here `issue_comment`) makes
/// loadgate ask the API for the pull request first: a fork is skipped, so is a pull request the
/// API cannot describe, and only a head proven to be in `acme/api` gets the comment.
#[test]
fn without_proof_in_the_event_the_head_repository_is_asked_of_the_api() {
    let failing = failing_demo();
    let pull = |head: serde_json::Value| {
        ResponseTemplate::new(200).set_body_json(json!({
            "number": 5, "head": {"repo": head}, "base": {"repo": {"full_name": "acme/api"}},
        }))
    };
    let cases = [
        (
            pull(json!({"full_name": "mallory/api"})),
            "skipped  github comment acme/api#5: the pull request comes from the fork mallory/api",
            0,
        ),
        (
            ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            "skipped  github comment acme/api#5: cannot tell whether the pull request comes from a fork",
            0,
        ),
        (
            pull(json!({"full_name": "acme/api"})),
            "ok       github comment acme/api#5: created comment 42 on acme/api#5",
            1,
        ),
    ];
    for (answer, outcome, posts) in cases {
        let api = Api::start();
        let t = on_issue_comment(against(&failing, ""), &api);
        api.mount(
            Mock::given(method("GET"))
                .and(path("/repos/acme/api/pulls/5"))
                .respond_with(answer)
                .expect(1),
        );
        api.mount(
            Mock::given(method("GET"))
                .and(path(COMMENTS))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
                .expect(posts),
        );
        api.mount(
            Mock::given(method("POST"))
                .and(path(COMMENTS))
                .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 42})))
                .expect(posts),
        );
        let out = gate(&t, &["--github-comment"]);
        critical(&out);
        out.stderr_has(&[outcome]).never_shows(TOKEN);
        api.verify();
    }
}

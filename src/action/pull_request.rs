//! Which pull request the sticky comment goes to: repository and number from flags, else from the
//! GitHub Actions environment (`GITHUB_REPOSITORY`, and `pull_request.number` in the event file at
//! `GITHUB_EVENT_PATH`). Resolved in preflight, so a job that could never comment fails before its
//! load, not after.
//!
//! A pull request from a fork is refused unless `--github-allow-fork`: under `pull_request_target`
//! its job holds a write token while running the fork's code, and under `pull_request` its token is
//! read-only and the comment would fail anyway. Refused means skipped and reported, not an error:
//! the gate still runs and its verdict still decides the exit code. Only a `pull_request` payload
//! for the same number proves where the head is; otherwise (`issue_comment`, `--github-pr`, no
//! event) the comment asks the API first ([`Head::Unknown`]).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::action::Env;

/// The PR comment as asked for by the flags.
#[derive(Debug, Clone)]
pub struct CommentTarget {
    /// `--github-repo` (else `GITHUB_REPOSITORY`).
    pub repo: Option<String>,
    /// `--github-pr` (else from the event file).
    pub pr: Option<u64>,
    /// `--github-allow-fork`.
    pub allow_fork: bool,
    /// `--github-timeout`: the whole comment (list, then create or update) must finish within it.
    pub timeout: Duration,
}

/// Where to comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub name: String,
    /// Pull request number.
    pub number: u64,
    /// Where the pull request's head lives, as far as the event tells.
    pub head: Head,
}

/// Where a pull request's head branch lives, as far as is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// `--github-allow-fork`: where does not matter.
    Allowed,
    /// The same repository as the base, proven by the payload.
    SameRepo,
    /// Another repository (its name, or "a deleted fork"): the comment is skipped.
    Fork(String),
    /// Nothing proves it either way: ask the API before commenting.
    Unknown,
}

impl std::fmt::Display for PullRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}#{}", self.owner, self.name, self.number)
    }
}

/// Why the pull request cannot be worked out. Messages end with the fix.
#[derive(Debug, thiserror::Error)]
pub enum PullRequestError {
    /// No repository anywhere.
    #[error("--github-comment: no repository to comment on; set GITHUB_REPOSITORY (GitHub Actions does) or pass --github-repo OWNER/NAME")]
    NoRepo,
    /// Not `owner/name`.
    #[error(
        "{from}: `{repo}` is not a repository name; write it as OWNER/NAME, e.g. acme/checkout-api"
    )]
    BadRepo {
        /// `--github-repo` or `GITHUB_REPOSITORY`.
        from: &'static str,
        /// The value.
        repo: String,
    },
    /// The event file cannot be read.
    #[error("cannot read the GitHub event file {} (GITHUB_EVENT_PATH): {source}; pass --github-pr N instead", path.display())]
    EventUnreadable {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The event file is not JSON.
    #[error("the GitHub event file {} (GITHUB_EVENT_PATH) is not valid JSON: {source}; pass --github-pr N instead", path.display())]
    EventInvalid {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// No PR number.
    #[error("--github-comment: no pull request number ({why}); run the job on `pull_request`, or pass --github-pr N")]
    NoNumber {
        /// What was looked at.
        why: String,
    },
}

/// Works out the pull request from `settings` and `env`.
pub fn resolve(settings: &CommentTarget, env: &Env) -> Result<PullRequest, PullRequestError> {
    let (from, repo) = match (&settings.repo, env.get("GITHUB_REPOSITORY")) {
        (Some(r), _) => ("--github-repo", r.as_str()),
        (None, Some(r)) => ("GITHUB_REPOSITORY", r),
        (None, None) => return Err(PullRequestError::NoRepo),
    };
    let (owner, name) = split_repo(repo).ok_or_else(|| PullRequestError::BadRepo {
        from,
        repo: repo.to_string(),
    })?;
    let event = match env.get("GITHUB_EVENT_PATH") {
        Some(p) => Some(read_event(PathBuf::from(p))?),
        None => None,
    };
    let from_event = event.as_ref().and_then(number_of);
    let number = match (settings.pr, from_event) {
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => {
            let why = match env.get("GITHUB_EVENT_PATH") {
                Some(p) => format!("the event in {p} is not a pull request event"),
                None => "GITHUB_EVENT_PATH is not set".to_string(),
            };
            return Err(PullRequestError::NoNumber { why });
        }
    };
    // The event only says where *its* pull request's head is, and only a pull_request payload says
    // it at all: an issue_comment event names the pull request, not its head.
    let head = match event
        .as_ref()
        .filter(|_| from_event == Some(number))
        .and_then(|e| e.get("pull_request"))
    {
        _ if settings.allow_fork => Head::Allowed,
        Some(pr) => head_of(pr, repo),
        None => Head::Unknown,
    };
    Ok(PullRequest {
        owner: owner.to_string(),
        name: name.to_string(),
        number,
        head,
    })
}

fn read_event(path: PathBuf) -> Result<Value, PullRequestError> {
    let text =
        crate::fsutil::read_limited(&path, crate::fsutil::limits::EVENT).map_err(|source| {
            PullRequestError::EventUnreadable {
                path: path.clone(),
                source,
            }
        })?;
    serde_json::from_slice(&text).map_err(|source| PullRequestError::EventInvalid { path, source })
}

/// `pull_request.number` (pull_request and pull_request_target events), or `issue.number` of an
/// `issue_comment` event on a pull request.
fn number_of(event: &Value) -> Option<u64> {
    if let Some(n) = event
        .pointer("/pull_request/number")
        .and_then(Value::as_u64)
    {
        return Some(n);
    }
    event
        .get("issue")
        .filter(|i| i.get("pull_request").is_some())
        .and_then(|i| i.get("number"))
        .and_then(Value::as_u64)
}

/// Where the head of `pr` (a pull request object, from an event payload or from the API) lives,
/// relative to its base (or `repo` when the base is not named). No `head` at all proves nothing; a
/// `head` without a repository is a deleted fork.
pub fn head_of(pr: &Value, repo: &str) -> Head {
    let base = pr
        .pointer("/base/repo/full_name")
        .and_then(Value::as_str)
        .unwrap_or(repo);
    let Some(head) = pr.get("head").filter(|h| h.is_object()) else {
        return Head::Unknown;
    };
    match head.pointer("/repo/full_name").and_then(Value::as_str) {
        Some(h) if h.eq_ignore_ascii_case(base) => Head::SameRepo,
        Some(h) => Head::Fork(h.to_string()),
        None => Head::Fork("a deleted fork".to_string()),
    }
}

/// `owner/name` with GitHub's characters: owner letters, digits and `-`; name also `.` and `_`.
fn split_repo(repo: &str) -> Option<(&str, &str)> {
    let (owner, name) = repo.split_once('/')?;
    let owner_ok = (1..=39).contains(&owner.len())
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let name_ok = (1..=100).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    (owner_ok && name_ok).then_some((owner, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CommentTarget {
        CommentTarget {
            repo: None,
            pr: None,
            allow_fork: false,
            timeout: Duration::from_secs(30),
        }
    }

    fn event(dir: &std::path::Path, json: &str) -> String {
        let p = dir.join("event.json");
        std::fs::write(&p, json).unwrap();
        p.to_str().unwrap().to_string()
    }

    const SAME_REPO: &str = r#"{"pull_request": {"number": 7,
        "head": {"repo": {"full_name": "acme/api"}}, "base": {"repo": {"full_name": "acme/api"}}}}"#;
    const FORK: &str = r#"{"pull_request": {"number": 8,
        "head": {"repo": {"full_name": "mallory/api"}}, "base": {"repo": {"full_name": "acme/api"}}}}"#;

    #[test]
    fn repo_and_number_come_from_the_actions_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = event(dir.path(), SAME_REPO);
        let env = Env::of([
            ("GITHUB_REPOSITORY", "acme/api"),
            ("GITHUB_EVENT_PATH", &path),
        ]);
        let pr = resolve(&settings(), &env).unwrap();
        assert_eq!(pr.to_string(), "acme/api#7");
        assert_eq!(pr.head, Head::SameRepo);
    }

    #[test]
    fn flags_win_over_the_environment() {
        let env = Env::of([("GITHUB_REPOSITORY", "acme/api")]);
        let s = CommentTarget {
            repo: Some("acme/other".into()),
            pr: Some(3),
            ..settings()
        };
        assert_eq!(resolve(&s, &env).unwrap().to_string(), "acme/other#3");
    }

    #[test]
    fn a_fork_is_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = event(dir.path(), FORK);
        let env = Env::of([
            ("GITHUB_REPOSITORY", "acme/api"),
            ("GITHUB_EVENT_PATH", &path),
        ]);
        let pr = resolve(&settings(), &env).unwrap();
        assert_eq!(pr.head, Head::Fork("mallory/api".into()));
        let allowed = CommentTarget {
            allow_fork: true,
            ..settings()
        };
        assert_eq!(resolve(&allowed, &env).unwrap().head, Head::Allowed);
    }

    #[test]
    fn only_a_pull_request_payload_for_the_same_number_proves_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let comment = event(
            dir.path(),
            r#"{"issue": {"number": 7, "pull_request": {"url": "x"}}}"#,
        );
        let env = Env::of([
            ("GITHUB_REPOSITORY", "acme/api"),
            ("GITHUB_EVENT_PATH", &comment),
        ]);
        let pr = resolve(&settings(), &env).unwrap();
        assert_eq!((pr.number, pr.head), (7, Head::Unknown));
        // --github-pr naming another pull request than the event's.
        let same = event(dir.path(), SAME_REPO);
        let env = Env::of([
            ("GITHUB_REPOSITORY", "acme/api"),
            ("GITHUB_EVENT_PATH", &same),
        ]);
        let other = CommentTarget {
            pr: Some(9),
            ..settings()
        };
        assert_eq!(resolve(&other, &env).unwrap().head, Head::Unknown);
        // No event at all.
        let env = Env::of([("GITHUB_REPOSITORY", "acme/api")]);
        assert_eq!(resolve(&other, &env).unwrap().head, Head::Unknown);
        // A payload whose pull request has no head proves nothing; one whose head has no
        // repository is a deleted fork.
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(head_of(&v(r#"{"number": 7}"#), "acme/api"), Head::Unknown);
        assert_eq!(
            head_of(&v(r#"{"head": {"repo": null}}"#), "acme/api"),
            Head::Fork("a deleted fork".into())
        );
        assert_eq!(
            head_of(
                &v(r#"{"head": {"repo": {"full_name": "ACME/api"}}}"#),
                "acme/api"
            ),
            Head::SameRepo
        );
    }

    #[test]
    fn bad_input_says_what_to_do() {
        let cases: [(Env, CommentTarget, &str); 4] = [
            (Env::default(), settings(), "--github-repo OWNER/NAME"),
            (
                Env::of([("GITHUB_REPOSITORY", "acme")]),
                settings(),
                "`acme` is not a repository",
            ),
            (
                Env::of([("GITHUB_REPOSITORY", "acme/api")]),
                settings(),
                "GITHUB_EVENT_PATH is not set",
            ),
            (
                Env::default(),
                CommentTarget {
                    repo: Some("a/b/c".into()),
                    ..settings()
                },
                "--github-repo: `a/b/c`",
            ),
        ];
        for (env, s, needle) in cases {
            let e = resolve(&s, &env).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let push = event(dir.path(), r#"{"ref": "refs/heads/main"}"#);
        let env = Env::of([
            ("GITHUB_REPOSITORY", "acme/api"),
            ("GITHUB_EVENT_PATH", &push),
        ]);
        let e = resolve(&settings(), &env).unwrap_err().to_string();
        assert!(
            e.contains("not a pull request event") && e.contains("--github-pr N"),
            "{e}"
        );
    }
}

//! The sticky PR comment, through the GitHub REST API (octocrab; the only module that imports it).
//! Lists the pull request's comments (all pages), updates the one carrying the scenario's marker,
//! or creates it. `GITHUB_API_URL` is the API base (GitHub Enterprise, and the local mock the
//! tests use). The token comes from `GITHUB_TOKEN` and is never printed or put in a message.
//!
//! Every verdict is posted, a pass too: the comment shows the latest run, not the last failure.

use std::time::Duration;

use octocrab::{Octocrab, Page};
use serde::Deserialize;

use crate::action::comment;
use crate::action::context::ActionContext;
use crate::action::pull_request::{head_of, Head, PullRequest};
use crate::action::{seconds, Action, ActionError, BoxFuture, Done, Env};
use crate::verdict::Outcome;

/// The public API, when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// Comments per page, GitHub's maximum: one request for almost every pull request.
const PER_PAGE: &str = "100";
/// Pages read at most (10 000 comments): a bound on a misbehaving server's endless `next` links.
const MAX_PAGES: usize = 100;

/// Why the comment cannot be posted. Messages end with the fix and never hold the token.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// No token.
    #[error("--github-comment needs a token in GITHUB_TOKEN; in GitHub Actions add `env: GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}` to the step")]
    NoToken,
    /// A token with spaces or control characters (a secret pasted with its line break).
    #[error("GITHUB_TOKEN holds characters no token has (spaces or line breaks); check how the secret is passed (the token is not shown)")]
    BadToken,
    /// `GITHUB_API_URL` is not an http(s) URL.
    #[error("GITHUB_API_URL `{url}` is not an http:// or https:// URL; unset it to use {DEFAULT_API_URL}")]
    BadApiUrl {
        /// The value.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the GitHub client: {source}; on a minimal image install the CA certificates (e.g. the ca-certificates package)")]
    Client {
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// 401.
    #[error("GitHub rejected the token for {pr} (401: {message}); check that GITHUB_TOKEN holds a valid, unexpired token")]
    Unauthorized {
        /// `owner/name#N`.
        pr: String,
        /// GitHub's message.
        message: String,
    },
    /// 403.
    #[error("GitHub refused to comment on {pr} (403: {message}); give the job `permissions: pull-requests: write` (a pull request from a fork only gets a read-only token)")]
    Forbidden {
        /// `owner/name#N`.
        pr: String,
        /// GitHub's message.
        message: String,
    },
    /// 403 or 429 with a rate-limit message.
    #[error("GitHub's rate limit stopped the comment on {pr} ({status}: {message}); rerun the job later")]
    RateLimited {
        /// `owner/name#N`.
        pr: String,
        /// HTTP status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// 404.
    #[error("GitHub does not know {pr}, or the token cannot see it (404: {message}); check --github-repo, --github-pr and the token's repository access")]
    NotFound {
        /// `owner/name#N`.
        pr: String,
        /// GitHub's message.
        message: String,
    },
    /// Any other error status.
    #[error("GitHub answered {status} for {pr}: {message}; the comment was not updated, rerun the job to retry")]
    Api {
        /// `owner/name#N`.
        pr: String,
        /// HTTP status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// No HTTP answer, or one that is not GitHub's JSON.
    #[error("cannot talk to the GitHub API at {api} for {pr}: {}; check GITHUB_API_URL and the network", chain(source.as_ref()))]
    Transport {
        /// API base.
        api: String,
        /// `owner/name#N`.
        pr: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Past `--github-timeout`.
    #[error("GitHub did not finish the comment on {pr} within {after}; the comment was not updated (raise --github-timeout if the API is slow)")]
    TimedOut {
        /// `owner/name#N`.
        pr: String,
        /// The timeout.
        after: String,
    },
}

/// An error and its causes on one line, each cause once (hyper repeats its own message).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// The part of a comment we read; octocrab's full model requires fields a mock need not send.
#[derive(Debug, Deserialize)]
struct IssueComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

/// The sticky comment, with its client built and checked in preflight.
pub struct PrComment {
    client: Octocrab,
    api: String,
    pr: PullRequest,
    timeout: Duration,
}

impl PrComment {
    /// Checks the token and the API URL and builds the client. The token is only handed to octocrab.
    pub fn prepare(pr: PullRequest, env: &Env, timeout: Duration) -> Result<Self, ActionError> {
        let token = env.get("GITHUB_TOKEN").ok_or(GitHubError::NoToken)?;
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(GitHubError::BadToken.into());
        }
        let api = env
            .get("GITHUB_API_URL")
            .unwrap_or(DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_string();
        let bad = || GitHubError::BadApiUrl { url: api.clone() };
        let parsed = url::Url::parse(&api).map_err(|_| bad())?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(bad().into());
        }
        let client = Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|_| bad())?
            .personal_token(token.to_string())
            .build()
            .map_err(|e| GitHubError::Client {
                source: Box::new(e),
            })?;
        Ok(Self {
            client,
            api,
            pr,
            timeout,
        })
    }

    /// Finds the scenario's comment and updates it, or creates one. Returns what was done.
    async fn upsert(&self, scenario: &str, body: &str) -> Result<String, GitHubError> {
        let pr = &self.pr;
        let marker = comment::marker(scenario);
        let repo = format!("/repos/{}/{}", pr.owner, pr.name);
        let payload = serde_json::json!({ "body": body });
        let existing = self.find(&repo, &marker).await?;
        match existing {
            Some(id) => {
                // PATCH, as GitHub documents for editing a comment.
                let route = format!("{repo}/issues/comments/{id}");
                let c: IssueComment = self
                    .client
                    .patch(route, Some(&payload))
                    .await
                    .map_err(|e| self.error(e))?;
                Ok(format!("updated comment {} on {pr}", c.id))
            }
            None => {
                let route = format!("{repo}/issues/{}/comments", pr.number);
                let c: IssueComment = self
                    .client
                    .post(route, Some(&payload))
                    .await
                    .map_err(|e| self.error(e))?;
                Ok(format!("created comment {} on {pr}", c.id))
            }
        }
    }

    /// The id of the first comment carrying `marker`, reading every page.
    async fn find(&self, repo: &str, marker: &str) -> Result<Option<u64>, GitHubError> {
        let route = format!("{repo}/issues/{}/comments", self.pr.number);
        let mut page: Page<IssueComment> = self
            .client
            .get(route, Some(&[("per_page", PER_PAGE)]))
            .await
            .map_err(|e| self.error(e))?;
        for _ in 0..MAX_PAGES {
            let hit = page
                .items
                .iter()
                // loadgate puts the marker first: one quoted further down (by a person, or in
                // another scenario's comment) does not make that comment ours.
                .find(|c| c.body.as_deref().is_some_and(|b| b.starts_with(marker)));
            if let Some(c) = hit {
                return Ok(Some(c.id));
            }
            match self
                .client
                .get_page::<IssueComment>(&page.next)
                .await
                .map_err(|e| self.error(e))?
            {
                Some(next) => page = next,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Why the comment must not be posted, if it must not: the pull request comes from a fork, or
    /// nothing proves it does not. Asks the API when the event did not say.
    async fn refusal(&self) -> Option<String> {
        let pr = &self.pr;
        match &pr.head {
            Head::Allowed | Head::SameRepo => return None,
            Head::Fork(fork) => return Some(fork_refusal(fork)),
            Head::Unknown => {}
        }
        let route = format!("/repos/{}/{}/pulls/{}", pr.owner, pr.name, pr.number);
        let answer: Result<serde_json::Value, _> = self.client.get(route, None::<&()>).await;
        let repo = format!("{}/{}", pr.owner, pr.name);
        match answer.map(|v| head_of(&v, &repo)) {
            Ok(Head::SameRepo | Head::Allowed) => None,
            Ok(Head::Fork(fork)) => Some(fork_refusal(&fork)),
            Ok(Head::Unknown) => Some(unknown_head(
                "GitHub's answer names no head repository".to_string(),
            )),
            Err(e) => Some(unknown_head(self.error(e).to_string())),
        }
    }

    fn error(&self, e: octocrab::Error) -> GitHubError {
        let pr = self.pr.to_string();
        let octocrab::Error::GitHub { source, .. } = e else {
            return GitHubError::Transport {
                api: self.api.clone(),
                pr,
                source: Box::new(e),
            };
        };
        let status = source.status_code.as_u16();
        let message = source.message.clone();
        match status {
            _ if message.to_ascii_lowercase().contains("rate limit") || status == 429 => {
                GitHubError::RateLimited {
                    pr,
                    status,
                    message,
                }
            }
            401 => GitHubError::Unauthorized { pr, message },
            403 => GitHubError::Forbidden { pr, message },
            404 => GitHubError::NotFound { pr, message },
            _ => GitHubError::Api {
                pr,
                status,
                message,
            },
        }
    }
}

impl Action for PrComment {
    fn name(&self) -> String {
        format!("github comment {}", self.pr)
    }

    fn skip(&self, _: Outcome) -> Option<String> {
        match &self.pr.head {
            Head::Fork(fork) => Some(fork_refusal(fork)),
            _ => None,
        }
    }

    fn budget(&self) -> Duration {
        // The comment enforces `timeout` itself, with a clearer message; this is the safety net.
        self.timeout + Duration::from_secs(5)
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext) -> BoxFuture<'a, Result<Done, ActionError>> {
        Box::pin(async move {
            let body = comment::body(&ctx.scenario, &ctx.markdown);
            let checked = async {
                match self.refusal().await {
                    Some(why) => Ok(Done::skipped(why)),
                    None => self.upsert(&ctx.scenario, &body).await.map(Done::from),
                }
            };
            match tokio::time::timeout(self.timeout, checked).await {
                Ok(r) => Ok(r?),
                Err(_) => Err(GitHubError::TimedOut {
                    pr: self.pr.to_string(),
                    after: seconds(self.timeout),
                }
                .into()),
            }
        })
    }
}

fn fork_refusal(fork: &str) -> String {
    format!(
        "the pull request comes from the fork {fork}; loadgate does not comment on fork pull \
         requests unless --github-allow-fork is given"
    )
}

/// The event did not say where the head is and the API could not tell: commenting would hand the
/// token's write access to what may be a fork's code.
fn unknown_head(why: String) -> String {
    format!(
        "cannot tell whether the pull request comes from a fork (the event does not say, and {why}); \
         not commenting. Run on `pull_request`, or pass --github-allow-fork if forks may be commented on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr() -> PullRequest {
        PullRequest {
            owner: "acme".into(),
            name: "api".into(),
            number: 7,
            head: Head::SameRepo,
        }
    }

    #[tokio::test]
    async fn preflight_checks_the_token_and_the_api_url_without_showing_the_token() {
        let t = Duration::from_secs(1);
        let e = PrComment::prepare(pr(), &Env::default(), t).err().unwrap();
        assert!(e.to_string().contains("secrets.GITHUB_TOKEN"), "{e}");
        let e = PrComment::prepare(pr(), &Env::of([("GITHUB_TOKEN", "ghp_abc\ndef")]), t)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("line breaks") && !e.contains("ghp_abc"), "{e}");
        let env = Env::of([("GITHUB_TOKEN", "ghp_abc"), ("GITHUB_API_URL", "ftp://x")]);
        let e = PrComment::prepare(pr(), &env, t).err().unwrap().to_string();
        assert!(
            e.contains("GITHUB_API_URL") && !e.contains("ghp_abc"),
            "{e}"
        );
        let env = Env::of([
            ("GITHUB_TOKEN", "ghp_abc"),
            ("GITHUB_API_URL", "http://127.0.0.1:9/"),
        ]);
        assert!(PrComment::prepare(pr(), &env, t).is_ok());
    }

    #[tokio::test]
    async fn an_unreachable_api_is_a_transport_error_with_its_cause() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = format!("http://127.0.0.1:{port}");
        let env = Env::of([("GITHUB_TOKEN", "ghp_abc"), ("GITHUB_API_URL", &api)]);
        let c = PrComment::prepare(pr(), &env, Duration::from_secs(5))
            .ok()
            .unwrap();
        let e = c.upsert("t", "body").await.unwrap_err().to_string();
        assert!(
            e.contains(&api) && e.to_lowercase().contains("refused"),
            "{e}"
        );
        assert!(!e.contains("ghp_abc"), "{e}");
    }

    #[test]
    fn the_forbidden_message_names_the_permission() {
        let e = GitHubError::Forbidden {
            pr: "acme/api#7".into(),
            message: "Resource not accessible by integration".into(),
        };
        assert!(e.to_string().contains("permissions: pull-requests: write"));
    }
}

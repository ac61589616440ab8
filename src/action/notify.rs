//! Chat and webhook notifications: Slack (incoming webhook, attachment coloured by severity),
//! Discord (embed coloured by severity) and a generic JSON webhook, each with the verdict, the
//! scenario and the worst metrics.
//!
//! Delivery is bounded: [`TRIES`] tries with backoff, each under [`PER_TRY`], all within
//! [`DEADLINE`]: a chat server that is down must not hold the CI job. A webhook that fails is
//! reported, never fatal. Webhook URLs are secrets (a Slack URL is its own credential), so only
//! `scheme://host/…` is ever printed.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::action::context::ActionContext;
use crate::action::{seconds, Action, ActionError, BoxFuture, Done, NotifyOn};
use crate::verdict::Outcome;

/// Tries per notification: one, and two retries for a blip.
pub const TRIES: u32 = 3;
/// Time limit of one try.
pub const PER_TRY: Duration = Duration::from_millis(1500);
/// Waits before the 2nd and 3rd tries (exponential: ×3).
const BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_millis(750)];
/// All tries of one notification end by then (3 × 1.5 s + 1 s of backoff would be 5.5 s).
pub const DEADLINE: Duration = Duration::from_secs(5);
/// A reason's message is cut to this many characters in a chat message (Discord caps a whole
/// embed description at 4096).
const MESSAGE_CHARS: usize = 300;

/// Which receiver, and so which payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Slack incoming webhook.
    Slack,
    /// Discord webhook.
    Discord,
    /// Any endpoint that takes loadgate's own JSON.
    Generic,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Slack => "slack",
            Kind::Discord => "discord",
            Kind::Generic => "webhook",
        }
    }
}

/// A webhook as asked for by a flag (or its environment variable). Its `Debug` hides the URL.
#[derive(Clone)]
pub struct Webhook {
    /// Receiver kind.
    pub kind: Kind,
    /// The flag it came from, for messages.
    pub flag: &'static str,
    /// The URL (a secret; never printed whole).
    pub url: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("kind", &self.kind)
            .field("flag", &self.flag)
            .field("url", &redact(&self.url))
            .finish()
    }
}

/// Notification problems. Messages end with the fix and show URLs only as `scheme://host/…`.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Not an http(s) URL.
    #[error("{flag}: `{shown}` is not an http:// or https:// URL; give the webhook URL your chat service showed when you created it")]
    BadUrl {
        /// Flag.
        flag: &'static str,
        /// The URL, redacted.
        shown: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client for {flag}: {source}; on a minimal image install the CA certificates")]
    Client {
        /// Flag.
        flag: &'static str,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// Refused with a status retrying cannot fix.
    #[error("{shown} answered {status}; check the webhook URL (it may have been revoked)")]
    Rejected {
        /// The URL, redacted.
        shown: String,
        /// HTTP status.
        status: String,
    },
    /// No try succeeded.
    #[error("{shown} did not take the message after {tries} tries within {within} (last: {last}); the notification was not delivered, check that the receiver is up")]
    Undelivered {
        /// The URL, redacted.
        shown: String,
        /// Tries made.
        tries: u32,
        /// The deadline.
        within: String,
        /// The last failure.
        last: String,
    },
}

/// Severity colours (GitHub's palette): red, amber, grey, green.
fn colour(o: Outcome) -> u32 {
    match o {
        Outcome::Critical => 0xd73a49,
        Outcome::Warn => 0xdbab09,
        Outcome::Incomplete => 0x6a737d,
        Outcome::Pass => 0x28a745,
    }
}

/// A URL safe to print: `scheme://host[:port]/…`, or a placeholder.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}/…", u.scheme()),
            (Some(h), None) => format!("{}://{h}/…", u.scheme()),
            (None, _) => format!("{}:…", u.scheme()),
        },
        Err(_) => "<not a URL; not shown, it may hold a secret>".to_string(),
    }
}

/// One webhook, checked and ready.
pub struct Notifier {
    hook: Webhook,
    shown: String,
    on: NotifyOn,
    client: reqwest::Client,
}

impl Notifier {
    /// Checks the URL and builds the client.
    pub fn prepare(hook: Webhook, on: NotifyOn) -> Result<Self, ActionError> {
        let shown = redact(&hook.url);
        let ok = url::Url::parse(hook.url.trim())
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err(NotifyError::BadUrl {
                flag: hook.flag,
                shown,
            }
            .into());
        }
        // A webhook is never re-posted to another host: the payload and the URL's secret path
        // stay with the host the user named.
        let client = reqwest::Client::builder()
            .timeout(PER_TRY)
            .redirect(crate::http::redirect_policy(false))
            .build()
            .map_err(|source| NotifyError::Client {
                flag: hook.flag,
                source,
            })?;
        Ok(Self {
            hook,
            shown,
            on,
            client,
        })
    }

    /// Posts `body`, retrying what a retry can fix, within [`DEADLINE`].
    async fn deliver(&self, body: Vec<u8>) -> Result<String, NotifyError> {
        let end = Instant::now() + DEADLINE;
        let mut last = String::new();
        let mut tries = 0;
        for attempt in 0..TRIES {
            if attempt > 0 {
                let wait = BACKOFF[(attempt as usize - 1).min(BACKOFF.len() - 1)];
                if Instant::now() + wait >= end {
                    break;
                }
                tokio::time::sleep(wait).await;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tries += 1;
            let sent = self
                .client
                .post(self.hook.url.trim())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .timeout(left.min(PER_TRY))
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    return Ok(format!("sent to {} ({})", self.shown, r.status()))
                }
                // A server error or "slow down" may pass on the next try; any other refusal will not.
                Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                    last = format!("answered {}", r.status());
                }
                Ok(r) => {
                    let location = r
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok());
                    let status =
                        match crate::http::leaves_host(r.url(), r.status().as_u16(), location) {
                            true => {
                                format!("{} (a redirect to another host, not followed)", r.status())
                            }
                            false => r.status().to_string(),
                        };
                    return Err(NotifyError::Rejected {
                        shown: self.shown.clone(),
                        status,
                    });
                }
                Err(e) if e.is_timeout() => {
                    last = format!("no answer within {}", seconds(left.min(PER_TRY)))
                }
                Err(e) if e.is_connect() => last = "connection refused or unreachable".to_string(),
                // `without_url`: reqwest's message would otherwise print the secret URL.
                Err(e) => last = format!("request failed: {}", e.without_url()),
            }
        }
        Err(NotifyError::Undelivered {
            shown: self.shown.clone(),
            tries,
            within: seconds(DEADLINE),
            last,
        })
    }
}

impl Action for Notifier {
    fn name(&self) -> String {
        format!("{} {}", self.hook.kind.name(), self.shown)
    }

    fn skip(&self, outcome: Outcome) -> Option<String> {
        let runs = match self.on {
            NotifyOn::Always => true,
            NotifyOn::Warn => outcome != Outcome::Pass,
            NotifyOn::Critical => outcome == Outcome::Critical,
        };
        let on = match self.on {
            NotifyOn::Always => "always",
            NotifyOn::Warn => "warn",
            NotifyOn::Critical => "critical",
        };
        (!runs).then(|| {
            format!(
                "verdict {}; notifications are sent on {on} (--notify-on)",
                outcome.name()
            )
        })
    }

    fn budget(&self) -> Duration {
        DEADLINE + Duration::from_secs(1)
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext) -> BoxFuture<'a, Result<Done, ActionError>> {
        Box::pin(async move {
            let payload = payload(self.hook.kind, ctx);
            // Serializing a `Value` cannot fail.
            let body = serde_json::to_vec(&payload).unwrap_or_default();
            Ok(Done::from(self.deliver(body).await?))
        })
    }
}

/// The JSON a receiver of `kind` gets.
pub fn payload(kind: Kind, ctx: &ActionContext) -> Value {
    let verdict = ctx.outcome.name();
    let title = format!(
        "loadgate: {} on `{}` (exit {})",
        verdict.to_uppercase(),
        ctx.scenario,
        ctx.exit_code
    );
    let lines: Vec<String> = ctx
        .worst
        .iter()
        .map(|w| format!("• {w}: {}", cut(&w.message, MESSAGE_CHARS)))
        .collect();
    let text = if lines.is_empty() {
        "no gated metric regressed".to_string()
    } else {
        lines.join("\n")
    };
    let c = &ctx.counts;
    let counts = [
        ("critical", c.critical),
        ("warn", c.warn),
        ("incomplete", c.incomplete),
    ];
    match kind {
        Kind::Slack => json!({
            "text": title,
            "attachments": [{
                "color": format!("#{:06x}", colour(ctx.outcome)),
                "title": format!("verdict: {verdict}"),
                "text": text,
                "fields": counts.iter().map(|(k, v)| json!({"title": k, "value": v.to_string(), "short": true})).collect::<Vec<_>>(),
                "footer": "loadgate",
            }],
        }),
        Kind::Discord => json!({
            "content": title,
            "embeds": [{
                "title": format!("verdict: {verdict}"),
                "description": text,
                "color": colour(ctx.outcome),
                "fields": counts.iter().map(|(k, v)| json!({"name": k, "value": v.to_string(), "inline": true})).collect::<Vec<_>>(),
            }],
        }),
        Kind::Generic => json!({
            "schema_version": 1,
            "tool": "loadgate",
            "scenario": ctx.scenario,
            "verdict": verdict,
            "exit_code": ctx.exit_code,
            "color": format!("#{:06x}", colour(ctx.outcome)),
            "counts": {"critical": c.critical, "warn": c.warn, "incomplete": c.incomplete},
            "worst": ctx.worst.iter().map(|w| json!({
                "request": w.request,
                "metric": w.metric,
                "status": w.status.name(),
                "change": w.change,
                "message": w.message,
            })).collect::<Vec<_>>(),
            "report_json": ctx.report_json,
            "result_json": ctx.result_json,
        }),
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::context::tests::context;

    #[test]
    fn urls_are_shown_without_their_secret_path() {
        assert_eq!(
            redact("https://hooks.slack.com/services/T0/B0/s3cret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact("http://127.0.0.1:9000/hook?k=s"),
            "http://127.0.0.1:9000/…"
        );
        assert!(!redact("not a url/xyzzy").contains("xyzzy"));
    }

    #[test]
    fn payloads_carry_the_verdict_and_the_severity_colour() {
        let ctx = context(Outcome::Critical);
        let s = payload(Kind::Slack, &ctx);
        assert_eq!(s["attachments"][0]["color"], "#d73a49");
        assert!(s["text"]
            .as_str()
            .unwrap()
            .contains("CRITICAL on `checkout`"));
        assert!(s["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .contains("all p95 +43.2%"));
        let d = payload(Kind::Discord, &ctx);
        assert_eq!(d["embeds"][0]["color"], 0xd73a49);
        let g = payload(Kind::Generic, &ctx);
        assert_eq!(g["verdict"], "critical");
        assert_eq!(g["worst"][0]["metric"], "p95");
        assert_eq!(g["counts"]["incomplete"], 1);
    }

    #[test]
    fn bad_urls_are_refused_in_preflight_without_showing_them() {
        let hook = Webhook {
            kind: Kind::Slack,
            flag: "--notify-slack",
            url: "hooks.slack.com/services/SECRET".into(),
        };
        assert!(!format!("{hook:?}").contains("SECRET"));
        let e = Notifier::prepare(hook, NotifyOn::Critical)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--notify-slack") && !e.contains("SECRET"), "{e}");
    }

    #[test]
    fn notify_on_chooses_the_verdicts() {
        let n = |on| Notifier {
            hook: Webhook {
                kind: Kind::Generic,
                flag: "--notify-webhook",
                url: "http://127.0.0.1:1/".into(),
            },
            shown: String::new(),
            on,
            client: reqwest::Client::new(),
        };
        let runs = |on, o| n(on).skip(o).is_none();
        assert!(runs(NotifyOn::Critical, Outcome::Critical));
        assert!(!runs(NotifyOn::Critical, Outcome::Warn));
        assert!(runs(NotifyOn::Warn, Outcome::Incomplete));
        assert!(!runs(NotifyOn::Warn, Outcome::Pass));
        assert!(runs(NotifyOn::Always, Outcome::Pass));
    }
}

//! The target: which base URL the load goes to, and the preflight probe that must pass before any load.
//!
//! Precedence: `--demo` > `--target` > `target.base_url` in the scenario. A URL with credentials is
//! refused and never echoed: credentials belong in a header from `${env:NAME}`.

use url::Url;

use crate::load::client::ClientOptions;
use crate::load::LoadError;
use crate::scenario::TargetSpec;

/// A validated base URL (http or https, no credentials, no query or fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: Url,
    accept_invalid_certs: bool,
}

impl Target {
    /// Parses and validates a base URL given by `source` (for messages: "--target", "target.base_url").
    pub fn parse(text: &str, source: &str) -> Result<Self, LoadError> {
        let bad = |problem: &str| LoadError::TargetUrl {
            source_name: source.to_string(),
            shown: redact(text),
            problem: problem.to_string(),
        };
        let url = Url::parse(text.trim())
            .map_err(|_| bad("not a valid absolute URL (e.g. http://127.0.0.1:8080)"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "it contains credentials; loadgate never stores them: send them as a header with \
                 `${env:NAME}` in `[target] headers` instead",
            ));
        }
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(bad("only http:// and https:// are supported"));
        }
        if url.host().is_none() {
            return Err(bad("it has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "a base URL has no query or fragment; put them in each request's `path`",
            ));
        }
        Ok(Self {
            url,
            accept_invalid_certs: false,
        })
    }

    /// Turns off TLS certificate verification (`--danger-accept-invalid-certs`).
    pub fn accepting_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }

    /// Whether TLS certificates go unverified.
    pub fn accepts_invalid_certs(&self) -> bool {
        self.accept_invalid_certs
    }

    /// The base URL as goose needs it (no trailing slash, so `path` joins cleanly).
    pub fn base(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_string()
    }

    /// URL of `path` on this target.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }
}

/// A URL safe to print: credentials masked, or a placeholder when it does not parse.
pub fn redact(text: &str) -> String {
    match Url::parse(text.trim()) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("***");
                let _ = u.set_password(None);
            }
            u.to_string()
        }
        Err(_) if text.contains('@') => {
            "<unparsable URL, not shown: it may hold credentials>".to_string()
        }
        Err(_) => text.to_string(),
    }
}

/// Probes the target until it answers: the health path must return 2xx; without one, any HTTP
/// response from `/` proves the service is up. Retries with the scenario's interval.
/// `secrets` (the scenario's `${env:NAME}` values) are masked in the URL an error shows: a base
/// URL may hold one in its path.
pub async fn preflight(
    target: &Target,
    spec: &TargetSpec,
    secrets: &crate::secret::Secrets,
) -> Result<(), LoadError> {
    let health = &spec.health;
    let client = ClientOptions::new(spec, target.accepts_invalid_certs()).client(health.timeout)?;
    // Per-user values (a captured token) do not exist yet: the probe sends the static headers.
    let headers: Vec<(&str, &str)> = spec
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_static()?)))
        .collect();
    let path = health.path.as_deref().unwrap_or("/");
    let url = target.join(path);
    let mut last = String::new();
    for attempt in 0..=health.retries {
        if attempt > 0 {
            until_interrupted(tokio::time::sleep(health.interval)).await?;
        }
        let mut rb = client.get(&url);
        for (k, v) in &headers {
            rb = rb.header(*k, *v);
        }
        match until_interrupted(rb.send()).await? {
            Ok(r) if health.path.is_none() || r.status().is_success() => return Ok(()),
            Ok(r) => {
                let location = r
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok());
                last = match crate::http::leaves_host(r.url(), r.status().as_u16(), location) {
                    true => format!(
                        "{path} answered {} with a redirect to another host, which is not followed \
                         (set `[target] cross_host_redirects = true` to follow it)",
                        r.status()
                    ),
                    false => format!("{path} answered {}", r.status()),
                }
            }
            Err(e) if e.is_timeout() => last = format!("no answer within {:?}", health.timeout),
            Err(e) if e.is_connect() => {
                let chain = error_chain(&e);
                last = if chain.contains("certificate") || chain.contains("Certificate") {
                    format!(
                        "the TLS certificate is not trusted ({}); give its CA as `[target] ca_file` (PEM), or pass --danger-accept-invalid-certs",
                        chain.rsplit(": ").next().unwrap_or(&chain)
                    )
                } else {
                    "connection refused or unreachable".to_string()
                }
            }
            Err(e) => last = format!("request failed: {}", error_chain(&e)),
        }
        log::info!(
            "preflight attempt {} of {}: {last}",
            attempt + 1,
            health.retries + 1
        );
    }
    Err(LoadError::Unhealthy {
        url: secrets.redact(&redact(&url)),
        attempts: health.retries + 1,
        last,
        waited: health.interval * health.retries,
    })
}

/// How often a wait in the preflight looks for Ctrl-C.
const INTERRUPT_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// `work`, unless Ctrl-C or SIGTERM comes first: then the preflight stops at once, instead of
/// after all its retries.
async fn until_interrupted<T>(work: impl std::future::Future<Output = T>) -> Result<T, LoadError> {
    let stop = async {
        while !crate::load::interrupted() {
            tokio::time::sleep(INTERRUPT_POLL).await;
        }
    };
    tokio::select! {
        v = work => Ok(v),
        () = stop => Err(LoadError::Interrupted),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_urls() {
        let t = Target::parse("http://127.0.0.1:8080/", "--target").unwrap();
        assert_eq!(t.base(), "http://127.0.0.1:8080");
        assert_eq!(t.join("/x?y=1"), "http://127.0.0.1:8080/x?y=1");
        let t = Target::parse("https://staging.example.com/api", "--target").unwrap();
        assert_eq!(t.join("/v1"), "https://staging.example.com/api/v1");
    }

    #[test]
    fn refuses_credentials_without_echoing_them() {
        let e = Target::parse("http://user:hunter2@host:1/", "--target")
            .unwrap_err()
            .to_string();
        assert!(e.contains("credentials"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("user:"), "{e}");
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        for bad in ["ftp://x/", "not a url", "http://x/?q=1", "127.0.0.1:8080"] {
            assert!(Target::parse(bad, "--target").is_err(), "{bad}");
        }
    }
}

//! Stage 1 — scenarios made from a bare URL: the one `loadgate run URL` loads at once, and the
//! commented starter file `loadgate init URL` writes for the user to grow. Both are ordinary
//! scenario text, validated like any file.

use url::Url;

/// Rate of a quick `run URL` without `--rate`: low enough that trying a URL never floods a
/// service by accident, high enough to give a p95 in 10 s.
pub const QUICK_RATE: u32 = 10;
/// Users of a quick run without `--users`: enough for [`QUICK_RATE`] at latencies up to ~1 s.
pub const QUICK_USERS: u32 = 10;
/// Measured time of a quick run without `--duration`.
pub const QUICK_DURATION: &str = "10s";
/// Name of a quick run's scenario (its history folder, its results' `scenario_name`).
pub const QUICK_NAME: &str = "quick";

/// A URL split into what a scenario needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starter {
    /// `scheme://host[:port]`.
    pub base_url: String,
    /// Path and query, at least `/`.
    pub path: String,
    /// A scenario name from the host, e.g. `api-example-com`.
    pub name: String,
}

/// A URL that cannot start a scenario; the message says how to write one that can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StarterError {
    /// No `http://` or `https://` in front.
    #[error("`{0}` has no scheme; write the whole URL, e.g. `http://{0}` (or `https://{0}`)")]
    NoScheme(String),
    /// Not a URL at all, or not HTTP.
    #[error(
        "`{url}` is not an http(s) URL ({problem}); write one like `http://localhost:8080/health`"
    )]
    Invalid {
        /// What was given.
        url: String,
        /// Why it was refused.
        problem: String,
    },
}

/// Whether `arg` is meant as a URL rather than a scenario file: it has a scheme, or it looks like
/// `host:port[/…]` or `host.tld/…` and names no `.toml` file.
pub fn looks_like_url(arg: &str) -> bool {
    if arg.contains("://") {
        return true;
    }
    if arg.ends_with(".toml") {
        return false;
    }
    let host = arg.split('/').next().unwrap_or_default();
    let port = host.rsplit_once(':').is_some_and(|(h, p)| {
        !h.is_empty() && !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())
    });
    let dotted = host.contains('.') && !host.starts_with('.') && !host.ends_with('.');
    port || host == "localhost" || (dotted && arg.contains('/'))
}

/// The starter for `url`, which must be an http(s) URL with a host.
pub fn parse(url: &str) -> Result<Starter, StarterError> {
    let invalid = |problem: &str| StarterError::Invalid {
        url: url.to_string(),
        problem: problem.to_string(),
    };
    if !url.contains("://") {
        return Err(StarterError::NoScheme(url.to_string()));
    }
    let parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("only http and https are loaded"));
    }
    let Some(host) = parsed.host_str() else {
        return Err(invalid("no host"));
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "credentials in a URL end up in reports; put them in a header with ${env:NAME}",
        ));
    }
    let base_url = match parsed.port() {
        Some(p) => format!("{}://{host}:{p}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    };
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let name: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    Ok(Starter {
        base_url,
        path,
        name: if name.is_empty() {
            "service".to_string()
        } else {
            name
        },
    })
}

/// A TOML basic string: quotes and backslashes escaped.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The scenario `loadgate run URL` loads: one GET of the URL at a paced rate. `[load]` comes from
/// the flags (or the quick defaults); the health probe is the URL itself.
pub fn quick_toml(s: &Starter) -> String {
    format!(
        "schema_version = 1\nname = \"{QUICK_NAME}\"\n\n[target]\nbase_url = {}\n\n\
[load]\nusers = {QUICK_USERS}\nrate = {QUICK_RATE}\nramp_up = \"1s\"\nduration = \"{QUICK_DURATION}\"\n\n\
[[request]]\nname = {}\npath = {}\n",
        quoted(&s.base_url),
        quoted(&format!("GET {}", s.path)),
        quoted(&s.path),
    )
}

/// The commented starter scenario `loadgate init URL` writes.
pub fn commented_toml(s: &Starter) -> String {
    format!(
        r#"# A loadgate scenario: what traffic to send, how much, and what a regression is.
# Every key is documented in scenarios/README.md of the loadgate repository.
schema_version = 1
# The baseline of this scenario is baselines/<name>.json.
name = {name}

[target]
# Where the load goes; `--target URL` overrides it (e.g. a staging URL from CI).
base_url = {base}
# Secrets come from the environment, never from this file:
# headers = {{ Authorization = "Bearer ${{env:API_TOKEN}}" }}
# Probed before any load; the run is refused while it fails.
health = {{ path = {path}, retries = 5, interval = "1s", timeout = "2s" }}

[load]
# Open model: `rate` requests per second, whatever the latency (what users do). Remove `rate`
# for a closed model, where each of `users` sends its next request when the last one answers.
rate = 20
users = 16
# Not measured: lets connections and caches warm up.
ramp_up = "5s"
# Measured. Longer runs give tighter verdicts; 30 s or more for a gate in CI.
duration = "30s"
request_timeout = "5s"

[[request]]
name = {req_name}
path = {path}
# method = "POST"
# body = '{{"sku": "A-1"}}'
# headers = {{ "Content-Type" = "application/json" }}
# expect_status = [200]
# weight = 1            # share of the traffic among the requests

[gate]
# A gated metric worse than the baseline by more than `warn` warns, by more than `critical`
# fails the build (exit 1); the noise guard keeps run-to-run noise from doing either.
warn = "10%"
critical = "20%"
# Absolute objectives, checked on every run whatever the baseline says:
# slo = {{ p95 = "300ms", error_rate = "1%" }}
"#,
        name = quoted(&s.name),
        base = quoted(&s.base_url),
        path = quoted(&s.path),
        req_name = quoted(&format!("GET {}", s.path)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::validate::from_toml;
    use std::path::Path;

    fn starter(url: &str) -> Starter {
        parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn a_url_splits_into_base_path_and_a_name() {
        assert_eq!(
            starter("https://api.example.com:8443/v1/items?page=2"),
            Starter {
                base_url: "https://api.example.com:8443".into(),
                path: "/v1/items?page=2".into(),
                name: "api-example-com".into(),
            }
        );
        assert_eq!(starter("http://localhost:8080").path, "/");
        assert_eq!(starter("http://[::1]:9000/x").name, "1");
    }

    #[test]
    fn a_url_without_scheme_gets_the_fix() {
        let e = parse("localhost:8080/health").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("`localhost:8080/health` has no scheme; write the whole URL, e.g. `http://localhost:8080/health` (or `https://localhost:8080/health`)")
        );
        for bad in ["ftp://example.com/", "http://", "http://u:p@example.com/"] {
            assert!(
                matches!(parse(bad), Err(StarterError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn urls_and_scenario_files_are_told_apart() {
        for url in [
            "http://x",
            "localhost:8080",
            "localhost",
            "127.0.0.1:3000/health",
            "api.example.com/v1",
        ] {
            assert!(looks_like_url(url), "{url}");
        }
        for file in [
            "scenarios/demo.toml",
            "demo.toml",
            "checkout",
            "my.scenario",
            "./x/y",
        ] {
            assert!(!looks_like_url(file), "{file}");
        }
    }

    #[test]
    fn both_scenarios_are_valid_and_quote_what_they_embed() -> Result<(), Box<dyn std::error::Error>>
    {
        let s = starter("http://localhost:8080/search?q=\"a\"\\b");
        let env = |_: &str| None;
        let quick = from_toml(Path::new("quick"), &quick_toml(&s), &env)?;
        assert_eq!(quick.load.rate, Some(QUICK_RATE));
        assert_eq!(quick.requests.len(), 1);
        let init = from_toml(Path::new("init"), &commented_toml(&s), &env)?;
        assert_eq!(init.name, "localhost");
        assert_eq!(
            init.target.base_url.as_deref(),
            Some("http://localhost:8080")
        );
        Ok(())
    }
}

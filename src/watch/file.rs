//! Watch — the watch file (TOML, `schemas/watch.schema.json`): what to read, how long, and the
//! objectives; validated into a [`WatchSpec`] with errors naming the file, the key and the fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::scenario::units::{parse_duration, Percent};
use crate::secret::Secrets;

/// The largest watch file read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchFile {
    name: String,
    source: SourceFile,
    window: WindowFile,
    errors: Option<ErrorsFile>,
    latency: Option<LatencyFile>,
    #[serde(default)]
    check: Vec<CheckFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    prometheus: Option<String>,
    metrics: Option<String>,
    command: Option<Vec<String>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    duration: String,
    poll: String,
    compare: Option<String>,
    max_failed_polls: Option<u32>,
    min_requests: Option<u64>,
    on_incomplete: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorsFile {
    requests: String,
    errors: String,
    max_rate: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyFile {
    buckets: String,
    quantile: f64,
    max_ms: Option<f64>,
    unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    name: String,
    query: String,
    max: Option<f64>,
    min: Option<f64>,
    for_polls: Option<u32>,
}

/// Where the readings come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A Prometheus server's HTTP API (base URL); queries are PromQL.
    Prometheus(String),
    /// A `/metrics` page scraped directly; queries are `name` or `name{label="value",…}`.
    Metrics(String),
    /// A program (no shell) printing one JSON object of counts; queries are its keys.
    Command(Vec<String>),
}

/// The validated watch file.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// Name (for the report, the hook's `LOADGATE_SCENARIO`, notifications).
    pub name: String,
    /// Source.
    pub source: Source,
    /// HTTP headers sent to the source, `${env:NAME}` resolved.
    pub headers: Vec<(String, String)>,
    /// Per-query time limit.
    pub timeout: Duration,
    /// Length of the watch.
    pub window: Duration,
    /// Time between polls.
    pub poll: Duration,
    /// Polls that may fail in a row before the watch gives up as incomplete.
    pub max_failed_polls: u32,
    /// Whether an incomplete watch (no data, too little traffic, the source lost) rolls back too:
    /// `window.on_incomplete = "rollback"`; by default it holds.
    pub rollback_on_incomplete: bool,
    /// Compare with the same length of time before the watch began (Prometheus only).
    pub compare_before: bool,
    /// Fewest requests to judge a rate (`None`: the rule of three, docs/watch.md).
    pub min_requests: Option<u64>,
    /// The error-rate signal.
    pub errors: Option<ErrorsSpec>,
    /// The latency signal.
    pub latency: Option<LatencySpec>,
    /// Other queries with a bound.
    pub checks: Vec<CheckSpec>,
    /// Secret values read from the environment, never printed.
    pub secrets: Secrets,
}

/// `[errors]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorsSpec {
    /// Query of the request counter(s).
    pub requests: String,
    /// Query of the error counter(s).
    pub errors: String,
    /// Objective: the highest acceptable error rate (a fraction).
    pub max_rate: Option<f64>,
}

/// `[latency]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySpec {
    /// Query of the histogram's `_bucket` series.
    pub buckets: String,
    /// The quantile judged, as a fraction (0.95).
    pub quantile: f64,
    /// Objective on that quantile, in milliseconds.
    pub max_ms: Option<f64>,
    /// Milliseconds per unit of the bucket bounds (1000 for seconds).
    pub ms_per_unit: f64,
}

/// `[[check]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// Name.
    pub name: String,
    /// Query (its series are summed).
    pub query: String,
    /// Upper bound.
    pub max: Option<f64>,
    /// Lower bound.
    pub min: Option<f64>,
    /// Polls in a row out of bounds that make a breach.
    pub for_polls: u32,
}

impl WatchSpec {
    /// Every query, with the key it comes from (for preflight).
    pub fn queries(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(e) = &self.errors {
            q.push(("errors.requests".to_string(), e.requests.clone()));
            q.push(("errors.errors".to_string(), e.errors.clone()));
        }
        if let Some(l) = &self.latency {
            q.push(("latency.buckets".to_string(), l.buckets.clone()));
        }
        for (i, c) in self.checks.iter().enumerate() {
            q.push((format!("check[{i}].query"), c.query.clone()));
        }
        q
    }

    /// The source as safe to print: credentials in a URL masked, known secrets redacted.
    pub fn shown_source(&self) -> String {
        let text = match &self.source {
            Source::Prometheus(u) => format!("prometheus {}", crate::load::target::redact(u)),
            Source::Metrics(u) => format!("metrics {}", crate::load::target::redact(u)),
            Source::Command(c) => format!("command {}", c.join(" ")),
        };
        self.secrets.redact(&text)
    }
}

/// A watch file cannot be used. Each message names the file, the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Unreadable.
    #[error("cannot read watch file {}: {problem}; check the path", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        problem: String,
    },
    /// Not TOML, a wrong type or an unknown key.
    #[error("watch file {} is not valid: {message}\n  every key is documented in docs/watch.md", path.display())]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message, with line and column.
        message: String,
    },
    /// A value is wrong.
    #[error("watch file {}: `{key}`: {problem}; {fix}", path.display())]
    Invalid {
        /// File.
        path: PathBuf,
        /// Dotted key.
        key: String,
        /// What is wrong.
        problem: String,
        /// The fix.
        fix: String,
    },
}

/// Reads and validates a watch file; `env` looks up `${env:NAME}`.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<WatchSpec, FileError> {
    let bytes = crate::fsutil::read_limited(path, MAX_FILE_BYTES).map_err(|e| FileError::Read {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| FileError::Parse {
        path: path.to_path_buf(),
        message: "it is not UTF-8 text".to_string(),
    })?;
    parse(path, &text, env)
}

/// Validates watch-file text (`path` only names it in errors).
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<WatchSpec, FileError> {
    let file: WatchFile = toml::from_str(text).map_err(|e| FileError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let invalid = |key: &str, problem: String, fix: &str| FileError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem,
        fix: fix.to_string(),
    };
    if file.name.trim().is_empty() {
        return Err(invalid(
            "name",
            "is empty".into(),
            "name the watch, e.g. name = \"checkout\"",
        ));
    }
    let mut secrets = Secrets::default();
    let s = &file.source;
    let source = match (&s.prometheus, &s.metrics, &s.command) {
        (Some(u), None, None) => Source::Prometheus(http_url(u, "source.prometheus", &invalid)?),
        (None, Some(u), None) => Source::Metrics(http_url(u, "source.metrics", &invalid)?),
        (None, None, Some(c)) if c.first().is_some_and(|p| !p.trim().is_empty()) => {
            Source::Command(c.clone())
        }
        (None, None, Some(_)) => {
            return Err(invalid(
                "source.command",
                "names no program".into(),
                "write the program and its arguments, e.g. command = [\"./counts.sh\", \"--last\", \"5m\"]",
            ))
        }
        _ => {
            return Err(invalid(
                "source",
                "needs exactly one of `prometheus`, `metrics` and `command`".into(),
                "write e.g. prometheus = \"http://prometheus:9090\"",
            ))
        }
    };
    let mut headers = Vec::new();
    for (name, value) in &s.headers {
        let key = format!("source.headers.{name}");
        if matches!(source, Source::Command(_)) {
            return Err(invalid(
                &key,
                "headers are for HTTP sources".into(),
                "remove `headers`, or pass what the command needs in its environment",
            ));
        }
        let value = resolve_env(value, &mut secrets, env)
            .map_err(|problem| invalid(&key, problem, "export the variable, or fix its name"))?;
        headers.push((name.clone(), value));
    }
    let duration = |key: &str, text: &str| {
        parse_duration(text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                invalid(
                    key,
                    format!("`{text}` is not a positive duration"),
                    "write e.g. \"5m\", \"15s\" or \"500ms\"",
                )
            })
    };
    let w = &file.window;
    let window = duration("window.duration", &w.duration)?;
    let poll = duration("window.poll", &w.poll)?;
    // Unset, the timeout is 5 s or the poll interval, whichever is shorter.
    let timeout = match s.timeout.as_deref() {
        Some(t) => duration("source.timeout", t)?,
        None => Duration::from_secs(5).min(poll),
    };
    if poll > window {
        return Err(invalid(
            "window.poll",
            format!("{} is longer than the window {}", w.poll, w.duration),
            "poll several times per window, e.g. poll = \"15s\" for a 5m window",
        ));
    }
    if timeout > poll {
        return Err(invalid(
            "source.timeout",
            format!(
                "{} is longer than the poll interval {}",
                s.timeout.as_deref().unwrap_or("5s"),
                w.poll
            ),
            "make the per-query timeout at most the poll interval",
        ));
    }
    let compare_before =
        match w.compare.as_deref() {
            None | Some("none") => false,
            Some("before") if matches!(source, Source::Prometheus(_)) => true,
            Some("before") => {
                return Err(invalid(
                    "window.compare",
                    "\"before\" needs the history of a Prometheus server".into(),
                    "use source.prometheus, or remove `compare`",
                ))
            }
            Some(other) => return Err(invalid(
                "window.compare",
                format!("`{other}` is not a comparison"),
                "write compare = \"before\" (the same length of time before the watch) or \"none\"",
            )),
        };
    let rollback_on_incomplete = match w.on_incomplete.as_deref() {
        None | Some("hold") => false,
        Some("rollback") => true,
        Some(other) => {
            return Err(invalid(
                "window.on_incomplete",
                format!("`{other}` is not a choice"),
                "write on_incomplete = \"hold\" (the default: incomplete never rolls back) or \"rollback\"",
            ))
        }
    };
    let max_failed_polls = w.max_failed_polls.unwrap_or(3);
    if max_failed_polls == 0 {
        return Err(invalid(
            "window.max_failed_polls",
            "is 0".into(),
            "allow at least 1 failed poll (default 3)",
        ));
    }
    let query = |key: &str, q: &str| {
        if q.trim().is_empty() {
            Err(invalid(
                key,
                "is empty".into(),
                "write the query, e.g. 'http_requests_total{job=\"api\"}'",
            ))
        } else {
            Ok(q.trim().to_string())
        }
    };
    let errors = match &file.errors {
        Some(e) => Some(ErrorsSpec {
            requests: query("errors.requests", &e.requests)?,
            errors: query("errors.errors", &e.errors)?,
            max_rate: match &e.max_rate {
                Some(t) => Some(
                    t.parse::<Percent>()
                        .ok()
                        .map(|p| p.fraction())
                        .filter(|f| *f > 0.0 && *f < 1.0)
                        .ok_or_else(|| {
                            invalid(
                                "errors.max_rate",
                                format!("`{t}` is not a percentage between 0 and 100"),
                                "write e.g. max_rate = \"1%\"",
                            )
                        })?,
                ),
                None => None,
            },
        }),
        None => None,
    };
    let latency = match &file.latency {
        Some(l) => {
            if !(l.quantile > 0.0 && l.quantile < 100.0) {
                return Err(invalid(
                    "latency.quantile",
                    format!("{} is not a percentile between 0 and 100", l.quantile),
                    "write e.g. quantile = 95 for p95",
                ));
            }
            if let Some(m) = l.max_ms.filter(|m| !(m.is_finite() && *m > 0.0)) {
                return Err(invalid(
                    "latency.max_ms",
                    format!("{m} is not a positive number of milliseconds"),
                    "write e.g. max_ms = 350",
                ));
            }
            let ms_per_unit = match l.unit.as_deref().unwrap_or("s") {
                "s" => 1000.0,
                "ms" => 1.0,
                "us" => 0.001,
                other => {
                    return Err(invalid(
                        "latency.unit",
                        format!("`{other}` is not a unit of the bucket bounds"),
                        "write unit = \"s\" (the Prometheus convention), \"ms\" or \"us\"",
                    ))
                }
            };
            Some(LatencySpec {
                buckets: query("latency.buckets", &l.buckets)?,
                quantile: l.quantile / 100.0,
                max_ms: l.max_ms,
                ms_per_unit,
            })
        }
        None => None,
    };
    let mut checks = Vec::new();
    for (i, c) in file.check.iter().enumerate() {
        let key = |k: &str| format!("check[{i}].{k}");
        if c.max.is_none() && c.min.is_none() {
            return Err(invalid(
                &key("max"),
                format!("check `{}` has no bound", c.name),
                "give it max = … or min = …",
            ));
        }
        if let Some(b) = [c.max, c.min]
            .into_iter()
            .flatten()
            .find(|b| !b.is_finite())
        {
            return Err(invalid(
                &key("max"),
                format!("{b} is not a number"),
                "write a finite bound",
            ));
        }
        checks.push(CheckSpec {
            name: c.name.clone(),
            query: query(&key("query"), &c.query)?,
            max: c.max,
            min: c.min,
            for_polls: c.for_polls.unwrap_or(2).max(1),
        });
    }
    if errors.is_none() && latency.is_none() && checks.is_empty() {
        return Err(invalid(
            "errors",
            "the file watches nothing".into(),
            "add [errors], [latency] or a [[check]]",
        ));
    }
    let judges = errors.as_ref().is_some_and(|e| e.max_rate.is_some())
        || latency.as_ref().is_some_and(|l| l.max_ms.is_some())
        || !checks.is_empty()
        || compare_before;
    if !judges {
        return Err(invalid(
            "errors.max_rate",
            "nothing has an objective, so nothing can fail".into(),
            "set errors.max_rate, latency.max_ms, a [[check]] bound, or window.compare = \"before\"",
        ));
    }
    if let Source::Prometheus(u) | Source::Metrics(u) = &source {
        if let Ok(url) = url::Url::parse(u) {
            if let Some(p) = url.password() {
                secrets.add_value(p);
            }
        }
    }
    Ok(WatchSpec {
        name: file.name.trim().to_string(),
        source,
        headers,
        timeout,
        window,
        poll,
        max_failed_polls,
        rollback_on_incomplete,
        compare_before,
        min_requests: w.min_requests,
        errors,
        latency,
        checks,
        secrets,
    })
}

fn http_url(
    text: &str,
    key: &str,
    invalid: &dyn Fn(&str, String, &str) -> FileError,
) -> Result<String, FileError> {
    match url::Url::parse(text.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(text.trim().to_string())
        }
        _ => Err(invalid(
            key,
            format!(
                "`{}` is not an http(s) URL",
                crate::load::target::redact(text)
            ),
            "write e.g. \"http://prometheus:9090\"",
        )),
    }
}

/// `value` with each `${env:NAME}` replaced; every value read is a secret.
fn resolve_env(
    value: &str,
    secrets: &mut Secrets,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let end = after
            .find('}')
            .ok_or_else(|| "`${env:` is not closed by `}`".to_string())?;
        let name = &after[..end];
        let v = env(name).ok_or_else(|| format!("the variable {name} is not set"))?;
        secrets.add_var(name, &v);
        out.push_str(&v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "checkout"
[source]
prometheus = "http://127.0.0.1:9090"
headers = { Authorization = "Bearer ${env:PROM_TOKEN}" }
[window]
duration = "5m"
poll = "15s"
compare = "before"
[errors]
requests = 'sum(http_requests_total{job="api"})'
errors = 'sum(http_requests_total{job="api",code=~"5.."})'
max_rate = "1%"
[latency]
buckets = 'sum by (le) (http_request_duration_seconds_bucket{job="api"})'
quantile = 95
max_ms = 350
[[check]]
name = "saturation"
query = "max(cpu)"
max = 0.9
"#;

    fn env(name: &str) -> Option<String> {
        (name == "PROM_TOKEN").then(|| "tok-123456".to_string())
    }

    fn err(text: &str) -> String {
        parse(Path::new("w.toml"), text, &env)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_full_file_validates() {
        let s = parse(Path::new("w.toml"), GOOD, &env).unwrap();
        assert_eq!(s.window, Duration::from_secs(300));
        assert_eq!(s.errors.as_ref().unwrap().max_rate, Some(0.01));
        assert_eq!(s.latency.as_ref().unwrap().quantile, 0.95);
        assert_eq!(s.headers[0].1, "Bearer tok-123456");
        assert_eq!(s.secrets.redact("Bearer tok-123456"), "Bearer ***");
        assert_eq!(s.queries().len(), 4);
        assert!(s.compare_before);
    }

    #[test]
    fn mistakes_name_the_file_the_key_and_the_fix() {
        let e = err(&GOOD.replace("max_rate = \"1%\"", "max_rate = \"lots\""));
        assert!(
            e.contains("w.toml") && e.contains("`errors.max_rate`") && e.contains("\"1%\""),
            "{e}"
        );
        let e = err(&GOOD.replace("poll = \"15s\"", "poll = \"10m\""));
        assert!(e.contains("`window.poll`"), "{e}");
        let e = err(&GOOD.replace(
            "prometheus =",
            "metrics = \"http://x/metrics\"\nprometheus =",
        ));
        assert!(e.contains("exactly one"), "{e}");
        let e = err(&GOOD.replace("quantile = 95", "quantile = 950"));
        assert!(e.contains("`latency.quantile`"), "{e}");
        let e = err(&GOOD.replace("PROM_TOKEN", "NOT_SET_ANYWHERE"));
        assert!(e.contains("NOT_SET_ANYWHERE is not set"), "{e}");
        let e = err(&GOOD.replace("[window]", "[window]\nbogus = 1"));
        assert!(e.contains("unknown field") && e.contains("bogus"), "{e}");
        let e = err(&GOOD.replace("http://127.0.0.1:9090", "ftp://user:pw@host"));
        assert!(
            e.contains("`source.prometheus`") && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn an_incomplete_watch_holds_unless_the_file_says_rollback() {
        let s = parse(Path::new("w.toml"), GOOD, &env).unwrap();
        assert!(!s.rollback_on_incomplete);
        let text = GOOD.replace("[window]", "[window]\non_incomplete = \"rollback\"");
        assert!(
            parse(Path::new("w.toml"), &text, &env)
                .unwrap()
                .rollback_on_incomplete
        );
        let e = err(&GOOD.replace("[window]", "[window]\non_incomplete = \"panic\""));
        assert!(
            e.contains("`window.on_incomplete`") && e.contains("\"hold\""),
            "{e}"
        );
    }

    #[test]
    fn the_default_timeout_fits_a_short_poll() {
        let text = GOOD.replace("poll = \"15s\"", "poll = \"1s\"");
        let s = parse(Path::new("w.toml"), &text, &env).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(1));
        let e = err(&GOOD.replace("[window]", "timeout = \"30s\"\n[window]"));
        assert!(e.contains("`source.timeout`"), "{e}");
    }

    #[test]
    fn a_file_that_can_never_fail_is_refused() {
        let text = r#"
name = "x"
[source]
metrics = "http://127.0.0.1:1/metrics"
[window]
duration = "1m"
poll = "5s"
[errors]
requests = "a"
errors = "b"
"#;
        assert!(err(text).contains("nothing can fail"));
        assert!(err(&text.replace(
            "duration = \"1m\"",
            "duration = \"1m\"\ncompare = \"before\""
        ))
        .contains("Prometheus"));
    }
}

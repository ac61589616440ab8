//! Watch — where the readings come from: a Prometheus server's HTTP API (instant queries), a
//! `/metrics` page scraped directly (parsed by `sample::prometheus`), or a program printing counts
//! as JSON. Every read is bounded in size and time; what is shown of a URL, a header or a server's
//! answer has its secrets masked. Produces [`Snapshot`]s for [`crate::watch::state`].

use std::collections::BTreeMap;
use std::time::Duration;

use crate::watch::file::{Source, WatchSpec};
use crate::watch::series::Sample;
use crate::watch::state::Snapshot;

/// The largest answer read from a server or a command.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// The source cannot be used at all: exit 2, before the watch starts.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The HTTP client cannot be built, or a header is malformed.
    #[error("watch source {source_shown}: {problem}")]
    Setup {
        /// The source, safe to print.
        source_shown: String,
        /// What is wrong and the fix.
        problem: String,
    },
    /// A query was refused by the server, or matched nothing.
    #[error("watch query `{key}` ({query}) {problem}")]
    Query {
        /// The watch-file key of the query.
        key: String,
        /// The query.
        query: String,
        /// The server's message, or "matches no series", and the fix.
        problem: String,
    },
}

/// Fetches readings from the watch file's source.
pub struct Fetcher {
    source: Source,
    client: reqwest::Client,
    timeout: Duration,
    queries: Vec<(String, String)>,
    spec: WatchSpec,
}

impl Fetcher {
    /// A fetcher for `spec` (headers checked here).
    pub fn new(spec: &WatchSpec) -> Result<Self, SourceError> {
        let setup = |problem: String| SourceError::Setup {
            source_shown: spec.shown_source(),
            problem: spec.secrets.redact(&problem),
        };
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &spec.headers {
            let n = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                setup(format!(
                    "`{name}` is not an HTTP header name; fix source.headers"
                ))
            })?;
            let mut v = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                setup(format!(
                    "the value of header `{name}` is not a valid header value (a line break?); fix source.headers"
                ))
            })?;
            v.set_sensitive(true);
            headers.insert(n, v);
        }
        let client = reqwest::Client::builder()
            .timeout(spec.timeout)
            .redirect(crate::http::redirect_policy(false))
            .default_headers(headers)
            .build()
            .map_err(|e| setup(e.without_url().to_string()))?;
        Ok(Self {
            source: spec.source.clone(),
            client,
            timeout: spec.timeout,
            queries: spec.queries(),
            spec: spec.clone(),
        })
    }

    /// Checks every query once before the watch: a query the server refuses (a PromQL syntax
    /// error) or that matches no series is an error naming it and the server's message. The
    /// error query alone may match nothing (a healthy service has no 5xx series yet): that is a
    /// warning, returned for the caller to print.
    pub async fn preflight(&self) -> Result<Vec<String>, SourceError> {
        let mut warnings = Vec::new();
        let whole = match &self.source {
            Source::Prometheus(_) => None,
            _ => Some(
                self.fetch_raw()
                    .await
                    .map_err(|problem| SourceError::Query {
                        key: "source".to_string(),
                        query: self.spec.shown_source(),
                        problem,
                    })?,
            ),
        };
        for (key, query) in &self.queries {
            let fail = |problem: String| SourceError::Query {
                key: key.clone(),
                query: query.clone(),
                problem: self.spec.secrets.redact(&problem),
            };
            let samples = match &whole {
                None => self.prometheus(query, None).await.map_err(fail)?,
                Some(raw) => select(raw, query).map_err(fail)?,
            };
            if samples.is_empty() {
                let problem = "matches no series: check the metric name and labels (a typo would otherwise pass a faulty release)";
                if key == "errors.errors" {
                    warnings.push(format!(
                        "watch query `{key}` ({query}) {problem}; counted as zero errors until it does"
                    ));
                } else {
                    return Err(fail(problem.to_string()));
                }
            }
        }
        Ok(warnings)
    }

    /// One poll: every query now (or, for Prometheus, at the Unix time `at`).
    pub async fn snapshot(&self, at: Option<f64>) -> Result<Snapshot, String> {
        let mut snap = Snapshot::new();
        let redact = |p: String| self.spec.secrets.redact(&p);
        match &self.source {
            Source::Prometheus(_) => {
                for (key, query) in &self.queries {
                    let samples = self
                        .prometheus(query, at)
                        .await
                        .map_err(|p| redact(format!("query `{key}`: {p}")))?;
                    snap.insert(key.clone(), samples);
                }
            }
            _ => {
                let raw = self.fetch_raw().await.map_err(redact)?;
                for (key, query) in &self.queries {
                    let samples =
                        select(&raw, query).map_err(|p| redact(format!("query `{key}`: {p}")))?;
                    snap.insert(key.clone(), samples);
                }
            }
        }
        Ok(snap)
    }

    /// The whole reading of a `/metrics` page or a command, before selection.
    async fn fetch_raw(&self) -> Result<Raw, String> {
        match &self.source {
            Source::Metrics(url) => {
                let body = self.get(url).await?;
                if looks_like_html(&body) {
                    return Err("it answered an HTML page, not Prometheus metrics; check the URL (e.g. …/metrics)".to_string());
                }
                Ok(Raw::Metrics(crate::sample::prometheus::flat_series(&body)))
            }
            Source::Command(argv) => {
                let out = run_command(argv, self.timeout).await?;
                parse_command_output(&out).map(Raw::Json)
            }
            Source::Prometheus(_) => Err("no raw reading for a Prometheus server".to_string()),
        }
    }

    async fn get(&self, url: &str) -> Result<String, String> {
        let response = self.client.get(url).send().await.map_err(http_problem)?;
        let status = response.status();
        let body = read_bounded(response).await?;
        if !status.is_success() {
            return Err(format!("it answered {status}: {}", excerpt(&body)));
        }
        Ok(body)
    }

    /// An instant query; `at` as Unix seconds.
    async fn prometheus(&self, query: &str, at: Option<f64>) -> Result<Vec<Sample>, String> {
        let Source::Prometheus(base) = &self.source else {
            return Err("not a Prometheus source".to_string());
        };
        let mut url = url::Url::parse(base).map_err(|e| e.to_string())?;
        {
            let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
            url.set_path(&path);
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("query", query);
            if let Some(t) = at {
                pairs.append_pair("time", &format!("{t:.3}"));
            }
        }
        let response = self
            .client
            .get(url.as_str())
            .send()
            .await
            .map_err(http_problem)?;
        let status = response.status();
        let body = read_bounded(response).await?;
        parse_api_answer(status.as_u16(), &body)
    }
}

/// What a direct scrape or a command read, before the queries select from it.
enum Raw {
    Metrics(Vec<(String, BTreeMap<String, String>, f64)>),
    Json(BTreeMap<String, serde_json::Value>),
}

/// A reqwest error in words, without its URL (it may hold credentials).
fn http_problem(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer within the timeout (source.timeout)".to_string()
    } else if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else {
        e.without_url().to_string()
    }
}

async fn read_bounded(mut response: reqwest::Response) -> Result<String, String> {
    let too_big = || {
        format!("the answer is larger than {MAX_BODY_BYTES} bytes; narrow the query or the page")
    };
    if response
        .content_length()
        .is_some_and(|l| l > MAX_BODY_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http_problem)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "the answer is not UTF-8 text".to_string())
}

/// Neither the API's JSON nor exposition text starts with `<`; a login page or a proxy's error
/// page does.
fn looks_like_html(body: &str) -> bool {
    body.trim_start().starts_with('<')
}

/// The first line of a body, short, for an error message.
fn excerpt(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    let cut: String = line.chars().take(200).collect();
    if cut.is_empty() {
        "(empty body)".to_string()
    } else {
        cut
    }
}

/// Reads a Prometheus API answer: a vector or a scalar becomes samples; an error answer becomes
/// the server's own message.
pub fn parse_api_answer(status: u16, body: &str) -> Result<Vec<Sample>, String> {
    if looks_like_html(body) {
        return Err(format!(
            "the server answered {status} with an HTML page, not the Prometheus API; check source.prometheus (the server's base URL, without /api/v1)"
        ));
    }
    let json: serde_json::Value = serde_json::from_str(body).map_err(|_| {
        format!(
            "the server answered {status} with something that is not the Prometheus API's JSON: {}",
            excerpt(body)
        )
    })?;
    if json["status"] != "success" {
        let message = json["error"].as_str().unwrap_or("no message");
        let kind = json["errorType"].as_str().unwrap_or("error");
        return Err(format!("was refused by the server ({kind}): {message}"));
    }
    let data = &json["data"];
    let value = |v: &serde_json::Value| -> Result<f64, String> {
        v.get(1)
            .and_then(|s| s.as_str())
            .ok_or_else(|| "an answer without a value".to_string())?
            .parse::<f64>()
            .map_err(|_| format!("a value that is not a number: {v}"))
    };
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Sample {
                    labels,
                    value: value(&r["value"])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![Sample {
            labels: BTreeMap::new(),
            value: value(&data["result"])?,
        }]),
        other => Err(format!(
            "returns a {}, not an instant vector; drop the range selector `[…]`",
            other.unwrap_or("nothing")
        )),
    }
}

/// A metric selector of a direct scrape: `name` or `name{label="value",…}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// Metric name.
    pub name: String,
    /// Labels that must match exactly.
    pub labels: BTreeMap<String, String>,
}

/// Parses a selector; the error says what a valid one looks like.
pub fn parse_selector(text: &str) -> Result<Selector, String> {
    let bad = || {
        format!("`{text}` is not a metric selector; with a /metrics or command source write `name` or `name{{label=\"value\"}}` (no PromQL functions)")
    };
    let text = text.trim();
    let (name, rest) = match text.find('{') {
        Some(i) => (&text[..i], Some(&text[i..])),
        None => (text, None),
    };
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(bad());
    }
    let mut labels = BTreeMap::new();
    if let Some(rest) = rest {
        let inner = rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(bad)?;
        for pair in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(bad)?;
            let v = v.trim();
            if k.trim().is_empty()
                || v.len() < 2
                || !v.starts_with('"')
                || !v.ends_with('"')
                || k.ends_with('!')
            {
                return Err(bad());
            }
            labels.insert(k.trim().to_string(), v[1..v.len() - 1].to_string());
        }
    }
    Ok(Selector {
        name: name.to_string(),
        labels,
    })
}

fn select(raw: &Raw, query: &str) -> Result<Vec<Sample>, String> {
    match raw {
        Raw::Metrics(series) => {
            let sel = parse_selector(query)?;
            Ok(series
                .iter()
                .filter(|(n, labels, _)| {
                    *n == sel.name && sel.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
                })
                .map(|(_, labels, v)| Sample {
                    labels: labels.clone(),
                    value: *v,
                })
                .collect())
        }
        Raw::Json(map) => match map.get(query) {
            None => Ok(Vec::new()),
            Some(serde_json::Value::Number(n)) => Ok(vec![Sample {
                labels: BTreeMap::new(),
                value: n.as_f64().unwrap_or(f64::NAN),
            }]),
            Some(serde_json::Value::Object(buckets)) => buckets
                .iter()
                .map(|(le, v)| {
                    v.as_f64()
                        .map(|value| Sample::new(&[("le", le)], value))
                        .ok_or_else(|| format!("bucket `{le}` of `{query}` is not a number"))
                })
                .collect(),
            Some(other) => Err(format!(
                "`{query}` is {other}, neither a number nor an object of buckets"
            )),
        },
    }
}

/// The command's output: one JSON object of counts.
pub fn parse_command_output(out: &str) -> Result<BTreeMap<String, serde_json::Value>, String> {
    serde_json::from_str(out.trim()).map_err(|_| {
        format!(
            "the command printed something that is not a JSON object of counts, e.g. {{\"requests\": 1200, \"errors\": 3}}: {}",
            excerpt(out)
        )
    })
}

async fn run_command(argv: &[String], timeout: Duration) -> Result<String, String> {
    use tokio::io::AsyncReadExt;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "names no program".to_string())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}; check source.command"))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| "no output pipe".to_string())?;
    let work = async {
        let mut out = Vec::new();
        (&mut stdout)
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .await
            .map_err(|e| format!("cannot read its output: {e}"))?;
        if out.len() > MAX_BODY_BYTES {
            return Err(format!("it printed more than {MAX_BODY_BYTES} bytes"));
        }
        let status = child.wait().await.map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("`{program}` failed ({status})"));
        }
        String::from_utf8(out).map_err(|_| "its output is not UTF-8".to_string())
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "`{program}` gave no answer within {}; it was stopped",
            crate::action::seconds(timeout)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_answers_become_samples_or_the_servers_message() {
        let ok = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"0.1"},"value":[1.5,"42"]}]}}"#;
        let s = parse_api_answer(200, ok).unwrap();
        assert_eq!(s, vec![Sample::new(&[("le", "0.1")], 42.0)]);
        let nan = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,"NaN"]}]}}"#;
        assert!(parse_api_answer(200, nan).unwrap()[0].value.is_nan());
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"0.3"]}}"#;
        assert_eq!(parse_api_answer(200, scalar).unwrap()[0].value, 0.3);
        let err =
            r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected"}"#;
        let e = parse_api_answer(400, err).unwrap_err();
        assert!(e.contains("bad_data") && e.contains("parse error"), "{e}");
        let e = parse_api_answer(200, "<!DOCTYPE html><html>login</html>").unwrap_err();
        assert!(e.contains("HTML"), "{e}");
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_api_answer(200, matrix).unwrap_err().contains("range"));
        assert!(parse_api_answer(502, "Bad gateway")
            .unwrap_err()
            .contains("502"));
    }

    #[test]
    fn selectors_are_names_with_exact_labels() {
        let s = parse_selector(r#"http_requests_total{code="500", job="api"}"#).unwrap();
        assert_eq!(s.name, "http_requests_total");
        assert_eq!(s.labels.len(), 2);
        assert!(parse_selector("rate(x[5m])").is_err());
        assert!(parse_selector(r#"x{code!="500"}"#).is_err());
        assert!(parse_selector(r#"x{code=~"5.."}"#).is_err());
    }

    #[test]
    fn a_scrape_selects_series_and_buckets() {
        let text = "# TYPE lat histogram
lat_bucket{le=\"0.1\"} 3
lat_bucket{le=\"+Inf\"} 5
# TYPE reqs counter
reqs{code=\"200\"} 10
reqs{code=\"500\"} 2
";
        let raw = Raw::Metrics(crate::sample::prometheus::flat_series(text));
        assert_eq!(select(&raw, "reqs").unwrap().len(), 2);
        assert_eq!(select(&raw, r#"reqs{code="500"}"#).unwrap()[0].value, 2.0);
        assert_eq!(select(&raw, "lat_bucket").unwrap().len(), 2);
        assert!(select(&raw, "nothing").unwrap().is_empty());
    }

    #[test]
    fn command_output_is_counts_and_buckets() {
        let map = parse_command_output(
            r#"{"requests": 100, "errors": 2, "lat": {"0.1": 90, "+Inf": 100}}"#,
        )
        .unwrap();
        let raw = Raw::Json(map);
        assert_eq!(select(&raw, "errors").unwrap()[0].value, 2.0);
        assert_eq!(select(&raw, "lat").unwrap().len(), 2);
        assert!(select(
            &Raw::Json(parse_command_output(r#"{"x": "many"}"#).unwrap()),
            "x"
        )
        .is_err());
        assert!(parse_command_output("requests=5").is_err());
    }

    #[test]
    fn html_is_recognized() {
        assert!(looks_like_html("  <html><body>"));
        assert!(!looks_like_html("# HELP x\nx 1"));
    }
}

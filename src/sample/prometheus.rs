//! Remote sampling: a Prometheus text-format endpoint (the service's own `/metrics` or a node
//! exporter's), parsed with `prometheus-parse`. By default `process_resident_memory_bytes` and
//! `process_cpu_seconds_total`, the names every Prometheus client library exports.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use prometheus_parse::{Scrape, Value};

use crate::sample::{Reading, SampleError, Sampler};

/// Default memory metric (bytes).
pub const DEFAULT_MEMORY_METRIC: &str = "process_resident_memory_bytes";
/// Default CPU metric (seconds, a counter).
pub const DEFAULT_CPU_METRIC: &str = "process_cpu_seconds_total";

/// Scrapes one endpoint.
pub struct PrometheusSampler {
    client: reqwest::Client,
    url: String,
    shown: String,
    memory_metric: String,
    cpu_metric: String,
    labels: BTreeMap<String, String>,
}

impl PrometheusSampler {
    /// A sampler of `url` (`shown` is the URL safe to print).
    pub fn new(
        url: String,
        shown: String,
        memory_metric: String,
        cpu_metric: String,
        labels: BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<Self, SampleError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(crate::http::redirect_policy(false))
            .build()
            .map_err(|e| SampleError::Scrape {
                url: shown.clone(),
                problem: e.to_string(),
            })?;
        Ok(Self {
            client,
            url,
            shown,
            memory_metric,
            cpu_metric,
            labels,
        })
    }

    fn pick(&self, scrape: &Scrape, metric: &str) -> Option<f64> {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter(|s| {
                self.labels
                    .iter()
                    .all(|(k, v)| s.labels.get(k) == Some(v.as_str()))
            })
            .find_map(|s| match s.value {
                Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) if v.is_finite() => Some(v),
                _ => None,
            })
    }
}

/// Parses exposition text and picks the two metrics. Pure, for tests and fuzzing.
pub fn parse(text: &str) -> Scrape {
    // The parser only fails on I/O errors, which an in-memory iterator cannot produce.
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap_or(Scrape {
        docs: Default::default(),
        samples: Vec::new(),
    })
}

/// Every sample of exposition text as (name, labels, value), a histogram's buckets flattened back
/// into `NAME_bucket{le="…"}` series (how PromQL names them), for `loadgate watch`'s direct scrape.
/// Lines the parser cannot read (a non-numeric value) are absent.
pub fn flat_series(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for s in parse(text).samples {
        let labels: BTreeMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match s.value {
            Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => {
                out.push((s.metric, labels, v));
            }
            Value::Histogram(buckets) => {
                for b in buckets {
                    let mut with_le = labels.clone();
                    let le = if b.less_than.is_infinite() {
                        "+Inf".to_string()
                    } else {
                        b.less_than.to_string()
                    };
                    with_le.insert("le".to_string(), le);
                    out.push((format!("{}_bucket", s.metric), with_le, b.count));
                }
            }
            Value::Summary(_) => {}
        }
    }
    out
}

impl Sampler for PrometheusSampler {
    fn source(&self) -> String {
        self.shown.clone()
    }

    fn read(&mut self) -> Pin<Box<dyn Future<Output = Result<Reading, SampleError>> + Send + '_>> {
        Box::pin(async move {
            let fail = |problem: String| SampleError::Scrape {
                url: self.shown.clone(),
                problem,
            };
            let response = self.client.get(&self.url).send().await.map_err(|e| {
                fail(if e.is_timeout() {
                    "no answer in time".into()
                } else if e.is_connect() {
                    "connection refused or unreachable".into()
                } else {
                    e.to_string()
                })
            })?;
            if !response.status().is_success() {
                return Err(fail(format!("it answered {}", response.status())));
            }
            let text = response
                .text()
                .await
                .map_err(|e| fail(format!("cannot read the body: {e}")))?;
            let scrape = parse(&text);
            let labels = if self.labels.is_empty() {
                String::new()
            } else {
                format!(" with labels {:?}", self.labels)
            };
            let rss =
                self.pick(&scrape, &self.memory_metric)
                    .ok_or_else(|| SampleError::NoMetric {
                        url: self.shown.clone(),
                        metric: self.memory_metric.clone(),
                        labels: labels.clone(),
                    })?;
            let cpu = self.pick(&scrape, &self.cpu_metric);
            Ok(Reading {
                rss_bytes: Some(rss.max(0.0) as u64),
                cpu_seconds: cpu,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.5165824e+07
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# TYPE app_rss gauge
app_rss{instance=\"a\"} 100
app_rss{instance=\"b\"} 200
";

    fn sampler(memory: &str, labels: &[(&str, &str)]) -> PrometheusSampler {
        PrometheusSampler::new(
            "http://127.0.0.1:1/metrics".into(),
            "http://127.0.0.1:1/metrics".into(),
            memory.into(),
            DEFAULT_CPU_METRIC.into(),
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    #[test]
    fn picks_metrics_and_labels() {
        let scrape = parse(TEXT);
        assert_eq!(
            sampler(DEFAULT_MEMORY_METRIC, &[]).pick(&scrape, DEFAULT_MEMORY_METRIC),
            Some(25_165_824.0)
        );
        assert_eq!(
            sampler("app_rss", &[]).pick(&scrape, DEFAULT_CPU_METRIC),
            Some(12.5)
        );
        assert_eq!(
            sampler("app_rss", &[("instance", "b")]).pick(&scrape, "app_rss"),
            Some(200.0)
        );
        assert_eq!(
            sampler("app_rss", &[("instance", "c")]).pick(&scrape, "app_rss"),
            None
        );
    }

    #[test]
    fn garbage_parses_to_nothing_rather_than_failing() {
        let scrape = parse("<html>not metrics</html>\n\u{0}\u{1}{{{");
        assert_eq!(
            sampler(DEFAULT_MEMORY_METRIC, &[]).pick(&scrape, DEFAULT_MEMORY_METRIC),
            None
        );
    }

    #[test]
    fn histograms_flatten_back_into_bucket_series() {
        let text = "# TYPE req_seconds histogram
req_seconds_bucket{route=\"/a\",le=\"0.1\"} 3
req_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4
req_seconds_sum{route=\"/a\"} 0.5
req_seconds_count{route=\"/a\"} 4
# TYPE hits counter
hits{code=\"200\"} 7
hits{code=\"500\"} not-a-number
";
        let flat = flat_series(text);
        let find = |name: &str, le: Option<&str>| {
            flat.iter()
                .find(|(n, l, _)| n == name && l.get("le").map(String::as_str) == le)
                .map(|s| s.2)
        };
        assert_eq!(find("req_seconds_bucket", Some("0.1")), Some(3.0));
        assert_eq!(find("req_seconds_bucket", Some("+Inf")), Some(4.0));
        assert_eq!(find("hits", None), Some(7.0));
        assert_eq!(flat.iter().filter(|s| s.0 == "hits").count(), 1);
    }

    #[tokio::test]
    async fn an_endpoint_that_is_down_is_a_clear_error() {
        let mut s = sampler(DEFAULT_MEMORY_METRIC, &[]);
        let e = s.read().await.unwrap_err().to_string();
        assert!(
            e.contains("cannot scrape") && e.contains("127.0.0.1:1"),
            "{e}"
        );
    }
}

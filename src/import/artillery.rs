//! Artillery 2 `--output` JSON. It keeps no per-request samples, only per-period summaries
//! (`intermediate`, typically 10 s each): counts are exact, and each period's latency histogram is
//! reconstructed from its percentiles. Such a result is gated on thresholds alone; the reports say
//! so, and no noise guard is pretended (see `Imported::summaries_only`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::import::build::{self, Origin};
use crate::import::{Context, ImportError, Input};
use crate::result::imported::Format;
use crate::result::{LatencyHistogram, RequestStats, RunResult, Window};

/// Period of Artillery's intermediate reports when the file gives no two periods to measure it.
const DEFAULT_PERIOD_MS: u64 = 10_000;
const ENDPOINT: &str = "plugins.metrics-by-endpoint.";

#[derive(Deserialize)]
struct Report {
    intermediate: Vec<Period>,
}

#[derive(Deserialize)]
struct Period {
    #[serde(default)]
    counters: BTreeMap<String, f64>,
    #[serde(default)]
    summaries: BTreeMap<String, Summary>,
    #[serde(default)]
    period: Option<serde_json::Value>,
    #[serde(default, rename = "firstCounterAt")]
    first_counter_at: Option<i64>,
}

#[derive(Deserialize, Clone, Copy)]
struct Summary {
    min: f64,
    max: f64,
    count: f64,
    p50: f64,
    p75: f64,
    p90: f64,
    p95: f64,
    p99: f64,
    p999: f64,
}

/// Parses one Artillery report (several are several runs: import them one at a time).
pub fn parse(inputs: &[Input], ctx: &Context) -> Result<RunResult, ImportError> {
    if inputs.len() > 1 {
        return Err(ImportError::file(
            &inputs[1].path,
            "Artillery reports are imported one at a time (each is one run)",
        ));
    }
    let input = &inputs[0];
    let path = &input.path;
    let value: serde_json::Value = serde_json::from_slice(&input.bytes).map_err(|e| {
        let problem = if e.is_eof() {
            format!("the file is truncated ({e})")
        } else {
            format!("not JSON ({e}); write the report with `artillery run --output FILE`")
        };
        ImportError::at(path, format!("line {}", e.line()), problem)
    })?;
    if value.pointer("/aggregate/latency").is_some() {
        return Err(ImportError::file(
            path,
            "an Artillery 1.x report (`aggregate.latency`): loadgate reads Artillery 2's; run the test with Artillery 2",
        ));
    }
    let report: Report = serde_json::from_value(value).map_err(|e| {
        ImportError::file(path, format!("not an Artillery 2 report ({e}): it needs `intermediate` periods with `counters` and `summaries`"))
    })?;
    let periods = &report.intermediate;
    let starts: Vec<Option<i64>> = periods.iter().map(start).collect();
    let window_ms = match (
        starts.first().copied().flatten(),
        starts.get(1).copied().flatten(),
    ) {
        (Some(a), Some(b)) if b > a => (b - a) as u64,
        _ => DEFAULT_PERIOD_MS,
    };
    let names = endpoints(periods);
    let mut per_name: BTreeMap<String, RequestStats> = BTreeMap::new();
    for name in &names {
        let mut stats = RequestStats::default();
        let mut hists = Vec::new();
        for (k, p) in periods.iter().enumerate() {
            let at = format!("intermediate[{k}]");
            let (window, h) = period_of(p, name.as_deref(), &mut stats, path, &at)?;
            stats.windows.push(window);
            hists.push(h);
        }
        build::finish(&mut stats, hists);
        per_name.insert(name.clone().unwrap_or_else(|| "http".to_string()), stats);
    }
    let origin = Origin {
        format: Format::Artillery,
        tool_version: None,
        sources: vec![path.display().to_string()],
        ctx,
    };
    build::from_summaries(
        per_name,
        window_ms,
        starts.first().copied().flatten(),
        &origin,
    )
}

fn start(p: &Period) -> Option<i64> {
    match &p.period {
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        _ => None,
    }
    .or(p.first_counter_at)
}

/// Rows: each endpoint when the metrics-by-endpoint plugin reported them, else one row (`None`).
fn endpoints(periods: &[Period]) -> Vec<Option<String>> {
    let prefix = format!("{ENDPOINT}response_time.");
    let mut names: Vec<String> = periods
        .iter()
        .flat_map(|p| p.summaries.keys())
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        vec![None]
    } else {
        names.into_iter().map(Some).collect()
    }
}

/// One period's window of one row (`None` = all of it): responses, codes and errors are counted,
/// the latency histogram is rebuilt from the period's percentiles.
fn period_of(
    p: &Period,
    name: Option<&str>,
    stats: &mut RequestStats,
    path: &std::path::Path,
    at: &str,
) -> Result<(Window, LatencyHistogram), ImportError> {
    let (summary_key, counter_prefix) = match name {
        Some(n) => (
            format!("{ENDPOINT}response_time.{n}"),
            format!("{ENDPOINT}{n}."),
        ),
        None => ("http.response_time".to_string(), "http.".to_string()),
    };
    let mut window = Window::default();
    for (key, &n) in &p.counters {
        let count = counter(n, path, &format!("{at}, counter \"{key}\""))?;
        if let Some(code) = key.strip_prefix(&format!("{counter_prefix}codes.")) {
            *stats.status_codes.entry(code.to_string()).or_default() += count;
            window.requests += count;
            if code.starts_with('4') || code.starts_with('5') {
                stats.errors.status += count;
                window.errors += count;
            }
        } else if key.starts_with("errors.") && name.is_none()
            || key.starts_with(&format!("{counter_prefix}errors."))
        {
            // A request that failed without a response (ETIMEDOUT, ECONNREFUSED).
            stats.errors.other += count;
            window.requests += count;
            window.errors += count;
        }
    }
    stats.requests += window.requests;
    let h = match p.summaries.get(&summary_key) {
        Some(s) => reconstruct(s, path, &format!("{at}, summary \"{summary_key}\""))?,
        None => LatencyHistogram::new(),
    };
    Ok((window, h))
}

fn counter(n: f64, path: &std::path::Path, at: &str) -> Result<u64, ImportError> {
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 {
        Ok(n as u64)
    } else {
        Err(ImportError::at(path, at, format!("{n} is not a count")))
    }
}

/// A histogram with the summary's count whose quantiles are the summary's: each stretch between
/// two reported percentiles is recorded at the upper one. Exact at the reported percentiles only.
fn reconstruct(
    s: &Summary,
    path: &std::path::Path,
    at: &str,
) -> Result<LatencyHistogram, ImportError> {
    let n = counter(s.count, path, &format!("{at}, field \"count\""))?;
    let points = [
        (0.0, s.min),
        (0.5, s.p50),
        (0.75, s.p75),
        (0.9, s.p90),
        (0.95, s.p95),
        (0.99, s.p99),
        (0.999, s.p999),
        (1.0, s.max),
    ];
    let mut h = LatencyHistogram::new();
    let mut done = 0u64;
    for (k, &(q, ms)) in points.iter().enumerate() {
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(ImportError::at(
                path,
                at,
                format!("{ms} is not a time in milliseconds"),
            ));
        }
        // The minimum holds one value; every other point what lies up to its quantile.
        let upto = if k == 0 {
            n.min(1)
        } else {
            ((n as f64 * q).round() as u64).clamp(done, n)
        };
        h.record_n((ms * 1e3).round() as u64, upto - done);
        done = upto;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testing::{ctx, fixture, text};

    #[test]
    fn periods_become_windows_with_exact_counts_and_summary_percentiles() {
        let r = parse(&[fixture("artillery.json")], &ctx()).unwrap();
        assert!(r.summaries_only());
        assert_eq!(r.meta.load.window_ms, 10_000);
        assert_eq!(r.all.windows.len(), 3);
        assert_eq!(
            r.requests.keys().collect::<Vec<_>>(),
            ["/api/items", "/api/orders"]
        );
        let orders = &r.requests["/api/orders"];
        assert_eq!(orders.requests, 150);
        assert_eq!(orders.errors.status, 3);
        let items = &r.requests["/api/items"];
        assert_eq!(items.errors.other, 2);
        // The reconstructed histogram reads back the reported p95 of the first period.
        let first = items.windows[0].histogram.to_dense();
        let p95 = first.quantile_us(0.95).unwrap() as f64;
        assert!((p95 - 48_900.0).abs() < 100.0, "{p95}");
        crate::baseline::consistency::check(&r).unwrap();
    }

    #[test]
    fn wrong_versions_and_broken_reports_are_named() {
        let cases = [
            (
                r#"{"aggregate":{"latency":{"min":1}},"intermediate":[]}"#,
                "Artillery 1.x",
            ),
            (
                r#"{"aggregate":{"counters":{}}}"#,
                "not an Artillery 2 report",
            ),
            (
                r#"{"intermediate":[{"counters":{"http.codes.200":"#,
                "truncated",
            ),
            (
                r#"{"intermediate":[{"counters":{"http.codes.200":2.5}}]}"#,
                "intermediate[0], counter \"http.codes.200\"",
            ),
            (r#"{"intermediate":[]}"#, "nothing to import"),
        ];
        for (body, want) in cases {
            let e = parse(&[text("a.json", body)], &ctx())
                .unwrap_err()
                .to_string();
            assert!(e.contains("a.json") && e.contains(want), "{body}: {e}");
        }
    }
}

//! The JSON report (`--format json`): verdict, rows and run summary, versioned and described by
//! `schemas/report.schema.json`. Histograms are not repeated here; `--out` writes the full result.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compare::Row;
use crate::report::Report;
use crate::result::{ErrorCounts, LatencySummary, Meta};
use crate::verdict::Verdict;

/// Version of the report format.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    verdict: Option<&'a Verdict>,
    notes: &'a [String],
    noise: Option<&'a str>,
    runs: Option<(usize, usize)>,
    unstable: Option<&'a str>,
    rows: &'a [Row],
    run: Summary<'a>,
    baseline: Option<Summary<'a>>,
}

#[derive(Serialize)]
struct Summary<'a> {
    meta: &'a Meta,
    #[serde(skip_serializing_if = "Option::is_none")]
    imported: Option<&'a crate::result::imported::Imported>,
    all: Stats<'a>,
    requests: BTreeMap<&'a str, Stats<'a>>,
}

#[derive(Serialize)]
struct Stats<'a> {
    requests: u64,
    errors: &'a ErrorCounts,
    error_rate: f64,
    throughput_rps: f64,
    status_codes: &'a BTreeMap<String, u64>,
    latency: &'a LatencySummary,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    failed_checks: &'a BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    not_sent: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn stats(s: &crate::result::RequestStats, secs: f64) -> Stats<'_> {
    Stats {
        requests: s.requests,
        errors: &s.errors,
        error_rate: s.error_rate().unwrap_or(0.0),
        throughput_rps: s.requests.saturating_sub(s.errors.total()) as f64 / secs,
        status_codes: &s.status_codes,
        latency: &s.latency,
        failed_checks: &s.failed_checks,
        not_sent: s.not_sent,
    }
}

fn summary(run: &crate::result::RunResult) -> Summary<'_> {
    let secs = run.measured_seconds();
    Summary {
        meta: &run.meta,
        imported: run.imported.as_ref(),
        all: stats(&run.all, secs),
        requests: run
            .requests
            .iter()
            .map(|(k, v)| (k.as_str(), stats(v, secs)))
            .collect(),
    }
}

/// Renders the JSON report (pretty, with a final newline).
pub fn render(report: &Report<'_>) -> String {
    let out = JsonReport {
        schema_version: REPORT_SCHEMA_VERSION,
        verdict: report.judged.map(|j| j.verdict),
        notes: report.judged.map_or(&[], |j| j.comparison.notes.as_slice()),
        noise: report.judged.map(|j| j.comparison.noise.as_str()),
        runs: report.judged.map(|j| j.comparison.runs),
        unstable: report.judged.and_then(|j| j.comparison.unstable.as_deref()),
        rows: report.judged.map_or(&[], |j| j.comparison.rows.as_slice()),
        run: summary(report.run),
        baseline: report.judged.map(|j| summary(j.baseline)),
    };
    // Serializing plain data with string keys cannot fail; an empty object would still be valid JSON.
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

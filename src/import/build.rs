//! Assembles an imported [`RunResult`] from what a parser read: per-request events bucketed into
//! one-second windows by their timestamps (load tools), or a benchmark's samples, one window each.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::import::{Context, ImportError};
use crate::result::imported::{Format, Imported, Measure, ValueUnit};
use crate::result::{
    LatencyHistogram, LatencySummary, LoadSettings, Meta, RequestStats, RunResult, Window,
    RESULT_SCHEMA_VERSION,
};

/// Width of a load tool's windows: per second, as loadgate's own runs.
pub const WINDOW_MS: u64 = 1_000;

/// One request of a load test, as the tool logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it was sent or completed, ms since the Unix epoch.
    pub t_ms: i64,
    /// Request name (the row).
    pub name: String,
    /// Latency.
    pub latency_us: u64,
    /// Whether the tool counted it as failed.
    pub failed: bool,
    /// HTTP status, when the tool logged one (`"0"` and empty mean no response).
    pub status: Option<String>,
}

/// One sample of a benchmark: `iterations` iterations that took `value` each on average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Time per iteration, in the result's [`ValueUnit`].
    pub value: u64,
    /// Iterations the sample measured (its weight in the pooled histogram).
    pub iterations: u64,
    /// Wall time of the whole sample, ms.
    pub elapsed_ms: f64,
    /// Whether the iteration failed (a command's non-zero exit).
    pub failed: bool,
}

/// Provenance of an import, before the result exists.
pub struct Origin<'a> {
    /// Format.
    pub format: Format,
    /// Version, when the files name it.
    pub tool_version: Option<String>,
    /// Files read.
    pub sources: Vec<String>,
    /// Import context.
    pub ctx: &'a Context,
}

impl Origin<'_> {
    fn imported(&self, measure: Measure, value_unit: ValueUnit, summaries_only: bool) -> Imported {
        Imported {
            format: self.format,
            tool_version: self.tool_version.clone(),
            sources: self.sources.clone(),
            imported_at: self.ctx.imported_at.clone(),
            measure,
            value_unit,
            summaries_only,
        }
    }
}

/// A load test's result from its events, windows of [`WINDOW_MS`] from the earliest timestamp.
pub fn from_events(events: &[Event], origin: &Origin<'_>) -> Result<RunResult, ImportError> {
    let (Some(t0), Some(t1)) = (
        events.iter().map(|e| e.t_ms).min(),
        events.iter().map(|e| e.t_ms).max(),
    ) else {
        return Err(empty(origin, "it holds no requests"));
    };
    let windows = ((t1 - t0) as u64 / WINDOW_MS + 1) as usize;
    let mut per_name: BTreeMap<String, RequestStats> = BTreeMap::new();
    let mut hists: BTreeMap<String, Vec<LatencyHistogram>> = BTreeMap::new();
    for e in events {
        let stats = per_name
            .entry(e.name.clone())
            .or_insert_with(|| RequestStats {
                windows: vec![Window::default(); windows],
                ..RequestStats::default()
            });
        let w = ((e.t_ms - t0) as u64 / WINDOW_MS) as usize;
        let h = hists
            .entry(e.name.clone())
            .or_insert_with(|| vec![LatencyHistogram::new(); windows]);
        stats.requests += 1;
        stats.windows[w].requests += 1;
        h[w].record(e.latency_us);
        let status = e.status.as_deref().filter(|s| !s.is_empty() && *s != "0");
        if let Some(code) = status {
            *stats.status_codes.entry(code.to_string()).or_default() += 1;
        }
        if e.failed {
            stats.windows[w].errors += 1;
            if status.is_some() {
                stats.errors.status += 1;
            } else {
                stats.errors.other += 1;
            }
        }
    }
    for (name, stats) in &mut per_name {
        if let Some(h) = hists.remove(name) {
            finish(stats, h);
        }
    }
    let mut r = skeleton(
        origin,
        origin.imported(Measure::Latency, ValueUnit::Us, false),
        windows as u64 * WINDOW_MS,
        WINDOW_MS,
    );
    r.meta.started_at = rfc3339(t0);
    r.meta.measure_start_unix_ms = Some(t0);
    Ok(with_requests(r, per_name))
}

/// A benchmark suite's result: one row per benchmark, each sample a window.
pub fn from_benchmarks(
    benches: &BTreeMap<String, Vec<Sample>>,
    unit: ValueUnit,
    origin: &Origin<'_>,
) -> Result<RunResult, ImportError> {
    if benches.values().all(Vec::is_empty) {
        return Err(empty(origin, "it holds no samples"));
    }
    let mut per_name = BTreeMap::new();
    let mut elapsed_ms = 0.0;
    let mut most = 0;
    for (name, samples) in benches {
        let mut stats = RequestStats::default();
        let mut hists = Vec::with_capacity(samples.len());
        for s in samples {
            let mut h = LatencyHistogram::new();
            h.record_n(s.value, s.iterations);
            let errors = if s.failed { s.iterations } else { 0 };
            stats.requests += s.iterations;
            stats.errors.other += errors;
            stats.windows.push(Window {
                requests: s.iterations,
                errors,
                ..Window::default()
            });
            hists.push(h);
            elapsed_ms += s.elapsed_ms;
        }
        most = most.max(samples.len());
        finish(&mut stats, hists);
        per_name.insert(name.clone(), stats);
    }
    let measured_ms = (elapsed_ms.round() as u64).max(1);
    // Windows are samples, not seconds: each gets an equal share of the time, so the stored
    // duration is covered by its windows as every result's must be.
    let window_ms = measured_ms.div_ceil(most.max(1) as u64).max(1);
    let r = skeleton(
        origin,
        origin.imported(Measure::TimePerIteration, unit, false),
        measured_ms,
        window_ms,
    );
    Ok(with_requests(r, per_name))
}

/// A result from per-period summaries: `periods` windows of `window_ms` whose counts are exact
/// and whose histograms are reconstructed from each period's percentiles.
pub fn from_summaries(
    per_name: BTreeMap<String, RequestStats>,
    window_ms: u64,
    start_unix_ms: Option<i64>,
    origin: &Origin<'_>,
) -> Result<RunResult, ImportError> {
    let windows = per_name
        .values()
        .map(|s| s.windows.len())
        .max()
        .unwrap_or(0);
    if windows == 0 || per_name.values().all(|s| s.requests == 0) {
        return Err(empty(origin, "it holds no requests"));
    }
    let mut r = skeleton(
        origin,
        origin.imported(Measure::Latency, ValueUnit::Us, true),
        windows as u64 * window_ms,
        window_ms,
    );
    if let Some(t0) = start_unix_ms {
        r.meta.started_at = rfc3339(t0);
        r.meta.measure_start_unix_ms = Some(t0);
    }
    Ok(with_requests(r, per_name))
}

/// Stores each window's histogram and the totals they add up to.
pub fn finish(stats: &mut RequestStats, hists: Vec<LatencyHistogram>) {
    let mut all = LatencyHistogram::new();
    for (w, h) in stats.windows.iter_mut().zip(hists) {
        all.merge(&h);
        w.histogram = h.into();
    }
    stats.latency = LatencySummary::of(&all);
    stats.histogram = all;
}

fn with_requests(mut r: RunResult, per_name: BTreeMap<String, RequestStats>) -> RunResult {
    let mut all = RequestStats::default();
    for stats in per_name.values() {
        all.merge(stats);
    }
    r.meta.scenario_hash = hash(r.imported.as_ref().map(|i| i.format), per_name.keys());
    r.all = all;
    r.requests = per_name;
    r
}

fn skeleton(
    origin: &Origin<'_>,
    imported: Imported,
    measured_ms: u64,
    window_ms: u64,
) -> RunResult {
    let ctx = origin.ctx;
    let meta = Meta {
        tool_version: ctx.tool_version.clone(),
        scenario_name: ctx.name.clone(),
        scenario_hash: String::new(),
        target_url: format!("import:{}", origin.format),
        started_at: ctx.imported_at.clone(),
        measured_duration_ms: measured_ms,
        git_commit: ctx.git_commit.clone(),
        host: ctx.host.clone(),
        load: LoadSettings {
            users: 0,
            rate_rps: None,
            ramp_up_ms: 0,
            duration_ms: measured_ms,
            max_requests: 0,
            request_timeout_ms: 0,
            window_ms,
            stages: Vec::new(),
        },
        warmup_requests: 0,
        stopped_early: None,
        co_correction_interval_us: None,
        run_windows: Vec::new(),
        measure_start_unix_ms: None,
        shard: None,
        merged: None,
        open_model: None,
        aborted: None,
    };
    RunResult {
        schema_version: RESULT_SCHEMA_VERSION,
        meta,
        all: RequestStats::default(),
        requests: BTreeMap::new(),
        samples: Vec::new(),
        learned: None,
        imported: Some(imported),
    }
}

/// What identifies the suite: its format and row names (a renamed or added benchmark is a new
/// suite, as a changed scenario is).
fn hash<'a>(format: Option<Format>, names: impl Iterator<Item = &'a String>) -> String {
    let mut h = Sha256::new();
    h.update(format.map_or("", Format::name));
    for n in names {
        h.update([0]);
        h.update(n.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn empty(origin: &Origin<'_>, what: &str) -> ImportError {
    ImportError::Empty {
        what: format!("{} ({})", origin.sources.join(", "), origin.format),
        fix: format!("{what}; check that the tool ran and wrote its results to this file"),
    }
}

/// `ms` since the epoch as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

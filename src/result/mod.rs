//! Stage 3 — what a run produced: plain, versioned data (the leaf of the pipeline; no I/O here).
//!
//! `load` produces a [`RunResult`]; `baseline` stores one; `compare` reads two. Field names carry
//! their units. Histograms are lossless, so stored results can be merged and re-analysed later.

pub mod calibration;
pub mod capacity;
pub mod compact;
pub mod histogram;
pub mod imported;
pub mod learned;
pub mod merge;
pub mod metric;
pub mod service;
pub mod shard;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use compact::CompactHistogram;
pub use histogram::LatencyHistogram;
pub use shard::{MergeInfo, Shard};

/// Version of the RunResult / baseline file format. Bump on any incompatible change.
pub const RESULT_SCHEMA_VERSION: u32 = 1;

/// Everything one measured run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Format version, [`RESULT_SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// Provenance and settings.
    pub meta: Meta,
    /// All requests together.
    pub all: RequestStats,
    /// Per request name, as named in the scenario.
    pub requests: BTreeMap<String, RequestStats>,
    /// The service's memory and CPU over time, one entry per pooled run; empty when not monitored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Samples>,
    /// A baseline's run-to-run noise and ungateable rows, learned by `record` from its runs. Absent
    /// in single results and in baselines recorded before loadgate learned them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<learned::Learned>,
    /// Where a result made by another tool came from (`loadgate import`, a `[suite]`); absent for
    /// loadgate's own runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<imported::Imported>,
}

/// Memory and CPU of the service over one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Samples {
    /// What was sampled: `pid 1234`, a Prometheus URL.
    pub source: String,
    /// Sampling interval.
    pub interval_ms: u64,
    /// Readings in time order.
    pub points: Vec<SamplePoint>,
    /// Why sampling stopped early, if it did: the memory metrics are then incomplete.
    pub error: Option<String>,
}

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplePoint {
    /// Time from the start of the measured window (negative during the ramp-up).
    pub t_ms: i64,
    /// Resident set size.
    pub rss_bytes: Option<u64>,
    /// CPU use since the previous reading, % of one core.
    pub cpu_percent: Option<f64>,
}

/// Where, when and how a run was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// loadgate version that made the run.
    pub tool_version: String,
    /// Scenario `name`.
    pub scenario_name: String,
    /// Hash of the scenario's load-relevant content (requests and load settings), hex SHA-256.
    pub scenario_hash: String,
    /// Target base URL, never with credentials.
    pub target_url: String,
    /// Start of the measured window (RFC 3339, UTC).
    pub started_at: String,
    /// Length of the measured window actually covered.
    pub measured_duration_ms: u64,
    /// Commit of the code under test, when known (`GITHUB_SHA`, else `git rev-parse HEAD`).
    pub git_commit: Option<String>,
    /// The machine that generated the load.
    pub host: Host,
    /// Load settings the run used.
    pub load: LoadSettings,
    /// Requests completed during the ramp-up, excluded from every statistic.
    pub warmup_requests: u64,
    /// Why the run ended before its duration, if it did (e.g. `max_requests`).
    pub stopped_early: Option<String>,
    /// Whether latencies were corrected for coordinated omission, and at which per-user interval.
    pub co_correction_interval_us: Option<u64>,
    /// When several runs are pooled (a multi-run baseline, a confirmed gate): how many windows each
    /// run contributed, in order. Empty for a single run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_windows: Vec<u32>,
    /// Wall-clock start of the measured window, ms since the Unix epoch: `merge` aligns the windows
    /// of shards by it. Absent in files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure_start_unix_ms: Option<i64>,
    /// This worker's part of a sharded run (`run --shard i/N`); absent for a whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// For a result made by `loadgate merge`: the shards it adds up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
    /// Open model (a target arrival rate): what was intended and how much of it started late.
    /// Absent for a closed model and in files written before loadgate paced its own arrivals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_model: Option<OpenModel>,
    /// `[gate] abort_on_slo` stopped the load: the objective breached beyond doubt. Absent for a run
    /// that ran its course, and in files written before the abort existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<Aborted>,
}

/// The objective whose breach stopped the load early (`[gate] abort_on_slo`), with the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aborted {
    /// The request name the objective is on; `None` for the aggregate (`[gate] slo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The metric the objective bounds.
    pub metric: metric::Metric,
    /// The objective, in the metric's unit (µs, or a fraction for the error rate).
    pub objective: f64,
    /// The metric's value over the measured windows seen when the load stopped.
    pub value: f64,
    /// A lower confidence bound on the metric (docs/reports.md, "Stopping a run on a breach"): above the
    /// objective, which is why the load stopped.
    pub lower_bound: f64,
    /// Requests the decision rested on (responses, for a latency objective).
    pub requests: u64,
    /// Measured time when the breach was found.
    pub after_ms: u64,
}

impl Aborted {
    /// One line for notes and reports: what was breached, by how much, and when the load stopped.
    pub fn describe(&self) -> String {
        let show = |v: f64| match self.metric.unit() {
            metric::Unit::Fraction => format!("{:.2}%", 100.0 * v),
            _ => metric::format_micros(v),
        };
        let scope = match &self.request {
            Some(r) => format!("`{r}`"),
            None => "all requests".to_string(),
        };
        format!(
            "aborted after {:.1}s of measurement (`[gate] abort_on_slo`): {} of {scope} is at least {} (lower bound over {} requests; measured {}) against an objective of {}",
            self.after_ms as f64 / 1000.0,
            self.metric,
            show(self.lower_bound),
            self.requests,
            show(self.value),
            show(self.objective),
        )
    }
}

/// The open model's target, beside what was achieved (`all.requests`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenModel {
    /// Requests the arrival schedule intended in the measured window.
    pub target_requests: u64,
    /// Mean intended rate over the measured window.
    pub target_rps: f64,
    /// Requests that started later than intended (beyond the timer slack) because every user was
    /// busy; their latency is measured from the intended time.
    pub late_requests: u64,
    /// Requests due in the measured window that were never sent: every user was still waiting on
    /// earlier ones (a target that hangs). Absent when zero and in older files.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unsent_requests: u64,
}

/// Machine provenance: absolute latencies rarely transfer between machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// CPU brand string.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpus: u32,
    /// Total memory.
    pub memory_bytes: u64,
    /// OS name and version.
    pub os: String,
    /// Short stable identifier of the fields above (hex); equal fingerprints mean comparable machines.
    pub fingerprint: String,
}

/// The load a run applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSettings {
    /// Concurrent users.
    pub users: u32,
    /// Request-rate cap (requests per second), if any.
    pub rate_rps: Option<u32>,
    /// Ramp-up, excluded from the measurements.
    pub ramp_up_ms: u64,
    /// Intended measured duration.
    pub duration_ms: u64,
    /// Hard bound on requests sent.
    pub max_requests: u64,
    /// Per-request timeout.
    pub request_timeout_ms: u64,
    /// Width of each entry of `windows`.
    pub window_ms: u64,
    /// Stages after the ramp-up, when the load was staged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSettings>,
}

/// One stage of a staged load: ramp to `rate_rps` (open model) or `users` (closed) over `duration_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSettings {
    /// Length of the stage.
    pub duration_ms: u64,
    /// Target rate at the stage's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_rps: Option<u32>,
    /// Active users at the stage's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
}

/// Counts and latency for one request name (or all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RequestStats {
    /// Completed requests in the measured window, failed ones included.
    pub requests: u64,
    /// Failed requests by kind.
    pub errors: ErrorCounts,
    /// Responses by HTTP status code (`"200"`, ...); requests with no response are not here.
    pub status_codes: BTreeMap<String, u64>,
    /// Summary percentiles for humans; the histogram is the source of truth.
    pub latency: LatencySummary,
    /// Every latency in µs (HdrHistogram V2 + DEFLATE, base64).
    pub histogram: LatencyHistogram,
    /// The measured window cut into `window_ms` slices, in order; seconds with no traffic are present.
    pub windows: Vec<Window>,
    /// Failed responses per check name (a response is counted under its first failing check).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_checks: BTreeMap<String, u64>,
    /// Requests not sent because a variable had no value (a capture that matched nothing) or a
    /// feeder ran out; they are not in `requests`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_sent: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Failures by kind. A request is counted once, under the first kind that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ErrorCounts {
    /// Could not connect (refused, reset before a response, DNS).
    pub connect: u64,
    /// No complete response within the request timeout.
    pub timeout: u64,
    /// A response whose status is not expected.
    pub status: u64,
    /// Any other transport or body error.
    pub other: u64,
    /// A response that failed a `[[request.check]]`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub check: u64,
    /// A `[[request.capture]]` that found nothing in the response.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub capture: u64,
    /// A redirect to another host, not followed (`[target] cross_host_redirects`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redirect: u64,
}

impl ErrorCounts {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect
            + self.timeout
            + self.status
            + self.other
            + self.check
            + self.capture
            + self.redirect
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.status += other.status;
        self.other += other.other;
        self.check += other.check;
        self.capture += other.capture;
        self.redirect += other.redirect;
    }
}

/// Human-readable summary of a histogram, in µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LatencySummary {
    /// Minimum.
    pub min_us: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Maximum.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

impl LatencySummary {
    /// Summary of `h` (all zero when empty).
    pub fn of(h: &LatencyHistogram) -> Self {
        let q = |q: f64| h.quantile_us(q).unwrap_or(0);
        Self {
            min_us: h.min_us().unwrap_or(0),
            p50_us: q(0.50),
            p90_us: q(0.90),
            p95_us: q(0.95),
            p99_us: q(0.99),
            max_us: h.max_us().unwrap_or(0),
            mean_us: h.mean_us().unwrap_or(0.0),
        }
    }
}

/// One slice of the measured window: the statistical unit of the noise guard and the timeline of charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Requests completed in this window.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Latencies of this window's requests (compact: a run holds one per request name per window).
    pub histogram: CompactHistogram,
}

impl RequestStats {
    /// Error rate as a fraction in [0, 1]; `None` with no requests.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors.total() as f64 / self.requests as f64)
    }

    /// Adds `other`'s counts, histogram and windows (aligned by index) into `self`.
    pub fn merge(&mut self, other: &RequestStats) {
        self.requests += other.requests;
        self.errors.add(&other.errors);
        for (code, n) in &other.status_codes {
            *self.status_codes.entry(code.clone()).or_default() += n;
        }
        for (check, n) in &other.failed_checks {
            *self.failed_checks.entry(check.clone()).or_default() += n;
        }
        self.not_sent += other.not_sent;
        self.histogram.merge(&other.histogram);
        if self.windows.len() < other.windows.len() {
            self.windows
                .resize_with(other.windows.len(), Window::default);
        }
        for (mine, theirs) in self.windows.iter_mut().zip(&other.windows) {
            mine.requests += theirs.requests;
            mine.errors += theirs.errors;
            mine.histogram.merge(&theirs.histogram);
        }
        self.latency = LatencySummary::of(&self.histogram);
    }
}

/// Adds `other` into `stats`, appending its windows after the existing ones.
fn append(stats: &mut RequestStats, other: &RequestStats) {
    let windows = std::mem::take(&mut stats.windows);
    let mut merged_other = other.clone();
    merged_other.windows.clear();
    stats.merge(&merged_other);
    stats.windows = windows;
    stats.windows.extend(other.windows.iter().cloned());
}

impl RunResult {
    /// Stats for a request name, or the aggregate for `None`.
    pub fn stats(&self, request: Option<&str>) -> Option<&RequestStats> {
        match request {
            None => Some(&self.all),
            Some(name) => self.requests.get(name),
        }
    }

    /// Number of runs pooled in this result (1 for a single run).
    pub fn runs(&self) -> usize {
        self.meta.run_windows.len().max(1)
    }

    /// Splits a series of windows of this result into its runs (stratification for the bootstrap).
    pub fn split_windows<'a>(&self, windows: &'a [Window]) -> Vec<&'a [Window]> {
        if self.meta.run_windows.len() < 2 {
            return vec![windows];
        }
        let mut parts = Vec::new();
        let mut start = 0usize;
        for &k in &self.meta.run_windows {
            let end = (start + k as usize).min(windows.len());
            if end > start {
                parts.push(&windows[start..end]);
            }
            start = end;
        }
        if start < windows.len() {
            parts.push(&windows[start..]);
        }
        parts
    }

    /// Pools several runs of the same scenario into one result: counts and histograms add, windows
    /// are concatenated run after run (`meta.run_windows` records the boundaries), durations add.
    /// The first run's provenance is kept. `None` for an empty list.
    pub fn pool(runs: &[RunResult]) -> Option<RunResult> {
        let first = runs.first()?;
        let mut out = first.clone();
        // What a baseline learned describes its own runs, not a new pool of them.
        out.learned = None;
        let boundaries = |r: &RunResult| -> Vec<u32> {
            if r.meta.run_windows.is_empty() {
                vec![r.all.windows.len() as u32]
            } else {
                r.meta.run_windows.clone()
            }
        };
        out.meta.run_windows = boundaries(first);
        for r in &runs[1..] {
            // A benchmark's windows are samples whose width follows its run's length: the widest
            // keeps the pooled duration covered by its windows.
            out.meta.load.window_ms = out.meta.load.window_ms.max(r.meta.load.window_ms);
            out.meta.run_windows.extend(boundaries(r));
            out.meta.measured_duration_ms += r.meta.measured_duration_ms;
            out.meta.warmup_requests += r.meta.warmup_requests;
            append(&mut out.all, &r.all);
            if let (Some(o), Some(m)) = (&mut out.meta.open_model, &r.meta.open_model) {
                o.target_requests += m.target_requests;
                o.late_requests += m.late_requests;
                o.unsent_requests += m.unsent_requests;
            }
            for (name, stats) in &r.requests {
                let mine = out.requests.entry(name.clone()).or_default();
                append(mine, stats);
            }
        }
        for r in &runs[1..] {
            out.samples.extend(r.samples.iter().cloned());
        }
        if out.meta.run_windows.len() < 2 {
            out.meta.run_windows.clear();
        }
        let secs = out.measured_seconds();
        if let Some(o) = &mut out.meta.open_model {
            o.target_rps = o.target_requests as f64 / secs;
        }
        Some(out)
    }

    /// Microseconds per unit of this result's histograms (1 unless an import stored nanoseconds).
    pub fn micros_per_unit(&self) -> f64 {
        self.imported
            .as_ref()
            .map_or(1.0, |i| i.value_unit.micros())
    }

    /// Whether each window is one harness sample of a benchmark (time per iteration), not a second.
    pub fn is_benchmark(&self) -> bool {
        self.imported
            .as_ref()
            .is_some_and(|i| i.measure == imported::Measure::TimePerIteration)
    }

    /// Whether the result holds only per-period summaries (thresholds only, no noise guard).
    pub fn summaries_only(&self) -> bool {
        self.imported.as_ref().is_some_and(|i| i.summaries_only)
    }

    /// Whether the result measured `metric` at all. Per-period summaries report the median and the
    /// upper percentiles only: a p5 read from a histogram rebuilt from them would be the median.
    pub fn measures(&self, metric: metric::Metric) -> bool {
        !(self.summaries_only() && metric == metric::Metric::P5)
    }

    /// Measured duration in seconds (never zero, to keep rates finite).
    pub fn measured_seconds(&self) -> f64 {
        (self.meta.measured_duration_ms.max(1)) as f64 / 1000.0
    }
}

/// Fixtures for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// An empty single-run result with plausible provenance.
    pub fn result() -> RunResult {
        let host = Host {
            cpu_model: "test".into(),
            cpus: 2,
            memory_bytes: 1 << 34,
            os: "test".into(),
            fingerprint: "0".into(),
        };
        let load = LoadSettings {
            users: 8,
            rate_rps: None,
            ramp_up_ms: 0,
            duration_ms: 30_000,
            max_requests: 1 << 30,
            request_timeout_ms: 5_000,
            window_ms: 1_000,
            stages: Vec::new(),
        };
        let meta = Meta {
            tool_version: "test".into(),
            scenario_name: "test".into(),
            scenario_hash: "0".into(),
            target_url: "http://127.0.0.1:1".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            measured_duration_ms: 30_000,
            git_commit: None,
            host,
            load,
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
            imported: None,
        }
    }

    /// Samples every second from −2 s to `seconds`, RSS `f(t)`, CPU 50%.
    pub fn samples(f: impl Fn(i64) -> u64, seconds: i64) -> Samples {
        Samples {
            source: "test".into(),
            interval_ms: 1000,
            points: (-2..=seconds)
                .map(|t| SamplePoint {
                    t_ms: t * 1000,
                    rss_bytes: Some(f(t)),
                    cpu_percent: Some(50.0),
                })
                .collect(),
            error: None,
        }
    }

    /// A run of `secs` one-second windows at `rps`, its latencies drawn from `modes` (µs, weight)
    /// scaled by `level` with ±5% jitter from `seed`; one request name, "all of it".
    pub fn run_of(modes: &[(u64, u64)], rps: u64, secs: usize, level: f64, seed: u64) -> RunResult {
        run_with_levels(modes, rps, &vec![level; secs], seed)
    }

    /// [`run_of`] with its own level for every second (a stall is a few seconds at a high level).
    pub fn run_with_levels(modes: &[(u64, u64)], rps: u64, levels: &[f64], seed: u64) -> RunResult {
        let mut r = result();
        r.meta.measured_duration_ms = levels.len() as u64 * 1000;
        r.meta.started_at = format!("2026-01-01T{:02}:{:02}:00Z", (seed / 60) % 24, seed % 60);
        let mut rng = crate::stats::SplitMix64::new(seed.wrapping_mul(0x9e37_79b9) ^ 7);
        let total: u64 = modes.iter().map(|m| m.1).sum::<u64>().max(1);
        let mut all = RequestStats::default();
        for &level in levels {
            let mut h = LatencyHistogram::new();
            // Each request picks its mode by weight, as a scenario's requests pick their endpoint:
            // a quantile between two modes then jumps from second to second, as it does live.
            let n = rps;
            for _ in 0..n {
                let mut pick = rng.next_u64() % total;
                let mut v = modes.first().map_or(1, |m| m.0);
                for &(value, w) in modes {
                    if pick < w {
                        v = value;
                        break;
                    }
                    pick -= w;
                }
                let jitter = 1.0 + ((rng.next_u64() % 1000) as f64 / 1000.0 - 0.5) * 0.1;
                h.record_n(((v as f64 * level * jitter) as u64).max(1), 1);
            }
            all.requests += n;
            all.histogram.merge(&h);
            all.windows.push(Window {
                requests: n,
                errors: 0,
                histogram: h.into(),
            });
        }
        all.latency = LatencySummary::of(&all.histogram);
        r.requests.insert("all of it".to_string(), all.clone());
        r.all = all;
        r
    }
}

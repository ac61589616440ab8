//! Trends: each history entry's value of the tracked metrics (read exactly as `compare` reads them),
//! the series' change points, and the summary a report shows (latest value against the recent median).

use serde::Serialize;

use crate::history::changepoint::{self, DetectOptions};
use crate::history::{ChangePoint, Trend, TrendPoint};
use crate::result::metric::{Direction, Metric};
use crate::result::{service, RunResult};
use crate::stats::median;

/// Runs of the recent median the latest run is compared with: ten nights smooth one odd night
/// without hiding a shift of a week or more.
pub const RECENT_RUNS: usize = 10;

/// The value of `metric` for the aggregate of `run`, as `compare` computes it; `None` when the run
/// cannot tell (no samples for a memory metric, no requests).
pub fn value_of(run: &RunResult, metric: Metric) -> Option<f64> {
    let samples = &run.samples;
    let usable = || service::unusable(samples, "run").is_none();
    let v = match metric {
        Metric::PeakRss => usable().then(|| service::peak_rss(samples)).flatten(),
        Metric::RssGrowth => usable()
            .then(|| service::growth(samples, service::floor_window_ms(run)))
            .flatten()
            .map(|(whole, _)| whole.per_min),
        Metric::Cpu => usable()
            .then(|| service::cpu(samples))
            .flatten()
            .map(|c| c.0),
        m => m.value_of(&run.all, run.measured_seconds()),
    };
    v.filter(|v| v.is_finite())
}

/// The trends of `metrics` over `entries` (oldest first), with the default change-point settings.
pub fn trends(entries: &[RunResult], metrics: &[Metric]) -> Vec<Trend> {
    trends_with(entries, metrics, DetectOptions::default())
}

/// The trends of `metrics` over `entries` (oldest first).
pub fn trends_with(
    entries: &[RunResult],
    metrics: &[Metric],
    options: DetectOptions,
) -> Vec<Trend> {
    metrics
        .iter()
        .map(|&metric| {
            let points: Vec<TrendPoint> = entries
                .iter()
                .filter_map(|r| {
                    value_of(r, metric).map(|value| TrendPoint {
                        started_at: r.meta.started_at.clone(),
                        git_commit: r.meta.git_commit.clone(),
                        value,
                    })
                })
                .collect();
            let values: Vec<f64> = points.iter().map(|p| p.value).collect();
            let change_points = changepoint::detect(&values, options)
                .into_iter()
                .map(|d| ChangePoint {
                    index: d.index,
                    before: d.before,
                    after: d.after,
                    change: worse_by(metric.direction(), d.before, d.after),
                })
                .collect();
            Trend {
                metric: metric.name().to_string(),
                unit: unit_name(metric),
                points,
                change_points,
            }
        })
        .collect()
}

/// Relative change from `before` to `after`, positive when worse in `direction`.
pub fn worse_by(direction: Direction, before: f64, after: f64) -> f64 {
    let raw = relative(before, after);
    match direction {
        Direction::HigherIsWorse => raw,
        Direction::LowerIsWorse => -raw,
    }
}

/// `after / before − 1`, with 0 → 0 being no change and 0 → x an infinite one.
fn relative(before: f64, after: f64) -> f64 {
    let d = after - before;
    if d == 0.0 {
        0.0
    } else {
        d / before.abs()
    }
}

fn unit_name(metric: Metric) -> String {
    serde_json::to_value(metric.unit())
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What a report says about a trend at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Runs with a value.
    pub runs: usize,
    /// Start of the first of them (RFC 3339).
    pub first: String,
    /// Start of the latest (RFC 3339).
    pub last: String,
    /// The latest value.
    pub latest: f64,
    /// Median of the last [`RECENT_RUNS`] values, the latest included.
    pub recent_median: f64,
    /// `latest / recent_median − 1` (signed, not oriented); `None` when the median is 0.
    pub change_vs_median: Option<f64>,
}

impl Trend {
    /// The at-a-glance numbers; `None` for a trend without points.
    pub fn summary(&self) -> Option<Summary> {
        let (first, last) = (self.points.first()?, self.points.last()?);
        let recent: Vec<f64> = self.points[self.points.len().saturating_sub(RECENT_RUNS)..]
            .iter()
            .map(|p| p.value)
            .collect();
        let m = median(&recent);
        Some(Summary {
            runs: self.points.len(),
            first: first.started_at.clone(),
            last: last.started_at.clone(),
            latest: last.value,
            recent_median: m,
            change_vs_median: (m != 0.0).then(|| last.value / m - 1.0),
        })
    }

    /// The metric, when its name is one loadgate knows.
    pub fn metric(&self) -> Option<Metric> {
        self.metric.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::testing;
    use crate::result::LatencyHistogram;

    /// A run whose every request took `latency_us`, `n` of them over 10 s.
    fn run(day: u32, latency_us: u64, n: u64) -> RunResult {
        let mut r = testing::result();
        r.meta.started_at = format!("2026-11-{day:02}T00:00:00Z");
        r.meta.measured_duration_ms = 10_000;
        let mut h = LatencyHistogram::new();
        for _ in 0..n {
            h.record(latency_us);
        }
        r.all.requests = n;
        r.all.histogram = h;
        r
    }

    #[test]
    fn values_are_read_like_compare_reads_them() {
        let r = run(1, 1_000, 500);
        let p95 = value_of(&r, Metric::P95).unwrap();
        assert!((p95 - 1_000.0).abs() < 10.0, "{p95}");
        assert_eq!(value_of(&r, Metric::Throughput), Some(50.0));
        assert_eq!(value_of(&r, Metric::ErrorRate), Some(0.0));
        // Not monitored: no memory values, rather than zeros.
        assert_eq!(value_of(&r, Metric::PeakRss), None);
        assert_eq!(value_of(&r, Metric::RssGrowth), None);
    }

    #[test]
    fn a_latency_step_is_a_worse_change_point_at_its_run() {
        let runs: Vec<RunResult> = (1..=30)
            .map(|d| run(d, if d > 20 { 1_250 } else { 1_000 }, 400))
            .collect();
        let t = trends(&runs, &[Metric::P50, Metric::Throughput, Metric::PeakRss]);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].unit, "micros");
        assert_eq!(t[0].change_points.len(), 1, "{:?}", t[0].change_points);
        let cp = &t[0].change_points[0];
        assert_eq!(cp.index, 20);
        assert_eq!(t[0].points[cp.index].started_at, "2026-11-21T00:00:00Z");
        assert!(cp.change > 0.2, "{cp:?}");
        // Throughput did not move; memory was never measured.
        assert!(t[1].change_points.is_empty());
        assert!(t[2].points.is_empty() && t[2].summary().is_none());
    }

    #[test]
    fn throughput_down_is_worse() {
        assert!(worse_by(Metric::Throughput.direction(), 100.0, 80.0) > 0.0);
        assert!(worse_by(Metric::P95.direction(), 100.0, 80.0) < 0.0);
        assert_eq!(worse_by(Metric::ErrorRate.direction(), 0.0, 0.0), 0.0);
        assert_eq!(
            worse_by(Metric::ErrorRate.direction(), 0.0, 0.1),
            f64::INFINITY
        );
    }

    #[test]
    fn summary_compares_the_latest_with_the_recent_median() {
        let runs: Vec<RunResult> = (1..=12).map(|d| run(d, 1_000, 100 + d as u64)).collect();
        let t = &trends(&runs, &[Metric::Throughput])[0];
        let s = t.summary().unwrap();
        assert_eq!(s.runs, 12);
        assert_eq!(s.first, "2026-11-01T00:00:00Z");
        assert_eq!(s.latest, 11.2);
        // The last ten runs have 103..=112 requests in 10 s: median 10.75 req/s.
        assert!((s.recent_median - 10.75).abs() < 1e-9);
        assert!((s.change_vs_median.unwrap() - (11.2 / 10.75 - 1.0)).abs() < 1e-9);
    }
}

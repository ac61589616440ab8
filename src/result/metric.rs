//! The metrics loadgate tracks, their units and which direction is worse.
//!
//! Shared vocabulary of `scenario` (which metrics to gate), `compare` (how) and `report` (labels).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::result::RequestStats;

/// A tracked metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// 5th-percentile latency: the service's own cost with the least of the machine's interference
    /// in it (noise on a shared host only ever adds time), so a regression that slows every
    /// request shows here first.
    P5,
    /// Median latency.
    P50,
    /// 90th-percentile latency.
    P90,
    /// 95th-percentile latency.
    P95,
    /// 99th-percentile latency.
    P99,
    /// Mean latency.
    Mean,
    /// Maximum latency (one sample: reported, rarely worth gating).
    Max,
    /// Completed requests per measured second.
    Throughput,
    /// Failed / completed requests.
    ErrorRate,
    /// The service's peak memory: p95 of its RSS samples in the measured window.
    PeakRss,
    /// The growth of the service's RSS floor (leak signal), bytes per minute.
    RssGrowth,
    /// The service's mean CPU use, % of one core.
    Cpu,
}

/// Which way is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Latency, errors: more is worse.
    HigherIsWorse,
    /// Throughput: less is worse.
    LowerIsWorse,
}

/// Unit of a metric's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Microseconds.
    Micros,
    /// Requests per second.
    PerSecond,
    /// A fraction in [0, 1].
    Fraction,
    /// Bytes.
    Bytes,
    /// Bytes per minute.
    BytesPerMinute,
    /// Percent of one CPU core.
    CpuPercent,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 12] = [
        Metric::P5,
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::Mean,
        Metric::Max,
        Metric::Throughput,
        Metric::ErrorRate,
        Metric::PeakRss,
        Metric::RssGrowth,
        Metric::Cpu,
    ];

    /// Name as written in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::P5 => "p5",
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Mean => "mean",
            Metric::Max => "max",
            Metric::Throughput => "throughput",
            Metric::ErrorRate => "error_rate",
            Metric::PeakRss => "peak_rss",
            Metric::RssGrowth => "rss_growth",
            Metric::Cpu => "cpu",
        }
    }

    /// The bad direction.
    pub fn direction(self) -> Direction {
        match self {
            Metric::Throughput => Direction::LowerIsWorse,
            _ => Direction::HigherIsWorse,
        }
    }

    /// Unit of the value.
    pub fn unit(self) -> Unit {
        match self {
            Metric::Throughput => Unit::PerSecond,
            Metric::ErrorRate => Unit::Fraction,
            Metric::PeakRss => Unit::Bytes,
            Metric::RssGrowth => Unit::BytesPerMinute,
            Metric::Cpu => Unit::CpuPercent,
            _ => Unit::Micros,
        }
    }

    /// Whether the metric describes the service (from its samples) rather than requests.
    pub fn is_service(self) -> bool {
        matches!(self, Metric::PeakRss | Metric::RssGrowth | Metric::Cpu)
    }

    /// Whether an objective on this metric can be watched while the load runs (`abort_on_slo`): a
    /// share of requests above a limit (a quantile, the maximum) or failing (the error rate) can be
    /// counted as they come; a mean or a throughput is judged at the end only.
    pub fn watchable_live(self) -> bool {
        self.quantile().is_some() || matches!(self, Metric::ErrorRate | Metric::Max)
    }

    /// The quantile a percentile metric reads, if it is one.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::P5 => Some(0.05),
            Metric::P50 => Some(0.50),
            Metric::P90 => Some(0.90),
            Metric::P95 => Some(0.95),
            Metric::P99 => Some(0.99),
            _ => None,
        }
    }

    /// Fewest requests for the value to mean something. For a quantile q, at least 20 values must lie
    /// beyond it, n·min(q, 1 − q) ≥ 20 (docs/statistics.md §3: p99 needs 2000, p5 400); 200 for
    /// the median and mean.
    pub fn min_requests(self) -> u64 {
        match self {
            Metric::P90 => 200,
            Metric::P5 => 400,
            Metric::P95 => 400,
            Metric::P99 => 2_000,
            Metric::Max | Metric::PeakRss | Metric::RssGrowth | Metric::Cpu => 1,
            // Throughput and error rate: a rate over fewer than 200 requests swings by whole percents.
            Metric::P50 | Metric::Mean | Metric::Throughput | Metric::ErrorRate => 200,
        }
    }

    /// Fewest harness samples for a benchmark's row to be gated: 10 for the median and mean (the
    /// bootstrap's floor), and for a quantile q at least one sample beyond it, 1 / min(q, 1 − q):
    /// p95 and p5 need 20, p99 100.
    pub fn min_samples(self) -> usize {
        match self {
            Metric::P90 => 10,
            Metric::P5 => 20,
            Metric::P95 => 20,
            Metric::P99 => 100,
            Metric::Max => 1,
            _ => 10,
        }
    }

    /// The metric's value for `stats` over `measured_seconds`; `None` when there is nothing to read.
    pub fn value_of(self, stats: &RequestStats, measured_seconds: f64) -> Option<f64> {
        let h = &stats.histogram;
        match self {
            Metric::Mean => h.mean_us(),
            Metric::Max => h.max_us().map(|v| v as f64),
            Metric::Throughput => (measured_seconds > 0.0).then(|| {
                stats.requests.saturating_sub(stats.errors.total()) as f64 / measured_seconds
            }),
            Metric::ErrorRate => stats.error_rate(),
            // The service's own metrics are per run, not per request: see `result::service`.
            Metric::PeakRss | Metric::RssGrowth | Metric::Cpu => None,
            _ => self
                .quantile()
                .and_then(|q| h.quantile_us(q))
                .map(|v| v as f64),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown metric name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown metric `{0}`; known metrics: p5, p50, p90, p95, p99, mean, max, throughput, error_rate, peak_rss, rss_growth, cpu"
)]
pub struct UnknownMetric(pub String);

impl FromStr for Metric {
    type Err = UnknownMetric;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownMetric(s.to_string()))
    }
}

/// Formats µs for a report: `850us`, `12.3ms`, `1.20s`.
pub fn format_micros(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2}s", us / 1e6)
    } else if us >= 1e4 {
        format!("{:.1}ms", us / 1e3)
    } else if us >= 1e3 {
        format!("{:.2}ms", us / 1e3)
    } else if us >= 10.0 || us.fract() == 0.0 {
        format!("{us:.0}us")
    } else if us >= 1.0 {
        // Micro-benchmarks: a few µs per iteration needs its decimals.
        format!("{us:.2}us")
    } else {
        format!("{:.1}ns", us * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>().unwrap(), m);
        }
        assert!("p42".parse::<Metric>().is_err());
    }

    #[test]
    fn p5_needs_as_many_values_below_it_as_p95_above_it() {
        assert_eq!(Metric::P5.quantile(), Some(0.05));
        assert_eq!(Metric::P5.min_requests(), Metric::P95.min_requests());
        assert_eq!(Metric::P5.min_samples(), Metric::P95.min_samples());
        assert_eq!(Metric::P5.direction(), Direction::HigherIsWorse);
        assert_eq!(
            Metric::ALL[0],
            Metric::P5,
            "report order: fastest quantile first"
        );
    }

    #[test]
    fn throughput_counts_only_successes() {
        let mut s = RequestStats {
            requests: 100,
            ..Default::default()
        };
        s.errors.status = 20;
        assert_eq!(Metric::Throughput.value_of(&s, 2.0), Some(40.0));
        assert_eq!(Metric::ErrorRate.value_of(&s, 2.0), Some(0.2));
    }
}

//! Run validity (docs/statistics.md §7): a run whose seconds are too often far from its own median — a
//! stalled staging service, a noisy neighbour — is "unstable": rerun it, don't judge it.
//! Outliers are detected, never dropped from the statistics.

use crate::result::RunResult;
use crate::stats::{median, modified_z};

/// |modified z| above this marks an outlier second (hyperfine uses the same scale).
pub const OUTLIER_Z: f64 = 10.0;
/// More than this fraction of outlier seconds makes a run unstable.
pub const MAX_OUTLIER_FRACTION: f64 = 0.10;
/// This many outlier seconds in a row make a run unstable (a stall).
pub const MAX_CONSECUTIVE: usize = 3;
/// A second must also differ from the median by this much: under a rate cap the per-second counts
/// are so steady that their MAD is a request or two, and a 5% dip would otherwise look like 10σ.
pub const MIN_RELATIVE_DEVIATION: f64 = 0.25;

/// Why a run is unstable, or `None` when it is fit to judge.
pub fn unstable(run: &RunResult) -> Option<String> {
    let windows = &run.all.windows;
    if windows.len() < 10 {
        return None; // too short to tell; the bootstrap reports too few windows itself
    }
    let throughput: Vec<f64> = windows.iter().map(|w| w.requests as f64).collect();
    // The mean, not the median: with a mix of endpoints whose latencies differ (a 50/50 mix of
    // 5 ms and 12 ms), each second's median jumps between the two modes and looks like outliers,
    // while a stall moves the mean at least as much as the median.
    let mean: Vec<f64> = windows
        .iter()
        .map(|w| w.histogram.mean_us().unwrap_or(0.0))
        .collect();
    // A benchmark harness chooses each sample's iteration count (criterion grows it linearly):
    // only its time per iteration says whether the machine was disturbed.
    let series = [
        (&throughput, "requests per second"),
        (&mean, "mean latency per second"),
    ];
    let skip = usize::from(run.is_benchmark());
    for &(series, name) in &series[skip..] {
        let m = median(series);
        let flags: Vec<bool> = modified_z(series)
            .iter()
            .zip(series.iter())
            .map(|(z, x)| z.abs() > OUTLIER_Z && (x - m).abs() > MIN_RELATIVE_DEVIATION * m.abs())
            .collect();
        let count = flags.iter().filter(|f| **f).count();
        let longest = flags.split(|f| !*f).map(<[bool]>::len).max().unwrap_or(0);
        if count as f64 > MAX_OUTLIER_FRACTION * flags.len() as f64 || longest >= MAX_CONSECUTIVE {
            return Some(format!(
                "{count} of {} seconds are outliers in {name} (longest run of {longest}); the service or the machine was disturbed",
                flags.len()
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{LatencyHistogram, Window};

    fn run_with(latencies: &[u64]) -> RunResult {
        let mut r = crate::result::testing::result();
        r.all.windows = latencies
            .iter()
            .map(|&l| {
                let mut h = LatencyHistogram::new();
                for _ in 0..100 {
                    h.record(l);
                }
                Window {
                    requests: 100,
                    errors: 0,
                    histogram: h.into(),
                }
            })
            .collect();
        r
    }

    #[test]
    fn a_mix_whose_median_flips_between_two_endpoints_is_stable() {
        let mut r = crate::result::testing::result();
        r.all.windows = (0..12)
            .map(|i| {
                // Half fast (5 ms), half slow (12 ms), one more of either in alternate seconds.
                let mut h = LatencyHistogram::new();
                let (fast, slow) = if i % 3 == 0 { (101, 100) } else { (100, 101) };
                for _ in 0..fast {
                    h.record(5_000);
                }
                for _ in 0..slow {
                    h.record(12_000);
                }
                Window {
                    requests: fast + slow,
                    errors: 0,
                    histogram: h.into(),
                }
            })
            .collect();
        assert_eq!(unstable(&r), None);
    }

    #[test]
    fn a_steady_run_is_stable_and_a_stall_is_not() {
        let steady: Vec<u64> = (0..30).map(|i| 1_000 + (i % 5) * 20).collect();
        assert_eq!(unstable(&run_with(&steady)), None);
        let mut stalled = steady.clone();
        for v in &mut stalled[10..14] {
            *v = 50_000;
        }
        assert!(unstable(&run_with(&stalled)).is_some());
    }
}

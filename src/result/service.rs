//! The service's own metrics read from a run's samples (docs/statistics.md §6): peak memory (p95 of
//! RSS in the measured window), memory growth (a Theil–Sen slope of the RSS floor with Sen's 99%
//! bounds) and mean CPU — read the same way by `compare` and `history`. Pure functions over
//! [`Samples`].

use crate::result::{RunResult, Samples};
use crate::stats::{normal_quantile, theil_sen, Slope};

/// Fewest readings in the measured window for peak memory or CPU to mean anything.
pub const MIN_POINTS: usize = 5;
/// Fewest floor windows for a slope.
pub const MIN_FLOOR_WINDOWS: usize = 10;
/// Readings of the measured window, after skipping the first 10% of it (allocator warm-up).
fn measured(s: &Samples) -> impl Iterator<Item = (f64, u64)> + '_ {
    let end = s.points.iter().map(|p| p.t_ms).max().unwrap_or(0).max(0) as f64;
    let skip = end * 0.10;
    s.points
        .iter()
        .filter(move |p| p.t_ms as f64 >= skip)
        .filter_map(|p| p.rss_bytes.map(|r| (p.t_ms as f64, r)))
}

/// Why samples cannot be used, if they cannot.
pub fn unusable(samples: &[Samples], who: &str) -> Option<String> {
    if samples.is_empty() {
        return Some(format!("the {who} has no memory samples: monitor the service with `[monitor]` (or `--demo`) and re-record"));
    }
    samples.iter().find_map(|s| {
        s.error
            .as_ref()
            .map(|e| format!("the {who}'s sampling of {} failed: {e}", s.source))
    })
}

/// p95 of RSS over the measured window, all runs together.
pub fn peak_rss(samples: &[Samples]) -> Option<f64> {
    let mut v: Vec<u64> = samples
        .iter()
        .flat_map(|s| measured(s).map(|(_, r)| r))
        .collect();
    if v.len() < MIN_POINTS {
        return None;
    }
    v.sort_unstable();
    let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1] as f64)
}

/// Median RSS over the measured window.
pub fn median_rss(samples: &[Samples]) -> Option<f64> {
    let mut v: Vec<u64> = samples
        .iter()
        .flat_map(|s| measured(s).map(|(_, r)| r))
        .collect();
    v.sort_unstable();
    v.get(v.len() / 2).map(|x| *x as f64)
}

/// Mean CPU % over the measured window and the variance of that mean.
pub fn cpu(samples: &[Samples]) -> Option<(f64, f64)> {
    let v: Vec<f64> = samples
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .filter(|p| p.t_ms >= 0)
                .filter_map(|p| p.cpu_percent)
        })
        .collect();
    if v.len() < MIN_POINTS {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var / n))
}

/// Width of the windows whose minima make a run's RSS floor (for [`growth`]): 10 s windows smooth
/// allocator and GC sawtooth; short runs keep at least 20 windows.
pub fn floor_window_ms(r: &RunResult) -> f64 {
    let ms = r.meta.measured_duration_ms as f64 / r.runs() as f64;
    (ms / 20.0).clamp(
        r.samples.first().map_or(1000, |x| x.interval_ms) as f64,
        10_000.0,
    )
}

/// Growth of the RSS floor: minima of windows of `window_ms`, over the whole measured window and
/// over its last half. Several runs: their slopes averaged (bounds widened accordingly).
pub fn growth(samples: &[Samples], window_ms: f64) -> Option<(Slope, Slope)> {
    let per_run: Vec<(Slope, Slope)> = samples
        .iter()
        .filter_map(|s| run_growth(s, window_ms))
        .collect();
    if per_run.is_empty() {
        return None;
    }
    let n = per_run.len() as f64;
    let combine = |pick: fn(&(Slope, Slope)) -> Slope| {
        let est = per_run.iter().map(|p| pick(p).per_min).sum::<f64>() / n;
        let se = (per_run.iter().map(|p| pick(p).se().powi(2)).sum::<f64>()).sqrt() / n;
        let z = normal_quantile(0.99);
        Slope {
            per_min: est,
            lower: est - z * se,
            upper: est + z * se,
        }
    };
    Some((combine(|p| p.0), combine(|p| p.1)))
}

fn run_growth(s: &Samples, window_ms: f64) -> Option<(Slope, Slope)> {
    let points: Vec<(f64, u64)> = measured(s).collect();
    let start = points.first()?.0;
    let mut floors: Vec<(f64, f64)> = Vec::new();
    for (t, r) in &points {
        let k = ((t - start) / window_ms).floor();
        let center = start + (k + 0.5) * window_ms;
        match floors.last_mut() {
            Some((c, y)) if (*c - center).abs() < 1e-9 => *y = y.min(*r as f64),
            _ => floors.push((center, *r as f64)),
        }
    }
    if floors.len() < MIN_FLOOR_WINDOWS {
        return None;
    }
    let to_min: Vec<(f64, f64)> = floors.iter().map(|(t, y)| (t / 60_000.0, *y)).collect();
    let half = &to_min[to_min.len() / 2..];
    Some((theil_sen(&to_min)?, theil_sen(half)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::testing::samples;

    #[test]
    fn peak_is_the_p95_of_the_measured_window() {
        let s = samples(|t| if t < 0 { 999_000_000 } else { 1_000 + t as u64 }, 100);
        let p = peak_rss(&[s]).unwrap();
        assert!((1_090.0..=1_100.0).contains(&p), "{p}");
    }

    #[test]
    fn missing_or_failed_samples_are_named() {
        assert!(unusable(&[], "run").unwrap().contains("no memory samples"));
        let mut s = samples(|_| 1, 10);
        s.error = Some("process gone".into());
        assert!(unusable(&[s], "run").unwrap().contains("process gone"));
    }
}

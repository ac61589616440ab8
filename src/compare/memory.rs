//! The service's own metrics, from its samples (docs/statistics.md §6): peak memory (p95 of RSS in the
//! measured window), memory growth (a Theil–Sen slope of the RSS floor with Sen's 99% bounds —
//! the leak signal) and mean CPU. Pure functions over [`Samples`].

use crate::compare::stats::normal_quantile;
use crate::result::{RunResult, Samples};

/// Fewest readings in the measured window for peak memory or CPU to mean anything.
pub const MIN_POINTS: usize = 5;
/// Fewest floor windows for a slope.
pub const MIN_FLOOR_WINDOWS: usize = 10;
/// A leak below 0.5 MB/min is indistinguishable from allocator and cache settling in CI-length runs.
pub const LEAK_FLOOR_BYTES_PER_MIN: f64 = 0.5e6;
/// ... or below 2% of the service's memory per hour, whichever is larger.
pub const LEAK_FLOOR_FRACTION_PER_HOUR: f64 = 0.02;

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

/// A slope with Sen's 99% (one-sided) bounds, in bytes per minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slope {
    /// Theil–Sen estimate.
    pub per_min: f64,
    /// 99% lower bound.
    pub lower: f64,
    /// 99% upper bound.
    pub upper: f64,
}

impl Slope {
    /// Standard error implied by the bounds.
    pub fn se(&self) -> f64 {
        (self.upper - self.lower) / (2.0 * normal_quantile(0.99))
    }
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

/// Theil–Sen slope with Sen's (1968) distribution-free bounds at 99% one-sided.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<Slope> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dt = points[j].0 - points[i].0;
            if dt != 0.0 {
                slopes.push((points[j].1 - points[i].1) / dt);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let m = slopes.len();
    let median = if m % 2 == 1 {
        slopes[m / 2]
    } else {
        (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0
    };
    let nf = n as f64;
    let var_s = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let c = normal_quantile(0.99) * var_s.sqrt();
    let lo = (((m as f64 - c) / 2.0).round() as isize).clamp(1, m as isize) as usize;
    let hi = ((((m as f64 + c) / 2.0).round() as isize) + 1).clamp(1, m as isize) as usize;
    Some(Slope {
        per_min: median,
        lower: slopes[lo - 1],
        upper: slopes[hi - 1],
    })
}

/// The leak floor F for a service of `median_rss` bytes: max(0.5 MB/min, 2%/h).
pub fn leak_floor(median_rss: f64) -> f64 {
    LEAK_FLOOR_BYTES_PER_MIN.max(median_rss * LEAK_FLOOR_FRACTION_PER_HOUR / 60.0)
}

/// How a run's growth compares with its baseline's (docs/statistics.md §6): a leak needs the whole
/// run's and the last half's lower bounds above the floor, and the last half beyond the baseline's.
/// Returns (leak at `factor`·F?) for factor 1 (warn) and 4 (critical).
pub fn leaking(run: (Slope, Slope), base: (Slope, Slope), floor: f64, factor: f64) -> bool {
    let f = floor * factor;
    let beyond_base =
        run.1.per_min - base.1.per_min - 2.33 * (run.1.se().powi(2) + base.1.se().powi(2)).sqrt();
    run.0.lower > f && run.1.lower > f && beyond_base > f / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::SamplePoint;

    fn samples(f: impl Fn(i64) -> u64, seconds: i64) -> Samples {
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

    #[test]
    fn theil_sen_finds_a_line_through_noise() {
        let pts: Vec<(f64, f64)> = (0..30)
            .map(|i| {
                (
                    i as f64,
                    2.0 * i as f64 + if i % 7 == 0 { 50.0 } else { 0.0 },
                )
            })
            .collect();
        let s = theil_sen(&pts).unwrap();
        assert!(
            (s.per_min - 2.0).abs() < 0.01 && s.lower <= 2.0 && s.upper >= 2.0,
            "{s:?}"
        );
    }

    #[test]
    fn a_flat_sawtooth_is_not_a_leak_and_a_ramp_is() {
        let flat = samples(|t| 50_000_000 + (t.rem_euclid(3) as u64) * 5_000_000, 60);
        let leak = samples(|t| 50_000_000 + t.max(0) as u64 * 200_000, 60); // 12 MB/min
        let (gf, gl) = (
            growth(std::slice::from_ref(&flat), 2_000.0).unwrap(),
            growth(&[leak], 2_000.0).unwrap(),
        );
        let floor = leak_floor(50e6);
        assert!(!leaking(gf, gf, floor, 1.0));
        assert!(leaking(gl, gf, floor, 4.0), "{gl:?}");
        assert!((gl.0.per_min - 12e6).abs() < 1e6);
    }

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

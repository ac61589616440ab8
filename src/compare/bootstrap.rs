//! Circular moving-block bootstrap over per-window histograms (STATISTICS.md §3).
//!
//! Seconds of a load test are autocorrelated (queues, GC, bursts), so resampling single requests
//! understates the noise. We resample blocks of ⌈K^(1/3)⌉ consecutive windows, merge their counts,
//! and read each statistic from the merged counts — the same number the report prints. The spread
//! of ln θ over 2000 seeded resamples is the within-run variance of the metric.

use std::collections::BTreeMap;

use crate::compare::stats::SplitMix64;
use crate::result::metric::Metric;
use crate::result::Window;

/// Resamples per bootstrap: 2000 keeps the Monte-Carlo error of a standard error under 2%.
pub const RESAMPLES: usize = 2_000;
/// Fewest windows for a bootstrap: fewer blocks than this cannot describe the run's own variation.
pub const MIN_WINDOWS: usize = 10;

/// A metric's point estimate and the variance of its logarithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// Variance of ln θ across resamples.
    pub log_var: f64,
    /// Windows the estimate rests on.
    pub windows: usize,
}

/// One run's windows on a common value grid, as cumulative counts so that a quantile of any
/// weighted merge of windows is a binary search (O(K·log B) per quantile instead of O(B)).
struct Run {
    /// `cumulative[k][i]`: values ≤ grid[i] in window k.
    cumulative: Vec<Vec<u32>>,
    /// Values recorded in window k.
    counts: Vec<u64>,
    /// Σ value·count in window k (for the mean).
    sums: Vec<f64>,
    /// Successful requests in window k (for throughput).
    ok: Vec<u64>,
}

/// Bootstraps every latency metric and throughput of one request (or the aggregate) over one or
/// more runs (stratified: blocks are drawn within each run). `None` when there are too few windows.
pub fn bootstrap(
    runs: &[&[Window]],
    window_secs: f64,
    seed: u64,
) -> Option<BTreeMap<Metric, Evidence>> {
    let total_windows: usize = runs.iter().map(|r| r.len()).sum();
    if runs.is_empty() || total_windows < MIN_WINDOWS || window_secs <= 0.0 {
        return None;
    }
    // Common grid of bucket values across all windows of all runs.
    let mut grid: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.iter())
        .flat_map(|w| w.histogram.buckets().map(|(v, _)| v))
        .collect();
    grid.sort_unstable();
    grid.dedup();
    let prepared: Vec<Run> = runs.iter().map(|r| prepare(r, &grid)).collect();
    let quantiles: Vec<(Metric, f64)> = Metric::ALL
        .iter()
        .filter_map(|m| m.quantile().map(|q| (*m, q)))
        .collect();
    let mut samples: BTreeMap<Metric, Vec<f64>> = BTreeMap::new();
    let mut rng = SplitMix64::new(seed);
    // Window multiplicities of one resample, per run.
    let mut weights: Vec<Vec<u32>> = prepared.iter().map(|r| vec![0; r.counts.len()]).collect();
    for _ in 0..RESAMPLES {
        let (mut n, mut sum, mut ok, mut windows) = (0u64, 0.0f64, 0u64, 0usize);
        for (run, w) in prepared.iter().zip(weights.iter_mut()) {
            draw(&mut rng, w);
            for (k, &m) in w.iter().enumerate() {
                if m > 0 {
                    n += m as u64 * run.counts[k];
                    sum += m as f64 * run.sums[k];
                    ok += m as u64 * run.ok[k];
                }
            }
            windows += w.len();
        }
        if n > 0 {
            for &(m, q) in &quantiles {
                // Same rank rule as HdrHistogram's value_at_quantile: the first value whose
                // cumulative count reaches ⌈q·n⌉.
                let rank = ((q * n as f64).ceil() as u64).max(1);
                let i = first_reaching(&prepared, &weights, grid.len(), rank);
                samples
                    .entry(m)
                    .or_default()
                    .push((grid[i].max(1) as f64).ln());
            }
            samples
                .entry(Metric::Mean)
                .or_default()
                .push((sum / n as f64).max(1.0).ln());
        }
        let rps = ok as f64 / (windows as f64 * window_secs);
        if rps > 0.0 {
            samples
                .entry(Metric::Throughput)
                .or_default()
                .push(rps.ln());
        }
    }
    Some(
        samples
            .into_iter()
            .filter(|(_, s)| s.len() >= RESAMPLES / 2)
            .map(|(m, s)| {
                (
                    m,
                    Evidence {
                        log_var: variance(&s),
                        windows: total_windows,
                    },
                )
            })
            .collect(),
    )
}

fn prepare(windows: &[Window], grid: &[u64]) -> Run {
    let mut run = Run {
        cumulative: Vec::new(),
        counts: Vec::new(),
        sums: Vec::new(),
        ok: Vec::new(),
    };
    for w in windows {
        let mut cum = vec![0u32; grid.len()];
        let (mut total, mut sum) = (0u64, 0.0f64);
        for (v, c) in w.histogram.buckets() {
            if let Ok(i) = grid.binary_search(&v) {
                cum[i] = cum[i].saturating_add(c.min(u32::MAX as u64) as u32);
            }
            total += c;
            sum += v as f64 * c as f64;
        }
        for i in 1..cum.len() {
            cum[i] = cum[i].saturating_add(cum[i - 1]);
        }
        run.cumulative.push(cum);
        run.counts.push(total);
        run.sums.push(sum);
        run.ok.push(w.requests.saturating_sub(w.errors));
    }
    run
}

/// Circular moving blocks of ⌈K^(1/3)⌉ windows until K windows are drawn; `w` gets multiplicities.
fn draw(rng: &mut SplitMix64, w: &mut [u32]) {
    let k = w.len();
    w.iter_mut().for_each(|x| *x = 0);
    if k == 0 {
        return;
    }
    let block = (k as f64).cbrt().ceil().max(1.0) as usize;
    let mut taken = 0;
    while taken < k {
        let start = rng.below(k);
        let len = block.min(k - taken);
        for j in 0..len {
            w[(start + j) % k] += 1;
        }
        taken += len;
    }
}

/// Smallest grid index whose weighted cumulative count reaches `rank`.
fn first_reaching(runs: &[Run], weights: &[Vec<u32>], len: usize, rank: u64) -> usize {
    let at = |i: usize| -> u64 {
        runs.iter()
            .zip(weights)
            .flat_map(|(r, w)| r.cumulative.iter().zip(w.iter()))
            .filter(|(_, m)| **m > 0)
            .map(|(cum, m)| *m as u64 * cum[i] as u64)
            .sum()
    };
    let (mut lo, mut hi) = (0usize, len.saturating_sub(1));
    while lo < hi {
        let mid = (lo + hi) / 2;
        if at(mid) >= rank {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

fn variance(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{LatencySummary, RequestStats};

    fn stats(windows: usize, per_window: u64, spread: u64, seed: u64) -> RequestStats {
        let mut s = RequestStats::default();
        let mut rng = SplitMix64::new(seed);
        for _ in 0..windows {
            let mut w = Window::default();
            for _ in 0..per_window {
                let v = 1_000 + rng.below(spread as usize) as u64;
                w.histogram.record(v);
                s.histogram.record(v);
            }
            w.requests = per_window;
            s.requests += per_window;
            s.windows.push(w);
        }
        s.latency = LatencySummary::of(&s.histogram);
        s
    }

    #[test]
    fn deterministic_for_a_seed() {
        let s = stats(20, 100, 1_000, 1);
        assert_eq!(
            bootstrap(&[&s.windows], 1.0, 9),
            bootstrap(&[&s.windows], 1.0, 9)
        );
    }

    #[test]
    fn more_data_gives_smaller_variance() {
        let short = stats(20, 50, 2_000, 2);
        let long = stats(80, 200, 2_000, 3);
        let vs = bootstrap(&[&short.windows], 1.0, 1).unwrap()[&Metric::P50].log_var;
        let vl = bootstrap(&[&long.windows], 1.0, 1).unwrap()[&Metric::P50].log_var;
        assert!(vl < vs / 4.0, "short {vs}, long {vl}");
    }

    #[test]
    fn within_run_standard_error_of_the_median_is_plausible() {
        // Uniform over 1000..3000 µs, n = 4000: se(median) ≈ 1.25·σ/√n ≈ 1.25·577/63 ≈ 11 µs, 0.6%.
        let s = stats(40, 100, 2_000, 4);
        let se = bootstrap(&[&s.windows], 1.0, 1).unwrap()[&Metric::P50]
            .log_var
            .sqrt();
        assert!((0.002..0.02).contains(&se), "se {se}");
    }

    #[test]
    fn too_few_windows_is_none() {
        assert!(bootstrap(&[&stats(5, 100, 100, 1).windows], 1.0, 1).is_none());
    }
}

//! Circular moving-block bootstrap over per-window histograms (docs/statistics.md §3): the glue
//! between a run's windows and the resampling core in `stats::bootstrap`.
//!
//! Seconds of a load test are autocorrelated (queues, GC, bursts), so resampling single requests
//! understates the noise. We resample blocks of ⌈K^(1/3)⌉ consecutive windows, merge their counts,
//! and read each statistic from the merged counts — the same number the report prints. The spread
//! of ln θ over 2000 seeded resamples is the within-run variance of the metric.
//!
//! Cost: `compare` bootstraps the aggregate and every request name on both sides, so this is the
//! comparison's hot loop (see `stats::bootstrap` for how the core keeps it cheap).

use std::collections::BTreeMap;

use crate::result::metric::Metric;
use crate::result::Window;
use crate::stats::bootstrap::resample;

/// Resamples per bootstrap: 2000 keeps the Monte-Carlo error of a standard error under 2%.
pub const RESAMPLES: usize = 2_000;
/// Resamples for a request name whose rows can only warn (no `[gate.overrides]` entry for it; see
/// `Policy::for_row`). With R resamples the estimated standard error s of ln θ carries a Monte-Carlo
/// error of about 1/√(2(R − 1)) of itself (near-normal ln θ): 1.6% at 2000, 3.5% at 400. The 95%
/// interval's endpoints (± 1.96·s) move by about 0.07·s, 0.14 percentage points for a typical s of
/// 2%, and the warn line z_w·s by 3.5% of itself. Such rows never go critical, so this can only move
/// a warning that sits on its line; 5x fewer resamples is what makes 500 names compare in a blink.
pub const WARN_ONLY_RESAMPLES: usize = 400;
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

/// Bootstraps every latency metric and throughput of one request (or the aggregate) over one or
/// more runs (stratified: blocks are drawn within each run) with `resamples` resamples ([`RESAMPLES`]
/// for rows that can fail a build). `None` when there are too few windows.
pub fn bootstrap(
    runs: &[&[Window]],
    window_secs: f64,
    seed: u64,
    resamples: usize,
) -> Option<BTreeMap<Metric, Evidence>> {
    bootstrap_over(runs, window_secs, seed, resamples, true)
}

/// [`bootstrap`] with the table over only the reachable rows (`bounded`) or over every recorded value.
fn bootstrap_over(
    runs: &[&[Window]],
    window_secs: f64,
    seed: u64,
    resamples: usize,
    bounded: bool,
) -> Option<BTreeMap<Metric, Evidence>> {
    let total_windows: usize = runs.iter().map(|r| r.len()).sum();
    if runs.is_empty() || total_windows < MIN_WINDOWS || window_secs <= 0.0 {
        return None;
    }
    let mut quantiles: Vec<(Metric, f64)> = Metric::ALL
        .iter()
        .filter_map(|m| m.quantile().map(|q| (*m, q)))
        .collect();
    // Ascending, so each search starts where the previous one ended.
    quantiles.sort_by(|a, b| a.1.total_cmp(&b.1));
    let qs: Vec<f64> = quantiles.iter().map(|(_, q)| *q).collect();
    // A window's values are its histogram's; its successes, its requests less its errors.
    let v = resample(
        runs,
        |w| (w.histogram.buckets(), w.requests.saturating_sub(w.errors)),
        &qs,
        window_secs,
        seed,
        resamples,
        bounded,
    );
    Some(
        quantiles
            .iter()
            .map(|(m, _)| *m)
            .zip(v.quantiles)
            .chain([(Metric::Mean, v.mean), (Metric::Throughput, v.rate)])
            .filter_map(|(m, log_var)| {
                log_var.map(|log_var| {
                    (
                        m,
                        Evidence {
                            log_var,
                            windows: total_windows,
                        },
                    )
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{LatencyHistogram, LatencySummary, RequestStats};
    use crate::stats::bootstrap::variance;
    use crate::stats::SplitMix64;

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
            bootstrap(&[&s.windows], 1.0, 9, RESAMPLES),
            bootstrap(&[&s.windows], 1.0, 9, RESAMPLES)
        );
    }

    #[test]
    fn more_data_gives_smaller_variance() {
        let short = stats(20, 50, 2_000, 2);
        let long = stats(80, 200, 2_000, 3);
        let vs = bootstrap(&[&short.windows], 1.0, 1, RESAMPLES).unwrap()[&Metric::P50].log_var;
        let vl = bootstrap(&[&long.windows], 1.0, 1, RESAMPLES).unwrap()[&Metric::P50].log_var;
        assert!(vl < vs / 4.0, "short {vs}, long {vl}");
    }

    #[test]
    fn within_run_standard_error_of_the_median_is_plausible() {
        // Uniform over 1000..3000 µs, n = 4000: se(median) ≈ 1.25·σ/√n ≈ 1.25·577/63 ≈ 11 µs, 0.6%.
        let s = stats(40, 100, 2_000, 4);
        let se = bootstrap(&[&s.windows], 1.0, 1, RESAMPLES).unwrap()[&Metric::P50]
            .log_var
            .sqrt();
        assert!((0.002..0.02).contains(&se), "se {se}");
    }

    /// The textbook bootstrap the table replaces: merge the drawn windows' histograms (blocks drawn
    /// within each run, in order) and ask HdrHistogram for the quantile. `None` when fewer than half
    /// the resamples have values, as `bootstrap` leaves the metric out then.
    fn merged_log_var(runs: &[&[Window]], seed: u64, resamples: usize, q: f64) -> Option<f64> {
        let mut rng = SplitMix64::new(seed);
        let mut xs = Vec::new();
        for _ in 0..resamples {
            let mut h = LatencyHistogram::new();
            for windows in runs {
                let k = windows.len();
                let block = (k as f64).cbrt().ceil() as usize;
                let mut taken = 0;
                while taken < k {
                    let start = rng.below(k);
                    let len = block.min(k - taken);
                    for j in 0..len {
                        h.merge(&windows[(start + j) % k].histogram.to_dense());
                    }
                    taken += len;
                }
            }
            if let Some(v) = h.quantile_us(q) {
                xs.push((v.max(1) as f64).ln());
            }
        }
        (!xs.is_empty() && xs.len() >= resamples / 2).then(|| variance(&xs))
    }

    #[test]
    fn quantiles_match_merging_the_drawn_windows() {
        // 31 windows (a short last block) whose ranges differ a lot: window i reaches 2^(i mod 7) ms,
        // so some windows' histograms stop below values others recorded.
        let mut rng = SplitMix64::new(5);
        let windows: Vec<Window> = (0..31)
            .map(|i| {
                let mut w = Window::default();
                for _ in 0..150 {
                    w.histogram
                        .record(100 + rng.below(1_000usize << (i % 7)) as u64);
                }
                w.requests = 150;
                w
            })
            .collect();
        let got = bootstrap(&[&windows], 1.0, 3, 300).unwrap();
        for m in [Metric::P50, Metric::P90, Metric::P95, Metric::P99] {
            let want = merged_log_var(&[&windows], 3, 300, m.quantile().unwrap()).unwrap();
            assert_eq!(got[&m].log_var, want, "{m}");
        }
    }

    /// `k` windows of `distinct` latencies drawn uniformly from `range`, each recorded `times` times.
    fn busy(
        k: usize,
        distinct: u64,
        times: u64,
        range: std::ops::Range<u64>,
        seed: u64,
    ) -> Vec<Window> {
        let mut rng = SplitMix64::new(seed);
        (0..k)
            .map(|_| {
                let mut h = LatencyHistogram::new();
                for _ in 0..distinct {
                    let v = range.start + rng.below((range.end - range.start) as usize) as u64;
                    h.record_n(v, times);
                }
                Window {
                    requests: distinct * times,
                    errors: 0,
                    histogram: (&h).into(),
                }
            })
            .collect()
    }

    #[test]
    fn values_between_the_quantiles_ranges_count_in_every_row_above_them() {
        // Busy windows (each value recorded several times) have tight quantiles, so the ranges of
        // p95 and p99 are apart. A window's values in the gap must count in the rows of the upper
        // range below its first value there: a table that forgot them put about 1 in 15 of these
        // configurations' p99 too high in some resamples.
        for span in [1_000, 20_000, 100_000] {
            for distinct in [100, 300] {
                for times in [3, 100] {
                    for k in [10, 12] {
                        for seed in 0..5 {
                            let windows = busy(k, distinct, times, 1..1 + span, seed);
                            assert_eq!(
                                bootstrap_over(&[&windows], 1.0, 9, 50, true),
                                bootstrap_over(&[&windows], 1.0, 9, 50, false),
                                "span {span}, {distinct} values × {times}, {k} windows, seed {seed}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn blocks_of_more_than_65535_values_give_the_same_answers() {
        // 12 windows of 30,000 values each: a block of 3 windows holds 90,000, beyond 16-bit cells
        // (`stats::bootstrap` checks that such a table has wide cells).
        let windows = busy(12, 300, 100, 500..20_500, 11);
        let got = bootstrap(&[&windows], 1.0, 9, 200).unwrap();
        for m in [Metric::P50, Metric::P90, Metric::P95, Metric::P99] {
            let want = merged_log_var(&[&windows], 9, 200, m.quantile().unwrap()).unwrap();
            assert_eq!(got[&m].log_var, want, "{m}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// The table over the reachable rows gives exactly the full table's and the textbook
        /// answers, one to three runs of 4 to 23 windows:
        /// - small windows (0 to 59 distinct values, so q·n is often a whole number and the rank
        ///   margins clamp at 1 and n) whose latencies spread over up to four orders of magnitude;
        /// - busy windows (200 to 399 distinct values, each recorded up to 3,000 times) sharing
        ///   their run's range: their quantiles are tight, so the quantiles' ranges are apart and
        ///   the values between them must still count, and blocks of more than 65,535 values need
        ///   wide cells.
        #[test]
        fn reachable_rows_give_the_full_tables_answers(
            runs in proptest::collection::vec(
                (
                    1u32..4,
                    proptest::bool::ANY,
                    proptest::collection::vec((0usize..60, 200usize..400, proptest::num::u64::ANY), 4..24),
                ),
                1..4),
            times in proptest::prop_oneof![proptest::strategy::Just(1u64), 1u64..50, 1u64..3_000],
            seed in proptest::num::u64::ANY,
        ) {
            let runs: Vec<Vec<Window>> = runs
                .iter()
                .map(|(decades, busy, windows)| {
                    windows
                        .iter()
                        .map(|&(small, large, s)| {
                            let mut rng = SplitMix64::new(s);
                            let mut h = LatencyHistogram::new();
                            let (n, times, decades) = if *busy {
                                (large, times, 4)
                            } else {
                                // Each small window draws its own range.
                                (small, 1, 1 + (s % u64::from(*decades)) as u32)
                            };
                            for _ in 0..n {
                                h.record_n(1 + rng.below(10usize.pow(decades + 1)) as u64, times);
                            }
                            Window {
                                requests: n as u64 * times,
                                errors: 0,
                                histogram: (&h).into(),
                            }
                        })
                        .collect()
                })
                .collect();
            let parts: Vec<&[Window]> = runs.iter().map(Vec::as_slice).collect();
            let bounded = bootstrap_over(&parts, 1.0, seed, 50, true);
            proptest::prop_assert_eq!(&bounded, &bootstrap_over(&parts, 1.0, seed, 50, false));
            // And both are the textbook bootstrap.
            for m in [Metric::P50, Metric::P90, Metric::P95, Metric::P99] {
                let got = bounded.as_ref().and_then(|b| b.get(&m)).map(|e| e.log_var);
                let want = merged_log_var(&parts, seed, 50, m.quantile().unwrap_or(0.5));
                if bounded.is_some() {
                    proptest::prop_assert_eq!(got, want, "{}", m);
                }
            }
        }
    }

    #[test]
    fn too_few_windows_is_none() {
        assert!(bootstrap(&[&stats(5, 100, 100, 1).windows], 1.0, 1, RESAMPLES).is_none());
    }
}

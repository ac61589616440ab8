//! Circular moving-block bootstrap over per-window histograms (STATISTICS.md §3).
//!
//! Seconds of a load test are autocorrelated (queues, GC, bursts), so resampling single requests
//! understates the noise. We resample blocks of ⌈K^(1/3)⌉ consecutive windows, merge their counts,
//! and read each statistic from the merged counts — the same number the report prints. The spread
//! of ln θ over 2000 seeded resamples is the within-run variance of the metric.
//!
//! Cost: `compare` bootstraps the aggregate and every request name on both sides, so this is the
//! comparison's hot loop. Every block a resample can draw is summed once per call into a table with
//! one row per grid value; a quantile of a resample is then a binary search whose every step adds
//! the drawn blocks' entries of one row (a cache line or two), and the mean and throughput add
//! per-block totals.

use std::collections::BTreeMap;

use crate::compare::stats::SplitMix64;
use crate::result::metric::Metric;
use crate::result::Window;

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

/// How one run's blocks are drawn and where they sit in the [`Table`].
struct Layout {
    /// Windows K of this run.
    windows: usize,
    /// Block length ⌈K^(1/3)⌉.
    block: usize,
    /// First column of the full-length blocks (one per start).
    full: usize,
    /// First column of the last, shorter block (K mod block windows), when K is not a multiple.
    tail: usize,
}

/// Every drawable block of every run on a common value grid. Column c of row i holds the values
/// ≤ grid[i] in block c, so a quantile of any resample is a binary search over rows.
struct Table {
    grid: Vec<u64>,
    /// Row-major: `width` columns per grid value.
    cumulative: Vec<u32>,
    width: usize,
    /// Per column: values recorded, Σ value·count (for the mean), successful requests.
    counts: Vec<u64>,
    sums: Vec<f64>,
    ok: Vec<u64>,
    runs: Vec<Layout>,
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
    let total_windows: usize = runs.iter().map(|r| r.len()).sum();
    if runs.is_empty() || total_windows < MIN_WINDOWS || window_secs <= 0.0 {
        return None;
    }
    let table = Table::new(runs);
    let mut quantiles: Vec<(Metric, f64)> = Metric::ALL
        .iter()
        .filter_map(|m| m.quantile().map(|q| (*m, q)))
        .collect();
    // Ascending, so each search starts where the previous one ended.
    quantiles.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut samples: Vec<(Metric, Vec<f64>)> = quantiles
        .iter()
        .map(|(m, _)| *m)
        .chain([Metric::Mean, Metric::Throughput])
        .map(|m| (m, Vec::with_capacity(resamples)))
        .collect();
    let (mean, throughput) = (quantiles.len(), quantiles.len() + 1);
    let mut rng = SplitMix64::new(seed);
    let mut drawn: Vec<usize> = Vec::new();
    let mut hints = vec![0usize; quantiles.len()];
    for _ in 0..resamples {
        drawn.clear();
        for run in &table.runs {
            draw(&mut rng, run, &mut drawn);
        }
        let (mut n, mut sum, mut ok) = (0u64, 0.0f64, 0u64);
        for &c in &drawn {
            n += table.counts[c];
            sum += table.sums[c];
            ok += table.ok[c];
        }
        if n > 0 {
            let mut from = 0;
            for (k, &(_, q)) in quantiles.iter().enumerate() {
                // Same rank rule as HdrHistogram's value_at_quantile: the first value whose
                // cumulative count reaches ⌈q·n⌉.
                let rank = ((q * n as f64).ceil() as u64).max(1);
                // Resamples' quantiles sit close together: search outward from the last one.
                from = table.first_reaching(&drawn, from, hints[k], rank);
                hints[k] = from;
                samples[k].1.push((table.grid[from].max(1) as f64).ln());
            }
            samples[mean].1.push((sum / n as f64).max(1.0).ln());
        }
        let rps = ok as f64 / (total_windows as f64 * window_secs);
        if rps > 0.0 {
            samples[throughput].1.push(rps.ln());
        }
    }
    Some(
        samples
            .into_iter()
            .filter(|(_, s)| !s.is_empty() && s.len() >= resamples / 2)
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

impl Table {
    fn new(runs: &[&[Window]]) -> Self {
        let all: Vec<&Window> = runs.iter().flat_map(|r| r.iter()).collect();
        // The grid is the union's recorded values; windows are compact (only their recorded buckets),
        // so each is walked once and its counts land in its column of the grid.
        let mut grid: Vec<u64> = all
            .iter()
            .flat_map(|w| w.histogram.buckets().map(|(v, _)| v))
            .collect();
        // A concatenation of ascending runs: the stable sort merges runs instead of re-sorting.
        grid.sort();
        grid.dedup();
        // Per window cumulative counts, row-major like the table (kt windows per row), and each
        // window's values, Σ value·count and successful requests.
        let kt = all.len();
        let mut windows = vec![0u32; grid.len() * kt];
        let mut totals: Vec<(u64, f64, u64)> = all
            .iter()
            .map(|w| (0, 0.0, w.requests.saturating_sub(w.errors)))
            .collect();
        for (column, (w, t)) in all.iter().zip(totals.iter_mut()).enumerate() {
            // Both ascending: one forward walk finds each recorded value's row.
            let mut i = 0;
            for (v, c) in w.histogram.buckets() {
                while grid.get(i).is_some_and(|&g| g < v) {
                    i += 1;
                }
                if let Some(slot) = windows.get_mut(i * kt + column) {
                    *slot = c.min(u64::from(u32::MAX)) as u32;
                }
                t.0 += c;
                t.1 += v as f64 * c as f64;
            }
        }
        for i in kt..windows.len() {
            windows[i] = windows[i].saturating_add(windows[i - kt]);
        }
        let mut runs_layout = Vec::with_capacity(runs.len());
        let mut width = 0;
        for r in runs {
            let k = r.len();
            let block = (k as f64).cbrt().ceil().max(1.0) as usize;
            let full = width;
            width += k;
            let tail = width;
            if k % block != 0 {
                width += k;
            }
            runs_layout.push(Layout {
                windows: k,
                block,
                full,
                tail,
            });
        }
        let mut table = Table {
            cumulative: vec![0u32; grid.len() * width],
            grid,
            width,
            counts: vec![0; width],
            sums: vec![0.0; width],
            ok: vec![0; width],
            runs: runs_layout,
        };
        table.fill(&windows, &totals, kt);
        table
    }

    /// Sums each run's windows into its blocks: circular sliding sums along every row.
    fn fill(&mut self, windows: &[u32], totals: &[(u64, f64, u64)], kt: usize) {
        let mut first_window = 0;
        for run in &self.runs {
            let k = run.windows;
            let mut lengths = vec![(run.full, run.block)];
            if k % run.block != 0 {
                lengths.push((run.tail, k % run.block));
            }
            for (column, len) in lengths {
                for s in 0..k {
                    let ws = (s..s + len).map(|j| first_window + j % k);
                    let c = column + s;
                    for w in ws {
                        self.counts[c] += totals[w].0;
                        self.sums[c] += totals[w].1;
                        self.ok[c] += totals[w].2;
                    }
                }
                for (row, out) in windows
                    .chunks_exact(kt.max(1))
                    .zip(self.cumulative.chunks_exact_mut(self.width.max(1)))
                {
                    let row = &row[first_window..first_window + k];
                    let mut acc: u64 = row[..len].iter().map(|x| *x as u64).sum();
                    for s in 0..k {
                        out[column + s] = acc.min(u32::MAX as u64) as u32;
                        // (s + len) mod k without a division: len ≤ k.
                        let next = if s + len >= k { s + len - k } else { s + len };
                        acc = acc + row[next] as u64 - row[s] as u64;
                    }
                }
            }
            first_window += k;
        }
    }

    /// Smallest grid index from `from` on whose cumulative count over the `drawn` columns reaches
    /// `rank` (the last index when none does). Gallops outward from `hint`, then bisects the
    /// bracket: the same answer as a bisection of the whole range, in a few probes when the hint
    /// is close.
    fn first_reaching(&self, drawn: &[usize], from: usize, hint: usize, rank: u64) -> usize {
        let Some(last) = self.grid.len().checked_sub(1) else {
            return 0;
        };
        let at = |i: usize| -> u64 {
            let row = &self.cumulative[i * self.width..(i + 1) * self.width];
            drawn.iter().map(|&c| row[c] as u64).sum()
        };
        let from = from.min(last);
        let h = hint.clamp(from, last);
        // The answer lies in [lo, hi]; at(hi) reaches the rank, or hi is the last index.
        let (mut lo, mut hi);
        if at(h) >= rank {
            (lo, hi) = (from, h);
            let mut step = 1;
            while h >= from + step {
                let probe = h - step;
                if at(probe) < rank {
                    lo = probe + 1;
                    break;
                }
                hi = probe;
                step *= 2;
            }
        } else {
            if h == last {
                return last;
            }
            lo = h + 1;
            let mut step = 1;
            hi = loop {
                let probe = (h + step).min(last);
                if probe == last || at(probe) >= rank {
                    break probe;
                }
                lo = probe + 1;
                step *= 2;
            };
        }
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
}

/// Circular moving blocks of the run's block length until K windows are drawn; pushes the drawn
/// blocks' columns. The last block is shorter when K is not a multiple of the block length.
fn draw(rng: &mut SplitMix64, run: &Layout, drawn: &mut Vec<usize>) {
    let k = run.windows;
    let mut taken = 0;
    while taken < k {
        let start = rng.below(k);
        let len = run.block.min(k - taken);
        drawn.push(if len == run.block {
            run.full + start
        } else {
            run.tail + start
        });
        taken += len;
    }
}

fn variance(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{LatencyHistogram, LatencySummary, RequestStats};

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

    /// The textbook bootstrap the table replaces: merge the drawn windows' histograms and ask
    /// HdrHistogram for the quantile.
    fn merged_log_var(windows: &[Window], seed: u64, resamples: usize, q: f64) -> f64 {
        let k = windows.len();
        let block = (k as f64).cbrt().ceil() as usize;
        let mut rng = SplitMix64::new(seed);
        let mut xs = Vec::new();
        for _ in 0..resamples {
            let mut h = LatencyHistogram::new();
            let mut taken = 0;
            while taken < k {
                let start = rng.below(k);
                let len = block.min(k - taken);
                for j in 0..len {
                    h.merge(&windows[(start + j) % k].histogram.to_dense());
                }
                taken += len;
            }
            xs.push((h.quantile_us(q).unwrap().max(1) as f64).ln());
        }
        variance(&xs)
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
            let want = merged_log_var(&windows, 3, 300, m.quantile().unwrap());
            assert_eq!(got[&m].log_var, want, "{m}");
        }
    }

    #[test]
    fn too_few_windows_is_none() {
        assert!(bootstrap(&[&stats(5, 100, 100, 1).windows], 1.0, 1, RESAMPLES).is_none());
    }
}

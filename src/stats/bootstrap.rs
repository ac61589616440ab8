//! The circular moving-block bootstrap's core (docs/statistics.md §3): resamples of blocks of
//! ⌈K^(1/3)⌉ consecutive windows, drawn within each run, and the variance of ln θ across them for
//! quantiles of the values recorded, their mean and the rate of successes.
//!
//! A window is what the caller says it is: its recorded values with their counts (ascending), and
//! its successes. Every block a resample can draw is summed once per call into a table with one row
//! per recorded value that some resample's quantile can land on (see `reachable`); a quantile of a
//! resample is then a search, started at the drawn blocks' own quantiles, whose every step adds the
//! drawn blocks' entries of one row (a cache line or two), and the mean and rate add per-block
//! totals.

use std::cell::Cell;

use super::rng::SplitMix64;

/// The variance of ln θ across resamples, per statistic; `None` where fewer than half the
/// resamples had a value (a quantile or mean needs values, a rate successes).
#[derive(Debug, Clone, PartialEq)]
pub struct LogVariances {
    /// One per quantile asked, in the same order.
    pub quantiles: Vec<Option<f64>>,
    /// Of the mean value.
    pub mean: Option<f64>,
    /// Of successes per second.
    pub rate: Option<f64>,
}

/// Bootstraps `quantiles` (ascending), the mean and the rate over `runs` of windows of
/// `window_secs` each (stratified: blocks are drawn within each run), with `resamples` resamples
/// from `seed`. `window` reads a window: its `(value, count)` pairs in ascending value, and its
/// successes. `bounded` builds the table over the reachable rows only; false builds it over every
/// recorded value (the reference the bounded table is tested against). Every statistic is `None`
/// without windows or with a window length that is not positive.
pub fn resample<'a, W, B>(
    runs: &[&'a [W]],
    window: impl Fn(&'a W) -> (B, u64),
    quantiles: &[f64],
    window_secs: f64,
    seed: u64,
    resamples: usize,
    bounded: bool,
) -> LogVariances
where
    B: IntoIterator<Item = (u64, u64)>,
{
    let total_windows: usize = runs.iter().map(|r| r.len()).sum();
    if total_windows == 0 || window_secs <= 0.0 {
        return LogVariances {
            quantiles: vec![None; quantiles.len()],
            mean: None,
            rate: None,
        };
    }
    let table = Table::new(runs, window, quantiles, bounded);
    let mut samples: Vec<Vec<f64>> = (0..quantiles.len() + 2)
        .map(|_| Vec::with_capacity(resamples))
        .collect();
    let (mean, rate) = (quantiles.len(), quantiles.len() + 1);
    let mut rng = SplitMix64::new(seed);
    let mut drawn: Vec<usize> = Vec::new();
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
            for (k, &q) in quantiles.iter().enumerate() {
                // Same rank rule as HdrHistogram's value_at_quantile: the first value whose
                // cumulative count reaches ⌈q·n⌉.
                let rank = rank(q, n);
                // The search starts at the drawn blocks' own quantiles averaged by weight (the
                // mixture's quantile is seldom more than a few rows from it), and the answer is at
                // or above the previous, lower quantile's.
                let mut guess = 0u64;
                for &c in &drawn {
                    guess += u64::from(table.own[c * table.quantiles + k]) * table.counts[c];
                }
                let hint = (guess / n) as usize;
                from = table.first_reaching(&drawn, from, hint, rank);
                samples[k].push(table.ln(from));
            }
            samples[mean].push((sum / n as f64).max(1.0).ln());
        }
        let rps = ok as f64 / (total_windows as f64 * window_secs);
        if rps > 0.0 {
            samples[rate].push(rps.ln());
        }
    }
    let mut log_var = samples
        .into_iter()
        .map(|s| (!s.is_empty() && s.len() >= resamples / 2).then(|| variance(&s)));
    LogVariances {
        quantiles: log_var.by_ref().take(quantiles.len()).collect(),
        mean: log_var.next().flatten(),
        rate: log_var.next().flatten(),
    }
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

impl Layout {
    /// Each run's columns, one after the other, and the table's width.
    fn of<W>(runs: &[&[W]]) -> (Vec<Layout>, usize) {
        let mut layout = Vec::with_capacity(runs.len());
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
            layout.push(Layout {
                windows: k,
                block,
                full,
                tail,
            });
        }
        (layout, width)
    }

    /// `(first column, block length)` of the full-length blocks and, when K is not a multiple of
    /// the block length, of the shorter last blocks.
    fn lengths(&self) -> impl Iterator<Item = (usize, usize)> {
        let short = self.windows % self.block;
        std::iter::once((self.full, self.block)).chain((short != 0).then_some((self.tail, short)))
    }
}

/// The buffers of the last table built on this thread, kept for the next: `compare` builds one table
/// per request name and side, a table is a few hundred kilobytes, and allocating it fresh each time
/// costs page faults and reallocations.
#[derive(Default)]
struct Scratch {
    /// The table's cells, of either width.
    narrow: Vec<u16>,
    wide: Vec<u32>,
    /// Every window's decoded values, cumulative counts and owning window, one after the other.
    values: Vec<u64>,
    cum: Vec<u64>,
    owner: Vec<u32>,
    /// The sweep's events, and the radix sort's second buffer.
    events: Vec<u64>,
    spare: Vec<u64>,
}

impl Scratch {
    /// Bytes held.
    fn bytes(&self) -> usize {
        self.narrow.capacity() * 2
            + self.wide.capacity() * 4
            + (self.values.capacity()
                + self.cum.capacity()
                + self.events.capacity()
                + self.spare.capacity())
                * 8
            + self.owner.capacity() * 4
    }

    /// Keeps `self` for the next table on this thread, unless it is too big to hold on to.
    fn keep(self) {
        if self.bytes() <= SCRATCH_MAX_BYTES {
            SCRATCH.with(|s| s.set(self));
        }
    }
}

thread_local! {
    static SCRATCH: Cell<Scratch> = const {
        Cell::new(Scratch {
            narrow: Vec::new(),
            wide: Vec::new(),
            values: Vec::new(),
            cum: Vec::new(),
            owner: Vec::new(),
            events: Vec::new(),
            spare: Vec::new(),
        })
    };
}

/// Largest [`Scratch`] kept (bytes): an aggregate over hundreds of windows can be tens of megabytes,
/// not worth holding on to.
const SCRATCH_MAX_BYTES: usize = 8 << 20;

impl Drop for Table {
    fn drop(&mut self) {
        // `new` put the other buffers back already; the cells come back with the table.
        let mut scratch = SCRATCH.with(Cell::take);
        match &mut self.cumulative {
            Cells::Narrow(cells) => scratch.narrow = std::mem::take(cells),
            Cells::Wide(cells) => scratch.wide = std::mem::take(cells),
        }
        scratch.keep();
    }
}

/// A table's cells: 16 bits when every block holds at most 65,535 values (a request name at up to
/// about 16k requests per second over 30 one-second windows, whose blocks are 4 windows long), which
/// halves the memory the searches read; 32 bits otherwise.
enum Cells {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

/// Every drawable block of every run on a common value grid. Column c of row i holds the values
/// ≤ grid[i] in block c, so a quantile of any resample is a binary search over rows.
struct Table {
    grid: Vec<u64>,
    /// Row-major: `width` columns per grid value.
    cumulative: Cells,
    width: usize,
    /// Per column: values recorded, Σ value·count (for the mean), successful requests.
    counts: Vec<u64>,
    sums: Vec<f64>,
    ok: Vec<u64>,
    runs: Vec<Layout>,
    /// Quantiles bootstrapped (ascending), and per column and quantile the row of the column's own
    /// quantile: `own[c * quantiles + k]`.
    quantiles: usize,
    own: Vec<u32>,
    /// ln of each row's value, filled on first use.
    ln_grid: Vec<Cell<Option<f64>>>,
}

/// Bits of a packed sort key that hold an event's index: 2^24 values is 16M recorded buckets.
const INDEX_BITS: u32 = 24;

/// Sorts events (indices into `values`) by their value. When value and index fit one u64 together,
/// an LSD radix sort of the packed keys, 8 bits of the value's offset from the smallest per pass:
/// a table's events are thousands of values a few octaves apart, so two or three linear passes
/// replace a comparison sort that was the table's largest cost. A comparison sort otherwise. The
/// order of equal values does not matter to the sweep. `spare` is a buffer to reuse.
fn sort_by_value(events: &mut Vec<u64>, values: &[u64], spare: &mut Vec<u64>) {
    let Some((lo, hi)) = events.iter().fold(None, |acc: Option<(u64, u64)>, &e| {
        let v = values[e as usize];
        Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
    }) else {
        return;
    };
    let span = hi - lo;
    if values.len() as u64 >= 1 << INDEX_BITS || span >= 1 << (64 - INDEX_BITS) {
        events.sort_unstable_by_key(|&e| values[e as usize]);
        return;
    }
    for e in events.iter_mut() {
        *e |= (values[*e as usize] - lo) << INDEX_BITS;
    }
    let top = INDEX_BITS + (64 - span.leading_zeros());
    spare.clear();
    spare.resize(events.len(), 0);
    let mut shift = INDEX_BITS;
    while shift < top {
        let digit = |e: u64| ((e >> shift) & 0xff) as usize;
        let mut starts = [0usize; 256];
        for &e in events.iter() {
            starts[digit(e)] += 1;
        }
        let mut sum = 0;
        for s in &mut starts {
            (*s, sum) = (sum, sum + *s);
        }
        for &e in events.iter() {
            let d = digit(e);
            spare[starts[d]] = e;
            starts[d] += 1;
        }
        std::mem::swap(events, spare);
        shift += 8;
    }
    for e in events.iter_mut() {
        *e &= (1 << INDEX_BITS) - 1;
    }
}

/// The running state of a table's sweep: each window's count so far, each column's (the sum over the
/// windows of its block), and the row where each column's count first reaches each quantile's rank.
struct Sweep<'a> {
    /// Window w's columns: `columns[column_starts[w]..column_starts[w + 1]]`.
    columns: &'a [usize],
    column_starts: &'a [usize],
    /// Per column and quantile, its rank: `ranks[c * nq + k]`.
    ranks: Vec<u64>,
    nq: usize,
    /// Per window, its count so far.
    below: Vec<u64>,
    /// Per column, its count so far, as the table stores it: saturated at u32::MAX (counts only
    /// grow, so a saturating sum is the true count or the cap). A block of more than 4 billion
    /// values gets the last row as its own quantile, which is only where its searches start.
    at: Vec<u32>,
    /// Per column, the rank it reaches next (`u64::MAX` after the last) and that rank's index.
    target: Vec<u64>,
    next: Vec<usize>,
    /// Per column and quantile, the row where the column's count first reaches the rank: the
    /// column's own quantile. `own[c * nq + k]`.
    own: Vec<u32>,
}

impl<'a> Sweep<'a> {
    /// An own quantile not reached during the sweep.
    const UNSET: u32 = u32::MAX;

    fn new(
        columns: &'a [usize],
        column_starts: &'a [usize],
        totals: &[u64],
        quantiles: &[f64],
    ) -> Self {
        let (width, nq) = (totals.len(), quantiles.len());
        let ranks: Vec<u64> = totals
            .iter()
            .flat_map(|&n| quantiles.iter().map(move |&q| rank(q, n)))
            .collect();
        let target = (0..width)
            .map(|c| if nq > 0 { ranks[c * nq] } else { u64::MAX })
            .collect();
        Sweep {
            columns,
            column_starts,
            ranks,
            nq,
            below: vec![0; column_starts.len().saturating_sub(1)],
            at: vec![0; width],
            target,
            next: vec![0; width],
            own: vec![Self::UNSET; width * nq],
        }
    }

    /// Window w's count becomes `count` (never less than it was) at row `row`.
    fn set(&mut self, w: usize, count: u64, row: usize) {
        let delta = u32::try_from(count - self.below[w]).unwrap_or(u32::MAX);
        self.below[w] = count;
        let columns = self.columns;
        let nq = self.nq;
        for &c in &columns[self.column_starts[w]..self.column_starts[w + 1]] {
            self.at[c] = self.at[c].saturating_add(delta);
            // `at` ≤ u32::MAX < u64::MAX: the loop ends after the last rank.
            while u64::from(self.at[c]) >= self.target[c] {
                self.own[c * nq + self.next[c]] = row as u32;
                self.next[c] += 1;
                self.target[c] = if self.next[c] < nq {
                    self.ranks[c * nq + self.next[c]]
                } else {
                    u64::MAX
                };
            }
        }
    }
}

impl Table {
    /// The table over the rows some resample's quantile can land on (see [`reachable`]), or over
    /// every recorded value when `bounded` is false (the reference the bounded table is tested
    /// against). `quantiles` ascending.
    fn new<'a, W, B>(
        runs: &[&'a [W]],
        window: impl Fn(&'a W) -> (B, u64),
        quantiles: &[f64],
        bounded: bool,
    ) -> Self
    where
        B: IntoIterator<Item = (u64, u64)>,
    {
        let all: Vec<&'a W> = runs.iter().flat_map(|r| r.iter()).collect();
        let kt = all.len();
        // Each window decoded once: its values, and cumulative counts (the window's own CDF).
        let mut scratch = SCRATCH.with(Cell::take);
        let (mut values, mut cum, mut owner, mut events) = (
            std::mem::take(&mut scratch.values),
            std::mem::take(&mut scratch.cum),
            // The window each value belongs to.
            std::mem::take(&mut scratch.owner),
            std::mem::take(&mut scratch.events),
        );
        values.clear();
        cum.clear();
        owner.clear();
        events.clear();
        let mut starts = Vec::with_capacity(kt + 1);
        let mut totals: Vec<(u64, f64, u64)> = Vec::with_capacity(kt);
        for (w, &win) in all.iter().enumerate() {
            starts.push(values.len());
            let (mut n, mut sum) = (0u64, 0.0f64);
            let (buckets, good) = window(win);
            for (v, c) in buckets {
                n += c;
                sum += v as f64 * c as f64;
                values.push(v);
                cum.push(n);
                owner.push(w as u32);
            }
            totals.push((n, sum, good));
        }
        starts.push(values.len());
        let window = |i: usize| {
            (
                &values[starts[i]..starts[i + 1]],
                &cum[starts[i]..starts[i + 1]],
            )
        };
        let ranges = if bounded {
            reachable((0..kt).map(window), quantiles)
        } else {
            vec![(0, u64::MAX)]
        };
        let (layout, width) = Layout::of(runs);
        // Per column: values, Σ value·count, successful requests.
        let (mut counts, mut sums, mut ok) =
            (vec![0u64; width], vec![0.0f64; width], vec![0u64; width]);
        // Per window: the columns (blocks) that contain it, window w's at
        // `columns[column_starts[w]..column_starts[w + 1]]`.
        let mut columns: Vec<usize> = Vec::new();
        let mut column_starts: Vec<usize> = Vec::with_capacity(kt + 1);
        for run in &layout {
            let k = run.windows;
            for t in 0..k {
                column_starts.push(columns.len());
                for (column, len) in run.lengths() {
                    // Blocks starting at t, t − 1, …, t − len + 1 (circularly) hold window t.
                    columns.extend((0..len).map(|back| column + (t + k - back) % k));
                }
            }
        }
        column_starts.push(columns.len());
        let columns_of = |w: usize| &columns[column_starts[w]..column_starts[w + 1]];
        for (w, &(n, sum, good)) in totals.iter().enumerate() {
            for &c in columns_of(w) {
                counts[c] += n;
                sums[c] += sum;
                ok[c] += good;
            }
        }
        // The grid is every recorded value inside a range (a value outside can never be an answer);
        // each is an event: window w's cumulative count becomes `cum` at `value`. An event is its
        // index into `values` (and `cum`, `owner`). `entering[r * kt + w]` is window w's count below
        // range r: the values between two ranges are no rows, but they count in every row above.
        let mut entering = vec![0u64; ranges.len() * kt];
        for w in 0..kt {
            let (vs, cs) = window(w);
            for (r, &(lo, hi)) in ranges.iter().enumerate() {
                let from = vs.partition_point(|&v| v < lo);
                let to = vs.partition_point(|&v| v <= hi);
                if from > 0 {
                    entering[r * kt + w] = cs[from - 1];
                }
                events.extend((starts[w] + from..starts[w] + to).map(|j| j as u64));
            }
        }
        sort_by_value(&mut events, &values, &mut scratch.spare);
        let nq = quantiles.len();
        let mut sweep = Sweep::new(&columns, &column_starts, &counts, quantiles);
        // One sweep over the events in value order: each moves its window's count, and so its blocks'
        // counts; after the last event of a value the row is complete. Every row is written once, in
        // order, into a buffer reused across calls on this thread.
        let mut grid: Vec<u64> = Vec::with_capacity(events.len());
        // A column's count never exceeds its total, so the totals decide the cell width.
        let mut cumulative = if counts.iter().all(|&n| n <= u64::from(u16::MAX)) {
            let mut cells = std::mem::take(&mut scratch.narrow);
            cells.clear();
            Cells::Narrow(cells)
        } else {
            let mut cells = std::mem::take(&mut scratch.wide);
            cells.clear();
            Cells::Wide(cells)
        };
        let mut entered = 0;
        let mut e = 0;
        while let Some(&first) = events.get(e) {
            let value = values[first as usize];
            let row = grid.len();
            // Entering a range: every window's count jumps to its count below the range.
            while let Some(&(lo, _)) = ranges.get(entered) {
                if value < lo {
                    break;
                }
                for w in 0..kt {
                    sweep.set(w, entering[entered * kt + w], row);
                }
                entered += 1;
            }
            while let Some(&j) = events.get(e) {
                let j = j as usize;
                if values[j] != value {
                    break;
                }
                sweep.set(owner[j] as usize, cum[j], row);
                e += 1;
            }
            grid.push(value);
            match &mut cumulative {
                // Every count fits: checked against the columns' totals above.
                Cells::Narrow(cells) => cells.extend(sweep.at.iter().map(|&x| x as u16)),
                Cells::Wide(cells) => cells.extend_from_slice(&sweep.at),
            }
        }
        Scratch {
            narrow: scratch.narrow,
            wide: scratch.wide,
            values,
            cum,
            owner,
            events,
            spare: scratch.spare,
        }
        .keep();
        let mut own = sweep.own;
        let rows = grid.len();
        // Not reached within the grid (or an empty column, whose weight is 0): the last row.
        for o in own.iter_mut().filter(|o| **o == Sweep::UNSET) {
            *o = rows.saturating_sub(1) as u32;
        }
        Table {
            ln_grid: vec![Cell::new(None); rows],
            grid,
            cumulative,
            width,
            counts,
            sums,
            ok,
            runs: layout,
            quantiles: nq,
            own,
        }
    }

    /// Smallest grid index from `from` on whose cumulative count over the `drawn` columns reaches
    /// `rank` (the last index when none does). Gallops outward from `hint`, then bisects the bracket:
    /// the same answer as a bisection of the whole range, in a few probes when the hint is close.
    fn first_reaching(&self, drawn: &[usize], from: usize, hint: usize, rank: u64) -> usize {
        match &self.cumulative {
            Cells::Narrow(cells) => self.search(cells, drawn, from, hint, rank),
            Cells::Wide(cells) => self.search(cells, drawn, from, hint, rank),
        }
    }

    /// [`Table::first_reaching`] over cells of one width.
    fn search<T: Copy + Into<u64>>(
        &self,
        cells: &[T],
        drawn: &[usize],
        from: usize,
        hint: usize,
        rank: u64,
    ) -> usize {
        let Some(last) = self.grid.len().checked_sub(1) else {
            return 0;
        };
        let at = |i: usize| -> u64 {
            let row = &cells[i * self.width..(i + 1) * self.width];
            drawn.iter().map(|&c| row[c].into()).sum()
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

    /// ln of row `i`'s value, computed once per row (a resample's quantiles keep landing on the same
    /// few rows).
    fn ln(&self, i: usize) -> f64 {
        let cell = &self.ln_grid[i];
        match cell.get() {
            Some(x) => x,
            None => {
                let x = (self.grid[i].max(1) as f64).ln();
                cell.set(Some(x));
                x
            }
        }
    }
}

/// The rank of quantile `q` among `n` values: HdrHistogram's `value_at_quantile` takes the first value
/// whose cumulative count reaches ⌈q·n⌉.
fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).max(1)
}

/// The value ranges, one per quantile (merged where they overlap), that hold the quantile of every
/// possible resample. A resample is a mixture of windows (each drawn some number of times), and a
/// mixture's quantile lies between the smallest and the largest of its components' quantiles: below
/// every window's own quantile, every window is short of its share q·n_w, so the sum is short of q·N;
/// at or above every window's quantile, every window has its share. The ranks are widened by 2 on each
/// side so that the rounding of q·n in floating point (less than 1) cannot move an answer outside.
/// Only the values inside these ranges become rows of the table: most of a run's distinct values lie
/// between the quantiles, or beyond every window's p99, where no resample's quantile can fall. The
/// values between two ranges are no rows, but they still count in every row above them.
fn reachable<'a>(
    windows: impl Iterator<Item = (&'a [u64], &'a [u64])>,
    quantiles: &[f64],
) -> Vec<(u64, u64)> {
    let mut ranges = vec![(u64::MAX, 0u64); quantiles.len()];
    for (values, cumulative) in windows {
        let Some(&n) = cumulative.last() else {
            continue;
        };
        // The first value whose cumulative count reaches r.
        let at = |r: u64| values[cumulative.partition_point(|&c| c < r).min(values.len() - 1)];
        for (range, &q) in ranges.iter_mut().zip(quantiles) {
            let r = rank(q, n);
            range.0 = range.0.min(at(r.saturating_sub(2).max(1)));
            range.1 = range.1.max(at((r + 2).min(n)));
        }
    }
    ranges.retain(|(lo, hi)| lo <= hi);
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
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

/// Sample variance (n − 1 in the denominator; 0 for one value).
pub fn variance(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window as plain data: `(value, count)` pairs, ascending, and its successes.
    type Plain = (Vec<(u64, u64)>, u64);

    fn plain(w: &Plain) -> (std::iter::Copied<std::slice::Iter<'_, (u64, u64)>>, u64) {
        (w.0.iter().copied(), w.1)
    }

    /// `k` windows of `distinct` values from `lo`, each recorded `times` times.
    fn windows(k: usize, distinct: u64, times: u64, lo: u64) -> Vec<Plain> {
        (0..k as u64)
            .map(|w| {
                let values = (0..distinct).map(|i| (lo + i * 7 + w, times)).collect();
                (values, distinct * times)
            })
            .collect()
    }

    #[test]
    fn blocks_of_more_than_65535_values_get_wide_cells() {
        // 12 windows of 30,000 values: a block of 3 windows holds 90,000, beyond 16-bit cells.
        let wide = windows(12, 300, 100, 500);
        let table = Table::new(&[&wide], plain, &[0.5, 0.99], true);
        assert!(matches!(table.cumulative, Cells::Wide(_)));
        // 12 windows of 3,000: 9,000 a block, which 16 bits hold.
        let narrow = windows(12, 300, 10, 500);
        let table = Table::new(&[&narrow], plain, &[0.5, 0.99], true);
        assert!(matches!(table.cumulative, Cells::Narrow(_)));
    }

    #[test]
    fn the_same_seed_gives_the_same_variances_and_no_windows_give_none() {
        let w = windows(20, 50, 3, 1_000);
        let a = resample(&[&w], plain, &[0.5, 0.99], 1.0, 9, 200, true);
        assert_eq!(a, resample(&[&w], plain, &[0.5, 0.99], 1.0, 9, 200, true));
        assert_eq!(a, resample(&[&w], plain, &[0.5, 0.99], 1.0, 9, 200, false));
        assert!(a.quantiles.iter().all(Option::is_some) && a.mean.is_some() && a.rate.is_some());
        let none = resample::<Plain, _>(&[], plain, &[0.5], 1.0, 9, 200, true);
        assert_eq!(
            (none.quantiles, none.mean, none.rate),
            (vec![None], None, None)
        );
    }

    #[test]
    fn a_window_without_successes_has_no_rate() {
        let w: Vec<Plain> = windows(20, 50, 3, 1_000)
            .into_iter()
            .map(|(v, _)| (v, 0))
            .collect();
        let v = resample(&[&w], plain, &[0.5], 1.0, 9, 200, true);
        assert_eq!(v.rate, None);
        assert!(v.quantiles[0].is_some());
    }

    #[test]
    fn variance_is_the_sample_variance() {
        assert_eq!(variance(&[1.0, 2.0, 3.0, 4.0]), 5.0 / 3.0);
        assert_eq!(variance(&[2.0]), 0.0);
    }

    proptest::proptest! {
        /// The radix path (values within 2^40 of each other) and the comparison path (wider) both
        /// order the events by value and keep each event once.
        #[test]
        fn events_sort_by_value(
            base in proptest::num::u64::ANY,
            bits in 1u32..=64,
            raw in proptest::collection::vec(proptest::num::u64::ANY, 0..600),
            keep in proptest::collection::vec(proptest::bool::ANY, 600),
        ) {
            // Values spread over `bits` bits above `base`: spans from 1 to 2^64.
            let base = base >> (64 - bits).min(63);
            let values: Vec<u64> =
                raw.iter().map(|r| base.saturating_add(r >> (64 - bits))).collect();
            let mut events: Vec<u64> =
                (0..values.len() as u64).filter(|&i| keep[i as usize]).collect();
            let mut want = events.clone();
            sort_by_value(&mut events, &values, &mut vec![7; 3]);
            let got: Vec<u64> = events.iter().map(|&e| values[e as usize]).collect();
            proptest::prop_assert!(got.windows(2).all(|p| p[0] <= p[1]), "not sorted: {:?}", got);
            events.sort_unstable();
            want.sort_unstable();
            proptest::prop_assert_eq!(events, want);
        }
    }
}

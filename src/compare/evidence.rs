//! The within-run evidence of every scope of a comparison (the aggregate and each request name, on
//! both sides): the block bootstraps that dominate `compare`'s cost, and the map that spreads each
//! scope's work over the available cores.
//!
//! Deterministic: each scope has its own seed, derived from the two runs' start times and its name,
//! and its result lands in its own slot, so neither the number of threads nor their timing can change
//! a comparison. Pure computation; no I/O.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::compare::bootstrap::{bootstrap, Evidence, RESAMPLES, WARN_ONLY_RESAMPLES};
use crate::compare::policy::Policy;
use crate::result::metric::Metric;
use crate::result::{RequestStats, RunResult, Window};
use crate::stats::seed_of;

/// One side's evidence per metric; `None` when the side lacks the scope or has too few windows.
pub type Side = Option<BTreeMap<Metric, Evidence>>;

/// Baseline and run evidence for one scope (`None` = all requests). `metrics` are the per-request
/// metrics, which decide whether a name can fail the build.
pub fn of(
    baseline: &RunResult,
    run: &RunResult,
    scope: Option<&String>,
    policy: &Policy,
    metrics: &[Metric],
) -> (Side, Side) {
    let req = scope.map(String::as_str);
    // Rows that can fail a build keep the full resample count; warn-only names use fewer
    // (bootstrap::WARN_ONLY_RESAMPLES documents the Monte-Carlo error this costs).
    let can_fail = req.is_none() || metrics.iter().any(|m| policy.for_row(req, *m).1);
    let resamples = if can_fail {
        RESAMPLES
    } else {
        WARN_ONLY_RESAMPLES
    };
    let seed = seed_of(&[
        &baseline.meta.started_at,
        &run.meta.started_at,
        req.unwrap_or(""),
    ]);
    (
        baseline
            .stats(req)
            .and_then(|s| side(s, baseline, seed, resamples)),
        run.stats(req)
            .and_then(|s| side(s, run, seed ^ 0x5555, resamples)),
    )
}

/// `f` of each item, in the items' order, computed on all available cores. Deterministic whenever
/// `f` is: each result lands in its item's slot, whichever thread computed it.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    // Workers take the next item from a shared counter: the aggregate costs several names, so
    // fixed chunks would leave a core idle.
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, R)>> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            // A panic in a worker is a bug; re-raise it as the sequential loop would have.
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    // Every index below items.len() was taken by exactly one worker.
    let mut out: Vec<(usize, R)> = done.into_iter().flatten().collect();
    out.sort_unstable_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

fn side(stats: &RequestStats, result: &RunResult, seed: u64, resamples: usize) -> Side {
    let parts: Vec<&[Window]> = result.split_windows(&stats.windows);
    bootstrap(
        &parts,
        result.meta.load.window_ms as f64 / 1000.0,
        seed,
        resamples,
    )
}

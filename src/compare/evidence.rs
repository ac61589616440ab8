//! The within-run evidence of every scope of a comparison (the aggregate and each request name, on
//! both sides): the block bootstraps that dominate `compare`'s cost, spread over the available cores.
//!
//! Deterministic: each scope has its own seed, derived from the two runs' start times and its name,
//! and its result lands in its own slot, so neither the number of threads nor their timing can change
//! a comparison. Pure computation; no I/O.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::compare::bootstrap::{bootstrap, Evidence, RESAMPLES, WARN_ONLY_RESAMPLES};
use crate::compare::policy::Policy;
use crate::compare::stats::seed_of;
use crate::result::metric::Metric;
use crate::result::{RequestStats, RunResult, Window};

/// One side's evidence per metric; `None` when the side lacks the scope or has too few windows.
pub type Side = Option<BTreeMap<Metric, Evidence>>;

/// Baseline and run evidence for each scope (`None` = all requests), in the order of `scopes`.
/// `metrics` are the per-request metrics, which decide whether a name can fail the build.
pub fn all(
    baseline: &RunResult,
    run: &RunResult,
    scopes: &[Option<&String>],
    policy: &Policy,
    metrics: &[Metric],
) -> Vec<(Side, Side)> {
    let one = |scope: Option<&String>| {
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
    };
    let threads = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(scopes.len());
    if threads <= 1 {
        return scopes.iter().map(|s| one(*s)).collect();
    }
    // Workers take the next scope from a shared counter: the aggregate costs several names, so
    // fixed chunks would leave a core idle.
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, (Side, Side))>> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(scope) = scopes.get(i) else {
                            return mine;
                        };
                        mine.push((i, one(*scope)));
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
    let mut out: Vec<(Side, Side)> = scopes.iter().map(|_| (None, None)).collect();
    for (i, pair) in done.into_iter().flatten() {
        out[i] = pair;
    }
    out
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

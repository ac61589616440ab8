//! Stage 3 — merging the results of a sharded run (`loadgate merge`) into one [`RunResult`], exactly:
//! counts add, histograms add (lossless), windows are aligned by wall-clock time. Pure: the files are
//! read and written by `commands::merge`; paths appear here only to name them in errors.
//!
//! Window k of shard s lands at `k + round((start_s − start_min) / window)`. A sharded worker opens
//! its measured window on a wall-clock window boundary (`load::shard::align_start`), so the offset is
//! a whole number of windows up to the scheduler's jitter (about a millisecond), and window k of
//! every shard covers the same slice of time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::result::shard::{MergeInfo, Shard, ShardSource};
use crate::result::{LatencySummary, RequestStats, RunResult, Samples, Window};

/// Merges the shards `parts` (file, result) of one run. Every part must be a shard of the same
/// scenario, window width and shard count; indices must be distinct and, unless `allow_partial`,
/// cover 1..=N. The order of `parts` does not matter.
pub fn merge(parts: &[(PathBuf, RunResult)], allow_partial: bool) -> Result<RunResult, MergeError> {
    let mut shards = check(parts)?;
    shards.sort_by_key(|s| s.shard.index);
    let count = shards.first().map_or(0, |s| s.shard.count);
    let missing: Vec<u32> = (1..=count)
        .filter(|i| !shards.iter().any(|s| s.shard.index == *i))
        .collect();
    if !missing.is_empty() && !allow_partial {
        return Err(MergeError::Missing { missing, count });
    }
    let start_min = shards.iter().map(|s| s.start_ms).min().unwrap_or(0);
    let sources = place(&mut shards, start_min)?;
    let Some(first) = shards.first() else {
        return Err(MergeError::Empty);
    };
    let mut out = first.result.clone();
    out.all = RequestStats::default();
    out.requests = BTreeMap::new();
    out.samples = Vec::new();
    for s in &shards {
        add_shifted(&mut out.all, &s.result.all, s.offset);
        for (name, stats) in &s.result.requests {
            add_shifted(
                out.requests.entry(name.clone()).or_default(),
                stats,
                s.offset,
            );
        }
        out.samples.extend(s.result.samples.iter().map(|samples| {
            Samples {
                source: format!("shard {}: {}", s.shard, samples.source),
                points: samples
                    .points
                    .iter()
                    .map(|p| {
                        let mut p = *p;
                        p.t_ms += s.start_ms - start_min;
                        p
                    })
                    .collect(),
                ..samples.clone()
            }
        }));
    }
    fill(&mut out, &shards, start_min);
    out.meta.merged = Some(MergeInfo {
        shard_count: count,
        shards: sources,
        missing,
    });
    Ok(out)
}

/// Sets each shard's window offset from its wall-clock start; returns where each shard came from.
fn place(shards: &mut [Part<'_>], start_min: i64) -> Result<Vec<ShardSource>, MergeError> {
    let window_ms = shards
        .first()
        .map_or(1, |s| s.result.meta.load.window_ms.max(1)) as i64;
    let longest = shards
        .iter()
        .map(|s| s.result.meta.measured_duration_ms)
        .max()
        .unwrap_or(0) as i64;
    let earliest = shards
        .iter()
        .find(|s| s.start_ms == start_min)
        .map_or_else(PathBuf::new, |s| s.path.to_path_buf());
    let mut sources = Vec::new();
    for s in shards.iter_mut() {
        let late_ms = s.start_ms - start_min;
        if late_ms > longest {
            return Err(MergeError::NotConcurrent {
                file: s.path.to_path_buf(),
                earliest,
                late_ms,
            });
        }
        // Rounded: the boundary alignment leaves only scheduler jitter to absorb.
        s.offset = ((late_ms + window_ms / 2) / window_ms) as usize;
        sources.push(ShardSource {
            index: s.shard.index,
            host: s.result.meta.host.clone(),
            measure_start_unix_ms: s.start_ms,
            window_offset: s.offset as u32,
            requests: s.result.all.requests,
            git_commit: s.result.meta.git_commit.clone(),
        });
    }
    Ok(sources)
}

/// The merged result's provenance and load settings: the union of the shards.
fn fill(out: &mut RunResult, shards: &[Part<'_>], start_min: i64) {
    let meta = &mut out.meta;
    let rs = || shards.iter().map(|s| &s.result.meta);
    meta.shard = None;
    meta.measure_start_unix_ms = Some(start_min);
    if let Some(earliest) = shards.iter().find(|s| s.start_ms == start_min) {
        meta.started_at = earliest.result.meta.started_at.clone();
    }
    meta.measured_duration_ms = shards
        .iter()
        .map(|s| (s.start_ms - start_min) as u64 + s.result.meta.measured_duration_ms)
        .max()
        .unwrap_or(0);
    meta.load.users = rs().map(|m| m.load.users).sum();
    meta.load.rate_rps = rs().map(|m| m.load.rate_rps).sum();
    meta.load.max_requests = rs().map(|m| m.load.max_requests).sum();
    meta.warmup_requests = rs().map(|m| m.warmup_requests).sum();
    let early: Vec<String> = shards
        .iter()
        .filter_map(|s| {
            let why = s.result.meta.stopped_early.as_ref()?;
            Some(format!("shard {}: {why}", s.shard))
        })
        .collect();
    meta.stopped_early = (!early.is_empty()).then(|| early.join("; "));
    // A shard that breached an objective beyond doubt breached it for the whole run.
    meta.aborted = shards.iter().find_map(|s| s.result.meta.aborted.clone());
    meta.run_windows = Vec::new();
    let all_len = out.all.windows.len();
    for stats in std::iter::once(&mut out.all).chain(out.requests.values_mut()) {
        stats.windows.resize_with(all_len, Window::default);
        stats.latency = LatencySummary::of(&stats.histogram);
    }
}

/// Adds `from` into `to`, its window k landing at `offset + k`.
fn add_shifted(to: &mut RequestStats, from: &RequestStats, offset: usize) {
    to.requests += from.requests;
    to.errors.add(&from.errors);
    for (code, n) in &from.status_codes {
        *to.status_codes.entry(code.clone()).or_default() += n;
    }
    to.histogram.merge(&from.histogram);
    let len = offset + from.windows.len();
    if to.windows.len() < len {
        to.windows.resize_with(len, Window::default);
    }
    for (mine, theirs) in to.windows[offset..].iter_mut().zip(&from.windows) {
        mine.requests += theirs.requests;
        mine.errors += theirs.errors;
        mine.histogram.merge(&theirs.histogram);
    }
    to.latency = LatencySummary::of(&to.histogram);
}

struct Part<'a> {
    path: &'a Path,
    result: &'a RunResult,
    shard: Shard,
    start_ms: i64,
    offset: usize,
}

/// Checks that the parts fit together; returns them with their shard and start.
fn check(parts: &[(PathBuf, RunResult)]) -> Result<Vec<Part<'_>>, MergeError> {
    let Some((first_path, first)) = parts.first() else {
        return Err(MergeError::Empty);
    };
    let mut out: Vec<Part<'_>> = Vec::new();
    for (path, r) in parts {
        let m = &r.meta;
        let Some(shard) = m.shard else {
            return Err(MergeError::NotAShard { file: path.clone() });
        };
        let Some(start_ms) = m.measure_start_unix_ms else {
            return Err(MergeError::NoStart { file: path.clone() });
        };
        let f = &first.meta;
        if m.scenario_name != f.scenario_name || m.scenario_hash != f.scenario_hash {
            return Err(MergeError::Scenario {
                file: path.clone(),
                scenario: m.scenario_name.clone(),
                first: first_path.clone(),
                first_scenario: f.scenario_name.clone(),
            });
        }
        if m.load.window_ms != f.load.window_ms {
            return Err(MergeError::Window {
                file: path.clone(),
                window_ms: m.load.window_ms,
                first: first_path.clone(),
                first_window_ms: f.load.window_ms,
            });
        }
        if let Some(other) = out.iter().find(|p| p.shard.count != shard.count) {
            return Err(MergeError::Count {
                file: path.clone(),
                shard,
                other: other.path.to_path_buf(),
                other_shard: other.shard,
            });
        }
        if let Some(other) = out.iter().find(|p| p.shard.index == shard.index) {
            return Err(MergeError::Duplicate {
                shard,
                file: path.clone(),
                other: other.path.to_path_buf(),
            });
        }
        out.push(Part {
            path,
            result: r,
            shard,
            start_ms,
            offset: 0,
        });
    }
    Ok(out)
}

/// The inputs of a merge do not fit together. Every message names the files and the fix.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("nothing to merge: pass the result files of every shard (`loadgate merge shard-*.json --out merged.json`)")]
    Empty,
    /// A whole run among the shards.
    #[error("{} is not a shard (it was not made by `loadgate run --shard i/N`): merge combines the shards of one sharded run; a whole run needs no merge", file.display())]
    NotAShard {
        /// File.
        file: PathBuf,
    },
    /// A shard without a wall-clock start (hand-edited, or damaged).
    #[error("{} has no `meta.measure_start_unix_ms`, so its windows cannot be aligned with the other shards; re-run that shard with this loadgate", file.display())]
    NoStart {
        /// File.
        file: PathBuf,
    },
    /// Shards of different scenarios (or versions of one).
    #[error("{} is a run of scenario `{scenario}` but {} is a run of `{first_scenario}` (or their requests or [load] differ): merge only the shards of one run of one scenario", file.display(), first.display())]
    Scenario {
        /// File.
        file: PathBuf,
        /// Its scenario.
        scenario: String,
        /// The first file.
        first: PathBuf,
        /// The first file's scenario.
        first_scenario: String,
    },
    /// Different window widths.
    #[error("{} cuts time into {window_ms} ms windows but {} into {first_window_ms} ms: their windows cannot be added; run every shard with the same scenario", file.display(), first.display())]
    Window {
        /// File.
        file: PathBuf,
        /// Its window.
        window_ms: u64,
        /// The first file.
        first: PathBuf,
        /// The first file's window.
        first_window_ms: u64,
    },
    /// Shards of differently split runs.
    #[error("{} is shard {shard} but {} is shard {other_shard}: the shards of one run share their N; merge the files of one run only", file.display(), other.display())]
    Count {
        /// File.
        file: PathBuf,
        /// Its shard.
        shard: Shard,
        /// Another file.
        other: PathBuf,
        /// Its shard.
        other_shard: Shard,
    },
    /// The same shard twice.
    #[error("{} and {} are both shard {shard}: each shard id must appear once; check the `--shard` each worker was given", other.display(), file.display())]
    Duplicate {
        /// The shard.
        shard: Shard,
        /// File.
        file: PathBuf,
        /// The other file with that shard.
        other: PathBuf,
    },
    /// Not every shard is there.
    #[error("shard(s) {} of {count} missing: pass every shard's result, or `--allow-partial` to merge what is there (the merged result then notes the missing shards and carries less load than planned)", list(missing))]
    Missing {
        /// The missing shard indices.
        missing: Vec<u32>,
        /// N.
        count: u32,
    },
    /// A shard measured at another time than the others.
    #[error("{} started measuring {late_ms} ms after {} had, later than any shard's measured duration: they did not run at the same time (is one a stale file?); re-run the shards together", file.display(), earliest.display())]
    NotConcurrent {
        /// File.
        file: PathBuf,
        /// The shard that started first.
        earliest: PathBuf,
        /// How late.
        late_ms: i64,
    },
}

fn list(indices: &[u32]) -> String {
    indices
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;

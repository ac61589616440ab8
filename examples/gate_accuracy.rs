//! The gate's accuracy, measured (DESIGN.md §12 item 10; run through `benches/gate-accuracy.sh`).
//!
//! Reads real recorded runs of one scenario (`run-*.json` in a folder), calibrates τ on the first
//! ten (all their pairs), and judges every pair of the remaining runs exactly as `gate` does, with a
//! confirmation run drawn from a third run: unaltered (A/A: how often a clean change fails the
//! build) and with regressions injected into the candidate's per-window histograms (how often a
//! real one is caught). Prints a Markdown table for the README.
//!
//! `cargo run --release --example gate_accuracy -- SCENARIO DIR`

use std::error::Error;
use std::path::Path;

use loadgate::compare::guard::{Z_BETA, Z_BETA_CONFIRMED};
use loadgate::compare::noise::calibrate;
use loadgate::compare::stats::{wilson, SplitMix64};
use loadgate::compare::{compare, confirm, needs_confirmation, Noise, Policy, Settings, Status};
use loadgate::result::{LatencyHistogram, LatencySummary, RequestStats, RunResult};
use loadgate::verdict::{decide, Outcome};

/// An injected regression.
#[derive(Clone, Copy)]
enum Case {
    None,
    /// Every latency × factor.
    Latency(f64),
    /// Latencies above each window's p95 × factor.
    Tail(f64),
    /// One request name's latencies × factor.
    OneEndpoint(f64),
    /// Completed requests thinned to this fraction.
    Throughput(f64),
    /// This fraction of requests turned into errors.
    Errors(f64),
}

impl Case {
    fn label(self) -> String {
        match self {
            Case::None => "A/A (no change)".into(),
            Case::Latency(f) => format!("latency +{:.0}%", (f - 1.0) * 100.0),
            Case::Tail(f) => format!("tail only: ×{f} above p95"),
            Case::OneEndpoint(f) => format!("one endpoint +{:.0}%", (f - 1.0) * 100.0),
            Case::Throughput(k) => format!("throughput −{:.0}%", (1.0 - k) * 100.0),
            Case::Errors(p) => format!("errors 0 → {:.1}%", p * 100.0),
        }
    }
}

fn binomial(rng: &mut SplitMix64, n: u64, p: f64) -> u64 {
    if p >= 1.0 {
        return n;
    }
    (0..n)
        .filter(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p)
        .count() as u64
}

fn scale(
    h: &LatencyHistogram,
    factor: f64,
    above: u64,
    rng: &mut SplitMix64,
    keep: f64,
) -> LatencyHistogram {
    let mut out = LatencyHistogram::new();
    for (v, c) in h.buckets() {
        let c = binomial(rng, c, keep);
        if v > above {
            out.record_n((v as f64 * factor) as u64, c);
        } else {
            out.record_n(v, c);
        }
    }
    out
}

fn alter(stats: &mut RequestStats, case: Case, rng: &mut SplitMix64) {
    for w in &mut stats.windows {
        match case {
            Case::Latency(f) | Case::OneEndpoint(f) => {
                w.histogram = scale(&w.histogram.to_dense(), f, 0, rng, 1.0).into();
            }
            Case::Tail(f) => {
                let p95 = w.histogram.quantile_us(0.95).unwrap_or(u64::MAX);
                w.histogram = scale(&w.histogram.to_dense(), f, p95, rng, 1.0).into();
            }
            Case::Throughput(k) => {
                w.histogram = scale(&w.histogram.to_dense(), 1.0, u64::MAX, rng, k).into();
                w.requests = w.histogram.count();
                w.errors = binomial(rng, w.errors, k);
            }
            Case::Errors(p) => {
                let e = binomial(rng, w.requests - w.errors, p);
                w.errors += e;
                stats.errors.status += e;
            }
            Case::None => {}
        }
    }
    stats.histogram = LatencyHistogram::new();
    for w in &stats.windows {
        stats.histogram.merge(&w.histogram.to_dense());
    }
    if matches!(case, Case::Throughput(_)) {
        stats.requests = stats.windows.iter().map(|w| w.requests).sum();
        let errors: u64 = stats.windows.iter().map(|w| w.errors).sum();
        stats.errors = Default::default();
        stats.errors.status = errors;
    }
    stats.latency = LatencySummary::of(&stats.histogram);
}

fn transform(run: &RunResult, case: Case, seed: u64) -> RunResult {
    let mut r = run.clone();
    let mut rng = SplitMix64::new(seed);
    let first = r.requests.keys().next().cloned();
    for (name, stats) in r.requests.iter_mut() {
        match case {
            Case::OneEndpoint(_) if Some(name) != first.as_ref() => {}
            _ => alter(stats, case, &mut rng),
        }
    }
    let mut all = RequestStats::default();
    for stats in r.requests.values() {
        all.merge(stats);
    }
    r.all = all;
    r
}

/// Judges like `gate` does; returns the outcome and the rows that warned or worse.
fn judge(
    base: &RunResult,
    cand: &RunResult,
    again: &RunResult,
    policy: &Policy,
    noise: &Noise,
) -> (Outcome, Vec<String>) {
    let first = compare(
        base,
        cand,
        Settings {
            policy,
            noise,
            z_beta: Z_BETA,
        },
    );
    let last = if needs_confirmation(&first) {
        let pooled =
            RunResult::pool(&[cand.clone(), again.clone()]).unwrap_or_else(|| cand.clone());
        let second = compare(
            base,
            &pooled,
            Settings {
                policy,
                noise,
                z_beta: Z_BETA_CONFIRMED,
            },
        );
        confirm(&first, second)
    } else {
        first
    };
    let v = decide(&last);
    let flagged = v
        .reasons
        .iter()
        .filter(|r| matches!(r.status, Status::Warn | Status::Critical))
        .map(|r| format!("{} {}", r.request.as_deref().unwrap_or("all"), r.metric))
        .collect();
    (v.outcome, flagged)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(scenario), Some(dir)) = (args.get(1), args.get(2)) else {
        return Err(
            "usage: gate_accuracy SCENARIO DIR (a folder of run-*.json from `loadgate run --out`)"
                .into(),
        );
    };
    let scenario = loadgate::scenario::load(Path::new(scenario))?;
    let policy = Policy::from_gate(&scenario.gate);
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("run-"))
        })
        .collect();
    paths.sort();
    let runs: Vec<RunResult> = paths
        .iter()
        .map(|p| loadgate::baseline::load(p))
        .collect::<Result<_, _>>()?;
    if runs.len() < 14 {
        return Err(format!(
            "{} runs in {dir}: need at least 14 (10 to calibrate, 4 to judge)",
            runs.len()
        )
        .into());
    }
    let (cal, eval) = runs.split_at(10);
    let mut cal_pairs = Vec::new();
    for i in 0..cal.len() {
        for j in i + 1..cal.len() {
            cal_pairs.push((cal[i].clone(), cal[j].clone()));
        }
    }
    let measured = calibrate(&cal_pairs);
    let calibration = measured.to_calibration(
        &scenario.name,
        &scenario.hash,
        cal[0].meta.host.clone(),
        cal[0].meta.started_at.clone(),
        cal_pairs.len() as u32,
    );
    eprintln!(
        "τ from {} calibration pairs: {:?}",
        cal_pairs.len(),
        calibration.tau
    );
    let noises = [
        ("uncalibrated", Noise::defaults()),
        ("calibrated", Noise::calibrated(&calibration)),
    ];
    let cases = [
        Case::None,
        Case::Latency(1.10),
        Case::Latency(1.20),
        Case::Latency(1.50),
        Case::Tail(3.0),
        Case::OneEndpoint(1.20),
        Case::Throughput(0.80),
        Case::Errors(0.009),
    ];
    let n = eval.len();
    println!("| case | noise | pairs | critical | 95% CI | warn or worse |");
    println!("|---|---|---:|---:|---|---:|");
    for case in cases {
        for (label, noise) in &noises {
            let (mut critical, mut flagged, mut total) = (0u32, 0u32, 0u32);
            let mut rows: std::collections::BTreeMap<String, u32> = Default::default();
            for i in 0..n {
                for j in 0..n {
                    if i == j {
                        continue;
                    }
                    // Ordered pairs would double-count A/A; keep i < j for it, all for A/B.
                    if matches!(case, Case::None) && i > j {
                        continue;
                    }
                    let k = (0..n)
                        .map(|d| (j + 1 + d) % n)
                        .find(|&k| k != i && k != j)
                        .unwrap_or(j);
                    let seed = (i * 1000 + j) as u64;
                    let cand = transform(&eval[j], case, seed);
                    let again = transform(&eval[k], case, seed ^ 0xabc);
                    let (outcome, why) = judge(&eval[i], &cand, &again, &policy, noise);
                    for w in why {
                        *rows.entry(w).or_default() += 1;
                    }
                    total += 1;
                    critical += u32::from(outcome == Outcome::Critical);
                    flagged += u32::from(matches!(outcome, Outcome::Critical | Outcome::Warn));
                }
            }
            let (lo, hi) = wilson(critical as f64, total as f64, 1.96);
            println!(
                "| {} | {label} | {total} | {:.1}% | {:.1}–{:.1}% | {:.1}% |",
                case.label(),
                100.0 * critical as f64 / total as f64,
                lo * 100.0,
                hi * 100.0,
                100.0 * flagged as f64 / total as f64
            );
            if matches!(case, Case::None) {
                eprintln!("A/A {label}: rows that warned or worse: {rows:?}");
            }
        }
    }
    Ok(())
}

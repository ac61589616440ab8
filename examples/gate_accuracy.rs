//! The gate's accuracy, measured through the product's own code path (run by
//! `benches/gate-accuracy.sh`; its numbers are in docs/accuracy.md).
//!
//! Reads real runs of one scenario from a folder: `a-*.json` (the unchanged service), `b20-*.json`
//! (every service time ×1.2, produced by the service itself) and `b10-*.json` (×1.1). Every three
//! consecutive unchanged runs (cyclically) become a baseline exactly as `loadgate record` makes one
//! (`compare::learn::recorded`: pooled, with the noise and gateability they teach), with the noise
//! `gate` would use (`Noise::of_baseline`). Candidates are judged by `pipeline::judge_runs`, the loop
//! `gate` runs, confirmation run and unstable-run rerun included, fed stored runs instead of live
//! loads: for A/A the unchanged runs outside the baseline, for detection the regressed ones. Then
//! the kinds of regression the service cannot produce here (a tail only, one endpoint, throughput,
//! errors) are injected into the unchanged runs' per-second histograms, through the same loop.
//!
//! SCENARIO may also be a `[suite]` file: its runs are then imported benchmark results (criterion's,
//! through `loadgate import`), recorded and judged as `record` and `gate` do on a suite, and no
//! regression is injected.
//!
//! Prints one Markdown row per case. "Fails the build" counts critical *and* incomplete (exit 1 and
//! exit 3 both fail a CI job). Trials share runs (12 runs give 108 A/A trials), so they are not
//! independent; the Wilson bounds treat them as if they were and are optimistic for that reason.
//!
//! `cargo run --release --example gate_accuracy -- SCENARIO DIR`

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

use loadgate::compare::learn::recorded;
use loadgate::compare::{Noise, Policy};
use loadgate::pipeline::{judge_runs, Judge, Stored};
use loadgate::result::metric::Metric;
use loadgate::result::{LatencyHistogram, LatencySummary, RequestStats, RunResult};
use loadgate::stats::{wilson, SplitMix64};
use loadgate::verdict::{decide, Outcome};

/// How many runs a `gate` may use (one, plus one confirmation or one rerun, plus one more when
/// both happen).
const DRAWS: usize = 3;

/// An injected regression.
#[derive(Clone, Copy)]
enum Case {
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
            Case::OneEndpoint(f) => {
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

#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<Outcome, u32>,
    runs: u32,
    trials: u32,
    mde: BTreeMap<Metric, Vec<f64>>,
    not_gated: BTreeMap<Metric, u32>,
}

impl Tally {
    fn count(&self, o: Outcome) -> u32 {
        self.outcomes.get(&o).copied().unwrap_or(0)
    }
}

fn load_runs(dir: &Path, prefix: &str) -> Result<Vec<RunResult>, Box<dyn Error>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{prefix}-")) && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        match loadgate::baseline::load_result(&p) {
            Ok(r) => out.push(r),
            Err(e) => eprintln!("skipping {}: {e}", p.display()),
        }
    }
    Ok(out)
}

/// Gates one candidate sequence against `base` with the loop `gate` runs.
fn gate(
    rt: &tokio::runtime::Runtime,
    base: &RunResult,
    policy: &Policy,
    noise: &Noise,
    candidates: Vec<RunResult>,
    tally: &mut Tally,
) -> Result<(), Box<dyn Error>> {
    let judge = Judge {
        baseline: base,
        policy,
        noise,
        confirmations: 1,
    };
    let mut queue = Stored::new(candidates);
    let (_, comparison, effort) = rt.block_on(judge_runs(judge, &mut queue, |_| {}))?;
    let verdict = decide(&comparison);
    if verdict.outcome == Outcome::Critical && std::env::var_os("GATE_ACCURACY_SHOW").is_some() {
        for r in verdict.reasons.iter().take(3) {
            eprintln!(
                "  critical ({} runs): {} {}: {}",
                effort.runs,
                r.request.as_deref().unwrap_or("all"),
                r.metric,
                r.message
            );
        }
    }
    *tally.outcomes.entry(verdict.outcome).or_default() += 1;
    tally.runs += effort.runs;
    tally.trials += 1;
    for row in comparison.rows.iter().filter(|r| r.request.is_none()) {
        if !policy.gates(row.metric) || row.metric == Metric::ErrorRate {
            continue;
        }
        if row.gated {
            if let Some(m) = row.mde {
                tally.mde.entry(row.metric).or_default().push(m);
            }
        } else {
            *tally.not_gated.entry(row.metric).or_default() += 1;
        }
    }
    Ok(())
}

fn median(xs: &mut [f64]) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied()
}

/// The change a set of runs really shows against the unchanged runs: median over runs of the
/// aggregate p5, mean and p95, as "p5 +20%, mean +19%, p95 +21%".
fn observed(a: &[RunResult], b: &[RunResult]) -> String {
    let stat = |runs: &[RunResult], m: Metric| {
        let mut xs: Vec<f64> = runs
            .iter()
            .filter_map(|r| m.value_of(&r.all, r.measured_seconds()))
            .collect();
        median(&mut xs)
    };
    [Metric::P5, Metric::Mean, Metric::P95]
        .iter()
        .filter_map(|m| {
            let (x, y) = (stat(a, *m)?, stat(b, *m)?);
            Some(format!("{m} {:+.0}%", (y / x - 1.0) * 100.0))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(scenario), Some(dir)) = (args.get(1), args.get(2)) else {
        return Err("usage: gate_accuracy SCENARIO DIR".into());
    };
    // A `[suite]` file (a micro-benchmark suite, its runs imported) or a load scenario.
    let (name, policy, suite) = match loadgate::scenario::suite::load(Path::new(scenario))? {
        Some(s) => (s.name.clone(), Policy::from_gate(&s.gate), true),
        None => {
            let s = loadgate::scenario::load(Path::new(scenario))?;
            (s.name.clone(), Policy::from_gate(&s.gate), false)
        }
    };
    let dir = Path::new(dir);
    let a = load_runs(dir, "a")?;
    // `record`'s default is three runs; BASE_RUNS measures what a longer record would buy.
    let base_runs: usize = match std::env::var("BASE_RUNS") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("BASE_RUNS={v}: want a count such as 3"))?,
        Err(_) => 3,
    };
    if a.len() < base_runs + DRAWS {
        return Err(format!(
            "{}: need at least {} unchanged runs (a-*.json)",
            dir.display(),
            base_runs + DRAWS
        )
        .into());
    }
    let host = a[0].meta.host.fingerprint.clone();
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    // `record` on a suite learns with the policy as benchmarks are judged (`commands::suite`).
    let learning = if suite {
        policy.adapted_to(&a[0], &a[0])
    } else {
        policy.clone()
    };
    let mut baselines: Vec<(Vec<usize>, RunResult)> = Vec::new();
    for i in 0..a.len() {
        let idx: Vec<usize> = (0..base_runs).map(|k| (i + k) % a.len()).collect();
        let runs: Vec<RunResult> = idx.iter().map(|&k| a[k].clone()).collect();
        let base = recorded(&runs, &learning).ok_or("no runs")?;
        baselines.push((idx, base));
    }
    let mut cases: Vec<(String, Tally)> = Vec::new();
    // A/A: every baseline against the unchanged runs it does not hold, from every starting point.
    let mut aa = Tally::default();
    for (idx, base) in &baselines {
        let (noise, _) = Noise::of_baseline(base, &host);
        let noise = noise.unwrap_or_else(Noise::defaults);
        let others: Vec<&RunResult> = (0..a.len())
            .filter(|k| !idx.contains(k))
            .map(|k| &a[k])
            .collect();
        for start in 0..others.len() {
            let seq = (0..DRAWS)
                .map(|k| others[(start + k) % others.len()].clone())
                .collect();
            gate(&rt, base, &policy, &noise, seq, &mut aa)?;
        }
    }
    cases.push(("unchanged (A/A)".to_string(), aa));
    for (prefix, label) in [
        ("b20", "slower build, aiming at +20%"),
        ("b10", "slower build, aiming at +10%"),
    ] {
        let b = load_runs(dir, prefix)?;
        let label = format!("{label} (measured: {})", observed(&a, &b));
        if b.len() < DRAWS {
            eprintln!(
                "{}: fewer than {DRAWS} {prefix} runs; skipped",
                dir.display()
            );
            continue;
        }
        let mut t = Tally::default();
        for (_, base) in &baselines {
            let (noise, _) = Noise::of_baseline(base, &host);
            let noise = noise.unwrap_or_else(Noise::defaults);
            for start in 0..b.len() {
                let seq = (0..DRAWS)
                    .map(|k| b[(start + k) % b.len()].clone())
                    .collect();
                gate(&rt, base, &policy, &noise, seq, &mut t)?;
            }
        }
        cases.push((label, t));
    }
    // Regressions injected into the unchanged runs' per-second histograms: kinds a service's own
    // knob cannot produce here (a tail, one endpoint, throughput, errors), with exact ground truth.
    // A benchmark's windows are samples, not seconds of requests: none of these applies.
    let injected = [
        Case::Tail(3.0),
        Case::OneEndpoint(1.2),
        Case::Throughput(0.8),
        Case::Errors(0.009),
    ];
    for case in injected.into_iter().filter(|_| !suite) {
        let mut t = Tally::default();
        for (bi, (idx, base)) in baselines.iter().enumerate() {
            let (noise, _) = Noise::of_baseline(base, &host);
            let noise = noise.unwrap_or_else(Noise::defaults);
            let others: Vec<&RunResult> = (0..a.len())
                .filter(|k| !idx.contains(k))
                .map(|k| &a[k])
                .collect();
            for start in 0..others.len() {
                let seq = (0..DRAWS)
                    .map(|k| {
                        let seed = (bi * 1000 + start * 10 + k) as u64;
                        transform(others[(start + k) % others.len()], case, seed)
                    })
                    .collect();
                gate(&rt, base, &policy, &noise, seq, &mut t)?;
            }
        }
        cases.push((format!("injected: {}", case.label()), t));
    }
    println!(
        "| {} ({} unchanged runs) | trials | pass | warn | critical | incomplete | fails the build | 95% bound | runs per gate |",
        name,
        a.len()
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (label, t) in &cases {
        let n = f64::from(t.trials);
        let fails = t.count(Outcome::Critical) + t.count(Outcome::Incomplete);
        // Unchanged: the upper bound of the build-failing rate; a regression: the lower bound.
        let (lo, hi) = wilson(f64::from(fails), n, 1.645);
        let bound = if label.starts_with("unchanged") {
            format!("≤ {:.1}%", hi * 100.0)
        } else {
            format!("≥ {:.1}%", lo * 100.0)
        };
        println!(
            "| {label} | {} | {} | {} | {} | {} | {:.1}% | {bound} | {:.2} |",
            t.trials,
            t.count(Outcome::Pass),
            t.count(Outcome::Warn),
            t.count(Outcome::Critical),
            t.count(Outcome::Incomplete),
            100.0 * f64::from(fails) / n,
            f64::from(t.runs) / n
        );
    }
    if let Some((_, aa)) = cases.first_mut() {
        let mut parts = Vec::new();
        for m in Metric::ALL {
            if let Some(xs) = aa.mde.get_mut(&m) {
                if let Some(med) = median(xs) {
                    parts.push(format!("{m} {:.0}%", med * 100.0));
                }
            } else if aa.not_gated.contains_key(&m) {
                parts.push(format!("{m} not gated"));
            }
        }
        println!(
            "\nMedian MDE of the gated aggregate metrics (A/A): {}",
            parts.join(", ")
        );
    }
    Ok(())
}

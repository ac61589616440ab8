//! `loadgate record`: run, check the run is fit to be a reference, then write the baseline atomically.
//! A failed, interrupted or unfit run never replaces a baseline.

use crate::baseline;
use crate::cli::RecordArgs;
use crate::compare::learn::{recorded, LEARNED};
use crate::compare::Policy;
use crate::error::Error;
use crate::exit;
use crate::report::{Format, Report};
use crate::result::learned::Learned;
use crate::result::metric::Metric;
use crate::result::RunResult;
use crate::scenario::{GateSpec, Scenario};

/// The whole flow of `loadgate record`; returns the process exit code.
pub async fn run(args: RecordArgs) -> Result<u8, Error> {
    if args.shard.is_some() {
        return Err(Error::Flag {
            flag: "--shard",
            problem: "a shard's result alone is not a baseline: run the shards with `loadgate run --shard i/N --out FILE`, \
                      combine them with `loadgate merge FILE... --out merged.json`, and keep the merged file as the baseline \
                      (e.g. copy it to baselines/<scenario>.json)"
                .to_string(),
        });
    }
    let suite = crate::scenario::suite::load(&args.scenario)?;
    crate::pipeline::outputs::baselines_folder(&args.baselines)?;
    if let Some(suite) = suite {
        return crate::pipeline::suite::record(&args, &suite).await;
    }
    let scenario = crate::pipeline::measure::load_scenario(&args.scenario, &args.target)?;
    let path = baseline::path_for(&args.baselines, &scenario.baseline_name());
    crate::pipeline::outputs::preflight_outputs(&[Some(&path)])?;
    let resolved = crate::pipeline::measure::resolve_target(&args.target, &scenario).await?;
    let runs = measure_all(&scenario, &resolved, args.runs).await;
    crate::pipeline::measure::finish(resolved).await;
    let runs = runs?;
    let result = learned_baseline(&runs, &Policy::from_gate(&scenario.gate), &path)?;
    for (i, run) in runs.iter().enumerate() {
        if let Some(reason) = unfit(&scenario.gate, run) {
            let which = if runs.len() > 1 {
                format!("run {} of {}: ", i + 1, runs.len())
            } else {
                String::new()
            };
            return Err(Error::RecordRefused {
                path,
                reason: format!("{which}{reason}"),
            });
        }
    }
    if let Some(learned) = &result.learned {
        eprint!("{}", describe(learned));
        if let Some(reason) = nothing_gateable(&scenario.gate, learned) {
            // Still a baseline: its error rate and objectives gate (a short smoke scenario), but
            // the person recording it must know its latencies will not.
            eprintln!("warning: {reason}; gates against this baseline judge only the error rate and the objectives in `[gate] slo`");
        }
    }
    baseline::save(&path, &result).map_err(|source| Error::RecordWrite { source })?;
    eprintln!(
        "loadgate: recorded baseline {} ({} requests in {})",
        path.display(),
        result.all.requests,
        crate::report::count(result.runs(), "run")
    );
    Ok(exit::PASS)
}

/// The baseline `runs` make, pooled with the noise and gateability they teach (as `policy` will
/// judge them), printed as a table before it is checked and stored.
pub(crate) fn learned_baseline(
    runs: &[RunResult],
    policy: &Policy,
    path: &std::path::Path,
) -> Result<RunResult, Error> {
    let result = recorded(runs, policy).ok_or_else(|| Error::RecordRefused {
        path: path.to_path_buf(),
        reason: "no run was made".to_string(),
    })?;
    crate::pipeline::outputs::print(&crate::report::render(
        &Report {
            run: &result,
            judged: None,
        },
        Format::Table,
    ))?;
    Ok(result)
}

async fn measure_all(
    scenario: &Scenario,
    resolved: &crate::pipeline::measure::Resolved,
    runs: u32,
) -> Result<Vec<RunResult>, Error> {
    let mut out = Vec::new();
    for i in 0..runs {
        if runs > 1 {
            eprintln!("loadgate: baseline run {} of {runs}", i + 1);
        }
        out.push(crate::pipeline::measure::measure(scenario, resolved).await?);
    }
    Ok(out)
}

/// Why a run cannot serve as a baseline, if it cannot.
fn unfit(gate: &GateSpec, r: &RunResult) -> Option<String> {
    let limit = gate.record_max_error_rate;
    let rate = r.all.error_rate().unwrap_or(1.0);
    if r.all.requests == 0 {
        return Some("the run completed no requests".to_string());
    }
    if let Some(a) = &r.meta.aborted {
        return Some(format!(
            "the load was {}: a baseline must describe a healthy service",
            a.describe()
        ));
    }
    if rate > limit.fraction() {
        return Some(format!(
            "its error rate is {:.2}%, above `gate.record_max_error_rate` ({limit}): a baseline must describe a healthy service",
            rate * 100.0
        ));
    }
    let secs = r.measured_seconds();
    for &m in &gate.metrics {
        if m.is_service() {
            if let Some(why) = crate::result::service::unusable(&r.samples, "run") {
                return Some(format!("gated metric `{m}` cannot be judged later: {why}"));
            }
        }
    }
    // A quantile the rate cannot reach is not gated (found by `learn`, reported at every gate); but
    // a run too thin for any latency metric describes nothing.
    let judgeable = gate
        .metrics
        .iter()
        .filter(|m| !m.is_service() && **m != Metric::ErrorRate)
        .any(|m| r.all.requests >= m.min_requests() && m.value_of(&r.all, secs).is_some());
    let need = Metric::P50.min_requests();
    if !judgeable && r.all.requests < need {
        return Some(format!(
            "only {} requests: the gated latency metrics need at least {need} per run to be judged; lengthen `load.duration` or raise `load.rate`",
            r.all.requests
        ));
    }
    None
}

/// Why a baseline would gate no latency or throughput at all, if it would: said when recording,
/// not discovered at the first gate.
fn nothing_gateable(gate: &GateSpec, l: &Learned) -> Option<String> {
    let wanted: Vec<Metric> = gate
        .metrics
        .iter()
        .copied()
        .filter(|m| LEARNED.contains(m))
        .collect();
    let reasons: Vec<&str> = wanted
        .iter()
        .filter_map(|m| l.not_gated(None, *m))
        .collect();
    (!wanted.is_empty() && reasons.len() == wanted.len()).then(|| {
        format!(
            "this scenario could gate none of its latency and throughput metrics: {}",
            reasons.join("; ")
        )
    })
}

/// What the baseline's runs taught, for the person recording it: τ per metric, and each row the
/// scenario cannot gate with why (the gate repeats it in its notes).
fn describe(l: &Learned) -> String {
    let mut text = if l.runs >= 2 {
        format!(
            "loadgate: run-to-run noise τ learned from {} runs: {}\n",
            l.runs,
            l.tau_text()
        )
    } else {
        "loadgate: one run teaches no run-to-run noise; the gate will use a prior (record with --runs 3, the default, to learn it)\n".to_string()
    };
    for line in l.not_gated_lines() {
        text.push_str(&format!("loadgate: not gated: {line}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::testing::{result, run_of};
    use crate::scenario::validate::default_gate;

    fn healthy() -> RunResult {
        run_of(&[(10_000, 3), (20_000, 2), (30_000, 1)], 150, 20, 1.0, 7)
    }

    #[test]
    fn a_healthy_run_is_fit_to_be_a_baseline() {
        assert_eq!(unfit(&default_gate(), &healthy()), None);
    }

    #[test]
    fn an_empty_a_failing_or_a_thin_run_is_refused_with_the_fix() {
        let gate = default_gate();
        let empty = result();
        assert!(unfit(&gate, &empty).is_some_and(|why| why.contains("no requests")));

        let mut failing = healthy();
        failing.all.errors.status = failing.all.requests / 2;
        let why = unfit(&gate, &failing).expect("refused");
        assert!(why.contains("record_max_error_rate"), "{why}");

        let thin = run_of(&[(10_000, 1)], 2, 3, 1.0, 7);
        let why = unfit(&gate, &thin).expect("refused");
        assert!(why.contains("load.duration"), "{why}");
    }

    #[test]
    fn a_gated_service_metric_without_samples_is_refused() {
        let mut gate = default_gate();
        gate.metrics.push(Metric::PeakRss);
        let why = unfit(&gate, &healthy()).expect("refused");
        assert!(why.contains("peak_rss"), "{why}");
    }

    #[test]
    fn a_baseline_that_gates_no_latency_is_said_at_record_time() {
        let gate = default_gate();
        let runs: Vec<RunResult> = (0..3)
            .map(|s| run_of(&[(10_000, 1)], 150, 20, 1.0, s))
            .collect();
        let policy = Policy::from_gate(&gate);
        let taught = recorded(&runs, &policy).expect("a baseline");
        let learned = taught.learned.expect("three runs teach");
        // Three steady runs gate their latencies: nothing to warn about.
        assert_eq!(nothing_gateable(&gate, &learned), None);
        let text = describe(&learned);
        assert!(text.contains("learned from 3 runs"), "{text}");
    }
}

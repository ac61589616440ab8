//! `loadgate calibrate`: run A/A pairs of the same build and store the run-to-run noise τ per metric
//! beside the baseline, with this machine's fingerprint (docs/statistics.md §4.1).

use crate::baseline::calibration;
use crate::cli::CalibrateArgs;
use crate::compare::guard::{Levels, Z_BETA};
use crate::compare::noise::{calibrate, RECOMMENDED_PAIRS};
use crate::error::Error;
use crate::exit;
use crate::result::RunResult;

/// The whole flow of `loadgate calibrate`; returns the process exit code.
pub async fn run(args: CalibrateArgs) -> Result<u8, Error> {
    let scenario = crate::pipeline::measure::load_scenario(&args.scenario, &args.target)?;
    let path = calibration::path_for(&args.baselines, &scenario.baseline_name());
    crate::pipeline::outputs::preflight_outputs(&[Some(&path)])?;
    let pairs = if args.from.is_empty() {
        warn_if_few(args.pairs as usize);
        let resolved = crate::pipeline::measure::resolve_target(&args.target, &scenario).await?;
        let pairs = measure_pairs(&scenario, &resolved, args.pairs).await;
        crate::pipeline::measure::finish(resolved).await;
        pairs?
    } else {
        stored_pairs(&scenario, &args.from)?
    };
    let measured = calibrate(&pairs);
    if measured.all.is_empty() {
        return Err(Error::RecordRefused {
            path,
            reason: "no metric could be measured in every pair (too few windows or requests per run); lengthen `load.duration`".to_string(),
        });
    }
    let host = pairs
        .first()
        .map(|p| p.0.meta.host.clone())
        .unwrap_or_else(crate::sample::host::current);
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let c = measured.to_calibration(
        &scenario.name,
        &scenario.hash,
        host,
        created_at,
        pairs.len() as u32,
    );
    calibration::save(&path, &c)?;
    let lv = Levels::new(
        scenario.gate.metrics.len(),
        scenario.gate.metrics.len(),
        Z_BETA,
    );
    let mut text = format!(
        "calibrated {} from {} A/A pairs; wrote {}\n",
        scenario.name,
        c.pairs,
        path.display()
    );
    for (m, (tau, sd)) in &measured.all {
        let mde = crate::compare::noise::run_to_run_mde(*tau, lv);
        text.push_str(&format!(
            "  {:<11} τ {:.4}  A/A sd {:.4}  run-to-run MDE ≥ {:.1}%\n",
            m.name(),
            tau,
            sd,
            mde * 100.0
        ));
    }
    crate::pipeline::outputs::print(&text)?;
    Ok(exit::PASS)
}

fn warn_if_few(pairs: usize) {
    if pairs < RECOMMENDED_PAIRS {
        eprintln!("warning: {pairs} pairs is fewer than the {RECOMMENDED_PAIRS} the noise guard's error rates assume; τ will be imprecise");
    }
}

/// Consecutive stored results as pairs; each must belong to this version of the scenario.
fn stored_pairs(
    scenario: &crate::scenario::Scenario,
    files: &[std::path::PathBuf],
) -> Result<Vec<(RunResult, RunResult)>, Error> {
    let mut runs = Vec::new();
    for f in files {
        let r = crate::baseline::load(f)?;
        crate::baseline::check_matches(&r, f, scenario)?;
        runs.push(r);
    }
    if runs.len() % 2 == 1 {
        eprintln!("warning: an odd number of results; the last one is not used");
    }
    let pairs: Vec<(RunResult, RunResult)> = runs
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    warn_if_few(pairs.len());
    Ok(pairs)
}

async fn measure_pairs(
    scenario: &crate::scenario::Scenario,
    resolved: &crate::pipeline::measure::Resolved,
    pairs: u32,
) -> Result<Vec<(RunResult, RunResult)>, Error> {
    let mut out = Vec::new();
    for i in 0..pairs {
        eprintln!("loadgate: A/A pair {} of {pairs}", i + 1);
        let a = crate::pipeline::measure::measure(scenario, resolved).await?;
        let b = crate::pipeline::measure::measure(scenario, resolved).await?;
        out.push((a, b));
    }
    Ok(out)
}

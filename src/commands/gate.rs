//! `loadgate gate`: preflight (scenario, baseline, calibration, outputs, target) → load → compare
//! (with a confirmation run for a suspect regression, a rerun for an unstable run) → verdict →
//! reports → exit code. What CI calls.

use crate::baseline;
use crate::cli::{FailOn, GateArgs};
use crate::commands::common;
use crate::compare::guard::{Z_BETA, Z_BETA_CONFIRMED};
use crate::compare::{compare, confirm, needs_confirmation, Comparison, Policy, Settings};
use crate::error::Error;
use crate::exit;
use crate::report::{Judged, Report};
use crate::result::RunResult;
use crate::verdict::{decide, Outcome};

/// An unstable run (outlier seconds) is rerun once before the gate gives up on it.
const UNSTABLE_RERUNS: u32 = 1;

pub async fn run(args: GateArgs) -> Result<u8, Error> {
    let scenario = crate::scenario::load(&args.scenario)?;
    if let Some(base_url) = &args.paired {
        return run_paired(&args, &scenario, base_url).await;
    }
    let path = args
        .baseline
        .clone()
        .unwrap_or_else(|| baseline::path_for(&args.baselines, &scenario.name));
    let base = baseline::load(&path)?;
    baseline::check_matches(&base, &path, &scenario)?;
    let beside =
        baseline::calibration::path_for(path.parent().unwrap_or(&args.baselines), &scenario.name);
    let (noise, noise_note) =
        common::noise_for(Some(&scenario), args.calibration.as_deref(), Some(&beside))?;
    common::preflight_outputs(&[args.out.as_deref(), args.output.output.as_deref()])?;
    let policy = Policy::from_gate(&scenario.gate);
    let resolved = common::resolve_target(&args.target, &scenario).await?;
    let judged = judge_runs(&scenario, &resolved, &base, &policy, &noise, args.confirm).await;
    common::finish(resolved).await;
    let (pooled, mut comparison) = judged?;
    comparison.notes.extend(noise_note);
    if let Some(out) = &args.out {
        common::write_result(out, &pooled)?;
    }
    let verdict = decide(&comparison);
    let report = Report {
        run: &pooled,
        judged: Some(Judged {
            baseline: &base,
            comparison: &comparison,
            verdict: &verdict,
        }),
    };
    common::emit(&report, &args.output)?;
    let code = exit_code(verdict.outcome, args.fail_on);
    eprintln!("loadgate: verdict {} (exit {code})", verdict.outcome.name());
    Ok(code)
}

async fn run_paired(
    args: &GateArgs,
    scenario: &crate::scenario::Scenario,
    base_url: &str,
) -> Result<u8, Error> {
    common::preflight_outputs(&[args.out.as_deref(), args.output.output.as_deref()])?;
    let resolved = common::resolve_target(&args.target, scenario).await?;
    if let Err(e) = crate::load::target::preflight(
        &resolved.target,
        &scenario.target.health,
        &scenario.target.headers,
    )
    .await
    {
        common::finish(resolved).await;
        return Err(e.into());
    }
    let judged = crate::commands::paired::judge(scenario, &resolved, base_url, args.segments).await;
    common::finish(resolved).await;
    let (base, cand, comparison) = judged?;
    if let Some(out) = &args.out {
        common::write_result(out, &cand)?;
    }
    let verdict = decide(&comparison);
    let report = Report {
        run: &cand,
        judged: Some(Judged {
            baseline: &base,
            comparison: &comparison,
            verdict: &verdict,
        }),
    };
    common::emit(&report, &args.output)?;
    let code = exit_code(verdict.outcome, args.fail_on);
    eprintln!(
        "loadgate: verdict {} (exit {code}, paired mode)",
        verdict.outcome.name()
    );
    Ok(code)
}

/// Measures until there is something to judge: reruns an unstable run once, and re-measures a
/// suspect regression up to `confirmations` times, pooling the candidate runs.
async fn judge_runs(
    scenario: &crate::scenario::Scenario,
    resolved: &common::Resolved,
    base: &RunResult,
    policy: &Policy,
    noise: &crate::compare::Noise,
    confirmations: u32,
) -> Result<(RunResult, Comparison), Error> {
    let settings = |z_beta| Settings {
        policy,
        noise,
        z_beta,
    };
    let mut runs = Vec::new();
    let mut reruns = 0;
    let mut first: Option<Comparison> = None;
    loop {
        let result = common::measure(scenario, resolved).await?;
        if let Some(why) = crate::compare::stability::unstable(&result) {
            if reruns < UNSTABLE_RERUNS {
                reruns += 1;
                eprintln!("loadgate: unstable run ({why}); measuring again");
                continue;
            }
        }
        runs.push(result);
        let pooled = RunResult::pool(&runs).ok_or_else(|| Error::Flag {
            flag: "gate",
            problem: "no run to judge; this is a bug in loadgate, please report it".to_string(),
        })?;
        let z_beta = if runs.len() > 1 {
            Z_BETA_CONFIRMED
        } else {
            Z_BETA
        };
        let current = compare(base, &pooled, settings(z_beta));
        let current = match &first {
            Some(f) => confirm(f, current),
            None => current,
        };
        let again =
            first.is_none() && (runs.len() as u32) <= confirmations && needs_confirmation(&current);
        if !again {
            return Ok((pooled, current));
        }
        let suspects: Vec<String> = current
            .rows
            .iter()
            .filter(|r| r.gated && r.suspect)
            .map(|r| format!("{} {}", r.request.as_deref().unwrap_or("all"), r.metric))
            .collect();
        eprintln!(
            "loadgate: suspect regression in {}; confirming with another run",
            suspects.join(", ")
        );
        first = Some(current);
    }
}

/// The exit code of a verdict (README "Exit codes").
pub fn exit_code(outcome: Outcome, fail_on: FailOn) -> u8 {
    match (outcome, fail_on) {
        (Outcome::Critical, _) | (Outcome::Warn, FailOn::Warn) => exit::REGRESSION,
        (Outcome::Incomplete, _) => exit::INCOMPLETE,
        (Outcome::Pass | Outcome::Warn, _) => exit::PASS,
    }
}

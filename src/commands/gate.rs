//! `loadgate gate`: preflight (scenario, actions, baseline, calibration, outputs, target) → load →
//! compare (with a confirmation run for a suspect regression, a rerun for an unstable run) → verdict
//! → reports → actions → exit code. What CI calls. The exit code is the verdict's: an action that
//! fails is reported and changes nothing.

use crate::action::context::Files;
use crate::action::{self, ActionContext, CiOutputs, Plan};
use crate::baseline;
use crate::cli::{ActionArgs, FailOn, GateArgs};
use crate::commands::{common, history};
use crate::compare::{Comparison, Policy};
use crate::error::Error;
use crate::exit;
use crate::fsutil::write_atomic;
use crate::pipeline::{judge_runs, Judge};
use crate::report::{Format, Judged, Report};
use crate::result::RunResult;
use crate::scenario::units::parse_duration;
use crate::verdict::{decide, Outcome};

pub async fn run(args: GateArgs) -> Result<u8, Error> {
    let scenario = crate::scenario::load_profile(&args.scenario, args.target.profile.as_deref())?;
    let plan = action::prepare(action_settings(&args.actions)?, &action::Env::capture())?;
    if let Some(base_url) = &args.paired {
        return run_paired(&args, &scenario, base_url, &plan).await;
    }
    let path = args
        .baseline
        .clone()
        .unwrap_or_else(|| baseline::path_for(&args.baselines, &scenario.baseline_name()));
    let base = baseline::load(&path)?;
    baseline::check_matches(&base, &path, &scenario)?;
    let beside = baseline::calibration::path_for(
        path.parent().unwrap_or(&args.baselines),
        &scenario.baseline_name(),
    );
    let (noise, noise_note) = common::noise_for(
        Some(&scenario),
        args.calibration.as_deref(),
        Some(&beside),
        Some(&base),
    )?;
    common::preflight_outputs(&[
        args.out.as_deref(),
        args.output.output.as_deref(),
        args.actions.actions_json.as_deref(),
    ])?;
    history::preflight(args.history.as_deref(), &scenario.name)?;
    let policy = Policy::from_gate(&scenario.gate);
    let resolved = common::resolve_target(&args.target, &scenario).await?;
    let judge = Judge {
        baseline: &base,
        policy: &policy,
        noise: &noise,
        confirmations: args.confirm,
    };
    let judged = judge_runs(
        judge,
        async || common::measure(&scenario, &resolved).await,
        |line| eprintln!("loadgate: {line}"),
    )
    .await;
    common::finish(resolved).await;
    let (pooled, mut comparison, _) = judged?;
    comparison.notes.extend(noise_note);
    if scenario.load.ramps_rate() {
        comparison.notes.push("throughput is informational: the target rate ramps through the stages, so the achieved rate follows the schedule rather than the service".to_string());
    }
    if let Some(out) = &args.out {
        common::write_result(out, &pooled)?;
    }
    history::append(args.history.as_deref(), &pooled)?;
    conclude(&args, &plan, &base, &pooled, &comparison, "").await
}

async fn run_paired(
    args: &GateArgs,
    scenario: &crate::scenario::Scenario,
    base_url: &str,
    plan: &Plan,
) -> Result<u8, Error> {
    // A bad `--paired` URL is a flag error: refuse it before the candidate is probed or loaded.
    crate::load::Target::parse(base_url, "--paired")?;
    common::preflight_outputs(&[
        args.out.as_deref(),
        args.output.output.as_deref(),
        args.actions.actions_json.as_deref(),
    ])?;
    history::preflight(args.history.as_deref(), &scenario.name)?;
    let resolved = common::resolve_target(&args.target, scenario).await?;
    if let Err(e) = crate::load::target::preflight(&resolved.target, &scenario.target).await {
        common::finish(resolved).await;
        return Err(e.into());
    }
    let judged = crate::commands::paired::judge(scenario, &resolved, base_url, args.segments).await;
    common::finish(resolved).await;
    let (base, cand, comparison) = judged?;
    if let Some(out) = &args.out {
        common::write_result(out, &cand)?;
    }
    history::append(args.history.as_deref(), &cand)?;
    conclude(args, plan, &base, &cand, &comparison, ", paired mode").await
}

/// Verdict → reports → actions → exit code, for both modes. The actions run even when the report
/// could not be written (a rollback must not depend on a full disk), and are told only of files
/// that exist; the error is returned after them.
async fn conclude(
    args: &GateArgs,
    plan: &Plan,
    base: &RunResult,
    run: &RunResult,
    comparison: &Comparison,
    mode: &str,
) -> Result<u8, Error> {
    let verdict = decide(comparison);
    let judged = Judged {
        baseline: base,
        comparison,
        verdict: &verdict,
    };
    let report = Report {
        run,
        judged: Some(judged),
    };
    let emitted = common::emit(&report, &args.output);
    let code = match &emitted {
        Ok(()) => exit_code(verdict.outcome, args.fail_on),
        // The report the user asked for is missing: an I/O error, as before any action existed.
        Err(_) => exit::ERROR,
    };
    eprintln!(
        "loadgate: verdict {} (exit {code}{mode})",
        verdict.outcome.name()
    );
    if !plan.is_empty() || args.actions.actions_json.is_some() {
        let report_json = match (&emitted, args.output.format, &args.output.output) {
            (Ok(()), Format::Json, Some(p)) => Some(p.clone()),
            _ => None,
        };
        let report_json_written = report_json.clone();
        let files = Files {
            report_json,
            result_json: args.out.clone(),
        };
        let warn_fails = args.fail_on == FailOn::Warn;
        let ctx = ActionContext::new(run, judged, code, warn_fails, files);
        let outcomes = plan.run(ctx).await;
        // A summary that cannot reach stderr has nowhere else to go.
        let _ = action::summarize(&outcomes, &mut std::io::stderr().lock());
        if let Some(path) = &report_json_written {
            // The JSON report file carries the outcomes too (a report on stdout is already printed:
            // there they go to stderr and `--actions-json` only).
            if let Err(e) = embed_outcomes(path, &outcomes) {
                eprintln!("warning: {e}; the exit code is still the verdict's");
            }
        }
        if let Some(path) = &args.actions.actions_json {
            match write_atomic(path, action::to_json(&outcomes).as_bytes()) {
                Ok(()) => eprintln!("loadgate: wrote action outcomes to {}", path.display()),
                Err(e) => eprintln!("warning: {e}; the exit code is still the verdict's"),
            }
        }
    }
    emitted?;
    Ok(code)
}

/// Adds the action outcomes to a written JSON report as its `actions` field (atomically).
fn embed_outcomes(path: &std::path::Path, outcomes: &[action::ActionOutcome]) -> Result<(), Error> {
    let corrupt = |problem: String| crate::baseline::BaselineError::Corrupt {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read(path).map_err(|e| corrupt(e.to_string()))?;
    let mut report: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
    let actions = serde_json::to_value(outcomes).map_err(|e| corrupt(e.to_string()))?;
    if let Some(obj) = report.as_object_mut() {
        obj.insert("actions".to_string(), actions);
    }
    let mut bytes = serde_json::to_vec_pretty(&report).map_err(|e| corrupt(e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)?;
    Ok(())
}

/// `ActionArgs` → validated action settings (durations parsed, webhooks collected). What depends on
/// the environment (token, PR, hook on disk) is checked by `action::prepare`.
fn action_settings(a: &ActionArgs) -> Result<action::Settings, Error> {
    let ActionArgs {
        rollback_hook,
        rollback_hook_args,
        rollback_on,
        hook_timeout,
        github_comment,
        github_repo,
        github_pr,
        github_allow_fork,
        github_timeout,
        ci_outputs,
        no_ci_outputs,
        junit,
        actions_json: _,
        notify_slack,
        notify_discord,
        notify_webhook,
        notify_on,
    } = a;
    let duration = |flag: &'static str, v: &str| {
        parse_duration(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::Flag {
                flag,
                problem: format!("`{v}` is not a positive duration; write e.g. 30s or 500ms"),
            })
    };
    use action::notify::{Kind, Webhook};
    let webhooks = [
        (Kind::Slack, "--notify-slack", notify_slack),
        (Kind::Discord, "--notify-discord", notify_discord),
        (Kind::Generic, "--notify-webhook", notify_webhook),
    ]
    .into_iter()
    .filter_map(|(kind, flag, url)| {
        url.as_ref()
            .filter(|u| !u.trim().is_empty())
            .map(|u| Webhook {
                kind,
                flag,
                url: u.clone(),
            })
    })
    .collect();
    Ok(action::Settings {
        rollback: match rollback_hook {
            Some(program) => Some(action::rollback::Settings {
                program: program.clone(),
                args: rollback_hook_args.clone(),
                on: *rollback_on,
                timeout: duration("--hook-timeout", hook_timeout)?,
            }),
            None => None,
        },
        github: match github_comment {
            true => Some(action::pull_request::Settings {
                repo: github_repo.clone(),
                pr: *github_pr,
                allow_fork: *github_allow_fork,
                timeout: duration("--github-timeout", github_timeout)?,
            }),
            false => None,
        },
        ci_outputs: match (ci_outputs, no_ci_outputs) {
            (true, _) => CiOutputs::On,
            (_, true) => CiOutputs::Off,
            _ => CiOutputs::Auto,
        },
        junit: junit.clone(),
        webhooks,
        notify_on: *notify_on,
    })
}

/// The exit code of a verdict (README "Exit codes").
pub fn exit_code(outcome: Outcome, fail_on: FailOn) -> u8 {
    match (outcome, fail_on) {
        (Outcome::Critical, _) | (Outcome::Warn, FailOn::Warn) => exit::REGRESSION,
        (Outcome::Incomplete, _) => exit::INCOMPLETE,
        (Outcome::Pass | Outcome::Warn, _) => exit::PASS,
    }
}

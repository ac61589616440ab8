//! `loadgate gate`: preflight (scenario, actions, baseline, calibration, outputs, target) → load →
//! compare (with a confirmation run for a suspect regression, a rerun for an unstable run) → verdict
//! → reports → actions → exit code. What CI calls. With `--result FILE` a stored (or merged) result
//! takes the load's place, and everything after it is the same. The exit code is the verdict's:
//! an action that fails is reported and changes nothing.

use crate::action::context::Files;
use crate::action::{self, ActionContext, Plan};
use crate::baseline;
use crate::cli::{FailOn, GateArgs};
use crate::compare::{Comparison, Policy};
use crate::error::Error;
use crate::exit;
use crate::fsutil::write_atomic;
use crate::pipeline::history;
use crate::pipeline::{judge_runs, judge_stored, measure, Judge};
use crate::report::{Format, Judged, Report};
use crate::result::RunResult;
use crate::verdict::decide;
use std::path::PathBuf;

/// The whole flow of `loadgate gate`; returns the process exit code.
pub async fn run(args: GateArgs) -> Result<u8, Error> {
    if let Some(suite) = crate::scenario::suite::load(&args.scenario)? {
        let plan = action::prepare(
            crate::pipeline::actions::settings(&args.actions)?,
            &action::Env::capture(),
        )?;
        return run_suite(&args, &suite, &plan).await;
    }
    let scenario = measure::load_scenario(&args.scenario, &args.target)?;
    let settings = action::Requested {
        secrets: scenario.secrets.clone(),
        ..crate::pipeline::actions::settings(&args.actions)?
    };
    let plan = action::prepare(settings, &action::Env::capture())?;
    if let Some(base_url) = &args.paired {
        return run_paired(&args, &scenario, base_url, &plan).await;
    }
    let Prepared {
        path,
        base,
        noise,
        noise_note,
    } = prepare(
        &args,
        &scenario.baseline_name(),
        Some(&scenario),
        |base, path| Ok(baseline::check_matches(base, path, &scenario)?),
    )?;
    history::preflight(args.history.as_deref(), &scenario.name)?;
    let stored_run = match &args.result {
        Some(p) => {
            let run = baseline::load_result(p)?;
            baseline::check_stored(&run, p, &base, &path, &scenario)?;
            Some(run)
        }
        None => None,
    };
    let policy = Policy::from_gate(&scenario.gate);
    let judge = Judge {
        baseline: &base,
        policy: &policy,
        noise: &noise,
        confirmations: args.confirm,
    };
    if let (Some(run), Some(p)) = (stored_run, &args.result) {
        eprintln!(
            "loadgate: judging the stored result {} against {} (no load, so no confirmation re-run)",
            p.display(),
            path.display()
        );
        let mut comparison = judge_stored(judge, &run);
        comparison.notes.extend(noise_note);
        let stored = store(&args, &run);
        return Ok(conclude(
            &args,
            &plan,
            &base,
            &run,
            &comparison,
            stored,
            ", stored result",
        )
        .await);
    }
    let resolved = measure::resolve_target(&args.target, &scenario).await?;
    let judged = judge_runs(
        judge,
        &mut measure::Live {
            scenario: &scenario,
            resolved: &resolved,
        },
        |line| eprintln!("loadgate: {line}"),
    )
    .await;
    measure::finish(resolved).await;
    let (pooled, mut comparison, _) = judged?;
    comparison.notes.extend(noise_note);
    if scenario.load.ramps_rate() {
        comparison.notes.push("throughput is informational: the target rate ramps through the stages, so the achieved rate follows the schedule rather than the service".to_string());
    }
    let stored = store(&args, &pooled);
    Ok(conclude(&args, &plan, &base, &pooled, &comparison, stored, "").await)
}

async fn run_paired(
    args: &GateArgs,
    scenario: &crate::scenario::Scenario,
    base_url: &str,
    plan: &Plan,
) -> Result<u8, Error> {
    // A bad `--paired` URL is a flag error: refuse it before the candidate is probed or loaded.
    crate::load::Target::parse(base_url, "--paired")?;
    crate::pipeline::outputs::check_reports(&args.reports)?;
    crate::pipeline::outputs::one_on_stdout(args.out.as_deref(), args.output.output.as_deref())?;
    crate::pipeline::outputs::refuse_overlaps(&outputs(args), &[Some(args.scenario.as_path())])?;
    crate::pipeline::outputs::preflight_outputs(&outputs(args))?;
    history::preflight(args.history.as_deref(), &scenario.name)?;
    let resolved = measure::resolve_target(&args.target, scenario).await?;
    if let Err(e) =
        crate::load::target::preflight(&resolved.target, &scenario.target, &scenario.secrets).await
    {
        measure::finish(resolved).await;
        return Err(e.into());
    }
    let judged =
        crate::pipeline::paired::measure_and_compare(scenario, &resolved, base_url, args.segments)
            .await;
    measure::finish(resolved).await;
    let (base, cand, comparison) = judged?;
    let stored = store(args, &cand);
    Ok(conclude(
        args,
        plan,
        &base,
        &cand,
        &comparison,
        stored,
        ", paired mode",
    )
    .await)
}

/// The gate on a `[suite]`: every run (the first, a confirmation) runs the suite's command again.
async fn run_suite(
    args: &GateArgs,
    suite: &crate::scenario::suite::Suite,
    plan: &Plan,
) -> Result<u8, Error> {
    if args.paired.is_some() {
        return Err(Error::Flag {
            flag: "--paired",
            problem:
                "a [suite] runs its own command and cannot alternate two builds: drop --paired"
                    .to_string(),
        });
    }
    if args.result.is_some() {
        return Err(Error::Flag {
            flag: "--result",
            problem: "a [suite] gate runs its command; to judge a result imported elsewhere, use `loadgate compare --scenario SUITE BASELINE RESULT`".to_string(),
        });
    }
    let Prepared {
        base,
        noise,
        noise_note,
        ..
    } = prepare(args, &suite.name, None, |base, path| {
        crate::pipeline::suite::check_baseline(base, path, suite)
    })?;
    history::preflight(args.history.as_deref(), &suite.name)?;
    let policy = Policy::from_gate(&suite.gate);
    let judge = Judge {
        baseline: &base,
        policy: &policy,
        noise: &noise,
        confirmations: args.confirm,
    };
    let (pooled, mut comparison, _) =
        judge_runs(judge, &mut crate::pipeline::suite::Command(suite), |line| {
            eprintln!("loadgate: {line}")
        })
        .await?;
    comparison.notes.extend(noise_note);
    let stored = store(args, &pooled);
    Ok(conclude(args, plan, &base, &pooled, &comparison, stored, ", suite").await)
}

/// What a gate judges with, read and checked before any load.
struct Prepared {
    /// The baseline's file.
    path: PathBuf,
    /// The baseline.
    base: RunResult,
    /// The run-to-run noise, and the note saying where it came from.
    noise: crate::compare::Noise,
    noise_note: Option<String>,
}

/// The preflight of a gate, a scenario's or a suite's: the baseline (`--baseline`, else the one
/// named `name` in `--baselines`) read and checked with `matches`, the noise (a calibration beside
/// it or `--calibration`, else what the baseline learned), and every output checked to be writable
/// and to overwrite no input.
fn prepare(
    args: &GateArgs,
    name: &str,
    scenario: Option<&crate::scenario::Scenario>,
    matches: impl FnOnce(&RunResult, &std::path::Path) -> Result<(), Error>,
) -> Result<Prepared, Error> {
    let path = args
        .baseline
        .clone()
        .unwrap_or_else(|| baseline::path_for(&args.baselines, name));
    let base = baseline::load(&path)?;
    matches(&base, &path)?;
    let beside = baseline::calibration::path_for(path.parent().unwrap_or(&args.baselines), name);
    let (noise, noise_note) = crate::pipeline::noise::noise_for(
        scenario,
        args.calibration.as_deref(),
        Some(&beside),
        Some(&base),
    )?;
    crate::pipeline::outputs::check_reports(&args.reports)?;
    crate::pipeline::outputs::one_on_stdout(args.out.as_deref(), args.output.output.as_deref())?;
    crate::pipeline::outputs::refuse_overlaps(
        &outputs(args),
        &[
            Some(args.scenario.as_path()),
            Some(path.as_path()),
            Some(beside.as_path()),
            args.calibration.as_deref(),
            args.result.as_deref(),
        ],
    )?;
    crate::pipeline::outputs::preflight_outputs(&outputs(args))?;
    Ok(Prepared {
        path,
        base,
        noise,
        noise_note,
    })
}

/// Every file the gate writes, for [`crate::pipeline::outputs::refuse_overlaps`] and [`crate::pipeline::outputs::preflight_outputs`].
fn outputs(args: &GateArgs) -> Vec<Option<&std::path::Path>> {
    [
        args.out.as_deref(),
        args.actions.actions_json.as_deref(),
        args.actions.junit.as_deref(),
    ]
    .into_iter()
    .chain(crate::pipeline::outputs::report_paths(
        &args.output,
        &args.reports,
    ))
    .collect()
}

/// What became of the files the gate writes before its verdict.
struct Stored {
    /// `--out`, when it was written.
    result_json: Option<PathBuf>,
    /// Whether a write failed (already reported).
    failed: bool,
}

/// Writes `--out` and appends to `--history`. A failure is reported and remembered, never
/// returned: the verdict, the other reports and the actions (a rollback above all) must not depend
/// on a full disk.
fn store(args: &GateArgs, run: &RunResult) -> Stored {
    let mut failed = false;
    let result_json = args
        .out
        .as_ref()
        .filter(|out| {
            reported(
                crate::pipeline::outputs::write_result(out, run),
                &mut failed,
            ) && stored_file(out)
        })
        .cloned();
    reported(history::append(args.history.as_deref(), run), &mut failed);
    Stored {
        result_json,
        failed,
    }
}

/// Whether `r` succeeded; a failure is printed now and sets `failed`.
fn reported(r: Result<(), Error>, failed: &mut bool) -> bool {
    match r {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: {e}; the gate goes on to its verdict and actions");
            *failed = true;
            false
        }
    }
}

/// The exit code once the outputs are known: the verdict's, except that a pass whose requested
/// files could not all be written is an I/O error (2). A critical or incomplete verdict keeps its
/// code: a failed write must not hide a regression from the pipeline (README "Exit codes").
fn final_code(verdict_code: u8, write_failed: bool) -> u8 {
    if write_failed && verdict_code == exit::PASS {
        exit::ERROR
    } else {
        verdict_code
    }
}

/// Verdict → reports → actions → exit code, for both modes. Every report that can be written is,
/// and the actions run even when some could not be (a rollback must not depend on a full disk);
/// they are told only of files that exist.
async fn conclude(
    args: &GateArgs,
    plan: &Plan,
    base: &RunResult,
    run: &RunResult,
    comparison: &Comparison,
    stored: Stored,
    mode: &str,
) -> u8 {
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
    let mut failed = stored.failed;
    let warn_fails = args.fail_on == FailOn::Warn;
    let options = crate::pipeline::outputs::options(&args.reports, warn_fails);
    let mut emitted =
        crate::pipeline::outputs::emit(&report, &args.output, &args.reports.files, &options);
    for e in emitted.failed.drain(..) {
        reported(Err(e), &mut failed);
    }
    let code = final_code(
        crate::verdict::exit_code(verdict.outcome, args.fail_on == FailOn::Warn),
        failed,
    );
    if annotate(args, &action::Env::capture()) {
        annotations(&report, args.output.format, args.output.output.as_deref());
    }
    eprintln!(
        "loadgate: verdict {} (exit {code}{mode})",
        verdict.outcome.name()
    );
    if !plan.is_empty() || args.actions.actions_json.is_some() {
        // Only a stored file can be read back and handed on; `/dev/null` or a pipe cannot.
        let json_reports = emitted.json_files();
        let report_json = json_reports.first().map(|p| p.to_path_buf());
        let files = Files {
            report_json,
            result_json: stored.result_json,
        };
        let ctx = ActionContext::new(run, judged, code, &options, files);
        let outcomes = plan.run(ctx).await;
        // A summary that cannot reach stderr has nowhere else to go.
        let _ = action::summarize(&outcomes, &mut std::io::stderr().lock());
        for path in json_reports {
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
    code
}

/// Whether to print GitHub annotations: in GitHub Actions, unless `--no-ci-outputs`.
fn annotate(args: &GateArgs, env: &action::Env) -> bool {
    !args.actions.no_ci_outputs && env.get("GITHUB_ACTIONS") == Some("true")
}

/// Prints the `::error::`/`::warning::` lines of the verdict. GitHub reads them from stdout; when
/// stdout carries a machine-readable report (`--format json` without `--output`), they go to stderr,
/// which the runner reads too, so the report stays parseable.
fn annotations(report: &Report<'_>, format: Format, output: Option<&std::path::Path>) {
    let text = crate::report::annotations::render(report);
    if text.is_empty() {
        return;
    }
    let stdout_is_table = format == Format::Table
        || output
            .is_some_and(|p| crate::fsutil::destination(p) != crate::fsutil::Destination::Stdout);
    if stdout_is_table {
        // A closed stdout loses the annotations only; the verdict stands.
        let _ = crate::pipeline::outputs::print(&text);
    } else {
        eprint!("{text}");
    }
}

fn stored_file(p: &std::path::Path) -> bool {
    matches!(
        crate::fsutil::destination(p),
        crate::fsutil::Destination::Atomic(_)
    )
}

/// Adds the action outcomes to a written JSON report as its `actions` field (atomically).
fn embed_outcomes(path: &std::path::Path, outcomes: &[action::ActionOutcome]) -> Result<(), Error> {
    let corrupt = |problem: String| Error::ReportOutcomes {
        path: path.to_path_buf(),
        problem,
    };
    let text = crate::fsutil::read_limited(path, crate::fsutil::limits::RESULT)
        .map_err(|e| corrupt(e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_never_hides_a_regression_nor_passes_silently() {
        assert_eq!(final_code(exit::REGRESSION, true), exit::REGRESSION);
        assert_eq!(final_code(exit::INCOMPLETE, true), exit::INCOMPLETE);
        assert_eq!(final_code(exit::PASS, true), exit::ERROR);
        assert_eq!(final_code(exit::PASS, false), exit::PASS);
    }
}

//! `loadgate compare BASELINE RESULT`: judge two stored files. No load, no actions.

use crate::cli::{CompareArgs, FailOn};
use crate::compare::guard::Z_BETA;
use std::path::Path;

use crate::compare::{compare, Comparison, Criteria, Policy};
use crate::error::Error;
use crate::report::{Judged, Report};
use crate::result::RunResult;
use crate::scenario::validate;
use crate::verdict::Verdict;

/// The whole flow of `loadgate compare`; returns the process exit code.
pub fn run(args: CompareArgs) -> Result<u8, Error> {
    crate::pipeline::outputs::check_reports(&args.reports)?;
    let outputs = crate::pipeline::outputs::report_paths(&args.output, &args.reports);
    crate::pipeline::outputs::refuse_overlaps(
        &outputs,
        &[
            Some(args.baseline.as_path()),
            Some(args.result.as_path()),
            args.scenario.as_deref(),
            args.calibration.as_deref(),
        ],
    )?;
    crate::pipeline::outputs::preflight_outputs(&outputs)?;
    let j = judge_files(
        &args.baseline,
        &args.result,
        args.scenario.as_deref(),
        args.calibration.as_deref(),
    )?;
    let options =
        crate::pipeline::outputs::options(&args.reports, args.fail_on == crate::cli::FailOn::Warn);
    crate::pipeline::outputs::emit(&j.report(), &args.output, &args.reports.files, &options)
        .result()?;
    Ok(crate::verdict::exit_code(
        j.verdict.outcome,
        args.fail_on == FailOn::Warn,
    ))
}

/// Two stored results and what comparing them decided.
pub struct Judgement {
    /// The baseline file's result.
    pub baseline: RunResult,
    /// The judged result.
    pub result: RunResult,
    /// Rows.
    pub comparison: Comparison,
    /// Decision.
    pub verdict: Verdict,
}

impl Judgement {
    /// The report of this judgement.
    pub fn report(&self) -> Report<'_> {
        Report {
            run: &self.result,
            judged: Some(Judged {
                baseline: &self.baseline,
                comparison: &self.comparison,
                verdict: &self.verdict,
            }),
        }
    }
}

/// Loads both files and compares them: the policy from `scenario` (else loadgate's defaults), the
/// noise from `calibration` (else the uncalibrated defaults). Shared by `compare` and `report`.
pub fn judge_files(
    baseline_path: &Path,
    result_path: &Path,
    scenario: Option<&Path>,
    calibration: Option<&Path>,
) -> Result<Judgement, Error> {
    let baseline = crate::baseline::load(baseline_path)?;
    let result = crate::baseline::load_result(result_path)?;
    if let Some(problem) = crate::compare::incomparable(&baseline, &result) {
        return Err(Error::Incomparable {
            baseline: baseline_path.to_path_buf(),
            result: result_path.to_path_buf(),
            problem,
        });
    }
    let policy = match scenario {
        Some(path) => Policy::from_gate(&crate::scenario::load(path)?.gate),
        None => default_policy(),
    };
    let (noise, note) =
        crate::pipeline::noise::noise_for(None, calibration, None, Some(&baseline))?;
    let mut comparison = compare(
        &baseline,
        &result,
        Criteria {
            policy: &policy,
            noise: &noise,
            z_beta: Z_BETA,
        },
    );
    comparison.notes.extend(note);
    for (path, r) in [(baseline_path, &baseline), (result_path, &result)] {
        if let Some(shard) = r.meta.shard {
            comparison.notes.push(format!(
                "{} is shard {shard} of a sharded run and carries about 1/{} of its load; merge the shards first (`loadgate merge`)",
                path.display(),
                shard.count
            ));
        }
    }
    let verdict = crate::verdict::decide(&comparison);
    Ok(Judgement {
        baseline,
        result,
        comparison,
        verdict,
    })
}

fn default_policy() -> Policy {
    Policy::from_gate(&validate::default_gate())
}

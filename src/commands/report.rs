//! `loadgate report RESULT [--baseline BASELINE]`: re-render stored files in any format. With a
//! baseline, the comparison is `compare`'s own; no load, no actions, and the exit code is 0 whatever
//! the verdict (gating is `compare`'s and `gate`'s job).

use crate::cli::ReportArgs;
use crate::error::Error;
use crate::exit;
use crate::pipeline::compare;
use crate::report::Report;

pub fn run(args: ReportArgs) -> Result<u8, Error> {
    crate::pipeline::outputs::check_reports(&args.reports)?;
    let outputs = crate::pipeline::outputs::report_paths(&args.output, &args.reports);
    crate::pipeline::outputs::refuse_overlaps(
        &outputs,
        &[
            Some(args.result.as_path()),
            args.baseline.as_deref(),
            args.scenario.as_deref(),
            args.calibration.as_deref(),
        ],
    )?;
    crate::pipeline::outputs::preflight_outputs(&outputs)?;
    let options = crate::pipeline::outputs::options(&args.reports, false);
    match &args.baseline {
        Some(baseline) => {
            let j = compare::judge_files(
                baseline,
                &args.result,
                args.scenario.as_deref(),
                args.calibration.as_deref(),
            )?;
            crate::pipeline::outputs::emit(
                &j.report(),
                &args.output,
                &args.reports.files,
                &options,
            )
            .result()?;
        }
        None => {
            let run = crate::baseline::load_result(&args.result)?;
            crate::pipeline::outputs::emit(
                &Report {
                    run: &run,
                    judged: None,
                },
                &args.output,
                &args.reports.files,
                &options,
            )
            .result()?;
        }
    }
    Ok(exit::PASS)
}

//! `loadgate run`: preflight, load, print the measurements; `--out` keeps the full result. With
//! `--shard i/N` this process is one worker of a sharded run (its share of the load; `merge` adds them).

use crate::cli::RunArgs;
use crate::error::Error;
use crate::exit;
use crate::load;
use crate::pipeline::history;
use crate::report::Report;
use crate::result::Shard;
use crate::scenario::starter;

/// The whole flow of `loadgate run`; returns the process exit code.
pub async fn run(args: RunArgs) -> Result<u8, Error> {
    let arg = args.scenario.to_string_lossy();
    // A URL (`loadgate run http://localhost:8080/health`) is tried at once with a one-request
    // scenario; an existing file is always a scenario, whatever its name looks like.
    let mut scenario = if !args.scenario.exists() && starter::looks_like_url(&arg) {
        crate::scenario::quick(&arg, &crate::pipeline::measure::overrides(&args.target))?
    } else {
        crate::pipeline::measure::load_scenario(&args.scenario, &args.target)?
    };
    let shard = match &args.shard {
        Some(text) => {
            let shard = text.parse::<Shard>().map_err(|e| Error::Flag {
                flag: "--shard",
                problem: e.to_string(),
            })?;
            scenario.load = load::shard::split(&scenario.load, shard).map_err(|e| Error::Flag {
                flag: "--shard",
                problem: e.to_string(),
            })?;
            if args.out.is_none() {
                eprintln!("warning: --shard without --out: this shard's result is not kept, so it cannot be merged");
            }
            Some(shard)
        }
        None => None,
    };
    crate::pipeline::outputs::one_on_stdout(args.out.as_deref(), args.output.output.as_deref())?;
    crate::pipeline::outputs::check_reports(&args.reports)?;
    let outputs: Vec<_> = std::iter::once(args.out.as_deref())
        .chain(crate::pipeline::outputs::report_paths(
            &args.output,
            &args.reports,
        ))
        .collect();
    crate::pipeline::outputs::refuse_overlaps(&outputs, &[Some(args.scenario.as_path())])?;
    crate::pipeline::outputs::preflight_outputs(&outputs)?;
    history::preflight(args.history.as_deref(), &scenario.name)?;
    let resolved = crate::pipeline::measure::resolve_target(&args.target, &scenario).await?;
    let result = crate::pipeline::measure::measure_shard(&scenario, &resolved, shard).await;
    crate::pipeline::measure::finish(resolved).await;
    let result = result?;
    if let Some(path) = &args.out {
        crate::pipeline::outputs::write_result(path, &result)?;
    }
    history::append(args.history.as_deref(), &result)?;
    crate::pipeline::outputs::emit(
        &Report {
            run: &result,
            judged: None,
        },
        &args.output,
        &args.reports.files,
        &crate::pipeline::outputs::options(&args.reports, false),
    )
    .result()?;
    if let Some(e) = crate::pipeline::measure::nothing_sent(&scenario, &result) {
        return Err(e);
    }
    Ok(exit::PASS)
}

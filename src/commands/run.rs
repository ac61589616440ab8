//! `loadgate run`: preflight, load, print the measurements; `--out` keeps the full result. With
//! `--shard i/N` this process is one worker of a sharded run (its share of the load; `merge` adds them).

use crate::cli::RunArgs;
use crate::commands::{common, history};
use crate::error::Error;
use crate::exit;
use crate::load;
use crate::report::Report;
use crate::result::Shard;
use crate::scenario::starter;

pub async fn run(args: RunArgs) -> Result<u8, Error> {
    let arg = args.scenario.to_string_lossy();
    // A URL (`loadgate run http://localhost:8080/health`) is tried at once with a one-request
    // scenario; an existing file is always a scenario, whatever its name looks like.
    let mut scenario = if !args.scenario.exists() && starter::looks_like_url(&arg) {
        crate::scenario::quick(&arg, &common::overrides(&args.target))?
    } else {
        common::load_scenario(&args.scenario, &args.target)?
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
    common::one_on_stdout(args.out.as_deref(), args.output.output.as_deref())?;
    common::check_reports(&args.reports)?;
    let outputs: Vec<_> = std::iter::once(args.out.as_deref())
        .chain(common::report_paths(&args.output, &args.reports))
        .collect();
    common::refuse_overlaps(&outputs, &[Some(args.scenario.as_path())])?;
    common::preflight_outputs(&outputs)?;
    history::preflight(args.history.as_deref(), &scenario.name)?;
    let resolved = common::resolve_target(&args.target, &scenario).await?;
    let result = common::measure_shard(&scenario, &resolved, shard).await;
    common::finish(resolved).await;
    let result = result?;
    if let Some(path) = &args.out {
        common::write_result(path, &result)?;
    }
    history::append(args.history.as_deref(), &result)?;
    common::emit(
        &Report {
            run: &result,
            judged: None,
        },
        &args.output,
        &args.reports.files,
        &common::options(&args.reports, false),
    )
    .result()?;
    if let Some(e) = common::nothing_sent(&scenario, &result) {
        return Err(e);
    }
    Ok(exit::PASS)
}

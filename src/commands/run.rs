//! `loadgate run`: preflight, load, print the measurements; `--out` keeps the full result.

use crate::cli::RunArgs;
use crate::commands::{common, history};
use crate::error::Error;
use crate::exit;
use crate::report::Report;

pub async fn run(args: RunArgs) -> Result<u8, Error> {
    let scenario = crate::scenario::load(&args.scenario)?;
    common::preflight_outputs(&[args.out.as_deref(), args.output.output.as_deref()])?;
    history::preflight(args.history.as_deref(), &scenario.name)?;
    let resolved = common::resolve_target(&args.target, &scenario).await?;
    let result = common::measure(&scenario, &resolved).await;
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
    )?;
    Ok(exit::PASS)
}

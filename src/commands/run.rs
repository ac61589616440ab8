//! `loadgate run`: preflight, load, print the measurements; `--out` keeps the full result.

use crate::cli::RunArgs;
use crate::commands::common;
use crate::error::Error;
use crate::exit;
use crate::report::Report;

pub async fn run(args: RunArgs) -> Result<u8, Error> {
    let scenario = crate::scenario::load_profile(&args.scenario, args.target.profile.as_deref())?;
    common::preflight_outputs(&[args.out.as_deref(), args.output.output.as_deref()])?;
    let resolved = common::resolve_target(&args.target, &scenario).await?;
    let result = common::measure(&scenario, &resolved).await;
    common::finish(resolved).await;
    let result = result?;
    if let Some(path) = &args.out {
        common::write_result(path, &result)?;
    }
    common::emit(
        &Report {
            run: &result,
            judged: None,
        },
        &args.output,
    )?;
    Ok(exit::PASS)
}

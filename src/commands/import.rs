//! `loadgate import FORMAT PATH... --out FILE`: read another tool's output (`import`), write the
//! result atomically and print it. No load, no verdict.

use std::path::Path;

use crate::cli::ImportArgs;
use crate::error::Error;
use crate::exit;
use crate::import::{self, Context};
use crate::report::Report;

pub fn run(args: ImportArgs) -> Result<u8, Error> {
    let inputs = import::read_inputs(args.format, &args.paths)?;
    let named: Vec<Option<&Path>> = args
        .paths
        .iter()
        .map(|p| Some(p.as_path()))
        .chain(inputs.iter().map(|i| Some(i.path.as_path())))
        .collect();
    crate::pipeline::outputs::refuse_overlaps(
        &[Some(args.out.as_path()), args.output.output.as_deref()],
        &named,
    )?;
    crate::pipeline::outputs::preflight_outputs(&[
        Some(args.out.as_path()),
        args.output.output.as_deref(),
    ])?;
    let ctx = Context {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| args.format.name().to_string()),
        host: crate::sample::host::current(),
        git_commit: crate::pipeline::measure::git_commit(),
        imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let result = import::import(args.format, &inputs, &ctx)?;
    if let Some(i) = &result.imported {
        eprintln!("loadgate: {}", i.describe());
    }
    crate::pipeline::outputs::write_result(&args.out, &result)?;
    crate::pipeline::outputs::emit(
        &Report {
            run: &result,
            judged: None,
        },
        &args.output,
        &[],
        &crate::report::Options::default(),
    )
    .result()?;
    Ok(exit::PASS)
}

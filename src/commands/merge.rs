//! `loadgate merge RESULT... --out FILE`: read the shards of one sharded run, merge them exactly
//! (`result::merge`), write the merged result atomically and print it. No load, no verdict.

use crate::cli::MergeArgs;
use crate::error::Error;
use crate::exit;
use crate::report::Report;

pub fn run(args: MergeArgs) -> Result<u8, Error> {
    let inputs: Vec<Option<&std::path::Path>> =
        args.results.iter().map(|p| Some(p.as_path())).collect();
    crate::pipeline::outputs::check_reports(&args.reports)?;
    let outputs: Vec<_> = std::iter::once(Some(args.out.as_path()))
        .chain(crate::pipeline::outputs::report_paths(
            &args.output,
            &args.reports,
        ))
        .collect();
    crate::pipeline::outputs::refuse_overlaps(&outputs, &inputs)?;
    crate::pipeline::outputs::preflight_outputs(&outputs)?;
    let mut parts = Vec::with_capacity(args.results.len());
    for path in &args.results {
        parts.push((path.clone(), crate::baseline::load(path)?));
    }
    let merged = crate::result::merge::merge(&parts, args.allow_partial)?;
    if let Some(info) = &merged.meta.merged {
        if !info.missing.is_empty() {
            eprintln!(
                "warning: merged {} of {} shards; missing: {}. The merged load is lower than planned.",
                info.shards.len(),
                info.shard_count,
                info.missing
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let hosts: std::collections::BTreeSet<&str> = info
            .shards
            .iter()
            .map(|s| s.host.fingerprint.as_str())
            .collect();
        if hosts.len() > 1 {
            eprintln!(
                "note: the shards ran on {} different kinds of machine; the merged result's `meta.host` is shard {}'s, \
                 `meta.merged.shards` lists each",
                hosts.len(),
                info.shards.first().map_or(1, |s| s.index)
            );
        }
    }
    crate::pipeline::outputs::write_result(&args.out, &merged)?;
    crate::pipeline::outputs::emit(
        &Report {
            run: &merged,
            judged: None,
        },
        &args.output,
        &args.reports.files,
        &crate::pipeline::outputs::options(&args.reports, false),
    )
    .result()?;
    Ok(exit::PASS)
}

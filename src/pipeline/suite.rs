//! `record` and `gate` on a `[suite]` file: each run is the suite's command, then an import of
//! what it wrote (`import::suite`); the baseline, the judge and the actions are the scenario's.

use crate::baseline;
use crate::cli::RecordArgs;
use crate::compare::Policy;
use crate::error::Error;
use crate::exit;
use crate::import::Context;
use crate::result::RunResult;
use crate::scenario::suite::Suite;

/// A suite's command, run again for every run the gate asks for.
pub struct Command<'a>(pub &'a Suite);

impl crate::pipeline::Runs for Command<'_> {
    type Error = Error;
    async fn next(&mut self) -> Result<RunResult, Error> {
        measure(self.0).await
    }
}

/// One run of the suite: its command, then the import of its fresh results.
pub async fn measure(suite: &Suite) -> Result<RunResult, Error> {
    eprintln!(
        "loadgate: running suite `{}`: {}",
        suite.name,
        suite.command.join(" ")
    );
    let ctx = Context {
        name: suite.name.clone(),
        host: crate::sample::host::current(),
        git_commit: crate::pipeline::measure::git_commit(),
        imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    Ok(crate::import::suite::run(suite, &ctx).await?)
}

/// `record SUITE [--runs N]`: N runs of the suite, pooled, with what their spread teaches.
pub async fn record(args: &RecordArgs, suite: &Suite) -> Result<u8, Error> {
    let path = baseline::path_for(&args.baselines, &suite.name);
    crate::pipeline::outputs::preflight_outputs(&[Some(&path)])?;
    let mut runs = Vec::new();
    for i in 0..args.runs {
        if args.runs > 1 {
            eprintln!("loadgate: baseline run {} of {}", i + 1, args.runs);
        }
        runs.push(measure(suite).await?);
    }
    // Learned as it will be judged: each benchmark its own gated row, throughput not a row.
    let policy = match runs.first() {
        Some(r) => Policy::from_gate(&suite.gate).adapted_to(r, r),
        None => Policy::from_gate(&suite.gate),
    };
    let result = crate::pipeline::record::learned_baseline(&runs, &policy, &path)?;
    baseline::save(&path, &result).map_err(|source| Error::RecordWrite { source })?;
    eprintln!(
        "loadgate: recorded baseline {} ({} row(s) in {} run(s) of the suite)",
        path.display(),
        result.requests.len(),
        result.runs()
    );
    Ok(exit::PASS)
}

/// Why `base` (read from `path`) is not this suite's baseline, if it is not.
pub fn check_baseline(
    base: &RunResult,
    path: &std::path::Path,
    suite: &Suite,
) -> Result<(), Error> {
    let problem = if base.meta.scenario_name != suite.name {
        Some(format!(
            "it was recorded for `{}`, not for the suite `{}`",
            base.meta.scenario_name, suite.name
        ))
    } else {
        match base.imported.as_ref().map(|i| i.format) {
            Some(f) if f == suite.format => None,
            other => Some(format!(
                "it holds {} and the suite writes {} output: record the suite's baseline with `loadgate record {}`",
                other.map_or("loadgate's own load".to_string(), |f| format!("{f} output")),
                suite.format,
                suite.path.display()
            )),
        }
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::Incomparable {
            baseline: path.to_path_buf(),
            result: suite.path.clone(),
            problem,
        }),
    }
}

//! `loadgate gate`: preflight (scenario, baseline, outputs, target) → load → compare → verdict →
//! reports → exit code. What CI calls.

use crate::baseline;
use crate::cli::{FailOn, GateArgs};
use crate::commands::common;
use crate::compare::{compare, Policy};
use crate::error::Error;
use crate::exit;
use crate::report::{Judged, Report};
use crate::verdict::{decide, Outcome};

pub async fn run(args: GateArgs) -> Result<u8, Error> {
    let scenario = crate::scenario::load(&args.scenario)?;
    let path = args
        .baseline
        .clone()
        .unwrap_or_else(|| baseline::path_for(&args.baselines, &scenario.name));
    let base = baseline::load(&path)?;
    baseline::check_matches(&base, &path, &scenario)?;
    common::preflight_outputs(&[args.out.as_deref(), args.output.output.as_deref()])?;
    let resolved = common::resolve_target(&args.target, &scenario).await?;
    let result = common::measure(&scenario, &resolved).await;
    common::finish(resolved).await;
    let result = result?;
    if let Some(out) = &args.out {
        common::write_result(out, &result)?;
    }
    let comparison = compare(&base, &result, &Policy::from_gate(&scenario.gate));
    let verdict = decide(&comparison);
    let report = Report {
        run: &result,
        judged: Some(Judged {
            baseline: &base,
            comparison: &comparison,
            verdict: &verdict,
        }),
    };
    common::emit(&report, &args.output)?;
    let code = exit_code(verdict.outcome, args.fail_on);
    eprintln!("loadgate: verdict {} (exit {code})", verdict.outcome.name());
    Ok(code)
}

/// The exit code of a verdict (README "Exit codes").
pub fn exit_code(outcome: Outcome, fail_on: FailOn) -> u8 {
    match (outcome, fail_on) {
        (Outcome::Critical, _) | (Outcome::Warn, FailOn::Warn) => exit::REGRESSION,
        (Outcome::Incomplete, _) => exit::INCOMPLETE,
        (Outcome::Pass | Outcome::Warn, _) => exit::PASS,
    }
}

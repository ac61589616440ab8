//! `loadgate compare BASELINE RESULT`: judge two stored files. No load, no actions.

use crate::cli::CompareArgs;
use crate::commands::common;
use crate::commands::gate::exit_code;
use crate::compare::guard::Z_BETA;
use crate::compare::{compare, Policy, Settings};
use crate::error::Error;
use crate::report::{Judged, Report};
use crate::scenario::validate;

pub fn run(args: CompareArgs) -> Result<u8, Error> {
    let baseline = crate::baseline::load(&args.baseline)?;
    let result = crate::baseline::load(&args.result)?;
    let policy = match &args.scenario {
        Some(path) => Policy::from_gate(&crate::scenario::load(path)?.gate),
        None => default_policy(),
    };
    common::preflight_outputs(&[args.output.output.as_deref()])?;
    let (noise, note) = common::noise_for(None, args.calibration.as_deref(), None)?;
    let mut comparison = compare(
        &baseline,
        &result,
        Settings {
            policy: &policy,
            noise: &noise,
            z_beta: Z_BETA,
        },
    );
    comparison.notes.extend(note);
    for (path, r) in [(&args.baseline, &baseline), (&args.result, &result)] {
        if let Some(shard) = r.meta.shard {
            comparison.notes.push(format!(
                "{} is shard {shard} of a sharded run and carries about 1/{} of its load; merge the shards first (`loadgate merge`)",
                path.display(),
                shard.count
            ));
        }
    }
    let verdict = crate::verdict::decide(&comparison);
    let report = Report {
        run: &result,
        judged: Some(Judged {
            baseline: &baseline,
            comparison: &comparison,
            verdict: &verdict,
        }),
    };
    common::emit(&report, &args.output)?;
    Ok(exit_code(verdict.outcome, args.fail_on))
}

fn default_policy() -> Policy {
    use crate::scenario::{GateSpec, Thresholds};
    Policy::from_gate(&GateSpec {
        thresholds: Thresholds {
            warn: validate::DEFAULT_WARN,
            critical: validate::DEFAULT_CRITICAL,
        },
        metrics: validate::DEFAULT_METRICS.to_vec(),
        slos: Vec::new(),
        latency_floor: validate::DEFAULT_LATENCY_FLOOR,
        record_max_error_rate: validate::DEFAULT_RECORD_MAX_ERROR_RATE,
        overrides: Default::default(),
    })
}

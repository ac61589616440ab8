//! `loadgate gate --paired BASE_URL`: the baseline build and the candidate are loaded in alternating
//! segments (A B B A A B B A ...) on this machine and judged from the pooled segments. Drift of the
//! runner or of staging hits both builds alike, so it cancels: the strongest defence against a noisy
//! runner (docs/statistics.md §4.6). No stored baseline is read or written.

use std::time::Duration;

use crate::compare::guard::Z_BETA;
use crate::compare::{compare, Comparison, Criteria, Noise, Policy};
use crate::error::Error;
use crate::load::{target, Target};
use crate::pipeline::measure::Resolved;
use crate::result::RunResult;
use crate::scenario::Scenario;

/// Measures both builds in `segments` segments each and compares them.
pub async fn measure_and_compare(
    scenario: &Scenario,
    candidate: &Resolved,
    base_url: &str,
    segments: u32,
) -> Result<(RunResult, RunResult, Comparison), Error> {
    let base = Target::parse(base_url, "--paired")?
        .accepting_invalid_certs(candidate.target.accepts_invalid_certs());
    target::preflight(&base, &scenario.target, &scenario.secrets).await?;
    let segment = segment_scenario(scenario, segments)?;
    let base_resolved = Resolved {
        target: base,
        demo: None,
        monitor: None,
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..segments {
        // A B B A: each build goes first as often as second, so a trend over the job cancels too.
        let order: [(&Resolved, bool); 2] = if i % 2 == 0 {
            [(&base_resolved, true), (candidate, false)]
        } else {
            [(candidate, false), (&base_resolved, true)]
        };
        for (resolved, is_base) in order {
            eprintln!(
                "loadgate: paired segment {} of {segments}: {}",
                i + 1,
                if is_base { "baseline" } else { "candidate" }
            );
            let run = crate::pipeline::measure::measure(&segment, resolved).await?;
            if is_base {
                a.push(run)
            } else {
                b.push(run)
            }
        }
    }
    let pooled = |runs: &[RunResult]| {
        RunResult::pool(runs).ok_or_else(|| Error::Flag {
            flag: "--paired",
            problem: "no segment was measured; this is a bug in loadgate, please report it"
                .to_string(),
        })
    };
    let (base_run, cand_run) = (pooled(&a)?, pooled(&b)?);
    let policy = Policy::from_gate(&scenario.gate);
    let noise = Noise::paired();
    let comparison = compare(
        &base_run,
        &cand_run,
        Criteria {
            policy: &policy,
            noise: &noise,
            z_beta: Z_BETA,
        },
    );
    Ok((base_run, cand_run, comparison))
}

/// The scenario with its duration split into equal segments of whole windows.
fn segment_scenario(scenario: &Scenario, segments: u32) -> Result<Scenario, Error> {
    if !scenario.load.stages.is_empty() {
        // A staged load is one shape over the whole run: cut into segments, the two builds would
        // see different parts of it.
        return Err(Error::Flag {
            flag: "--paired",
            problem: "paired mode needs a constant load, and this scenario (or profile) has `stages`; use a profile without stages".to_string(),
        });
    }
    let window = scenario.load.window;
    let windows = (scenario.load.duration.as_micros() / window.as_micros().max(1)) as u32;
    let per = windows / segments;
    // The bootstrap needs 10 windows per side in all; 3 per segment keeps blocks meaningful.
    if per < 3 || per * segments < 10 {
        return Err(Error::Flag {
            flag: "--segments",
            problem: format!(
                "{segments} segments of a {}-window run leave {per} windows each; use fewer segments or a longer `load.duration`",
                windows
            ),
        });
    }
    let mut s = scenario.clone();
    s.load.duration = Duration::from_micros(window.as_micros() as u64 * per as u64);
    Ok(s)
}

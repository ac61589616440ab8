//! The gate's measuring loop: measure, compare, rerun an unstable run, confirm a suspect regression
//! with another run, and stop when there is something to judge. It takes its runs from any source
//! ([`Runs`]), so `gate`, the accuracy benchmark and the unit tests run the very same decisions:
//! live loads or a suite's command for one, stored runs for the others.

use crate::compare::guard::{Z_BETA, Z_BETA_CONFIRMED};
use crate::compare::learn;
use crate::compare::{
    compare, confirm, needs_confirmation, Comparison, Criteria, Noise, Policy, Status,
};
use crate::result::RunResult;

/// An unstable run (outlier seconds) is measured again this many times before the gate gives up
/// on it (the verdict is then incomplete: a disturbed run).
pub const UNSTABLE_RERUNS: u32 = 1;

/// Where the gate's loop gets its candidate runs: a live load ([`crate::pipeline::measure::Live`]), a
/// suite's command ([`crate::pipeline::suite::Command`]), or runs measured earlier ([`Stored`]).
pub trait Runs {
    /// Why a run could not be had.
    type Error;
    /// Measures (or takes) the next run.
    fn next(&mut self) -> impl std::future::Future<Output = Result<RunResult, Self::Error>>;
}

/// Runs measured earlier, handed out in order: the accuracy benchmark's trials and the unit tests'
/// fixture runs.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    runs: std::collections::VecDeque<RunResult>,
}

impl Stored {
    /// The runs, to be handed out in this order.
    pub fn new(runs: impl IntoIterator<Item = RunResult>) -> Self {
        Stored {
            runs: runs.into_iter().collect(),
        }
    }

    /// The runs the loop did not ask for.
    pub fn left(&self) -> usize {
        self.runs.len()
    }
}

/// The loop asked for more runs than [`Stored`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the gate asked for more runs than were stored")]
pub struct NoMoreRuns;

impl Runs for Stored {
    type Error = NoMoreRuns;
    async fn next(&mut self) -> Result<RunResult, NoMoreRuns> {
        self.runs.pop_front().ok_or(NoMoreRuns)
    }
}

/// What the loop did, for the reader of the log and for the accuracy benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effort {
    /// Candidate runs measured in all (judged or rerun).
    pub runs: u32,
    /// Unstable runs measured again.
    pub reruns: u32,
    /// Confirmation runs made for a suspect regression.
    pub confirmations: u32,
}

/// What the gate judges with.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    /// The baseline (one or several pooled runs).
    pub baseline: &'a RunResult,
    /// Thresholds, metrics, objectives.
    pub policy: &'a Policy,
    /// Run-to-run noise.
    pub noise: &'a Noise,
    /// Confirmation runs allowed for a suspect regression (`gate --confirm`).
    pub confirmations: u32,
}

/// Measures (from `runs`) until there is something to judge, and judges it: reruns an unstable
/// run once, and re-measures a suspect regression up to `confirmations` times, pooling the candidate
/// runs. Returns the pooled candidate, its comparison, and the effort it took. `say` receives the
/// loop's progress lines.
pub async fn judge_runs<R: Runs>(
    judge: Judge<'_>,
    runs_from: &mut R,
    mut say: impl FnMut(&str),
) -> Result<(RunResult, Comparison, Effort), R::Error> {
    let settings = |z_beta| Criteria {
        policy: judge.policy,
        noise: judge.noise,
        z_beta,
    };
    let base = judge.baseline;
    let mut effort = Effort::default();
    let mut runs: Vec<RunResult> = Vec::new();
    let mut first: Option<Comparison> = None;
    loop {
        let result = runs_from.next().await?;
        effort.runs += 1;
        if result.meta.aborted.is_some() {
            // The load stopped on an objective breached beyond doubt: decisive on its own, so it
            // is neither rerun nor confirmed, nor pooled with an earlier run that may dilute it.
            let comparison = compare(base, &result, settings(Z_BETA));
            return Ok((result, comparison, effort));
        }
        if let Some(why) = crate::compare::stability::unstable(&result) {
            // A decisive critical (an error-rate jump, an SLO breach, a gross change) stands however
            // unsteady the run (`verdict::decide`). Rerunning would only hide it: a burst of 500s
            // may not come back, and a target that crashed fails the rerun's preflight.
            let stands = decisive_critical(&compare(base, &result, settings(Z_BETA)));
            if effort.reruns < UNSTABLE_RERUNS && !stands {
                effort.reruns += 1;
                say(&format!("unstable run ({why}); measuring again"));
                continue;
            }
        }
        runs.push(result);
        let Some(pooled) = RunResult::pool(&runs) else {
            continue;
        };
        let z_beta = if runs.len() > 1 {
            Z_BETA_CONFIRMED
        } else {
            Z_BETA
        };
        // A confirmation run and the first run are two runs of one build: A/A evidence the
        // baseline's learned noise takes in before the pooled verdict.
        let taught = match (&base.learned, runs.len() > 1 && judge.noise.learned) {
            (Some(l), true) => Some(Noise::learned(&learn::with_candidate_runs(
                l,
                &runs,
                judge.policy,
            ))),
            _ => None,
        };
        let pooled_settings = Criteria {
            noise: taught.as_ref().unwrap_or(judge.noise),
            ..settings(z_beta)
        };
        let current = compare(base, &pooled, pooled_settings);
        let current = match (&first, runs.last()) {
            (Some(f), Some(last)) => {
                let alone = compare(base, last, settings(Z_BETA));
                confirm(f, &alone, current)
            }
            _ => current,
        };
        let again = first.is_none()
            && (runs.len() as u32) <= judge.confirmations
            && needs_confirmation(&current);
        if !again {
            return Ok((pooled, current, effort));
        }
        say(&format!(
            "suspect regression in {}; confirming with another run",
            suspects(&current)
        ));
        effort.confirmations += 1;
        first = Some(current);
    }
}

/// Judges a stored run (`gate --result`: a `run --out` file, or the merge of a sharded run) as
/// [`judge_runs`] judges a first live run, minus what only a live load can do: an unstable run is
/// not measured again (the verdict says it is unstable), and a suspect regression has no
/// confirmation re-run, which a note says, naming the rows the verdict rests on alone.
pub fn judge_stored(judge: Judge<'_>, run: &RunResult) -> Comparison {
    let settings = Criteria {
        policy: judge.policy,
        noise: judge.noise,
        z_beta: Z_BETA,
    };
    let mut comparison = compare(judge.baseline, run, settings);
    if needs_confirmation(&comparison) {
        let rows = suspects(&comparison);
        comparison.notes.push(format!(
            "suspect regression in {rows}: a live gate would confirm it with another run, but a stored result has no confirmation re-run, so the verdict rests on this run alone"
        ));
    }
    comparison
}

/// The gated rows a confirmation run would settle, named as "request metric".
fn suspects(c: &Comparison) -> String {
    c.rows
        .iter()
        .filter(|r| r.gated && r.suspect)
        .map(|r| format!("{} {}", r.request.as_deref().unwrap_or("all"), r.metric))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a row is critical beyond any doubt, so that no rerun or confirmation may overturn it.
fn decisive_critical(c: &Comparison) -> bool {
    c.rows
        .iter()
        .any(|r| r.decisive && r.status == Status::Critical)
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;

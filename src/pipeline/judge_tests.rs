//! The gate's decisions on fixture runs: the same loop `gate` runs, fed stored runs instead of live
//! loads, so each test's verdict is exact and independent of the machine.

use super::*;
use crate::compare::learn::learn;
use crate::result::testing::{run_of, run_with_levels};
use crate::scenario::validate::default_gate;
use crate::verdict::{decide, Outcome};

/// The held-out shape: three endpoints at 10, 20 and 30 ms, weights 3/2/1, 150 req/s.
const MIX: [(u64, u64); 3] = [(10_000, 3), (20_000, 2), (30_000, 1)];

fn policy() -> Policy {
    Policy::from_gate(&default_gate())
}

/// A baseline as `record` writes it: three runs of the same build, pooled, with what they taught.
fn baseline(modes: &[(u64, u64)]) -> RunResult {
    let runs: Vec<RunResult> = (1..=3).map(|i| run_of(modes, 150, 20, 1.0, i)).collect();
    let mut b = RunResult::pool(&runs).expect("three runs");
    b.learned = Some(learn(&runs, &policy()));
    b
}

struct Gated {
    outcome: Outcome,
    effort: Effort,
    comparison: Comparison,
}

impl Gated {
    /// The aggregate's row for `m`.
    fn aggregate(&self, m: crate::result::metric::Metric) -> &crate::compare::Row {
        self.comparison
            .rows
            .iter()
            .find(|r| r.request.is_none() && r.metric == m)
            .unwrap_or_else(|| panic!("an aggregate {m} row"))
    }
}

/// Gates `candidates` (taken in order, as many as the loop asks for) against `base`.
fn gate(base: &RunResult, candidates: Vec<RunResult>) -> Gated {
    let policy = policy();
    let noise = match &base.learned {
        Some(l) => Noise::learned(l),
        None => Noise::defaults(),
    };
    let judge = Judge {
        baseline: base,
        policy: &policy,
        noise: &noise,
        confirmations: 1,
    };
    let mut queue = Stored::new(candidates);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (_, comparison, effort) = rt
        .block_on(judge_runs(judge, &mut queue, |_| {}))
        .expect("enough runs");
    Gated {
        outcome: decide(&comparison).outcome,
        effort,
        comparison,
    }
}

fn mix(level: f64, seed: u64) -> RunResult {
    run_of(&MIX, 150, 20, level, seed)
}

#[test]
fn an_unchanged_build_of_a_mixed_service_passes_and_says_once_what_it_cannot_gate() {
    let base = baseline(&MIX);
    let g = gate(&base, vec![mix(1.0, 10), mix(1.0, 11)]);
    assert_eq!(g.outcome, Outcome::Pass, "{:#?}", g.comparison);
    assert_eq!(g.effort.runs, 1, "no confirmation for an unchanged build");
    let p50 = g.aggregate(crate::result::metric::Metric::P50);
    assert!(
        !p50.gated && p50.reason.contains("between two latency modes"),
        "{p50:?}"
    );
    assert!(
        g.comparison
            .notes
            .iter()
            .any(|n| n.contains("not gated for this scenario")),
        "{:?}",
        g.comparison.notes
    );
}

#[test]
fn a_20_percent_regression_of_the_same_service_is_critical() {
    let base = baseline(&MIX);
    let g = gate(&base, vec![mix(1.2, 10), mix(1.2, 11)]);
    assert_eq!(g.outcome, Outcome::Critical, "{:#?}", g.comparison);
}

#[test]
fn a_10_percent_change_is_never_critical() {
    let base = baseline(&MIX);
    let g = gate(&base, vec![mix(1.1, 10), mix(1.1, 11)]);
    assert_ne!(g.outcome, Outcome::Critical, "{:#?}", g.comparison);
}

#[test]
fn a_suspect_run_that_the_confirmation_does_not_repeat_is_not_critical() {
    let base = baseline(&MIX);
    let g = gate(&base, vec![mix(1.16, 10), mix(1.0, 11)]);
    assert_eq!(g.effort.confirmations, 1, "{:#?}", g.comparison);
    assert_eq!(g.effort.runs, 2);
    assert_ne!(g.outcome, Outcome::Critical, "{:#?}", g.comparison);
    assert!(
        g.comparison
            .notes
            .iter()
            .any(|n| n.contains("did not confirm")),
        "{:?}",
        g.comparison.notes
    );
}

#[test]
fn a_stored_run_is_judged_as_a_first_live_run_and_says_it_had_no_confirmation() {
    let base = baseline(&MIX);
    let policy = policy();
    let noise = Noise::learned(base.learned.as_ref().expect("learned"));
    let judge = Judge {
        baseline: &base,
        policy: &policy,
        noise: &noise,
        confirmations: 1,
    };
    let suspect = mix(1.16, 10);
    let stored = judge_stored(judge, &suspect);
    let live = compare(
        &base,
        &suspect,
        Criteria {
            policy: &policy,
            noise: &noise,
            z_beta: Z_BETA,
        },
    );
    assert!(needs_confirmation(&live), "the fixture is a suspect run");
    assert_eq!(
        stored.rows, live.rows,
        "the same rows as a live gate's first run"
    );
    assert!(
        stored
            .notes
            .iter()
            .any(|n| n.contains("no confirmation re-run")),
        "{:?}",
        stored.notes
    );
    let unchanged = judge_stored(judge, &mix(1.0, 11));
    assert!(
        !unchanged.notes.iter().any(|n| n.contains("confirmation")),
        "{:?}",
        unchanged.notes
    );
}

#[test]
fn a_stalled_run_is_measured_again_and_the_rerun_is_judged() {
    let base = baseline(&MIX);
    let mut levels = vec![1.0; 20];
    levels[5..9].fill(6.0);
    let stalled = run_with_levels(&MIX, 150, &levels, 10);
    let g = gate(&base, vec![stalled, mix(1.0, 11)]);
    assert_eq!(g.effort.reruns, 1);
    assert_eq!(g.outcome, Outcome::Pass, "{:#?}", g.comparison);
}

#[test]
fn two_stalled_runs_are_incomplete_a_disturbed_run_not_a_noisy_service() {
    let base = baseline(&MIX);
    let mut levels = vec![1.0; 20];
    levels[5..9].fill(6.0);
    let g = gate(
        &base,
        vec![
            run_with_levels(&MIX, 150, &levels, 10),
            run_with_levels(&MIX, 150, &levels, 11),
        ],
    );
    assert_eq!(g.outcome, Outcome::Incomplete, "{:#?}", g.comparison);
    assert!(g.comparison.unstable.is_some());
}

#[test]
fn a_baseline_recorded_before_loadgate_learned_noise_still_gates() {
    let one = [(10_000, 1)];
    let mut base = baseline(&one);
    base.learned = None;
    let g = gate(
        &base,
        vec![
            run_of(&one, 150, 20, 1.0, 10),
            run_of(&one, 150, 20, 1.0, 11),
        ],
    );
    assert_eq!(g.outcome, Outcome::Pass, "{:#?}", g.comparison);
    let g = gate(
        &base,
        vec![
            run_of(&one, 150, 20, 1.5, 10),
            run_of(&one, 150, 20, 1.5, 11),
        ],
    );
    assert_eq!(g.outcome, Outcome::Critical, "{:#?}", g.comparison);
}

#[test]
fn a_low_rate_service_is_gated_on_what_its_rate_can_show() {
    let slow = [(5_000, 1)];
    let runs: Vec<RunResult> = (1..=3).map(|i| run_of(&slow, 20, 20, 1.0, i)).collect();
    let mut base = RunResult::pool(&runs).expect("runs");
    base.learned = Some(learn(&runs, &policy()));
    let g = gate(
        &base,
        vec![
            run_of(&slow, 20, 20, 1.0, 10),
            run_of(&slow, 20, 20, 1.0, 11),
        ],
    );
    assert_eq!(g.outcome, Outcome::Pass, "{:#?}", g.comparison);
    let g = gate(
        &base,
        vec![
            run_of(&slow, 20, 20, 1.25, 10),
            run_of(&slow, 20, 20, 1.25, 11),
        ],
    );
    assert_eq!(g.outcome, Outcome::Critical, "{:#?}", g.comparison);
}

#[test]
fn a_run_stopped_by_abort_on_slo_is_judged_at_once_never_rerun_or_confirmed() {
    let base = baseline(&MIX);
    // A mildly slower run that alone would be a suspect worth confirming, stopped by its objective.
    let mut stopped = mix(1.15, 10);
    stopped.meta.aborted = Some(crate::result::Aborted {
        request: None,
        metric: crate::result::metric::Metric::P95,
        objective: 20_000.0,
        value: 34_000.0,
        lower_bound: 33_000.0,
        requests: 3_000,
        after_ms: 20_000,
    });
    let g = gate(&base, vec![stopped, mix(1.0, 11), mix(1.0, 12)]);
    assert_eq!(g.outcome, Outcome::Critical, "{:#?}", g.comparison);
    assert_eq!(g.effort.runs, 1);
    assert_eq!(g.effort.reruns + g.effort.confirmations, 0);
}

/// A sub-millisecond service on a shared machine: every request costs `floor` µs, and the machine's
/// interference adds time to some of them, more in one run than in another (the body drifts, the
/// floor does not). Half the requests meet `body` µs instead of the floor.
fn fast(floor: u64, body: u64, seed: u64) -> RunResult {
    run_of(&[(floor, 1), (body, 1)], 200, 20, 1.0, seed)
}

/// Three baseline runs of the fast service whose medians disagree by a third (interference), on
/// the same 600 µs floor, recorded as `record` does.
fn fast_baseline() -> RunResult {
    let runs = [fast(600, 700, 1), fast(600, 950, 2), fast(600, 820, 3)];
    let mut base = RunResult::pool(&runs).expect("three runs");
    base.learned = Some(learn(&runs, &policy()));
    base
}

#[test]
fn a_uniform_slowdown_of_a_fast_service_whose_median_drifts_is_caught_at_p5() {
    use crate::result::metric::Metric;
    // The slower build: every request +25%, its interference in between the baseline's.
    let g = gate(
        &fast_baseline(),
        vec![fast(750, 1030, 10), fast(750, 1000, 11)],
    );
    assert_eq!(g.outcome, Outcome::Critical, "{:#?}", g.comparison);
    let p5 = g.aggregate(Metric::P5);
    assert!(p5.gated, "{p5:?}");
    assert_eq!(p5.status, crate::compare::Status::Critical, "{p5:?}");
    // The median alone could not say: its noise, learned from the baseline's runs, is as large as
    // the change.
    let p50 = g.aggregate(Metric::P50);
    assert_ne!(p50.status, crate::compare::Status::Critical, "{p50:?}");
}

#[test]
fn an_unchanged_fast_service_in_a_busier_spell_does_not_fail_at_p5() {
    // Same build, the machine busier than in any baseline run: the body moves, the floor does not.
    let g = gate(
        &fast_baseline(),
        vec![fast(600, 1000, 10), fast(600, 980, 11)],
    );
    let p5 = g.aggregate(crate::result::metric::Metric::P5);
    assert_eq!(p5.status, crate::compare::Status::Pass, "{p5:?}");
}

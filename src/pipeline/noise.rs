//! Where a gate's run-to-run noise comes from: a calibration file, the baseline's learned noise,
//! or the priors, with the note a reader needs about which one was used.

use std::path::Path;

use crate::error::Error;
use crate::result::RunResult;
use crate::scenario::Scenario;

/// The run-to-run noise to use, best evidence first: a calibration from `explicit`, or beside the
/// baseline, when it matches this scenario and machine; else what the baseline's own runs taught
/// (`record`), when they were made on this machine; else the documented defaults. The note says why
/// better evidence was passed over.
pub fn noise_for(
    scenario: Option<&Scenario>,
    explicit: Option<&Path>,
    beside: Option<&Path>,
    baseline: Option<&RunResult>,
) -> Result<(crate::compare::Noise, Option<String>), Error> {
    let (calibrated, note) = calibration_noise(scenario, explicit, beside)?;
    if let Some(n) = calibrated {
        return Ok((n, None));
    }
    let (learned, learned_note) = learned_noise(baseline);
    let lacking = baseline
        .filter(|_| learned.is_some())
        .and_then(|b| lacking_note(b, scenario));
    let notes: Vec<String> = note
        .into_iter()
        .chain(learned_note)
        .chain(lacking)
        .collect();
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((
        learned.unwrap_or_else(crate::compare::Noise::defaults),
        note,
    ))
}

/// The note for a baseline that learned its noise before loadgate gated some of the scenario's
/// metrics (p5 joined the defaults later): those metrics are judged with the conservative default τ.
fn lacking_note(baseline: &RunResult, scenario: Option<&Scenario>) -> Option<String> {
    let learned = baseline.learned.as_ref()?;
    let lacking: Vec<&str> = scenario?
        .gate
        .metrics
        .iter()
        .filter(|m| crate::compare::learn::LEARNED.contains(m) && !learned.tau.contains_key(m))
        .map(|m| m.name())
        .collect();
    (!lacking.is_empty()).then(|| {
        format!(
            "the baseline learned no run-to-run noise for {} (recorded by an older loadgate): the conservative default applies to it; re-record the baseline with `loadgate record` to gate it tighter",
            lacking.join(", ")
        )
    })
}

/// The noise a baseline's runs taught, when they were made on this machine.
fn learned_noise(baseline: Option<&RunResult>) -> (Option<crate::compare::Noise>, Option<String>) {
    match baseline {
        Some(b) => {
            crate::compare::Noise::of_baseline(b, &crate::sample::host::current().fingerprint)
        }
        None => (None, None),
    }
}

/// A calibration from `explicit`, or beside the baseline, when it matches this scenario and machine.
fn calibration_noise(
    scenario: Option<&Scenario>,
    explicit: Option<&Path>,
    beside: Option<&Path>,
) -> Result<(Option<crate::compare::Noise>, Option<String>), Error> {
    use crate::compare::Noise;
    let path = match (explicit, beside) {
        (Some(p), _) => p,
        (None, Some(p)) => p,
        (None, None) => return Ok((None, None)),
    };
    let Some(c) = crate::baseline::calibration::load(path)? else {
        if explicit.is_some() {
            return Err(crate::baseline::BaselineError::NotFound {
                path: path.to_path_buf(),
                what: "calibration",
                fix: "measure one with `loadgate calibrate SCENARIO`, or drop `--calibration` for the noise the baseline learned",
            }
            .into());
        }
        return Ok((None, None));
    };
    let host = crate::sample::host::current();
    if c.host.fingerprint != host.fingerprint {
        let note = format!(
            "calibration {} was measured on another machine ({}, {} CPUs) and is not used: noise does not transfer \
             between machines; run `loadgate calibrate` on this runner class",
            path.display(),
            c.host.cpu_model,
            c.host.cpus
        );
        return Ok((None, Some(note)));
    }
    if let Some(s) = scenario {
        if c.scenario_hash != s.hash {
            let note = format!("calibration {} was measured for another version of the scenario and is not used; re-run `loadgate calibrate`", path.display());
            return Ok((None, Some(note)));
        }
    }
    Ok((Some(Noise::calibrated(&c)), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::learn::learn;
    use crate::compare::policy::Policy;
    use crate::result::metric::Metric;
    use crate::result::testing::run_of;

    fn scenario(gate: &str) -> Scenario {
        let text = format!(
            "schema_version = 1\nname = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n\
             [[request]]\nname = \"home\"\npath = \"/\"\n{gate}"
        );
        crate::scenario::validate::from_toml(Path::new("t.toml"), &text, &|_| None)
            .expect("a valid scenario")
    }

    #[test]
    fn a_baseline_that_learned_no_p5_noise_says_so_and_still_gates() {
        let s = scenario("");
        let runs: Vec<RunResult> = (0..3)
            .map(|i| run_of(&[(5_000, 1)], 150, 20, 1.0, i))
            .collect();
        let mut base = RunResult::pool(&runs).expect("three runs");
        let mut learned = learn(&runs, &Policy::from_gate(&s.gate));
        assert_eq!(
            lacking_note(&base, Some(&s)),
            None,
            "no learned block: another note"
        );
        base.learned = Some(learned.clone());
        assert_eq!(
            lacking_note(&base, Some(&s)),
            None,
            "learned today: nothing lacks"
        );
        // As an older loadgate wrote it: no p5.
        learned.tau.remove(&Metric::P5);
        base.learned = Some(learned);
        let note = lacking_note(&base, Some(&s)).expect("a note");
        assert!(note.contains("no run-to-run noise for p5"), "{note}");
        assert!(note.contains("re-record"), "{note}");
        // A scenario that does not gate p5 needs nothing from it.
        let without = scenario("[gate]\nmetrics = [\"p50\", \"p95\"]\n");
        assert_eq!(lacking_note(&base, Some(&without)), None);
    }
}

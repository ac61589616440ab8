//! Stages and profiles: the validated load, the hash, and each user mistake (key + fix named).

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::result::metric::Metric;
use crate::scenario::{Scenario, ScenarioError, Stage, StageTarget};

const BASE: &str = r#"
name = "t"

[load]
users = 4
rate = 50
duration = "10s"

[[request]]
name = "home"
path = "/"

[profile.nightly]
users = 40
stages = [{ duration = "10s", rate = 100 }, { duration = "30s", rate = 400 }, { duration = "5s", rate = 400 }]

[profile.closed]
rate = 0
"#;

fn parse(text: &str, profile: Option<&str>) -> Result<Scenario, ScenarioError> {
    from_toml_profile(Path::new("s.toml"), text, &|_| None, profile)
}

#[track_caller]
fn err(text: &str, profile: Option<&str>) -> String {
    match parse(text, profile) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// A scenario whose `[load]` is `load`.
fn with_load(load: &str) -> String {
    format!("name = \"t\"\n[load]\n{load}\n[[request]]\nname = \"home\"\npath = \"/\"\n")
}

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn rate_stages_set_the_measured_time_and_the_open_model() {
    let s = parse(
        &with_load(
            "stages = [{ duration = \"10s\", rate = 100 }, { duration = \"2s\", rate = 900 }]",
        ),
        None,
    )
    .unwrap();
    assert_eq!(s.load.duration, SECS(12));
    assert_eq!(
        s.load.stages,
        vec![
            Stage {
                duration: SECS(10),
                target: StageTarget::Rate(100)
            },
            Stage {
                duration: SECS(2),
                target: StageTarget::Rate(900)
            },
        ]
    );
    assert!(s.load.is_open() && s.load.ramps_rate());
    assert!(
        !s.gate.metrics.contains(&Metric::Throughput),
        "a ramping rate makes throughput informational"
    );
}

#[test]
fn users_stages_set_the_pool_to_their_largest_count() {
    let s = parse(
        &with_load(
            "stages = [{ duration = \"3s\", users = 2 }, { duration = \"3s\", users = 20 }]",
        ),
        None,
    )
    .unwrap();
    assert_eq!(s.load.users, 20);
    assert!(!s.load.is_open() && !s.load.ramps_rate());
    assert!(s.gate.metrics.contains(&Metric::Throughput));
}

#[test]
fn a_profile_overrides_load_keys_and_changes_the_hash_and_baseline_name() {
    let plain = parse(BASE, None).unwrap();
    let nightly = parse(BASE, Some("nightly")).unwrap();
    assert_eq!(plain.baseline_name(), "t");
    assert_eq!(nightly.baseline_name(), "t.nightly");
    assert_eq!(nightly.load.users, 40);
    assert_eq!(
        nightly.load.duration,
        SECS(45),
        "the profile's stages replace `duration`"
    );
    assert_eq!(
        nightly.load.rate,
        Some(50),
        "kept from [load]: the first stage ramps from it"
    );
    assert_ne!(plain.hash, nightly.hash);
    // Adding profiles (or stages keys that are absent) must not change the hash of existing files.
    let without = BASE.split("[profile.nightly]").next().unwrap_or_default();
    assert_eq!(parse(without, None).unwrap().hash, plain.hash);
}

#[test]
fn an_unknown_profile_lists_the_defined_ones() {
    let e = err(BASE, Some("weekly"));
    assert!(
        e.contains("profile.weekly") && e.contains("closed, nightly"),
        "{e}"
    );
    let e = err(&with_load("users = 2"), Some("weekly"));
    assert!(e.contains("defines no `[profile.NAME]`"), "{e}");
}

#[test]
fn a_bad_value_from_a_profile_names_the_profile_key() {
    let e = err(BASE, Some("closed"));
    assert!(
        e.contains("`profile.closed.rate`") && e.contains("a rate of 0"),
        "{e}"
    );
    let bad = BASE.replace("users = 40", "window = \"1ms\"");
    let e = err(&bad, Some("nightly"));
    assert!(e.contains("`profile.nightly.window`"), "{e}");
}

#[test]
fn stage_mistakes_name_the_key_and_the_fix() {
    let cases = [
        ("stages = []", "`load.stages`", "at least one stage"),
        (
            "duration = \"5s\"\nstages = [{ duration = \"5s\", rate = 10 }]",
            "`load.duration`",
            "remove `duration`",
        ),
        (
            "stages = [{ duration = \"0s\", rate = 10 }]",
            "`load.stages[0].duration`",
            "above zero",
        ),
        (
            "stages = [{ duration = \"-5s\", rate = 10 }]",
            "`load.stages[0].duration`",
            "-5s",
        ),
        (
            "stages = [{ duration = \"5s\", rate = 10 }, { duration = \"5s\", users = 3 }]",
            "`load.stages[1]`",
            "not both",
        ),
        (
            "stages = [{ duration = \"5s\" }]",
            "`load.stages[0]`",
            "exactly one of `rate`",
        ),
        (
            "stages = [{ duration = \"5s\", rate = 1, users = 2 }]",
            "`load.stages[0]`",
            "exactly one of",
        ),
        (
            "rate = 5\nstages = [{ duration = \"5s\", users = 3 }]",
            "`load.rate`",
            "remove `rate`",
        ),
        (
            "users = 2\nstages = [{ duration = \"5s\", users = 3 }]",
            "`load.users`",
            "fewer than",
        ),
        (
            "stages = [{ duration = \"5s\", rate = 0 }]",
            "`load.stages`",
            "nothing would be sent",
        ),
        (
            "stages = [{ duration = \"5s\", users = 0 }]",
            "`load.stages[0].users`",
            "1 to 10000",
        ),
    ];
    for (load, key, fix) in cases {
        let e = err(&with_load(load), None);
        assert!(e.contains(key) && e.contains(fix), "{load}: {e}");
    }
    let e = err(
        &with_load("stages = [{ duration = \"5s\", rate = 1, spike = true }]"),
        None,
    );
    assert!(e.contains("spike"), "{e}");
}

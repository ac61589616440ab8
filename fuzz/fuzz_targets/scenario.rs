//! Fuzz target: scenario TOML text → validated `Scenario` (stage 1, what a user writes by hand).
//! Any input must give `Ok` or a `ScenarioError`, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use loadgate::scenario::validate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Every `${env:NAME}` resolves, so validation goes past expansion; a directory that does not
    // exist keeps relative `[[feeder]] file`s from reading anything.
    let env = |name: &str| Some(format!("value-of-{name}"));
    let path = Path::new("/nonexistent-loadgate-fuzz/scenario.toml");
    let _ = validate::from_toml(path, text, &env);
    // Profiles are merged over `[load]` in a second code path.
    if text.contains("[profile.") {
        let _ = validate::from_toml_profile(path, text, &env, Some("smoke"));
    }
});

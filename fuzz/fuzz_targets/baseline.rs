//! Fuzz target: stored result bytes (a baseline or a `--out` file) → checked `RunResult`.
//! Baselines are committed and edited by hand, so any bytes must give `Ok` or a
//! `BaselineError`, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = loadgate::baseline::parse(Path::new("baselines/fuzz.json"), data);
});

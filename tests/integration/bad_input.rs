//! The bad-input corpus, `tests/fixtures/bad/` (format in its README): every malformed scenario,
//! baseline, result file and flag there is refused by the real binary with exit 2 and a message
//! that names the file (or flag), the key and the fix, with nothing on stdout, no panic, and no file
//! written. One test walks every case and reports all failing cases together, so a message that
//! regressed is fixed from one run.

#![expect(
    clippy::panic,
    reason = "test harness: a corpus folder that cannot be read or copied must fail the test, saying \
              which file; clippy's allow-panic-in-tests covers #[test] fns, not their helpers"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::support::{dead_url, Output, Test};

/// Root of the corpus: `<kind>/<case>/case.toml` beside the case's input files.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad");
/// The corpus may grow but must not silently shrink (a deleted folder, a broken walk).
const MIN_CASES: usize = 50;
/// Text that only a crash prints.
const PANIC_TEXT: [&str; 2] = ["panicked", "RUST_BACKTRACE"];

/// One `case.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What is wrong with the input, in a few words.
    about: String,
    /// Arguments after `loadgate`; `{dir}` is the working directory, `{dead_url}` a loopback URL
    /// nothing listens on.
    args: Vec<String>,
    /// The file or flag the message must name.
    #[serde(rename = "where")]
    at: String,
    /// The key (or value) the message must name.
    key: String,
    /// A fragment of the fix the message must give.
    fix: String,
    /// Further fragments the message must contain.
    #[serde(default)]
    also: Vec<String>,
    /// Environment variables to set.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Environment variables to remove.
    #[serde(default)]
    unset: Vec<String>,
}

/// Every case folder, sorted: `(kind/name, folder)`.
fn case_dirs() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for kind in sorted_entries(Path::new(CORPUS)) {
        if !kind.is_dir() {
            continue;
        }
        for dir in sorted_entries(&kind) {
            if dir.join("case.toml").is_file() {
                let name = dir
                    .strip_prefix(CORPUS)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| dir.display().to_string());
                out.push((name, dir));
            }
        }
    }
    out
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    v.sort();
    v
}

/// Copies the case's input files (all but `case.toml`) into `to`, keeping sub-folders.
fn copy_inputs(from: &Path, to: &Path) {
    for entry in sorted_entries(from) {
        let Some(name) = entry.file_name() else {
            continue;
        };
        let dest = to.join(name);
        if entry.is_dir() {
            std::fs::create_dir_all(&dest).unwrap_or_else(|e| panic!("mkdir {dest:?}: {e}"));
            copy_inputs(&entry, &dest);
        } else if name != "case.toml" {
            std::fs::copy(&entry, &dest).unwrap_or_else(|e| panic!("copy {entry:?}: {e}"));
        }
    }
}

/// Every file under `dir` with its bytes, and every folder (as `None`): what a refused command must
/// leave exactly as it was.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for entry in sorted_entries(dir) {
        if entry.is_dir() {
            out.extend(tree(&entry));
            out.insert(entry, None);
        } else {
            let bytes = std::fs::read(&entry).unwrap_or_else(|e| panic!("read {entry:?}: {e}"));
            out.insert(entry, Some(bytes));
        }
    }
    out
}

/// Runs one case; `Err` says everything that was wrong with the outcome.
fn check(name: &str, dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("case.toml")).map_err(|e| e.to_string())?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("bad case.toml: {e}"))?;
    let mut t = Test::new();
    for (k, v) in &case.env {
        t = t.env(k, v);
    }
    for k in &case.unset {
        t = t.env_remove(k);
    }
    copy_inputs(dir, t.dir());
    let workdir = t.dir().display().to_string();
    let dead = dead_url();
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{dir}", &workdir).replace("{dead_url}", &dead))
        .collect();
    let before = tree(t.dir());
    let out: Output = t.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut problems = Vec::new();
    if out.code != 2 {
        problems.push(format!("exit code {}, want 2", out.code));
    }
    if !out.stdout.is_empty() {
        problems.push("stdout is not empty".to_string());
    }
    let wanted = [&case.at, &case.key, &case.fix]
        .into_iter()
        .chain(case.also.iter());
    for needle in wanted {
        if !out.stderr.contains(needle.as_str()) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    for needle in PANIC_TEXT {
        if out.stderr.contains(needle) {
            problems.push(format!("stderr shows {needle:?}"));
        }
    }
    if tree(t.dir()) != before {
        problems.push("files in the working directory changed".to_string());
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "{name} ({}): {}\n  args: {args:?}\n{out}",
            case.about,
            problems.join("; ")
        )),
    }
}

#[test]
fn every_bad_input_is_refused_with_file_key_and_fix() {
    let cases = case_dirs();
    assert!(
        cases.len() >= MIN_CASES,
        "{CORPUS} holds {} cases; at least {MIN_CASES} expected",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, dir)| check(name, dir).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

//! A `[suite]` file: a benchmark suite loadgate runs but does not load (`cargo bench`, hyperfine),
//! whose output another tool writes and `import` reads. `record`, `gate` and `compare` judge it as
//! they judge a load scenario.
//!
//! ```toml
//! name = "queue"
//! [suite]
//! command = ["cargo", "bench", "--bench", "queue"]
//! format = "criterion"
//! results = ["target/criterion"]
//! timeout = "10m"
//! [gate]
//! critical = "20%"
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::result::imported::Format;
use crate::scenario::file::GateFile;
use crate::scenario::{GateSpec, ScenarioError};

/// Longest a suite command may run unless `timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A validated `[suite]` file.
#[derive(Debug, Clone)]
pub struct Suite {
    /// File it was read from.
    pub path: PathBuf,
    /// Name; the baseline is `baselines/<name>.json`.
    pub name: String,
    /// Program and arguments (no shell).
    pub command: Vec<String>,
    /// Format of what it writes.
    pub format: Format,
    /// Where its output lands (files, or criterion's folder), relative to the working directory.
    pub results: Vec<PathBuf>,
    /// Longest one run of the command may take.
    pub timeout: Duration,
    /// How to judge.
    pub gate: GateSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    suite: SuiteTable,
    #[serde(default)]
    gate: GateFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteTable {
    command: Vec<String>,
    format: String,
    results: Vec<String>,
    #[serde(default)]
    timeout: Option<String>,
}

/// Whether the TOML `text` is a `[suite]` file rather than a load scenario.
pub fn is_suite(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("suite"))
}

/// Parses and checks a `[suite]` file.
pub fn from_toml(path: &Path, text: &str) -> Result<Suite, ScenarioError> {
    let file: SuiteFile = toml::from_str(text).map_err(|e| ScenarioError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let invalid = |key: &str, problem: String, fix: &str| ScenarioError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem,
        fix: fix.to_string(),
    };
    let _ = file.description;
    if file.name.trim().is_empty()
        || !file
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(invalid(
            "name",
            format!("`{}` cannot name a baseline file", file.name),
            "use letters, digits, `-`, `_` and `.`",
        ));
    }
    if file
        .suite
        .command
        .first()
        .is_none_or(|p| p.trim().is_empty())
    {
        return Err(invalid(
            "suite.command",
            "is empty".to_string(),
            "name the program and its arguments, e.g. [\"cargo\", \"bench\", \"--bench\", \"queue\"]",
        ));
    }
    let format: Format = file.suite.format.parse().map_err(|e: String| {
        invalid(
            "suite.format",
            e,
            "pick one of the formats `loadgate import` reads",
        )
    })?;
    if file.suite.results.is_empty() {
        return Err(invalid(
            "suite.results",
            "is empty".to_string(),
            "name where the command writes its results, e.g. [\"target/criterion\"]",
        ));
    }
    let timeout = match &file.suite.timeout {
        None => DEFAULT_TIMEOUT,
        Some(t) => crate::scenario::units::parse_duration(t)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                invalid(
                    "suite.timeout",
                    format!("`{t}` is not a duration"),
                    "write e.g. \"10m\" or \"90s\"",
                )
            })?,
    };
    Ok(Suite {
        path: path.to_path_buf(),
        name: file.name,
        command: file.suite.command,
        format,
        results: file.suite.results.into_iter().map(PathBuf::from).collect(),
        timeout,
        gate: crate::scenario::validate::suite_gate(path, &file.gate)?,
    })
}

/// Reads `path` and returns its suite, or `None` when it is a load scenario.
pub fn load(path: &Path) -> Result<Option<Suite>, ScenarioError> {
    let text = crate::fsutil::read_text_limited(path, crate::fsutil::limits::SCENARIO).map_err(
        |source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        },
    )?;
    if !is_suite(&text) {
        return Ok(None);
    }
    from_toml(path, &text).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "queue"
[suite]
command = ["cargo", "bench", "--bench", "queue"]
format = "criterion"
results = ["target/criterion"]
timeout = "10m"
[gate]
critical = "15%"
"#;

    #[test]
    fn a_suite_file_is_told_apart_and_read() {
        assert!(is_suite(GOOD));
        assert!(!is_suite(
            "name = \"x\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n"
        ));
        let s = from_toml(Path::new("s.toml"), GOOD).unwrap();
        assert_eq!(s.format, Format::Criterion);
        assert_eq!(s.timeout, Duration::from_secs(600));
        assert_eq!(s.gate.thresholds.critical.fraction(), 0.15);
    }

    #[test]
    fn mistakes_name_the_key() {
        for (from, to, key) in [
            ("\"criterion\"", "\"gatling\"", "suite.format"),
            (
                "[\"cargo\", \"bench\", \"--bench\", \"queue\"]",
                "[]",
                "suite.command",
            ),
            ("[\"target/criterion\"]", "[]", "suite.results"),
            ("\"10m\"", "\"soon\"", "suite.timeout"),
        ] {
            let e = from_toml(Path::new("s.toml"), &GOOD.replace(from, to))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{e}");
        }
        let e = from_toml(Path::new("s.toml"), &GOOD.replace("timeout", "timeoot"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeoot"), "{e}");
    }
}

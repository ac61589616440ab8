//! Stage 1′ — results loadgate did not measure: other tools' output turned into a [`RunResult`].
//!
//! Each format has one pure parser (bytes in, a result out; `build` assembles the result), so an
//! imported result flows on like one of loadgate's own runs: `compare`, baselines and reports.
//! Reading the files (bounded, a criterion folder walked) is [`read_inputs`]; nothing else here
//! touches the file system.

pub mod artillery;
pub mod build;
pub mod criterion;
pub mod hyperfine;
pub mod jmeter;
pub mod k6;
pub mod suite;

use std::path::{Path, PathBuf};

use crate::result::imported::Format;
use crate::result::{Host, RunResult};

/// One file of another tool's output.
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it was read from (for messages and provenance).
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What the importer cannot read from the files themselves.
#[derive(Debug, Clone)]
pub struct Context {
    /// Name of the result (its baseline is `baselines/<name>.json`).
    pub name: String,
    /// The machine the import runs on: imports run in the job that ran the tool.
    pub host: Host,
    /// Commit of the code under test, when known.
    pub git_commit: Option<String>,
    /// Now, RFC 3339 UTC.
    pub imported_at: String,
    /// loadgate's version.
    pub tool_version: String,
}

/// Why a file cannot be imported. Every variant names the file and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not what the format says it should be.
    #[error("{}{}: {problem}", path.display(), at.as_ref().map_or(String::new(), |a| format!(", {a}")))]
    Malformed {
        /// File.
        path: PathBuf,
        /// Line, record or field, when known (`line 3`, `field "times"`).
        at: Option<String>,
        /// What is wrong and the fix.
        problem: String,
    },
    /// A suite's command failed, timed out or wrote nothing.
    #[error("suite command `{command}` {problem}")]
    Command {
        /// The command line, as configured.
        command: String,
        /// What went wrong and the fix.
        problem: String,
    },
    /// The files hold no measurement at all.
    #[error("{what}: nothing to import ({fix})")]
    Empty {
        /// The files.
        what: String,
        /// How to get a result with something in it.
        fix: String,
    },
}

impl ImportError {
    /// A malformed-input error at `at` (a line, a record, a field).
    pub fn at(path: &Path, at: impl Into<String>, problem: impl Into<String>) -> Self {
        ImportError::Malformed {
            path: path.to_path_buf(),
            at: Some(at.into()),
            problem: problem.into(),
        }
    }

    /// A malformed-input error about the whole file.
    pub fn file(path: &Path, problem: impl Into<String>) -> Self {
        ImportError::Malformed {
            path: path.to_path_buf(),
            at: None,
            problem: problem.into(),
        }
    }
}

/// Largest file any importer reads: a k6 NDJSON of a long test is large, but never this large.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;
/// Deepest folder level searched under a criterion folder (`target/criterion/group/bench/new`).
const MAX_DEPTH: usize = 8;

/// Parses `inputs` as `format`.
pub fn import(format: Format, inputs: &[Input], ctx: &Context) -> Result<RunResult, ImportError> {
    if inputs.is_empty() {
        return Err(ImportError::Empty {
            what: format!("{format} import"),
            fix: "name at least one file".to_string(),
        });
    }
    match format {
        Format::Criterion => criterion::parse(inputs, ctx),
        Format::Hyperfine => hyperfine::parse(inputs, ctx),
        Format::K6 => k6::parse(inputs, ctx),
        Format::Jmeter => jmeter::parse(inputs, ctx),
        Format::Artillery => artillery::parse(inputs, ctx),
    }
}

/// Reads the files named on the command line, each bounded by [`MAX_INPUT_BYTES`]. For criterion, a
/// folder (e.g. `target/criterion`) stands for every `new/sample.json` and `new/benchmark.json` in
/// it; a `new` folder or either file stands for its pair.
pub fn read_inputs(format: Format, paths: &[PathBuf]) -> Result<Vec<Input>, ImportError> {
    let mut files = Vec::new();
    for p in paths {
        if format == Format::Criterion {
            let found = criterion_files(p)?;
            if found.is_empty() {
                return Err(ImportError::Empty {
                    what: p.display().to_string(),
                    fix: "no `new/sample.json` with its `new/benchmark.json` found; run `cargo bench` first and name `target/criterion` or a benchmark's folder".to_string(),
                });
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|path| {
            let bytes = crate::fsutil::read_limited(&path, MAX_INPUT_BYTES).map_err(|source| {
                ImportError::Read {
                    path: path.clone(),
                    source,
                }
            })?;
            Ok(Input { path, bytes })
        })
        .collect()
}

/// The `benchmark.json` / `sample.json` pairs under `p`, each pair benchmark first, sorted.
fn criterion_files(p: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let read_err = |source| ImportError::Read {
        path: p.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(p).map_err(read_err)?;
    if meta.is_file() {
        let dir = p.parent().unwrap_or(Path::new("."));
        return Ok(vec![dir.join("benchmark.json"), dir.join("sample.json")]);
    }
    let mut dirs = Vec::new();
    walk(p, 0, &mut dirs).map_err(|source| ImportError::Read {
        path: p.to_path_buf(),
        source,
    })?;
    dirs.sort();
    Ok(dirs
        .into_iter()
        .flat_map(|d| [d.join("benchmark.json"), d.join("sample.json")])
        .collect())
}

/// Collects every folder named `new` that holds a `sample.json` (criterion's latest measurement;
/// `base` and `change` are its own comparisons, which loadgate replaces).
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let is_new = dir.file_name().is_some_and(|n| n == "new");
    if is_new && dir.join("sample.json").is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // Symlinks are not followed: a link back up the tree would loop.
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), depth + 1, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A context for unit tests.
    pub fn ctx() -> Context {
        Context {
            name: "imported".into(),
            host: crate::result::testing::result().meta.host,
            git_commit: None,
            imported_at: "2026-12-07T12:00:00Z".into(),
            tool_version: "test".into(),
        }
    }

    /// The fixture file `tests/fixtures/import/<name>` as an input.
    pub fn fixture(name: &str) -> Input {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/import")
            .join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Input {
            path: PathBuf::from(format!("tests/fixtures/import/{name}")),
            bytes,
        }
    }

    /// An input of `text`, named `name`.
    pub fn text(name: &str, text: &str) -> Input {
        Input {
            path: PathBuf::from(name),
            bytes: text.as_bytes().to_vec(),
        }
    }
}

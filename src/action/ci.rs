//! CI outputs: the Markdown report appended to `$GITHUB_STEP_SUMMARY`, the verdict and counts
//! appended to `$GITHUB_OUTPUT` (for later steps' `if:`), and the JUnit XML file (`--junit`).
//!
//! The two GitHub files are appended to, not replaced: earlier steps of the job wrote to them too, so
//! `fsutil::write_atomic` (which replaces a whole file) would erase their lines. The JUnit file is
//! ours alone and is written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::action::context::ActionContext;
use crate::action::{Action, ActionError, BoxFuture, CiOutputs, Done, Env};
use crate::fsutil::{check_writable, write_atomic};
use crate::report::junit::JunitError;
use crate::verdict::Outcome;

/// Writing a local file takes milliseconds; this bound only catches a hung file system.
const FILE_BUDGET: Duration = Duration::from_secs(10);

/// CI output problems. Messages end with the fix.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    /// `--ci-outputs` outside GitHub Actions.
    #[error("--ci-outputs: neither GITHUB_STEP_SUMMARY nor GITHUB_OUTPUT is set; run inside GitHub Actions, set them to files, or drop --ci-outputs")]
    NoCiFiles,
    /// A GitHub file cannot be appended to.
    #[error("cannot append to {} (${var}): {source}; check the variable points to a writable file", path.display())]
    Append {
        /// The variable naming the file.
        var: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The JUnit report could not be rendered.
    #[error("cannot write the JUnit report {}: {source}", path.display())]
    Junit {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Arc<JunitError>,
    },
}

/// Which GitHub file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Summary,
    Outputs,
}

impl Kind {
    fn var(self) -> &'static str {
        match self {
            Kind::Summary => "GITHUB_STEP_SUMMARY",
            Kind::Outputs => "GITHUB_OUTPUT",
        }
    }
}

/// `$GITHUB_STEP_SUMMARY` or `$GITHUB_OUTPUT`, checked appendable.
#[derive(Debug)]
pub struct GitHubFile {
    kind: Kind,
    path: PathBuf,
}

/// The GitHub files to write: none when off, or when `auto` outside GitHub Actions.
pub fn prepare(mode: CiOutputs, env: &Env) -> Result<Vec<GitHubFile>, ActionError> {
    let on = match mode {
        CiOutputs::Off => false,
        CiOutputs::On => true,
        CiOutputs::Auto => env.get("GITHUB_ACTIONS") == Some("true"),
    };
    if !on {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for kind in [Kind::Summary, Kind::Outputs] {
        if let Some(p) = env.get(kind.var()) {
            let path = PathBuf::from(p);
            // Opening for append creates nothing new that GitHub had not created, and changes no byte.
            append(kind, &path, b"")?;
            files.push(GitHubFile { kind, path });
        }
    }
    if files.is_empty() && mode == CiOutputs::On {
        return Err(CiError::NoCiFiles.into());
    }
    Ok(files)
}

fn append(kind: Kind, path: &Path, bytes: &[u8]) -> Result<(), CiError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|source| CiError::Append {
            var: kind.var(),
            path: path.to_path_buf(),
            source,
        })
}

impl Action for GitHubFile {
    fn name(&self) -> String {
        match self.kind {
            Kind::Summary => "job summary".to_string(),
            Kind::Outputs => "step outputs".to_string(),
        }
    }

    fn skip(&self, _: Outcome) -> Option<String> {
        None
    }

    fn budget(&self) -> Duration {
        FILE_BUDGET
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext) -> BoxFuture<'a, Result<Done, ActionError>> {
        Box::pin(async move {
            let text = match self.kind {
                Kind::Summary => format!("{}\n", ctx.markdown),
                Kind::Outputs => outputs(ctx),
            };
            append(self.kind, &self.path, text.as_bytes())?;
            Ok(Done::from(format!("appended to ${}", self.kind.var())))
        })
    }
}

/// The step outputs: `verdict`, `exit_code`, `critical`, `warn`, `incomplete`, `worst`.
pub fn outputs(ctx: &ActionContext) -> String {
    [
        ("verdict", ctx.outcome.name().to_string()),
        ("exit_code", ctx.exit_code.to_string()),
        ("critical", ctx.counts.critical.to_string()),
        ("warn", ctx.counts.warn.to_string()),
        ("incomplete", ctx.counts.incomplete.to_string()),
        ("worst", ctx.worst_line()),
    ]
    .iter()
    .map(|(k, v)| output_entry(k, v))
    .collect()
}

/// One `$GITHUB_OUTPUT` entry: `key=value`, or GitHub's heredoc form when the value has a line
/// break (a `key=value` line would end at it, and the rest would be read as other keys).
pub fn output_entry(key: &str, value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{key}={value}\n");
    }
    // The delimiter must not occur in the value; a value is short, so lengthening it until it does
    // not always ends.
    let mut delimiter = format!("LOADGATE_EOF_{}", std::process::id());
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{key}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// The JUnit XML file, checked writable in preflight.
#[derive(Debug)]
pub struct JunitFile {
    path: PathBuf,
}

impl JunitFile {
    /// Checks that `path` can be written.
    pub fn prepare(path: PathBuf) -> Result<Self, ActionError> {
        check_writable(&path)?;
        Ok(Self { path })
    }
}

impl Action for JunitFile {
    fn name(&self) -> String {
        "junit".to_string()
    }

    fn skip(&self, _: Outcome) -> Option<String> {
        None
    }

    fn budget(&self) -> Duration {
        FILE_BUDGET
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext) -> BoxFuture<'a, Result<Done, ActionError>> {
        Box::pin(async move {
            let xml = ctx.junit.as_ref().map_err(|e| CiError::Junit {
                path: self.path.clone(),
                source: Arc::clone(e),
            })?;
            write_atomic(&self.path, xml.as_bytes())?;
            Ok(Done::from(format!("wrote {}", self.path.display())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::context::tests::context;

    #[test]
    fn outputs_are_one_line_each_and_multi_line_values_use_a_heredoc() {
        let text = outputs(&context(Outcome::Critical));
        assert!(
            text.starts_with("verdict=critical\nexit_code=1\ncritical=1\nwarn=0\nincomplete=1\n")
        );
        assert!(text.contains("worst=all p95 +43.2%; search error_rate (incomplete)\n"));
        let e = output_entry("worst", "a\nb");
        let delim = e.lines().next().unwrap().trim_start_matches("worst<<");
        assert_eq!(e, format!("worst<<{delim}\na\nb\n{delim}\n"));
        let tricky = format!("x\n{delim}\ny");
        let e = output_entry("worst", &tricky);
        let d2 = e.lines().next().unwrap().trim_start_matches("worst<<");
        assert_ne!(d2, delim);
        assert!(!tricky.lines().any(|l| l == d2));
    }

    #[test]
    fn auto_writes_only_inside_github_actions_and_on_needs_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let out = out.to_str().unwrap();
        let outside = Env::of([("GITHUB_OUTPUT", out)]);
        assert!(prepare(CiOutputs::Auto, &outside).unwrap().is_empty());
        assert_eq!(prepare(CiOutputs::On, &outside).unwrap().len(), 1);
        let inside = Env::of([("GITHUB_OUTPUT", out), ("GITHUB_ACTIONS", "true")]);
        assert_eq!(prepare(CiOutputs::Auto, &inside).unwrap().len(), 1);
        assert!(prepare(CiOutputs::Off, &inside).unwrap().is_empty());
        let e = prepare(CiOutputs::On, &Env::default()).unwrap_err();
        assert!(e.to_string().contains("drop --ci-outputs"), "{e}");
    }

    #[tokio::test]
    async fn the_summary_is_appended_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.md");
        std::fs::write(&p, "earlier step\n").unwrap();
        let files = prepare(
            CiOutputs::On,
            &Env::of([("GITHUB_STEP_SUMMARY", p.to_str().unwrap())]),
        )
        .unwrap();
        files[0].run(&context(Outcome::Critical)).await.unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("earlier step\n### loadgate"), "{text}");
    }
}

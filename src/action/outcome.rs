//! The outcomes of the actions, as reported: one line each on stderr (a hook's output indented
//! below it), and the `--actions-json` file. Plain data; what happened is decided in `mod.rs`.

use std::io::Write;

use serde::{Deserialize, Serialize};

/// Version of the `--actions-json` file.
pub const ACTIONS_SCHEMA_VERSION: u32 = 1;

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It did its job.
    Ok,
    /// It failed or timed out; the verdict and exit code are unchanged.
    Failed,
    /// The verdict did not call for it, or it was refused in preflight.
    Skipped,
}

/// The outcome of one action, as reported on stderr and in `--actions-json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// Action name.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// What happened, or why not.
    pub detail: String,
    /// The last lines of its output, when it has any (the rollback hook).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
}

/// Writes the outcomes for a human, one line each, a hook's output indented below it.
pub fn summarize(outcomes: &[ActionOutcome], out: &mut dyn Write) -> std::io::Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    writeln!(out, "loadgate: actions:")?;
    for o in outcomes {
        let status = match o.status {
            Status::Ok => "ok",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        };
        // A failure's message names its action already.
        match o.status {
            Status::Failed => writeln!(out, "  {status:<8} {}", o.detail)?,
            _ => writeln!(out, "  {status:<8} {}: {}", o.name, o.detail)?,
        }
        for line in &o.output {
            writeln!(out, "           | {line}")?;
        }
    }
    let failed = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .count();
    if failed > 0 {
        writeln!(
            out,
            "loadgate: {failed} action(s) failed; the verdict and the exit code are unchanged"
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct ActionsFile<'a> {
    schema_version: u32,
    actions: &'a [ActionOutcome],
}

/// The `--actions-json` document: `{"schema_version": 1, "actions": [{name, status, detail, output?}]}`.
pub fn to_json(outcomes: &[ActionOutcome]) -> String {
    let doc = ActionsFile {
        schema_version: ACTIONS_SCHEMA_VERSION,
        actions: outcomes,
    };
    // Plain strings and enums always serialize; pretty, with a final newline like the JSON report.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

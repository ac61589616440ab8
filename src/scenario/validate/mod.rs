//! Scenario file → validated [`Scenario`]: defaults, ranges, `${env:NAME}` expansion, the scenario hash.
//!
//! Every error names the file, the key and the fix. Defaults are defined in `defaults`, once. Each
//! TOML table is validated in a module of its own (`target`, `load`, `request`, `flow`, `gate`,
//! `monitor`) with what `context` shares between them; this module holds the entry points, the TOML
//! parse and the scenario hash.

mod context;
mod defaults;
mod flow;
mod gate;
mod load;
mod monitor;
mod request;
mod target;

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

pub use self::context::EnvLookup;
use self::context::{validate_name, Ctx};
pub use self::defaults::{
    default_gate, DEFAULT_ABORT_GRACE, DEFAULT_CRITICAL, DEFAULT_DURATION, DEFAULT_LATENCY_FLOOR,
    DEFAULT_MAX_REQUESTS, DEFAULT_METRICS, DEFAULT_MONITOR_INTERVAL, DEFAULT_RAMP_UP,
    DEFAULT_RECORD_MAX_ERROR_RATE, DEFAULT_REQUEST_TIMEOUT, DEFAULT_USERS, DEFAULT_WARN,
    DEFAULT_WINDOW,
};
pub use self::gate::suite_gate;
use crate::scenario::file::{FeederFile, LoadFile, RequestFile, ScenarioFile};
use crate::scenario::{LoadOverrides, Scenario, ScenarioError, SCENARIO_SCHEMA_VERSION};
// The tests reach the defaults and the validated types through this module, as they did when it
// was one file.
#[cfg(test)]
use self::defaults::{DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT};
#[cfg(test)]
use crate::scenario::{GateSpec, HealthSpec, LoadSpec, Slo, Thresholds};

/// Parses and validates scenario text read from `path`.
pub fn from_toml(path: &Path, text: &str, env: EnvLookup<'_>) -> Result<Scenario, ScenarioError> {
    from_toml_profile(path, text, env, None)
}

/// The longest line a TOML error quotes whole; a longer one is quoted around the error only.
const MAX_QUOTED_LINE: usize = 120;
/// Characters quoted on each side of the error in a cut line.
const QUOTED_AROUND: usize = 40;

/// The parser's message, quoting the offending line as the parser does, but cut around the error
/// when the line is long: a 200 KB line echoed whole buries the message.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let whole = e.to_string().trim_end().to_string();
    let Some(start) = e.span().map(|s| s.start) else {
        return whole;
    };
    let Some(before) = text.get(..start) else {
        return whole;
    };
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    if line.chars().count() <= MAX_QUOTED_LINE {
        return whole;
    }
    let line_no = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count();
    let from = column.saturating_sub(QUOTED_AROUND);
    let excerpt: String = line.chars().skip(from).take(2 * QUOTED_AROUND).collect();
    let cut_left = if from > 0 { "…" } else { "" };
    let cut_right = if from + 2 * QUOTED_AROUND < line.chars().count() {
        "…"
    } else {
        ""
    };
    let caret = " ".repeat(column - from + cut_left.chars().count());
    format!(
        "TOML parse error at line {line_no}, column {}\n  |\n{line_no} | {cut_left}{excerpt}{cut_right}\n  | {caret}^\n{} (the line is {} characters long; shown around the error)",
        column + 1,
        e.message().trim_end(),
        line.chars().count()
    )
}

/// [`from_toml`] with `[profile.NAME]` applied over `[load]`.
pub fn from_toml_profile(
    path: &Path,
    text: &str,
    env: EnvLookup<'_>,
    profile: Option<&str>,
) -> Result<Scenario, ScenarioError> {
    from_toml_with(path, text, env, profile, &LoadOverrides::default())
}

/// [`from_toml_profile`] with the `[load]` flags applied over the profile.
pub fn from_toml_with(
    path: &Path,
    text: &str,
    env: EnvLookup<'_>,
    profile: Option<&str>,
    overrides: &LoadOverrides,
) -> Result<Scenario, ScenarioError> {
    let mut file = parse(path, text)?;
    let mut cx = Ctx {
        path,
        env,
        constants: BTreeMap::new(),
        captures: Vec::new(),
        feeders: Vec::new(),
    };
    check_schema_version(&cx, &file)?;
    validate_name(&cx, &file.name)?;
    let feeders = flow::declare(&mut cx, &file)?;
    let target = target::target(&cx, &file.target)?;
    let base_load = file.load.clone();
    file.load = load::effective(&cx, &file, profile, overrides)?;
    let load = load::load(&cx, &file.load)
        .map_err(|e| load::in_profile(e, profile, &base_load, &file.load))?;
    let requests = request::requests(&cx, &file.request)?;
    let monitor = file
        .monitor
        .as_ref()
        .map(|m| monitor::monitor(&cx, m))
        .transpose()?;
    let gate = gate::scenario_gate(&cx, &file.gate, &requests, &load, monitor.is_some())?;
    Ok(Scenario {
        path: path.to_path_buf(),
        name: file.name.clone(),
        description: file.description.clone(),
        target,
        load,
        requests,
        gate,
        monitor,
        feeders,
        captures: cx.captures.clone(),
        hash: hash(&file),
        profile: profile.map(str::to_string),
        secrets: crate::secret::Secrets::default(),
    })
}

fn parse(path: &Path, text: &str) -> Result<ScenarioFile, ScenarioError> {
    toml::from_str(text).map_err(|e| {
        let mut message = toml_error(text, &e);
        if message.contains("expected a string") && message.contains("invalid type") {
            // A bare `duration = 3`: say what a value with a unit looks like.
            message.push_str("\n  durations and percentages are strings with a unit, e.g. \"3s\", \"250ms\", \"10%\"");
        }
        ScenarioError::Parse { path: path.to_path_buf(), message }
    })
}

fn check_schema_version(cx: &Ctx<'_>, file: &ScenarioFile) -> Result<(), ScenarioError> {
    let version = file.schema_version.unwrap_or(SCENARIO_SCHEMA_VERSION);
    if version != SCENARIO_SCHEMA_VERSION {
        return Err(cx.invalid(
            "schema_version",
            format!("version {version} is not supported by this loadgate"),
            format!("write `schema_version = {SCENARIO_SCHEMA_VERSION}`, or use the loadgate release that wrote it"),
        ));
    }
    Ok(())
}

/// Hash of what determines the load: requests and load settings, before env expansion. Gate settings,
/// descriptions and the target URL can change without invalidating a baseline.
fn hash(file: &ScenarioFile) -> String {
    #[derive(serde::Serialize)]
    struct Hashed<'a> {
        load: &'a LoadFile,
        request: &'a [RequestFile],
        // Skipped when empty so scenarios without them keep the hash they had.
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        vars: &'a BTreeMap<String, String>,
        #[serde(skip_serializing_if = "<[FeederFile]>::is_empty")]
        feeder: &'a [FeederFile],
    }
    let canonical = serde_json::to_vec(&Hashed {
        load: &file.load,
        request: &file.request,
        vars: &file.vars,
        feeder: &file.feeder,
    })
    .unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod stage_tests;
#[cfg(test)]
mod tests;

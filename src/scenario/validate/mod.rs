//! Scenario file → validated [`Scenario`]: defaults, ranges, `${env:NAME}` expansion, the scenario hash.
//!
//! Every error names the file, the key and the fix. Defaults are defined in `defaults`, once; each
//! TOML table is validated in a module of its own (`target`, `load`, `request`, `flow`, `gate`,
//! `monitor`), and this module holds the entry points and what they share.

mod defaults;
mod flow;
mod gate;
mod load;
mod monitor;
mod request;
mod target;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use self::defaults::{
    default_gate, DEFAULT_CRITICAL, DEFAULT_DURATION, DEFAULT_LATENCY_FLOOR, DEFAULT_MAX_REQUESTS,
    DEFAULT_METRICS, DEFAULT_MONITOR_INTERVAL, DEFAULT_RAMP_UP, DEFAULT_RECORD_MAX_ERROR_RATE,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_USERS, DEFAULT_WARN, DEFAULT_WINDOW,
};
pub use self::gate::suite_gate;
use crate::scenario::file::{FeederFile, LoadFile, RequestFile, ScenarioFile};
use crate::scenario::template::{self, Names, Template};
use crate::scenario::units::{parse_duration, Percent};
use crate::scenario::{LoadOverrides, Scenario, ScenarioError, SCENARIO_SCHEMA_VERSION};
// The tests reach the defaults and the validated types through this module, as they did when it
// was one file.
#[cfg(test)]
use self::defaults::{DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT};
#[cfg(test)]
use crate::scenario::{GateSpec, HealthSpec, LoadSpec, Slo, Thresholds};

/// Environment lookup, injected so tests do not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

struct Ctx<'a> {
    path: &'a Path,
    env: EnvLookup<'a>,
    /// `[vars]`, expanded.
    constants: BTreeMap<String, String>,
    /// Captured variable names (slots).
    captures: Vec<String>,
    /// Feeder names and columns.
    feeders: Vec<(String, Vec<String>)>,
}

impl Ctx<'_> {
    fn invalid(
        &self,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.to_path_buf(),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    fn duration(
        &self,
        key: &str,
        value: Option<&String>,
        default: Duration,
    ) -> Result<Duration, ScenarioError> {
        match value {
            None => Ok(default),
            Some(v) => parse_duration(v).map_err(|e| {
                self.invalid(
                    key,
                    e.to_string(),
                    "see scenarios/README.md for its unit and range",
                )
            }),
        }
    }

    fn percent(
        &self,
        key: &str,
        value: Option<&String>,
        default: Percent,
    ) -> Result<Percent, ScenarioError> {
        match value {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: crate::scenario::units::UnitError| {
                self.invalid(
                    key,
                    e.to_string(),
                    "see scenarios/README.md for its unit and range",
                )
            }),
        }
    }

    /// Parses `${...}` in a request field: environment and constants are filled in now, per-user
    /// values (captures, feeders, `user.*`) later.
    fn template(&self, key: &str, text: &str) -> Result<Template, ScenarioError> {
        let names = Names {
            constants: &self.constants,
            captures: &self.captures,
            feeders: &self.feeders,
            env: self.env,
        };
        template::parse(text, &names).map_err(|e| {
            let (problem, fix) = e.explain();
            self.invalid(key, problem, fix)
        })
    }

    /// Expands `${env:NAME}`; any other `${..}` is refused so a typo is not sent verbatim.
    fn expand(&self, key: &str, text: &str) -> Result<String, ScenarioError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                self.invalid(
                    key,
                    "`${` without a closing `}`",
                    "write `${env:NAME}`, or remove the `${`",
                )
            })?;
            let inner = &after[..end];
            let name = inner.strip_prefix("env:").ok_or_else(|| {
                self.invalid(
                    key,
                    format!("unknown variable `${{{inner}}}`"),
                    "only environment variables are supported: write `${env:NAME}`",
                )
            })?;
            if !super::template::is_env_name(name) {
                let (problem, fix) = super::template::env_name_problem(name);
                return Err(self.invalid(key, problem, fix));
            }
            let value = (self.env)(name).ok_or_else(|| {
                self.invalid(
                    key,
                    format!("environment variable `{name}` is not set"),
                    format!("export {name}=... before running loadgate (or remove it from the scenario)"),
                )
            })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

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

/// A scenario or profile name: it becomes a baseline file name, and `.` is reserved for what is
/// derived from it (`<name>.<profile>`, `<name>.capacity`), so that no scenario's baseline can be
/// another's profile (`rob.smoke` against profile `smoke` of `rob`).
fn validate_name(cx: &Ctx<'_>, name: &str) -> Result<(), ScenarioError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if ok {
        return Ok(());
    }
    let (problem, fix) = match name.contains('.') {
        true => (
            format!("`{name}` holds a `.`, which separates a profile from its scenario in baseline file names (`{name}` could share one with another scenario's profile)"),
            "use letters, digits, `-` and `_` (e.g. `checkout-api`); rename the baseline file too",
        ),
        false => (
            format!("`{name}` cannot name a baseline file"),
            "use letters, digits, `-` and `_` (e.g. `checkout-api`)",
        ),
    };
    Err(cx.invalid("name", problem, fix))
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

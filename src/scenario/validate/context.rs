//! What the validation of every table shares: the scenario file's path, the environment, the names
//! a request template may use, and errors that name the file, the key and the fix.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::scenario::template::{self, Names, Template};
use crate::scenario::units::{parse_duration, Percent};
use crate::scenario::ScenarioError;

/// Environment lookup, injected so tests do not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) env: EnvLookup<'a>,
    /// `[vars]`, expanded.
    pub(super) constants: BTreeMap<String, String>,
    /// Captured variable names (slots).
    pub(super) captures: Vec<String>,
    /// Feeder names and columns.
    pub(super) feeders: Vec<(String, Vec<String>)>,
}

impl Ctx<'_> {
    pub(super) fn invalid(
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

    pub(super) fn duration(
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

    pub(super) fn percent(
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
    pub(super) fn template(&self, key: &str, text: &str) -> Result<Template, ScenarioError> {
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
    pub(super) fn expand(&self, key: &str, text: &str) -> Result<String, ScenarioError> {
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
            if !template::is_env_name(name) {
                let (problem, fix) = template::env_name_problem(name);
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

/// A scenario or profile name: it becomes a baseline file name, and `.` is reserved for what is
/// derived from it (`<name>.<profile>`, `<name>.capacity`), so that no scenario's baseline can be
/// another's profile (`rob.smoke` against profile `smoke` of `rob`).
pub(super) fn validate_name(cx: &Ctx<'_>, name: &str) -> Result<(), ScenarioError> {
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

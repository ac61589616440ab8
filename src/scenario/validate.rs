//! Scenario file → validated [`Scenario`]: defaults, ranges, `${env:NAME}` expansion, the scenario hash.
//!
//! Every error names the file, the key and the fix. Defaults are defined here, once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::result::metric::Metric;
use crate::scenario::check::{valid_pointer, Capture, CaptureFrom, Check, CheckKind, Pattern};
use crate::scenario::feeder::{read_csv, FeedOrder, FeederSpec, OnEnd};
use crate::scenario::file::{
    CaptureFile, CheckFile, FeederFile, GateFile, LoadFile, RequestFile, ScenarioFile, TargetFile,
    ThresholdFile,
};
use crate::scenario::template::{self, Names, Template, Var};
use crate::scenario::units::{parse_duration, Percent};
use crate::scenario::{
    GateSpec, HealthSpec, HttpVersion, LoadOverrides, LoadSpec, Method, Phase, RequestSpec,
    Scenario, ScenarioError, Slo, Stage, StageTarget, TargetSpec, Thresholds,
    SCENARIO_SCHEMA_VERSION,
};

/// Goose's default is one user per CPU, which makes load depend on the machine: pick a fixed number.
pub const DEFAULT_USERS: u32 = 8;
/// Long enough for connection pools and caches to warm, short enough for a PR job.
pub const DEFAULT_RAMP_UP: Duration = Duration::from_secs(5);
/// 30 s gives ~25 usable one-second windows: the minimum the noise guard wants (docs/statistics.md §3).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);
/// One-second windows: long enough to hold many requests, short enough that a 30 s run gives the
/// noise guard ~30 blocks to resample.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(1);
/// A hard bound so a fast target and a long duration cannot run away.
pub const DEFAULT_MAX_REQUESTS: u64 = 1_000_000;
/// Goose's default is 60 s, which turns a hung target into a hung CI job.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Warn at +10% in the bad direction (docs/statistics.md §1).
pub const DEFAULT_WARN: Percent = Percent::from_fraction(0.10);
/// Critical at +20% in the bad direction (docs/statistics.md §1).
pub const DEFAULT_CRITICAL: Percent = Percent::from_fraction(0.20);
/// Below 200 µs, a change is scheduler and loopback jitter, not a regression a user would feel.
pub const DEFAULT_LATENCY_FLOOR: Duration = Duration::from_micros(25);
/// A baseline with more than 1% errors describes a broken service, not a reference.
pub const DEFAULT_RECORD_MAX_ERROR_RATE: Percent = Percent::from_fraction(0.01);
/// Gated unless `[gate] metrics` says otherwise; p90 and max are reported only.
pub const DEFAULT_METRICS: [Metric; 6] = [
    Metric::P50,
    Metric::P95,
    Metric::P99,
    Metric::Mean,
    Metric::Throughput,
    Metric::ErrorRate,
];
/// The `[gate]` of a scenario that sets none of its keys: what `compare` and `report` judge with when
/// no scenario is given.
pub fn default_gate() -> GateSpec {
    GateSpec {
        thresholds: Thresholds {
            warn: DEFAULT_WARN,
            critical: DEFAULT_CRITICAL,
        },
        metrics: DEFAULT_METRICS.to_vec(),
        slos: Vec::new(),
        request_slos: BTreeMap::new(),
        latency_floor: DEFAULT_LATENCY_FLOOR,
        record_max_error_rate: DEFAULT_RECORD_MAX_ERROR_RATE,
        overrides: BTreeMap::new(),
        abort: None,
    }
}
const DEFAULT_HEALTH_RETRIES: u32 = 5;
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

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
    let mut file: ScenarioFile = toml::from_str(text).map_err(|e| {
        let mut message = toml_error(text, &e);
        if message.contains("expected a string") && message.contains("invalid type") {
            // A bare `duration = 3`: say what a value with a unit looks like.
            message.push_str("\n  durations and percentages are strings with a unit, e.g. \"3s\", \"250ms\", \"10%\"");
        }
        ScenarioError::Parse { path: path.to_path_buf(), message }
    })?;
    let mut cx = Ctx {
        path,
        env,
        constants: BTreeMap::new(),
        captures: Vec::new(),
        feeders: Vec::new(),
    };
    let version = file.schema_version.unwrap_or(SCENARIO_SCHEMA_VERSION);
    if version != SCENARIO_SCHEMA_VERSION {
        return Err(cx.invalid(
            "schema_version",
            format!("version {version} is not supported by this loadgate"),
            format!("write `schema_version = {SCENARIO_SCHEMA_VERSION}`, or use the loadgate release that wrote it"),
        ));
    }
    validate_name(&cx, &file.name)?;
    cx.constants = constants(&cx, &file.vars)?;
    let feeders = feeders(&cx, &file.feeder)?;
    cx.feeders = feeders
        .iter()
        .map(|f| (f.name.clone(), f.columns.clone()))
        .collect();
    cx.captures = capture_names(&cx, &file.request)?;
    let target = target(&cx, &file.target)?;
    let base_load = file.load.clone();
    if let Some(name) = profile {
        let Some(p) = file.profile.get(name) else {
            let defined: Vec<&str> = file.profile.keys().map(String::as_str).collect();
            let fix = if defined.is_empty() {
                "the scenario defines no `[profile.NAME]` tables; add one or drop `--profile`"
                    .to_string()
            } else {
                format!("use one of: {}", defined.join(", "))
            };
            return Err(cx.invalid(
                format!("profile.{name}"),
                format!("no profile `{name}` (--profile)"),
                fix,
            ));
        };
        validate_name(&cx, name).map_err(|_| {
            cx.invalid(
                format!("profile.{name}"),
                "a profile name becomes part of the baseline file name",
                "use letters, digits, `-` and `_`",
            )
        })?;
        // The effective load is what runs and what the hash describes, so a profile's baseline
        // never matches the default one.
        file.load = file.load.overridden_by(p);
    }
    if *overrides != LoadOverrides::default() {
        file.load = file.load.overridden_by(&LoadFile {
            users: overrides.users,
            rate: overrides.rate,
            duration: overrides.duration.clone(),
            ..LoadFile::default()
        });
    }
    let load = load(&cx, &file.load).map_err(|e| in_profile(e, profile, &base_load, &file.load))?;
    let requests = requests(&cx, &file.request)?;
    let monitor = file.monitor.as_ref().map(|m| monitor(&cx, m)).transpose()?;
    let mut gate = gate(&cx, &file.gate, &requests)?;
    if load.ramps_rate() {
        // The run's throughput follows the ramp by construction: reported, never gated.
        gate.metrics.retain(|m| *m != Metric::Throughput);
    }
    if monitor.is_some() && file.gate.metrics.is_none() {
        // Watching the service is for gating its memory: add peak and growth to the defaults.
        gate.metrics.extend([Metric::PeakRss, Metric::RssGrowth]);
    }
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

/// A name usable as `${name}`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn constants(
    cx: &Ctx<'_>,
    vars: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ScenarioError> {
    vars.iter()
        .map(|(name, value)| {
            let key = format!("vars.{name}");
            if !plain_name(name) || name == "user" || name == "env" {
                return Err(cx.invalid(
                    &key,
                    format!("`{name}` cannot name a variable"),
                    "use letters, digits, `_` and `-` (not `user` or `env`)",
                ));
            }
            Ok((name.clone(), cx.expand(&key, value)?))
        })
        .collect()
}

fn feeders(cx: &Ctx<'_>, list: &[FeederFile]) -> Result<Vec<FeederSpec>, ScenarioError> {
    let mut out: Vec<FeederSpec> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let key = |k: &str| format!("feeder[{i}].{k}");
        if !plain_name(&f.name) || f.name == "user" || f.name == "env" {
            return Err(cx.invalid(
                key("name"),
                format!("`{}` cannot name a feeder", f.name),
                "use letters, digits, `_` and `-` (not `user` or `env`)",
            ));
        }
        if out.iter().any(|o| o.name == f.name) || cx.constants.contains_key(&f.name) {
            return Err(cx.invalid(
                key("name"),
                format!("`{}` is already a feeder or a `[vars]` name", f.name),
                "give every feeder its own name",
            ));
        }
        let order = match f.order.as_deref().unwrap_or("sequential") {
            "sequential" => FeedOrder::Sequential,
            "random" => FeedOrder::Random,
            "unique" => FeedOrder::Unique,
            other => {
                return Err(cx.invalid(
                    key("order"),
                    format!("unknown order `{other}`"),
                    "use \"sequential\", \"random\" or \"unique\" (each user its own rows)",
                ))
            }
        };
        let on_end = match f.on_end.as_deref().unwrap_or("recycle") {
            "recycle" => OnEnd::Recycle,
            "stop" => OnEnd::Stop,
            other => {
                return Err(cx.invalid(
                    key("on_end"),
                    format!("unknown value `{other}`"),
                    "use \"recycle\" (start again) or \"stop\" (end the run)",
                ))
            }
        };
        let file = cx.expand(&key("file"), &f.file)?;
        let path = cx
            .path
            .parent()
            .map(|dir| dir.join(&file))
            .unwrap_or_else(|| file.clone().into());
        let (columns, rows) =
            read_csv(&path).map_err(|(problem, fix)| cx.invalid(key("file"), problem, fix))?;
        if let Some(bad) = columns.iter().find(|c| !plain_name(c)) {
            return Err(cx.invalid(
                key("file"),
                format!("column `{bad}` cannot be used as `${{{}.{bad}}}`", f.name),
                "rename the column in the header row: letters, digits, `_` and `-`",
            ));
        }
        out.push(FeederSpec {
            name: f.name.clone(),
            path,
            columns,
            rows: std::sync::Arc::new(rows),
            order,
            on_end,
        });
    }
    Ok(out)
}

/// Every variable some request captures, in first-capture order (its slot).
fn capture_names(cx: &Ctx<'_>, list: &[RequestFile]) -> Result<Vec<String>, ScenarioError> {
    let mut names: Vec<String> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        for (j, c) in r.capture.iter().enumerate() {
            let key = format!("request[{i}].capture[{j}].var (\"{}\")", r.name);
            if !plain_name(&c.var) || c.var == "user" || c.var == "env" {
                return Err(cx.invalid(
                    key,
                    format!("`{}` cannot name a variable", c.var),
                    "use letters, digits, `_` and `-` (not `user` or `env`)",
                ));
            }
            if cx.constants.contains_key(&c.var) {
                return Err(cx.invalid(
                    key,
                    format!("`{}` is also a constant in `[vars]`", c.var),
                    "rename the capture or the constant",
                ));
            }
            if !names.contains(&c.var) {
                names.push(c.var.clone());
            }
        }
    }
    Ok(names)
}

fn checks(cx: &Ctx<'_>, prefix: &str, list: &[CheckFile]) -> Result<Vec<Check>, ScenarioError> {
    let mut out: Vec<Check> = Vec::new();
    for (j, c) in list.iter().enumerate() {
        let key = format!("{prefix}.check[{j}]");
        let kinds = [
            c.status.is_some(),
            c.header.is_some(),
            c.body_contains.is_some(),
            c.body_not_contains.is_some(),
            c.json.is_some(),
            c.max_body_bytes.is_some(),
        ];
        let fix = "a check has exactly one of `status`, `header`, `body_contains`, `body_not_contains`, `json`, `max_body_bytes`";
        match kinds.iter().filter(|k| **k).count() {
            0 => return Err(cx.invalid(&key, "checks nothing", fix)),
            1 => {}
            _ => {
                return Err(cx.invalid(
                    &key,
                    "more than one kind of check",
                    format!("{fix}; write one `[[request.check]]` per condition"),
                ))
            }
        }
        let modifiers_ok = match (&c.header, &c.json) {
            (Some(_), _) => true,
            (None, Some(_)) => c.contains.is_none(),
            (None, None) => c.equals.is_none() && c.contains.is_none(),
        };
        if !modifiers_ok {
            return Err(cx.invalid(
                &key,
                "`equals`/`contains` do not apply to this check",
                "use `equals`/`contains` with `header`, and `equals` with `json`",
            ));
        }
        let (kind, default_name) = if let Some(codes) = &c.status {
            if codes.is_empty() || codes.iter().any(|s| !(100..=599).contains(s)) {
                return Err(cx.invalid(
                    format!("{key}.status"),
                    "not a list of HTTP statuses",
                    "e.g. `status = [200, 201]`",
                ));
            }
            let list = codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join("|");
            (CheckKind::Status(codes.clone()), format!("status {list}"))
        } else if let Some(h) = &c.header {
            let equals = match &c.equals {
                None => None,
                Some(toml::Value::String(v)) => Some(v.clone()),
                Some(_) => {
                    return Err(cx.invalid(
                        format!("{key}.equals"),
                        "a header value is text",
                        "quote it: `equals = \"...\"`",
                    ))
                }
            };
            let name = match (&equals, &c.contains) {
                (Some(v), _) => format!("header {h} = {v}"),
                (None, Some(v)) => format!("header {h} contains {v}"),
                (None, None) => format!("header {h} present"),
            };
            (
                CheckKind::Header {
                    name: h.to_ascii_lowercase(),
                    equals,
                    contains: c.contains.clone(),
                },
                name,
            )
        } else if let Some(t) = &c.body_contains {
            (
                CheckKind::BodyContains(t.clone()),
                format!("body contains {t:?}"),
            )
        } else if let Some(t) = &c.body_not_contains {
            (
                CheckKind::BodyNotContains(t.clone()),
                format!("body lacks {t:?}"),
            )
        } else if let Some(p) = &c.json {
            if !valid_pointer(p) {
                return Err(cx.invalid(
                    format!("{key}.json"),
                    format!("`{p}` is not a JSON pointer"),
                    "write it as in RFC 6901, e.g. \"/items/0/id\" (`~1` for `/`, `~0` for `~`)",
                ));
            }
            let equals = c
                .equals
                .as_ref()
                .map(|v| {
                    serde_json::to_value(v).map_err(|e| {
                        cx.invalid(
                            format!("{key}.equals"),
                            e.to_string(),
                            "use a string, number or boolean",
                        )
                    })
                })
                .transpose()?;
            let name = match &equals {
                Some(v) => format!("json {p} = {v}"),
                None => format!("json {p} exists"),
            };
            (
                CheckKind::Json {
                    pointer: p.clone(),
                    equals,
                },
                name,
            )
        } else {
            let n = c.max_body_bytes.unwrap_or_default();
            (CheckKind::MaxBodyBytes(n), format!("body ≤ {n} bytes"))
        };
        let name = c.name.clone().unwrap_or(default_name);
        if name.trim().is_empty() || out.iter().any(|o| o.name == name) {
            return Err(cx.invalid(
                format!("{key}.name"),
                "empty or repeated check name",
                "give each check of a request its own `name`",
            ));
        }
        out.push(Check { name, kind });
    }
    Ok(out)
}

fn captures(
    cx: &Ctx<'_>,
    prefix: &str,
    list: &[CaptureFile],
) -> Result<Vec<Capture>, ScenarioError> {
    list.iter()
        .enumerate()
        .map(|(j, c)| {
            let key = format!("{prefix}.capture[{j}]");
            let slot = cx.captures.iter().position(|n| n == &c.var).unwrap_or_default();
            let pattern = c
                .regex
                .as_ref()
                .map(|r| {
                    Pattern::new(r).map_err(|e| {
                        cx.invalid(format!("{key}.regex"), format!("not a valid regular expression: {e}"), "fix the pattern (Rust regex syntax); the first group `( )` is captured")
                    })
                })
                .transpose()?;
            let from = match (&c.json, &c.header, pattern) {
                (Some(p), None, None) => {
                    if !valid_pointer(p) {
                        return Err(cx.invalid(format!("{key}.json"), format!("`{p}` is not a JSON pointer"), "write it as in RFC 6901, e.g. \"/token\""));
                    }
                    CaptureFrom::Json(p.clone())
                }
                (None, Some(h), pattern) => CaptureFrom::Header(h.to_ascii_lowercase(), pattern),
                (None, None, Some(pattern)) => CaptureFrom::Body(pattern),
                _ => {
                    return Err(cx.invalid(
                        &key,
                        "no single source to capture from",
                        "set `json` (a pointer), `header` (optionally with `regex`), or `regex` alone (over the body)",
                    ))
                }
            };
            Ok(Capture { slot, from })
        })
        .collect()
}

/// Names `profile.NAME.key` instead of `load.key` when the bad value came from the profile.
fn in_profile(
    e: ScenarioError,
    profile: Option<&str>,
    base: &LoadFile,
    effective: &LoadFile,
) -> ScenarioError {
    let (
        Some(name),
        ScenarioError::Invalid {
            path,
            key,
            problem,
            fix,
        },
    ) = (profile, &e)
    else {
        return e;
    };
    let field = key
        .strip_prefix("load.")
        .and_then(|k| k.split(['[', '.']).next())
        .unwrap_or_default();
    let value = |l: &LoadFile| {
        serde_json::to_value(l)
            .ok()
            .and_then(|v| v.get(field).cloned())
    };
    if field.is_empty() || value(base) == value(effective) {
        return e;
    }
    ScenarioError::Invalid {
        path: path.clone(),
        key: format!("profile.{name}.{}", &key["load.".len()..]),
        problem: problem.clone(),
        fix: fix.clone(),
    }
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

fn target(cx: &Ctx<'_>, t: &TargetFile) -> Result<TargetSpec, ScenarioError> {
    let base_url = t
        .base_url
        .as_ref()
        .map(|u| cx.expand("target.base_url", u))
        .transpose()?;
    let headers = headers(cx, "target.headers", &t.headers)?;
    let health = match &t.health {
        None => HealthSpec {
            path: None,
            retries: DEFAULT_HEALTH_RETRIES,
            interval: DEFAULT_HEALTH_INTERVAL,
            timeout: DEFAULT_HEALTH_TIMEOUT,
        },
        Some(h) => {
            check_path(cx, "target.health.path", &h.path)?;
            HealthSpec {
                path: Some(h.path.clone()),
                retries: h.retries.unwrap_or(DEFAULT_HEALTH_RETRIES),
                interval: cx.duration(
                    "target.health.interval",
                    h.interval.as_ref(),
                    DEFAULT_HEALTH_INTERVAL,
                )?,
                timeout: cx.duration(
                    "target.health.timeout",
                    h.timeout.as_ref(),
                    DEFAULT_HEALTH_TIMEOUT,
                )?,
            }
        }
    };
    if health.timeout.is_zero() {
        return Err(cx.invalid(
            "target.health.timeout",
            "must be above zero",
            "e.g. `timeout = \"2s\"`",
        ));
    }
    let http = match t.http.as_deref() {
        None | Some("auto") => HttpVersion::Auto,
        Some("1.1") | Some("1") => HttpVersion::Http1,
        Some("2") => HttpVersion::Http2,
        Some(other) => {
            return Err(cx.invalid(
                "target.http",
                format!("unknown HTTP version `{other}`"),
                "use \"auto\" (HTTP/2 when a TLS server offers it), \"1.1\" or \"2\" (prior knowledge, also cleartext)",
            ))
        }
    };
    let ca_file = match &t.ca_file {
        None => None,
        Some(f) => {
            let f = cx.expand("target.ca_file", f)?;
            let path = cx
                .path
                .parent()
                .map(|dir| dir.join(&f))
                .unwrap_or_else(|| f.clone().into());
            let text = crate::fsutil::read_text_limited(&path, crate::fsutil::limits::CA_FILE).map_err(|e| {
                cx.invalid(
                    "target.ca_file",
                    format!("cannot read `{}`: {e}", path.display()),
                    "point it at a PEM file of CA certificates; a relative path is relative to the scenario file",
                )
            })?;
            if !text.contains("-----BEGIN CERTIFICATE-----") {
                return Err(cx.invalid(
                    "target.ca_file",
                    format!("`{}` holds no PEM certificate", path.display()),
                    "use a PEM file (-----BEGIN CERTIFICATE-----); convert DER with `openssl x509 -inform der -in ca.der -out ca.pem`",
                ));
            }
            Some(path)
        }
    };
    Ok(TargetSpec {
        base_url,
        headers,
        health,
        http,
        ca_file,
        cookies: t.cookies.unwrap_or(false),
        cross_host_redirects: t.cross_host_redirects.unwrap_or(false),
    })
}

fn headers(
    cx: &Ctx<'_>,
    key: &str,
    h: &BTreeMap<String, String>,
) -> Result<Vec<(String, Template)>, ScenarioError> {
    h.iter()
        .map(|(name, value)| {
            let k = format!("{key}.{name}");
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                return Err(cx.invalid(
                    &k,
                    "not a valid HTTP header name",
                    "use letters, digits and `-`",
                ));
            }
            let value = cx.template(&k, value)?;
            let broken = value.parts().iter().any(|p| {
                matches!(p, template::Part::Text(t) if t.chars().any(|c| c == '\r' || c == '\n' || c == '\0'))
            });
            if broken {
                return Err(cx.invalid(&k, "header value contains a line break", "remove it"));
            }
            Ok((name.clone(), value))
        })
        .collect()
}

fn check_path(cx: &Ctx<'_>, key: &str, path: &str) -> Result<(), ScenarioError> {
    if !path.starts_with('/') {
        return Err(cx.invalid(
            key,
            format!("path `{path}` does not start with `/`"),
            format!(
                "write `/{}`; the host belongs in `target.base_url`",
                path.trim_start_matches('/')
            ),
        ));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(cx.invalid(
            key,
            "path contains whitespace",
            "percent-encode it (space is %20)",
        ));
    }
    Ok(())
}

fn load(cx: &Ctx<'_>, l: &LoadFile) -> Result<LoadSpec, ScenarioError> {
    let users = l.users.unwrap_or(DEFAULT_USERS);
    if !(1..=10_000).contains(&users) {
        return Err(cx.invalid(
            "load.users",
            format!("{users} users is out of range"),
            "use 1 to 10000",
        ));
    }
    if l.rate == Some(0) {
        return Err(cx.invalid(
            "load.rate",
            "a rate of 0 sends nothing",
            "set a rate ≥ 1, or remove `rate` for a closed model (users send as fast as the service answers)",
        ));
    }
    let stages = stages(cx, l)?;
    let duration = match stages.is_empty() {
        true => cx.duration("load.duration", l.duration.as_ref(), DEFAULT_DURATION)?,
        false => stages.iter().map(|s| s.duration).sum(),
    };
    let users = match stages.first().map(|s| s.target) {
        Some(StageTarget::Users(_)) => {
            let most = stages
                .iter()
                .filter_map(|s| match s.target {
                    StageTarget::Users(u) => Some(u),
                    StageTarget::Rate(_) => None,
                })
                .max()
                .unwrap_or(users);
            if l.users.is_some_and(|u| u < most) {
                return Err(cx.invalid(
                    "load.users",
                    format!("{users} users is fewer than the {most} a stage asks for"),
                    "remove `users` (users stages set it) or raise it",
                ));
            }
            most
        }
        _ => users,
    };
    if duration < Duration::from_secs(1) {
        return Err(cx.invalid(
            "load.duration",
            "shorter than 1s",
            "measure for at least \"1s\" (30s or more to gate)",
        ));
    }
    let max_requests = l.max_requests.unwrap_or(DEFAULT_MAX_REQUESTS);
    if max_requests == 0 {
        return Err(cx.invalid("load.max_requests", "0 sends nothing", "set a bound ≥ 1"));
    }
    let request_timeout = cx.duration(
        "load.request_timeout",
        l.request_timeout.as_ref(),
        DEFAULT_REQUEST_TIMEOUT,
    )?;
    if request_timeout < Duration::from_millis(1) {
        return Err(cx.invalid(
            "load.request_timeout",
            "shorter than 1ms",
            "e.g. `request_timeout = \"5s\"`",
        ));
    }
    let window = cx.duration("load.window", l.window.as_ref(), DEFAULT_WINDOW)?;
    if window < Duration::from_millis(100) || window > Duration::from_secs(60) || window > duration
    {
        return Err(cx.invalid(
            "load.window",
            "must be between 100ms and 60s, and no longer than `load.duration`",
            "keep the default \"1s\" unless runs are very short (tests) or very long (soaks)",
        ));
    }
    Ok(LoadSpec {
        window,
        stages,
        users,
        rate: l.rate,
        ramp_up: cx.duration("load.ramp_up", l.ramp_up.as_ref(), DEFAULT_RAMP_UP)?,
        duration,
        max_requests,
        request_timeout,
    })
}

/// `[load] stages`: all rate stages (open model) or all users stages (closed model), each with a
/// positive duration; never together with `duration`.
fn stages(cx: &Ctx<'_>, l: &LoadFile) -> Result<Vec<Stage>, ScenarioError> {
    let Some(list) = &l.stages else {
        return Ok(Vec::new());
    };
    if list.is_empty() {
        return Err(cx.invalid(
            "load.stages",
            "an empty list of stages runs nothing",
            "list at least one stage, e.g. `stages = [{ duration = \"30s\", rate = 100 }]`, or remove `stages`",
        ));
    }
    if l.duration.is_some() {
        return Err(cx.invalid(
            "load.duration",
            "`duration` and `stages` both set the measured time",
            "remove `duration`: the measured time is the sum of the stages",
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, st) in list.iter().enumerate() {
        let key = format!("load.stages[{i}]");
        let target = match (st.rate, st.users) {
            (Some(r), None) => StageTarget::Rate(r),
            (None, Some(u)) if (1..=10_000).contains(&u) => StageTarget::Users(u),
            (None, Some(u)) => {
                return Err(cx.invalid(
                    format!("{key}.users"),
                    format!("{u} users is out of range"),
                    "use 1 to 10000",
                ))
            }
            _ => {
                return Err(cx.invalid(
                    &key,
                    "a stage sets exactly one of `rate` (open model, req/s) or `users` (closed model)",
                    "write e.g. `{ duration = \"30s\", rate = 200 }` or `{ duration = \"30s\", users = 20 }`",
                ))
            }
        };
        if let Some(first) = out.first().map(|s: &Stage| s.target) {
            if std::mem::discriminant(&first) != std::mem::discriminant(&target) {
                return Err(cx.invalid(
                    &key,
                    "mixes `rate` and `users` stages",
                    "use rate stages (open model; `users` is the pool of concurrent users) or users stages (closed model), not both",
                ));
            }
        }
        let duration = cx.duration(
            &format!("{key}.duration"),
            Some(&st.duration),
            Duration::ZERO,
        )?;
        if duration.is_zero() {
            return Err(cx.invalid(
                format!("{key}.duration"),
                "a stage of zero length",
                "give every stage a duration above zero, e.g. \"10s\" (a spike is a short stage, e.g. \"2s\")",
            ));
        }
        out.push(Stage { duration, target });
    }
    if matches!(out[0].target, StageTarget::Users(_)) && l.rate.is_some() {
        return Err(cx.invalid(
            "load.rate",
            "`rate` with users stages mixes the open and the closed model",
            "remove `rate`, or write rate stages (`{ duration = \"30s\", rate = 200 }`)",
        ));
    }
    if out.iter().all(|s| s.target == StageTarget::Rate(0)) && l.rate.unwrap_or(0) == 0 {
        return Err(cx.invalid(
            "load.stages",
            "every stage has a rate of 0: nothing would be sent",
            "give a stage a rate ≥ 1",
        ));
    }
    Ok(out)
}

fn requests(cx: &Ctx<'_>, list: &[RequestFile]) -> Result<Vec<RequestSpec>, ScenarioError> {
    if list.is_empty() {
        return Err(cx.invalid(
            "request",
            "the scenario sends no requests",
            "add at least one `[[request]]` with a `name` and a `path`",
        ));
    }
    if list
        .iter()
        .all(|r| r.on_start == Some(true) || r.on_stop == Some(true))
    {
        return Err(cx.invalid(
            "request",
            "every request is `on_start` or `on_stop`, so nothing repeats under load",
            "add at least one request without `on_start`/`on_stop` (the weighted mix)",
        ));
    }
    let mut seen = BTreeSet::new();
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            let key = |k: &str| format!("request[{i}].{k} (\"{}\")", r.name);
            if r.name.trim().is_empty() {
                return Err(cx.invalid(
                    format!("request[{i}].name"),
                    "empty name",
                    "give every request a unique name",
                ));
            }
            if !seen.insert(r.name.as_str()) {
                return Err(cx.invalid(
                    key("name"),
                    "duplicate request name",
                    "request names must be unique: rename one",
                ));
            }
            let method = match r.method.to_ascii_uppercase().as_str() {
                "GET" => Method::Get,
                "POST" => Method::Post,
                "PUT" => Method::Put,
                "PATCH" => Method::Patch,
                "DELETE" => Method::Delete,
                "HEAD" => Method::Head,
                other => {
                    return Err(cx.invalid(
                        key("method"),
                        format!("method `{other}` is not supported"),
                        "use GET, POST, PUT, PATCH, DELETE or HEAD",
                    ))
                }
            };
            let path = cx.template(&key("path"), &r.path)?;
            // The literal text must make a path: a leading `/`, no whitespace. Rendered values are
            // the user's data and are sent as they are.
            let literal: String = path
                .parts()
                .iter()
                .map(|p| match p {
                    template::Part::Text(t) => t.as_str(),
                    template::Part::Var(_) => "x",
                })
                .collect();
            check_path(cx, &key("path"), &literal)?;
            let weight = r.weight.unwrap_or(1);
            if !(1..=10_000).contains(&weight) {
                return Err(cx.invalid(
                    key("weight"),
                    format!("weight {weight} is out of range"),
                    "use a whole number from 1 to 10000 (remove the request to stop sending it)",
                ));
            }
            let expect_status = r.expect_status.clone().unwrap_or_default();
            if let Some(bad) = expect_status.iter().find(|s| !(100..=599).contains(*s)) {
                return Err(cx.invalid(
                    key("expect_status"),
                    format!("{bad} is not an HTTP status"),
                    "use codes 100-599",
                ));
            }
            let prefix = format!("request[{i}]");
            let headers = headers(cx, &format!("{prefix}.headers"), &r.headers)?;
            let body = r
                .body
                .as_ref()
                .map(|b| cx.template(&key("body"), b))
                .transpose()?;
            let phase = match (r.on_start.unwrap_or(false), r.on_stop.unwrap_or(false)) {
                (false, false) => Phase::Main,
                (true, false) => Phase::OnStart,
                (false, true) => Phase::OnStop,
                (true, true) => {
                    return Err(cx.invalid(
                        key("on_start"),
                        "a request cannot run both on start and on stop",
                        "write two requests",
                    ))
                }
            };
            if phase != Phase::Main && r.weight.is_some() {
                return Err(cx.invalid(
                    key("weight"),
                    "on_start/on_stop requests run once per user; a weight means nothing",
                    "remove `weight`",
                ));
            }
            let mut feed = Vec::new();
            for name in r.feed.iter().flatten() {
                let f = cx
                    .feeders
                    .iter()
                    .position(|(n, _)| n == name)
                    .ok_or_else(|| {
                        cx.invalid(
                            key("feed"),
                            format!("no `[[feeder]]` is named `{name}`"),
                            format!(
                                "use one of: {}",
                                if cx.feeders.is_empty() {
                                    "(no feeders defined)".to_string()
                                } else {
                                    cx.feeders
                                        .iter()
                                        .map(|(n, _)| n.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                }
                            ),
                        )
                    })?;
                if !feed.contains(&f) {
                    feed.push(f);
                }
            }
            let mut spec = RequestSpec {
                name: r.name.clone(),
                method,
                path,
                headers,
                body,
                weight: weight as u32,
                expect_status,
                checks: checks(cx, &prefix, &r.check)?,
                captures: captures(cx, &prefix, &r.capture)?,
                phase,
                feed,
            };
            // Without an explicit `feed` for a feeder anywhere, every request using it takes a
            // fresh row (the common case: one row per request).
            let used = used_feeders(&spec);
            for f in used {
                let explicit = list.iter().any(|o| {
                    o.feed
                        .iter()
                        .flatten()
                        .any(|n| Some(n) == cx.feeders.get(f).map(|x| &x.0))
                });
                if !explicit && !spec.feed.contains(&f) {
                    spec.feed.push(f);
                }
            }
            Ok(spec)
        })
        .collect()
}

/// Feeders whose columns a request reads.
fn used_feeders(spec: &RequestSpec) -> Vec<usize> {
    let mut out = Vec::new();
    let templates = std::iter::once(&spec.path)
        .chain(spec.headers.iter().map(|(_, v)| v))
        .chain(spec.body.iter());
    for t in templates {
        for v in t.vars() {
            if let Var::Feeder { feeder, .. } = v {
                if !out.contains(&feeder) {
                    out.push(feeder);
                }
            }
        }
    }
    out
}

fn thresholds(
    cx: &Ctx<'_>,
    key: &str,
    t: &ThresholdFile,
    default: Thresholds,
) -> Result<Thresholds, ScenarioError> {
    let warn = cx.percent(&format!("{key}.warn"), t.warn.as_ref(), default.warn)?;
    let critical = cx.percent(
        &format!("{key}.critical"),
        t.critical.as_ref(),
        default.critical,
    )?;
    if warn.fraction() > critical.fraction() {
        return Err(cx.invalid(
            key,
            format!("warn ({warn}) is above critical ({critical})"),
            "set warn ≤ critical",
        ));
    }
    Ok(Thresholds { warn, critical })
}

fn metric(cx: &Ctx<'_>, key: &str, name: &str) -> Result<Metric, ScenarioError> {
    name.parse()
        .map_err(|e: crate::result::metric::UnknownMetric| {
            cx.invalid(key, e.to_string(), "fix the name")
        })
}

/// The `[gate]` of a `[suite]` file: as a scenario's, except that its rows (the benchmarks) are
/// known only once the suite has run, so `[gate.overrides]` cannot name them.
pub fn suite_gate(path: &Path, g: &GateFile) -> Result<GateSpec, ScenarioError> {
    let env = |k: &str| std::env::var(k).ok();
    let cx = Ctx {
        path,
        env: &env,
        constants: BTreeMap::new(),
        captures: Vec::new(),
        feeders: Vec::new(),
    };
    gate(&cx, g, &[])
}

/// `slo = { ... }` under `prefix` (`gate` or `gate.overrides."name"`): latency bounds, a maximum
/// error rate, a minimum throughput.
fn slo_list(
    cx: &Ctx<'_>,
    prefix: &str,
    table: &BTreeMap<String, toml::Value>,
) -> Result<Vec<Slo>, ScenarioError> {
    let mut slos = Vec::new();
    for (name, value) in table {
        let key = format!("{prefix}.slo.{name}");
        let m = metric(cx, &key, name)?;
        if m.is_service() {
            return Err(cx.invalid(
                &key,
                "SLOs apply to request metrics only",
                "gate memory and CPU with `warn`/`critical` thresholds",
            ));
        }
        let text = value.as_str();
        let limit = match (m, text) {
            (Metric::ErrorRate, Some(t)) => fraction_at_most_one(cx, &key, t)?,
            (Metric::Throughput, None) => value
                .as_integer()
                .map(|v| v as f64)
                .or_else(|| value.as_float())
                .filter(|v| *v > 0.0)
                .ok_or_else(|| {
                    cx.invalid(
                        &key,
                        "not a positive number",
                        "write the minimum req/s, e.g. `throughput = 150`",
                    )
                })?,
            (Metric::Throughput | Metric::ErrorRate, _) => {
                return Err(cx.invalid(
                    &key,
                    "wrong type",
                    "write `error_rate = \"1%\"` or `throughput = 150` (req/s)",
                ))
            }
            (_, Some(t)) => cx
                .duration(&key, Some(&t.to_string()), Duration::ZERO)?
                .as_micros() as f64,
            (_, None) => {
                return Err(cx.invalid(
                    &key,
                    "not a duration",
                    "write a latency bound like `p95 = \"350ms\"`",
                ))
            }
        };
        slos.push(Slo { metric: m, limit });
    }
    Ok(slos)
}

fn gate(cx: &Ctx<'_>, g: &GateFile, requests: &[RequestSpec]) -> Result<GateSpec, ScenarioError> {
    let defaults = Thresholds {
        warn: DEFAULT_WARN,
        critical: DEFAULT_CRITICAL,
    };
    let top = ThresholdFile {
        warn: g.warn.clone(),
        critical: g.critical.clone(),
    };
    let thresholds = thresholds(cx, "gate", &top, defaults)?;
    let metrics = match &g.metrics {
        None => DEFAULT_METRICS.to_vec(),
        Some(names) => {
            let mut ms = Vec::new();
            for n in names {
                let m = metric(cx, "gate.metrics", n)?;
                if !ms.contains(&m) {
                    ms.push(m);
                }
            }
            if ms.is_empty() {
                return Err(cx.invalid(
                    "gate.metrics",
                    "an empty list gates nothing, so every gate would end incomplete",
                    "list the metrics to gate, or remove the key for the defaults",
                ));
            }
            ms
        }
    };
    let slos = slo_list(cx, "gate", &g.slo)?;
    let mut overrides = BTreeMap::new();
    let mut request_slos = BTreeMap::new();
    for (request, per_request) in &g.overrides {
        if !requests.iter().any(|r| &r.name == request) {
            return Err(cx.invalid(
                format!("gate.overrides.\"{request}\""),
                "no request has this name",
                "use the `name` of a `[[request]]`",
            ));
        }
        let prefix = format!("gate.overrides.\"{request}\"");
        let own = slo_list(cx, &prefix, &per_request.slo)?;
        if !own.is_empty() {
            request_slos.insert(request.clone(), own);
        }
        let mut map = BTreeMap::new();
        for (m, t) in &per_request.metrics {
            let key = format!("gate.overrides.\"{request}\".{m}");
            map.insert(
                metric(cx, &key, m)?,
                self::thresholds(cx, &key, t, thresholds)?,
            );
        }
        if !map.is_empty() {
            overrides.insert(request.clone(), map);
        }
    }
    let abort = abort(cx, g, &slos, &request_slos)?;
    Ok(GateSpec {
        thresholds,
        metrics,
        slos,
        request_slos,
        abort,
        latency_floor: cx.duration(
            "gate.latency_floor",
            g.latency_floor.as_ref(),
            DEFAULT_LATENCY_FLOOR,
        )?,
        record_max_error_rate: match &g.record_max_error_rate {
            None => DEFAULT_RECORD_MAX_ERROR_RATE,
            Some(t) => {
                Percent::from_fraction(fraction_at_most_one(cx, "gate.record_max_error_rate", t)?)
            }
        },
        overrides,
    })
}

/// Measured time before `abort_on_slo` first looks: the first seconds of a run are the least
/// typical (cold caches, connection set-up), and no run is stopped on them.
pub const DEFAULT_ABORT_GRACE: Duration = Duration::from_secs(10);

/// `abort_on_slo` and `abort_grace`: the abort needs an objective it can watch while the load runs.
fn abort(
    cx: &Ctx<'_>,
    g: &GateFile,
    slos: &[Slo],
    request_slos: &BTreeMap<String, Vec<Slo>>,
) -> Result<Option<crate::scenario::AbortOnSlo>, ScenarioError> {
    if g.abort_on_slo != Some(true) {
        if g.abort_grace.is_some() {
            return Err(cx.invalid(
                "gate.abort_grace",
                "it has no effect without `abort_on_slo = true`",
                "add `abort_on_slo = true` to `[gate]`, or remove `abort_grace`",
            ));
        }
        return Ok(None);
    }
    let grace = cx.duration(
        "gate.abort_grace",
        g.abort_grace.as_ref(),
        DEFAULT_ABORT_GRACE,
    )?;
    let all = slos.iter().chain(request_slos.values().flatten());
    if !all.clone().any(|s| crate::load::abort::watchable(s.metric)) {
        let problem = if all.count() == 0 {
            "there is no objective to watch".to_string()
        } else {
            "mean and throughput objectives are judged at the end of the run only".to_string()
        };
        return Err(cx.invalid(
            "gate.abort_on_slo",
            problem,
            "add a latency quantile, max or error-rate objective, e.g. `slo = { p95 = \"300ms\", error_rate = \"1%\" }` in `[gate]` or a request's `[gate.overrides.\"name\"]`, or remove `abort_on_slo`",
        ));
    }
    Ok(Some(crate::scenario::AbortOnSlo { grace }))
}

/// Sampling once a second resolves a leak's slope within a CI run without measurable cost.
pub const DEFAULT_MONITOR_INTERVAL: Duration = Duration::from_secs(1);

fn monitor(
    cx: &Ctx<'_>,
    m: &crate::scenario::file::MonitorFile,
) -> Result<crate::scenario::MonitorSpec, ScenarioError> {
    use crate::scenario::{MonitorSource, MonitorSpec};
    let fix = "set exactly one of `pid`, `command` or `prometheus`";
    let source = match (m.pid, &m.command, &m.prometheus) {
        (Some(pid), None, None) => MonitorSource::Pid(pid),
        (None, Some(argv), None) => {
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(cx.invalid("monitor.command", "empty command", "write the program then its arguments, e.g. [\"./target/release/api\", \"--port\", \"8080\"]"));
            }
            MonitorSource::Command(
                argv.iter()
                    .enumerate()
                    .map(|(i, a)| cx.expand(&format!("monitor.command[{i}]"), a))
                    .collect::<Result<_, _>>()?,
            )
        }
        (None, None, Some(url)) => {
            let url = cx.expand("monitor.prometheus", url)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(cx.invalid(
                    "monitor.prometheus",
                    "not an http(s) URL",
                    "e.g. \"http://staging:9100/metrics\"",
                ));
            }
            MonitorSource::Prometheus {
                url,
                memory_metric: m
                    .memory_metric
                    .clone()
                    .unwrap_or_else(|| "process_resident_memory_bytes".to_string()),
                cpu_metric: m
                    .cpu_metric
                    .clone()
                    .unwrap_or_else(|| "process_cpu_seconds_total".to_string()),
                labels: m.labels.clone(),
            }
        }
        (None, None, None) => return Err(cx.invalid("monitor", "no source to sample", fix)),
        _ => return Err(cx.invalid("monitor", "more than one source", fix)),
    };
    if !matches!(source, MonitorSource::Prometheus { .. })
        && (m.memory_metric.is_some() || m.cpu_metric.is_some() || !m.labels.is_empty())
    {
        return Err(cx.invalid(
            "monitor",
            "`memory_metric`, `cpu_metric` and `labels` apply to `prometheus` only",
            "remove them",
        ));
    }
    let interval = cx.duration(
        "monitor.interval",
        m.interval.as_ref(),
        DEFAULT_MONITOR_INTERVAL,
    )?;
    if interval < Duration::from_millis(100) || interval > Duration::from_secs(60) {
        return Err(cx.invalid(
            "monitor.interval",
            "must be between 100ms and 60s",
            "keep the default \"1s\"",
        ));
    }
    Ok(MonitorSpec { source, interval })
}

/// An error rate: a percentage no larger than 100%.
fn fraction_at_most_one(cx: &Ctx<'_>, key: &str, text: &str) -> Result<f64, ScenarioError> {
    let f = cx
        .percent(key, Some(&text.to_string()), DEFAULT_WARN)?
        .fraction();
    if f > 1.0 {
        return Err(cx.invalid(
            key,
            format!("{text} is above 100%"),
            "an error rate is between \"0%\" and \"100%\"",
        ));
    }
    Ok(f)
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

//! Scenario file → validated [`Scenario`]: defaults, ranges, `${env:NAME}` expansion, the scenario hash.
//!
//! Every error names the file, the key and the fix. Defaults are defined here, once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::result::metric::Metric;
use crate::scenario::file::{
    GateFile, LoadFile, RequestFile, ScenarioFile, TargetFile, ThresholdFile,
};
use crate::scenario::units::{parse_duration, Percent};
use crate::scenario::{
    GateSpec, HealthSpec, LoadSpec, Method, RequestSpec, Scenario, ScenarioError, Slo, Stage,
    StageTarget, TargetSpec, Thresholds, SCENARIO_SCHEMA_VERSION,
};

/// Goose's default is one user per CPU, which makes load depend on the machine: pick a fixed number.
pub const DEFAULT_USERS: u32 = 8;
/// Long enough for connection pools and caches to warm, short enough for a PR job.
pub const DEFAULT_RAMP_UP: Duration = Duration::from_secs(5);
/// 30 s gives ~25 usable one-second windows: the minimum the noise guard wants (STATISTICS.md §3).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);
/// One-second windows: long enough to hold many requests, short enough that a 30 s run gives the
/// noise guard ~30 blocks to resample.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(1);
/// A hard bound so a fast target and a long duration cannot run away.
pub const DEFAULT_MAX_REQUESTS: u64 = 1_000_000;
/// Goose's default is 60 s, which turns a hung target into a hung CI job.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Warn at +10% in the bad direction (DESIGN.md §6).
pub const DEFAULT_WARN: Percent = Percent::from_fraction(0.10);
/// Critical at +20% in the bad direction (DESIGN.md §6).
pub const DEFAULT_CRITICAL: Percent = Percent::from_fraction(0.20);
/// Below 200 µs, a change is scheduler and loopback jitter, not a regression a user would feel.
pub const DEFAULT_LATENCY_FLOOR: Duration = Duration::from_micros(200);
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
const DEFAULT_HEALTH_RETRIES: u32 = 5;
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Environment lookup, injected so tests do not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

struct Ctx<'a> {
    path: &'a Path,
    env: EnvLookup<'a>,
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

/// [`from_toml`] with `[profile.NAME]` applied over `[load]`.
pub fn from_toml_profile(
    path: &Path,
    text: &str,
    env: EnvLookup<'_>,
    profile: Option<&str>,
) -> Result<Scenario, ScenarioError> {
    let mut file: ScenarioFile = toml::from_str(text).map_err(|e| {
        let mut message = e.to_string().trim_end().to_string();
        if message.contains("expected a string") && message.contains("invalid type") {
            // A bare `duration = 3`: say what a value with a unit looks like.
            message.push_str("\n  durations and percentages are strings with a unit, e.g. \"3s\", \"250ms\", \"10%\"");
        }
        ScenarioError::Parse { path: path.to_path_buf(), message }
    })?;
    let cx = Ctx { path, env };
    let version = file.schema_version.unwrap_or(SCENARIO_SCHEMA_VERSION);
    if version != SCENARIO_SCHEMA_VERSION {
        return Err(cx.invalid(
            "schema_version",
            format!("version {version} is not supported by this loadgate"),
            format!("write `schema_version = {SCENARIO_SCHEMA_VERSION}`, or use the loadgate release that wrote it"),
        ));
    }
    validate_name(&cx, &file.name)?;
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
        hash: hash(&file),
        profile: profile.map(str::to_string),
    })
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

fn validate_name(cx: &Ctx<'_>, name: &str) -> Result<(), ScenarioError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(cx.invalid(
            "name",
            format!("`{name}` cannot name a baseline file"),
            "use letters, digits, `-`, `_` and `.` (e.g. `checkout-api`)",
        ))
    }
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
    Ok(TargetSpec {
        base_url,
        headers,
        health,
    })
}

fn headers(
    cx: &Ctx<'_>,
    key: &str,
    h: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, ScenarioError> {
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
            let value = cx.expand(&k, value)?;
            if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
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
            let path = cx.expand(&key("path"), &r.path)?;
            check_path(cx, &key("path"), &path)?;
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
            Ok(RequestSpec {
                name: r.name.clone(),
                method,
                path,
                headers: headers(cx, &format!("request[{i}].headers"), &r.headers)?,
                body: r
                    .body
                    .as_ref()
                    .map(|b| cx.expand(&key("body"), b))
                    .transpose()?,
                weight: weight as u32,
                expect_status,
            })
        })
        .collect()
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
    let mut slos = Vec::new();
    for (name, value) in &g.slo {
        let key = format!("gate.slo.{name}");
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
    let mut overrides = BTreeMap::new();
    for (request, per_metric) in &g.overrides {
        if !requests.iter().any(|r| &r.name == request) {
            return Err(cx.invalid(
                format!("gate.overrides.\"{request}\""),
                "no request has this name",
                "use the `name` of a `[[request]]`",
            ));
        }
        let mut map = BTreeMap::new();
        for (m, t) in per_metric {
            let key = format!("gate.overrides.\"{request}\".{m}");
            map.insert(
                metric(cx, &key, m)?,
                self::thresholds(cx, &key, t, thresholds)?,
            );
        }
        overrides.insert(request.clone(), map);
    }
    Ok(GateSpec {
        thresholds,
        metrics,
        slos,
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
    }
    let canonical = serde_json::to_vec(&Hashed {
        load: &file.load,
        request: &file.request,
    })
    .unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod stage_tests;
#[cfg(test)]
mod tests;

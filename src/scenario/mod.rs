//! Stage 1 — what to send: a validated scenario, read from a TOML file.
//!
//! `file.rs` is the on-disk format, `validate.rs` turns it into the plain types below, `units.rs`
//! parses values with units. Nothing downstream sees raw TOML. This module imports nothing else
//! from the crate but `result::metric` (the shared vocabulary of metric names).

pub mod check;
pub mod feeder;
pub mod file;
pub mod starter;
pub mod suite;
pub mod template;
pub mod units;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::result::metric::Metric;
pub use check::{Capture, CaptureFrom, Check, CheckKind};
pub use feeder::{FeedOrder, FeederSpec, OnEnd};
pub use template::{Template, Var};
pub use units::Percent;

/// The scenario format version this build reads.
pub const SCENARIO_SCHEMA_VERSION: u32 = 1;

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// File it was read from.
    pub path: PathBuf,
    /// Name; the baseline is `baselines/<name>.json`.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Where to send it.
    pub target: TargetSpec,
    /// How hard and how long.
    pub load: LoadSpec,
    /// What to send (at least one).
    pub requests: Vec<RequestSpec>,
    /// How to judge.
    pub gate: GateSpec,
    /// How to watch the service's memory and CPU, if at all.
    pub monitor: Option<MonitorSpec>,
    /// Data feeders, indexed by [`Var::Feeder`].
    pub feeders: Vec<FeederSpec>,
    /// Names of captured variables, indexed by [`Var::Capture`] and [`Capture::slot`].
    pub captures: Vec<String>,
    /// SHA-256 (hex) of the load-relevant content before `${env:..}` expansion, so a changed scenario
    /// is detected but secrets never influence, or leak through, the hash.
    pub hash: String,
    /// The `[profile.NAME]` applied over `[load]`, if any (`--profile`).
    pub profile: Option<String>,
    /// The variables read through `${env:NAME}`, and their values: never echoed, never handed to
    /// the rollback hook.
    pub secrets: crate::secret::Secrets,
}

impl Scenario {
    /// Name of the baseline file (without `.json`): `<name>`, or `<name>.<profile>` for a profile,
    /// whose different load makes the default baseline useless.
    pub fn baseline_name(&self) -> String {
        match &self.profile {
            Some(p) => format!("{}.{p}", self.name),
            None => self.name.clone(),
        }
    }
}

/// `[target]`, validated. Header values are expanded and may hold secrets: never store or print them.
#[derive(Clone, PartialEq)]
pub struct TargetSpec {
    /// Base URL from the file; `--target` and `--demo` override it.
    pub base_url: Option<String>,
    /// Headers sent with every request.
    pub headers: Vec<(String, Template)>,
    /// Preflight health check.
    pub health: HealthSpec,
    /// HTTP version policy.
    pub http: HttpVersion,
    /// Extra trusted root certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Keep a cookie jar per user.
    pub cookies: bool,
    /// Follow a redirect to another host (by default it is not followed, and counted).
    pub cross_host_redirects: bool,
}

/// Which HTTP version the load speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/1.1, or HTTP/2 when a TLS server offers it (ALPN).
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 with prior knowledge (also cleartext h2c).
    Http2,
}

impl std::fmt::Debug for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetSpec")
            // The URL may embed an expanded `${env:..}`; loadgate refuses credentials in it later,
            // but a Debug print must not leak them first.
            .field("base_url", &self.base_url.as_ref().map(|_| "<set>"))
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("health", &self.health)
            .field("http", &self.http)
            .field("ca_file", &self.ca_file)
            .field("cookies", &self.cookies)
            .field("cross_host_redirects", &self.cross_host_redirects)
            .finish()
    }
}

/// Preflight: the target must answer before any load is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSpec {
    /// Path to probe; `None` probes `/` and accepts any HTTP response.
    pub path: Option<String>,
    /// Attempts after the first.
    pub retries: u32,
    /// Pause between attempts.
    pub interval: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

/// `[monitor]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSpec {
    /// What to sample.
    pub source: MonitorSource,
    /// Time between readings.
    pub interval: Duration,
}

/// Where the service's memory and CPU come from.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorSource {
    /// A local process.
    Pid(u32),
    /// A command loadgate starts before the run and stops after it (argv, no shell).
    Command(Vec<String>),
    /// A Prometheus text-format endpoint.
    Prometheus {
        /// Endpoint URL (may hold an expanded `${env:..}`: not printed).
        url: String,
        /// Memory metric name (bytes).
        memory_metric: String,
        /// CPU metric name (seconds, counter).
        cpu_metric: String,
        /// Label selector.
        labels: BTreeMap<String, String>,
    },
}

/// `[load]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSpec {
    /// Concurrent users (closed loops).
    pub users: u32,
    /// Global request-rate cap, requests per second.
    pub rate: Option<u32>,
    /// Time to start all users; excluded from measurements.
    pub ramp_up: Duration,
    /// Measured time.
    pub duration: Duration,
    /// Hard bound on requests, whatever else is set.
    pub max_requests: u64,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Width of one window of the per-window series (the noise guard's unit of evidence).
    pub window: Duration,
    /// Stages after the ramp-up (their sum is `duration`); empty for a constant load.
    pub stages: Vec<Stage>,
}

impl LoadSpec {
    /// Open model: a target arrival rate (constant or staged) paced by loadgate.
    pub fn is_open(&self) -> bool {
        self.rate.is_some()
            || matches!(self.stages.first(), Some(s) if matches!(s.target, StageTarget::Rate(_)))
    }

    /// Whether the target rate changes during the measured window (rate stages that ramp), which
    /// makes a per-window throughput comparison meaningless.
    pub fn ramps_rate(&self) -> bool {
        let rates: Vec<u32> = self
            .stages
            .iter()
            .filter_map(|s| match s.target {
                StageTarget::Rate(r) => Some(r),
                StageTarget::Users(_) => None,
            })
            .collect();
        let start = self.rate.or(rates.first().copied());
        rates.iter().any(|r| Some(*r) != start)
    }
}

/// One `[load] stages` entry: ramp linearly from the previous stage's target to this one's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// Length of the stage.
    pub duration: Duration,
    /// Target reached at its end.
    pub target: StageTarget,
}

/// What a stage ramps: the arrival rate (open model) or the active users (closed model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageTarget {
    /// Requests per second.
    Rate(u32),
    /// Active users.
    Users(u32),
}

/// HTTP methods goose 0.19 can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
}

impl Method {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }
}

/// One `[[request]]`, validated and expanded.
#[derive(Clone, PartialEq)]
pub struct RequestSpec {
    /// Unique name; the key of per-request results.
    pub name: String,
    /// Method.
    pub method: Method,
    /// Path and query, starting with `/`.
    pub path: Template,
    /// Extra headers (after the target's).
    pub headers: Vec<(String, Template)>,
    /// Body, if any.
    pub body: Option<Template>,
    /// Times per user iteration (≥ 1): goose runs each request weight/gcd times per iteration.
    pub weight: u32,
    /// Accepted status codes; empty means any 2xx.
    pub expect_status: Vec<u16>,
    /// What the response must hold.
    pub checks: Vec<Check>,
    /// Values taken from the response.
    pub captures: Vec<Capture>,
    /// When in a user's life it runs.
    pub phase: Phase,
    /// Feeders (indices) from which this request takes a fresh row before it is sent.
    pub feed: Vec<usize>,
}

/// Where a request sits in a user's flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Once when the user starts (login), in file order.
    OnStart,
    /// The weighted mix, repeated until the run ends.
    #[default]
    Main,
    /// Once when the user stops (logout), in file order.
    OnStop,
}

impl RequestSpec {
    /// Whether anything in the request differs per user or per response (needs per-user state).
    pub fn is_dynamic(&self) -> bool {
        self.path.as_static().is_none()
            || self.headers.iter().any(|(_, v)| v.as_static().is_none())
            || self.body.as_ref().is_some_and(|b| b.as_static().is_none())
            || !self.captures.is_empty()
            || !self.feed.is_empty()
    }
}

impl std::fmt::Debug for RequestSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSpec")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("weight", &self.weight)
            .field("phase", &self.phase)
            .field(
                "checks",
                &self.checks.iter().map(|c| &c.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl RequestSpec {
    /// Whether `status` counts as success.
    pub fn accepts(&self, status: u16) -> bool {
        if self.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect_status.contains(&status)
        }
    }
}

/// Warn and critical thresholds, relative change in the bad direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Warn at this change.
    pub warn: Percent,
    /// Critical at this change.
    pub critical: Percent,
}

/// An absolute service-level objective, on the aggregate or on one request name: breaching it is
/// critical whatever the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    /// Metric it bounds.
    pub metric: Metric,
    /// Bound in the metric's unit (µs, req/s, fraction): a maximum, or a minimum for throughput.
    pub limit: f64,
}

/// `[gate]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    /// Default thresholds.
    pub thresholds: Thresholds,
    /// Metrics that decide the verdict.
    pub metrics: Vec<Metric>,
    /// Absolute objectives on the aggregate.
    pub slos: Vec<Slo>,
    /// Absolute objectives of one request name (`[gate.overrides."name"] slo`).
    pub request_slos: BTreeMap<String, Vec<Slo>>,
    /// A latency change smaller than this is never a regression (µs jitter on a tiny latency).
    pub latency_floor: Duration,
    /// `record` refuses a run with a higher error rate.
    pub record_max_error_rate: Percent,
    /// Per request name, per metric thresholds; such a metric may go critical on that request alone.
    pub overrides: BTreeMap<String, BTreeMap<Metric, Thresholds>>,
    /// `abort_on_slo = true`: stop the load once an objective is breached beyond doubt.
    pub abort: Option<AbortOnSlo>,
}

/// `[gate] abort_on_slo`, validated: the load stops once an objective is breached beyond doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortOnSlo {
    /// Measured time before the first look (`abort_grace`).
    pub grace: Duration,
}

/// Reads and validates a scenario file, expanding `${env:NAME}` from the process environment.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_profile(path, None)
}

/// [`load`] with `[profile.NAME]` applied over `[load]` (`--profile NAME`).
pub fn load_profile(path: &Path, profile: Option<&str>) -> Result<Scenario, ScenarioError> {
    load_with(path, profile, &LoadOverrides::default())
}

/// `[load]` keys given as flags (`--users`, `--rate`, `--duration`): applied over the profile, so
/// flag > profile > `[load]` > default. Like a profile, they change the scenario's hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOverrides {
    /// `--users`.
    pub users: Option<u32>,
    /// `--rate`, requests per second.
    pub rate: Option<u32>,
    /// `--duration`, as written (already checked to parse).
    pub duration: Option<String>,
}

/// [`load_profile`] with `overrides` applied last.
pub fn load_with(
    path: &Path,
    profile: Option<&str>,
    overrides: &LoadOverrides,
) -> Result<Scenario, ScenarioError> {
    let text = crate::fsutil::read_text_limited(path, crate::fsutil::limits::SCENARIO).map_err(
        |source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        },
    )?;
    let reads = std::cell::RefCell::new(crate::secret::Secrets::default());
    let lookup = |k: &str| {
        let v = std::env::var(k).ok();
        if let Some(v) = &v {
            reads.borrow_mut().add_var(k, v);
        }
        v
    };
    let mut scenario = validate::from_toml_with(path, &text, &lookup, profile, overrides)?;
    scenario.secrets = reads.into_inner();
    Ok(scenario)
}

/// The scenario `loadgate run URL` loads ([`starter::quick_toml`]) with `overrides` applied.
pub fn quick(url: &str, overrides: &LoadOverrides) -> Result<Scenario, ScenarioError> {
    let s = starter::parse(url).map_err(|e| ScenarioError::Invalid {
        path: PathBuf::from(url),
        key: "URL".to_string(),
        problem: e.to_string(),
        fix: "or give a scenario file (`loadgate init URL` writes one)".to_string(),
    })?;
    let env = |_: &str| None;
    validate::from_toml_with(
        Path::new(url),
        &starter::quick_toml(&s),
        &env,
        None,
        overrides,
    )
}

/// A scenario cannot be used. Messages name the file, the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("cannot read scenario {}: {source}; check the path (scenarios live in scenarios/*.toml)", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or a key of the wrong type or unknown.
    #[error("scenario {} is not valid: {message}\n  every key is documented in scenarios/README.md", path.display())]
    Parse {
        /// File.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("scenario {}: `{key}`: {problem}; {fix}", path.display())]
    Invalid {
        /// File.
        path: PathBuf,
        /// Dotted key, e.g. `request[2].weight`.
        key: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}

//! The on-disk scenario format: serde structs mirroring the TOML exactly.
//!
//! Nothing here is validated beyond types; `validate.rs` turns a [`ScenarioFile`] into a
//! [`crate::scenario::Scenario`]. Unknown keys are refused so a typo never silently does nothing.

#![allow(
    missing_docs,
    reason = "fields mirror the TOML keys, documented in scenarios/README.md"
)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Top level of a scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub schema_version: Option<u32>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target: TargetFile,
    #[serde(default)]
    pub load: LoadFile,
    #[serde(default)]
    pub request: Vec<RequestFile>,
    #[serde(default)]
    pub gate: GateFile,
    pub monitor: Option<MonitorFile>,
    /// `[profile.NAME]`: `[load]` keys that override `[load]` when `--profile NAME` is given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profile: BTreeMap<String, LoadFile>,
    /// Constants for `${name}`; part of the scenario hash (they shape the requests).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeder: Vec<FeederFile>,
}

/// One `[[feeder]]`: rows of a CSV file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeederFile {
    pub name: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_end: Option<String>,
}

/// One `[[request.check]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_not_contains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equals: Option<toml::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
}

/// One `[[request.capture]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureFile {
    pub var: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// `[monitor]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorFile {
    pub pid: Option<u32>,
    pub command: Option<Vec<String>>,
    pub prometheus: Option<String>,
    pub memory_metric: Option<String>,
    pub cpu_metric: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub interval: Option<String>,
}

/// `[target]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    pub base_url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub health: Option<HealthFile>,
    /// "auto" (ALPN), "1.1" or "2" (prior knowledge).
    pub http: Option<String>,
    /// Extra root certificate(s), PEM, relative to the scenario file.
    pub ca_file: Option<String>,
    /// A cookie jar per user.
    pub cookies: Option<bool>,
    /// Follow redirects to another host.
    pub cross_host_redirects: Option<bool>,
}

/// `[target.health]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HealthFile {
    pub path: String,
    pub retries: Option<u32>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
}

/// `[load]`. Absent keys are skipped when serialized: this struct and [`RequestFile`] feed the
/// scenario hash, which must not change when a new optional key is added to the format.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp_up: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<StageFile>>,
}

impl LoadFile {
    /// `profile` over `self`, key by key. A profile's `stages` replace the base `duration` and its
    /// `duration` replaces the base `stages`: both set the measured time.
    pub fn overridden_by(&self, profile: &LoadFile) -> LoadFile {
        let (duration, stages) = match (&profile.duration, &profile.stages) {
            (None, None) => (self.duration.clone(), self.stages.clone()),
            (d, s) => (d.clone(), s.clone()),
        };
        LoadFile {
            users: profile.users.or(self.users),
            rate: profile.rate.or(self.rate),
            ramp_up: profile.ramp_up.clone().or_else(|| self.ramp_up.clone()),
            duration,
            max_requests: profile.max_requests.or(self.max_requests),
            request_timeout: profile
                .request_timeout
                .clone()
                .or_else(|| self.request_timeout.clone()),
            window: profile.window.clone().or_else(|| self.window.clone()),
            stages,
        }
    }
}

/// One entry of `[load] stages`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageFile {
    pub duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
}

/// One `[[request]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFile {
    pub name: String,
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<Vec<u16>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check: Vec<CheckFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capture: Vec<CaptureFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_start: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_stop: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed: Option<Vec<String>>,
}

fn default_method() -> String {
    "GET".to_string()
}

/// `[gate]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateFile {
    pub warn: Option<String>,
    pub critical: Option<String>,
    pub metrics: Option<Vec<String>>,
    #[serde(default)]
    pub slo: BTreeMap<String, toml::Value>,
    pub latency_floor: Option<String>,
    pub record_max_error_rate: Option<String>,
    #[serde(default)]
    pub overrides: BTreeMap<String, OverrideFile>,
    pub abort_on_slo: Option<bool>,
    pub abort_grace: Option<String>,
}

/// `[gate.overrides."name"]`: per-metric thresholds, and that request's own objectives.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OverrideFile {
    /// `slo = { p95 = "500ms" }`, as `[gate] slo`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slo: BTreeMap<String, toml::Value>,
    /// Every other key is a metric's thresholds (an unknown metric is named by validation).
    #[serde(flatten)]
    pub metrics: BTreeMap<String, ThresholdFile>,
}

/// A per-request, per-metric threshold override.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdFile {
    pub warn: Option<String>,
    pub critical: Option<String>,
}

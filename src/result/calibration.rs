//! A scenario's measured run-to-run noise on one machine: the τ of the noise guard, from A/A pairs.
//! Plain data, stored beside the baseline as `baselines/<scenario>.calibration.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::result::metric::Metric;
use crate::result::Host;

/// Version of the calibration file format.
pub const CALIBRATION_SCHEMA_VERSION: u32 = 1;

/// τ per metric, with where and how it was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Format version.
    pub schema_version: u32,
    /// Scenario name.
    pub scenario_name: String,
    /// Scenario hash it was measured with.
    pub scenario_hash: String,
    /// Machine it was measured on: τ does not transfer between machines.
    pub host: Host,
    /// When (RFC 3339).
    pub created_at: String,
    /// A/A pairs it rests on.
    pub pairs: u32,
    /// Per-run noise on the log scale (τ), per aggregate metric.
    pub tau: BTreeMap<Metric, f64>,
    /// Observed standard deviation of the A/A log changes, per metric (before removing within-run noise).
    pub sd_aa: BTreeMap<Metric, f64>,
    /// τ per request name and metric: one name's noise is larger than the aggregate's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, BTreeMap<Metric, f64>>,
}

//! A scenario's stored capacity: the highest sustainable rate a `loadgate stress --record` found,
//! with its search resolution and provenance. Plain data, stored beside the baseline as
//! `baselines/<name>.capacity.json` and gated as a higher-is-better metric.

use serde::{Deserialize, Serialize};

use crate::result::Host;

/// Version of the capacity file format.
pub const CAPACITY_SCHEMA_VERSION: u32 = 1;

/// The capacity found by one search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Format version.
    pub schema_version: u32,
    /// Scenario name.
    pub scenario_name: String,
    /// Profile applied, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Hash of the scenario's load-relevant content it was found with.
    pub scenario_hash: String,
    /// Highest rate that held every step criterion.
    pub capacity_rps: u32,
    /// Lowest rate that broke: the true capacity lies in [capacity_rps, broke_at_rps).
    pub broke_at_rps: u32,
    /// `broke_at_rps − capacity_rps`: a later drop smaller than this is not judged.
    pub resolution_rps: u32,
    /// Length of each measured step.
    pub step_duration_ms: u64,
    /// loadgate version.
    pub tool_version: String,
    /// Commit of the code under test, when known.
    pub git_commit: Option<String>,
    /// Machine it was found on: capacity rarely transfers between machines.
    pub host: Host,
    /// When (RFC 3339).
    pub recorded_at: String,
}

//! The comparison policy: thresholds, gated metrics, SLOs and floors, from the scenario's `[gate]`.

use std::collections::BTreeMap;

use crate::result::metric::Metric;
use crate::result::RunResult;
use crate::scenario::{GateSpec, Slo, Thresholds};

/// An error-rate change below 0.1 percentage points is never a warning, and below 0.5 points never
/// critical, whatever the relative change (0.01% → 0.02% is +100% and meaningless; docs/statistics.md §5).
pub const ERROR_RATE_WARN_FLOOR: f64 = 0.001;
/// See [`ERROR_RATE_WARN_FLOOR`].
pub const ERROR_RATE_CRITICAL_FLOOR: f64 = 0.005;

/// How a comparison judges, derived once from the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Default thresholds.
    pub thresholds: Thresholds,
    /// Gated metrics; others are reported only.
    pub metrics: Vec<Metric>,
    /// Absolute objectives on the aggregate.
    pub slos: Vec<Slo>,
    /// Absolute objectives per request name.
    pub request_slos: BTreeMap<String, Vec<Slo>>,
    /// Latency changes below this many µs are jitter.
    pub latency_floor_us: f64,
    /// Per request, per metric thresholds (such rows may go critical).
    pub overrides: BTreeMap<String, BTreeMap<Metric, Thresholds>>,
}

impl Policy {
    /// The policy a scenario's `[gate]` describes.
    pub fn from_gate(g: &GateSpec) -> Self {
        Self {
            thresholds: g.thresholds,
            metrics: g.metrics.clone(),
            slos: g.slos.clone(),
            request_slos: g.request_slos.clone(),
            latency_floor_us: g.latency_floor.as_micros() as f64,
            overrides: g.overrides.clone(),
        }
    }

    /// The objectives of a row: the aggregate's, or those of its request name.
    pub fn slos_for(&self, request: Option<&str>) -> &[Slo] {
        match request {
            None => &self.slos,
            Some(r) => self.request_slos.get(r).map_or(&[], Vec::as_slice),
        }
    }

    /// Thresholds for a row, and whether it may go critical. The aggregate may; a single request
    /// only where the user overrode that metric for it (one of many names crossing 20% by chance is
    /// likely, so per-request rows warn unless asked otherwise).
    pub fn for_row(&self, request: Option<&str>, metric: Metric) -> (Thresholds, bool) {
        match request
            .and_then(|r| self.overrides.get(r))
            .and_then(|m| m.get(&metric))
        {
            Some(t) => (*t, true),
            None => (self.thresholds, request.is_none()),
        }
    }

    /// The policy as it applies to this pair of results. For benchmarks (time per iteration) every
    /// benchmark is its own row that may fail the build, as the aggregate may (the family's size
    /// sets the Bonferroni level, so more benchmarks do not mean more false alarms); the latency
    /// floor, which is about network jitter, does not apply; and throughput, the mean inverted, is
    /// not gated twice. Load results keep the policy as it is.
    pub fn adapted_to(&self, baseline: &RunResult, run: &RunResult) -> Policy {
        let mut p = self.clone();
        if !(baseline.is_benchmark() || run.is_benchmark()) {
            return p;
        }
        p.metrics.retain(|m| *m != Metric::Throughput);
        p.latency_floor_us = 0.0;
        for name in baseline.requests.keys().chain(run.requests.keys()) {
            let per = p.overrides.entry(name.clone()).or_default();
            for &m in &p.metrics {
                per.entry(m).or_insert(p.thresholds);
            }
        }
        p
    }

    /// Whether `metric` decides the verdict.
    pub fn gates(&self, metric: Metric) -> bool {
        self.metrics.contains(&metric)
    }
}

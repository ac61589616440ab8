//! What `record` learned from a baseline's own runs: the run-to-run noise τ of each metric and the
//! rows this scenario cannot gate. Plain data, stored inside the baseline file (`learned`), so the
//! baseline carries its own A/A evidence and no calibration ritual is needed before the first gate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::result::metric::Metric;

/// The noise and gateability a baseline's runs taught.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Learned {
    /// Runs of the same build the baseline holds: `runs − 1` degrees of freedom per metric.
    pub runs: u32,
    /// Machine the runs were made on: run-to-run noise does not transfer between machines.
    pub host_fingerprint: String,
    /// τ in use per metric (log scale): the runs' excess spread, shrunk toward a modest prior.
    pub tau: BTreeMap<Metric, f64>,
    /// τ the runs alone showed (pooled over request names, before shrinkage), for reports.
    pub observed_tau: BTreeMap<Metric, f64>,
    /// The smallest regression a gate of one candidate run against this baseline can expect to catch
    /// (with 95% power), per aggregate metric whose noise could be estimated: what `record` promises.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expected_mde: BTreeMap<Metric, f64>,
    /// Rows that cannot be gated for this scenario, and why; reported once, never INCOMPLETE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_gated: Vec<NotGated>,
}

/// One (request, metric) row the scenario cannot gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotGated {
    /// Request name; `None` for all requests together.
    pub request: Option<String>,
    /// Metric.
    pub metric: Metric,
    /// Why, in words a reader can act on.
    pub reason: String,
}

impl Learned {
    /// τ per metric with what the runs showed and the MDE a gate can expect, for `record` and
    /// `baselines show`: "p50 0.026 (runs showed 0.020, MDE 15%), ...".
    pub fn tau_text(&self) -> String {
        self.tau
            .iter()
            .map(|(m, t)| {
                let seen = self.observed_tau.get(m).copied().unwrap_or(0.0);
                let mde = self
                    .expected_mde
                    .get(m)
                    .map(|x| format!(", MDE {:.0}%", x * 100.0))
                    .unwrap_or_default();
                format!("{m} {t:.3} (runs showed {seen:.3}{mde})")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One line per row the scenario cannot gate: `all p50: why`.
    pub fn not_gated_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.not_gated.iter().map(|n| {
            format!(
                "{} {}: {}",
                n.request.as_deref().unwrap_or("all"),
                n.metric,
                n.reason
            )
        })
    }

    /// Why a row is not gated, if the baseline says so.
    pub fn not_gated(&self, request: Option<&str>, metric: Metric) -> Option<&str> {
        self.not_gated
            .iter()
            .find(|n| n.metric == metric && n.request.as_deref() == request)
            .map(|n| n.reason.as_str())
    }
}

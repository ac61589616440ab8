//! The run-to-run noise term τ of the noise guard: documented conservative defaults until
//! `loadgate calibrate` measures it from A/A pairs (docs/statistics.md §4.1).

use std::collections::BTreeMap;

use crate::compare::bootstrap::{bootstrap, RESAMPLES};
use crate::result::calibration::Calibration;
use crate::result::learned::Learned;
use crate::result::metric::Metric;
use crate::result::RunResult;
use crate::stats::{chi_square_quantile, seed_of};

/// Uncalibrated τ (per-run standard deviation of ln θ between runs of the same build) by metric
/// (docs/statistics.md §4.1). Deliberately conservative: an uncalibrated 30 s gate detects ~27% changes,
/// and calibration earns the 20% guarantee.
pub fn default_tau(m: Metric) -> f64 {
    match m {
        Metric::P5 | Metric::P50 | Metric::Mean | Metric::Throughput => 0.04,
        Metric::P90 | Metric::P95 => 0.06,
        Metric::P99 | Metric::Max => 0.10,
        Metric::PeakRss => 0.03,
        Metric::Cpu => 0.10,
        // Error rates use Wilson/Newcombe intervals and growth its own slope rule, not τ.
        Metric::ErrorRate | Metric::RssGrowth => 0.0,
    }
}

/// Where the τ in use came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    tau: BTreeMap<Metric, f64>,
    /// Per request name: a single name's run-to-run noise is larger than the aggregate's.
    requests: BTreeMap<String, BTreeMap<Metric, f64>>,
    /// Human description for reports: "uncalibrated defaults", "calibrated from 30 A/A pairs ...".
    pub source: String,
    /// Whether τ was measured by `loadgate calibrate`.
    pub calibrated: bool,
    /// Whether τ was learned from the baseline's own runs: request names share its pooled τ.
    pub learned: bool,
}

impl Noise {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            tau: Metric::ALL.iter().map(|m| (*m, default_tau(*m))).collect(),
            requests: BTreeMap::new(),
            source: "uncalibrated: default run-to-run noise (run `loadgate calibrate` on this runner to gate tighter)".to_string(),
            calibrated: false,
            learned: false,
        }
    }

    /// Paired mode: both builds are measured in alternating segments on the same machine, so drift
    /// of the runner or of staging cancels; half the uncalibrated τ remains for what alternation
    /// cannot cancel (docs/statistics.md §4.6).
    pub fn paired() -> Self {
        Self {
            tau: Metric::ALL.iter().map(|m| (*m, default_tau(*m) / 2.0)).collect(),
            requests: BTreeMap::new(),
            source: "paired mode: baseline and candidate alternated on this machine (half the default run-to-run noise)"
                .to_string(),
            calibrated: false,
            learned: false,
        }
    }

    /// A measured calibration; metrics it lacks keep their defaults.
    pub fn calibrated(c: &Calibration) -> Self {
        let mut n = Self::defaults();
        n.tau.extend(c.tau.iter().map(|(m, t)| (*m, *t)));
        n.requests = c.requests.clone();
        n.source = format!(
            "calibrated from {} A/A pairs on {} ({})",
            c.pairs, c.host.cpu_model, c.created_at
        );
        n.calibrated = true;
        n
    }

    /// What a baseline's own runs taught (`compare::learn`); metrics it did not learn keep their
    /// defaults. Every request name shares the pooled τ: the runs' spread was pooled over names.
    pub fn learned(l: &Learned) -> Self {
        let mut n = Self::defaults();
        n.tau.extend(l.tau.iter().map(|(m, t)| (*m, *t)));
        let shown: Vec<String> = [Metric::P50, Metric::P95, Metric::P99, Metric::Mean]
            .iter()
            .filter_map(|m| l.tau.get(m).map(|t| format!("{m} {t:.3}")))
            .collect();
        n.source = if l.runs >= 2 {
            format!(
                "learned from the baseline's {} runs, shrunk toward a modest prior (τ {})",
                l.runs,
                shown.join(", ")
            )
        } else {
            format!(
                "the modest prior alone: the baseline holds one run, so it carries no run-to-run evidence (τ {}); `loadgate record` (3 runs by default) learns it",
                shown.join(", ")
            )
        };
        n.learned = true;
        n
    }

    /// The noise a baseline's runs taught, when they were made on the machine `host_fingerprint`
    /// names; else `None` and a note on why it is not used.
    pub fn of_baseline(b: &RunResult, host_fingerprint: &str) -> (Option<Self>, Option<String>) {
        let Some(l) = &b.learned else {
            return (
                None,
                Some("the baseline carries no learned run-to-run noise (recorded by an older loadgate, or merged from shards): the conservative defaults apply; re-record it with `loadgate record` (3 runs) to gate tighter".to_string()),
            );
        };
        if l.host_fingerprint != host_fingerprint {
            return (
                None,
                Some("the baseline's run-to-run noise was learned on another machine and is not used (noise does not transfer between machines): the conservative defaults apply; re-record the baseline on this runner class".to_string()),
            );
        }
        (Some(Self::learned(l)), None)
    }

    /// τ for a metric of the aggregate (`None`) or of one request name. A request the calibration
    /// did not measure gets the uncalibrated default: its noise is not the aggregate's.
    pub fn tau(&self, request: Option<&str>, m: Metric) -> f64 {
        match request {
            None => self.tau.get(&m).copied().unwrap_or_else(|| default_tau(m)),
            Some(r) if self.calibrated => self
                .requests
                .get(r)
                .and_then(|t| t.get(&m))
                .copied()
                .unwrap_or_else(|| default_tau(m)),
            Some(_) => self.tau.get(&m).copied().unwrap_or_else(|| default_tau(m)),
        }
    }
}

/// Fewest A/A pairs for a calibration; 30 per docs/statistics.md §4.1 (with 16 the toy A/A critical rate
/// tripled). Fewer are accepted with a warning by the caller.
pub const RECOMMENDED_PAIRS: usize = 30;

/// τ and A/A standard deviation per metric, for the aggregate and per request name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// All requests together.
    pub all: BTreeMap<Metric, (f64, f64)>,
    /// Per request name.
    pub requests: BTreeMap<String, BTreeMap<Metric, (f64, f64)>>,
}

impl Measured {
    /// The calibration file content for these measurements.
    pub fn to_calibration(
        &self,
        scenario_name: &str,
        scenario_hash: &str,
        host: crate::result::Host,
        created_at: String,
        pairs: u32,
    ) -> Calibration {
        Calibration {
            schema_version: crate::result::calibration::CALIBRATION_SCHEMA_VERSION,
            scenario_name: scenario_name.to_string(),
            scenario_hash: scenario_hash.to_string(),
            host,
            created_at,
            pairs,
            tau: self.all.iter().map(|(m, (t, _))| (*m, *t)).collect(),
            sd_aa: self.all.iter().map(|(m, (_, s))| (*m, *s)).collect(),
            requests: self
                .requests
                .iter()
                .map(|(r, ms)| (r.clone(), ms.iter().map(|(m, (t, _))| (*m, *t)).collect()))
                .collect(),
        }
    }
}

/// τ and the A/A standard deviation per metric from A/A pairs (same build twice).
/// sd⁺ is the winsorized A/A sd raised to its 90% chi-square upper bound; τ² = max(0, sd⁺² − mean v)/2.
pub fn calibrate(pairs: &[(RunResult, RunResult)]) -> Measured {
    let mut out = Measured {
        all: scope(pairs, None),
        requests: BTreeMap::new(),
    };
    let names: std::collections::BTreeSet<&String> =
        pairs.iter().flat_map(|(a, _)| a.requests.keys()).collect();
    for name in names {
        let m = scope(pairs, Some(name));
        if !m.is_empty() {
            out.requests.insert(name.clone(), m);
        }
    }
    out
}

fn scope(pairs: &[(RunResult, RunResult)], request: Option<&str>) -> BTreeMap<Metric, (f64, f64)> {
    let mut per_metric: BTreeMap<Metric, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (i, (a, b)) in pairs.iter().enumerate() {
        let (Some(sa), Some(sb)) = (a.stats(request), b.stats(request)) else {
            continue;
        };
        let seed = seed_of(&["calibrate", request.unwrap_or(""), &i.to_string()]);
        let secs = |r: &RunResult| r.meta.load.window_ms as f64 / 1000.0;
        let (Some(ea), Some(eb)) = (
            bootstrap(&[&sa.windows], secs(a), seed, RESAMPLES),
            bootstrap(&[&sb.windows], secs(b), seed ^ 1, RESAMPLES),
        ) else {
            continue;
        };
        for m in Metric::ALL {
            if sa.requests < m.min_requests() || sb.requests < m.min_requests() {
                continue;
            }
            let (Some(va), Some(vb)) = (
                m.value_of(sa, a.measured_seconds()),
                m.value_of(sb, b.measured_seconds()),
            ) else {
                continue;
            };
            let (Some(xa), Some(xb)) = (ea.get(&m), eb.get(&m)) else {
                continue;
            };
            if va <= 0.0 || vb <= 0.0 {
                continue;
            }
            let e = per_metric.entry(m).or_default();
            e.0.push(vb.ln() - va.ln());
            e.1.push(xa.log_var + xb.log_var);
        }
    }
    per_metric
        .into_iter()
        .filter(|(_, (d, _))| d.len() >= 3)
        .map(|(m, (d, v))| {
            let n = d.len() as f64;
            let sd = winsorized_sd(&d);
            let upper = sd * ((n - 1.0) / chi_square_quantile(0.10, n - 1.0)).sqrt();
            let mean_v = v.iter().sum::<f64>() / n;
            let tau = ((upper * upper - mean_v).max(0.0) / 2.0).sqrt();
            (m, (tau, sd))
        })
        .collect()
}

/// Standard deviation after clamping to the 5th and 95th percentiles (one wild pair must not set τ).
fn winsorized_sd(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let lo = s[((n as f64 * 0.05).floor() as usize).min(n - 1)];
    let hi = s[((n as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(n - 1)];
    let w: Vec<f64> = xs.iter().map(|x| x.clamp(lo, hi)).collect();
    let mean = w.iter().sum::<f64>() / n as f64;
    (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0).max(1.0)).sqrt()
}

/// The smallest change a one-run-against-one-run gate can tell from run-to-run noise `tau` alone,
/// as a fraction (0.12 is +12%): (z_c + z_β)·τ·√2 on the log scale. Within-run noise only adds to
/// it, so this is a floor: what `calibrate` prints per metric.
pub fn run_to_run_mde(tau: f64, lv: crate::compare::guard::Levels) -> f64 {
    ((lv.z_critical + lv.z_beta) * tau * 2f64.sqrt()).exp() - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_to_run_mde_grows_with_tau_and_is_zero_without_noise() {
        use crate::compare::guard::{Levels, Z_BETA};
        let lv = Levels::new(6, 6, Z_BETA);
        assert_eq!(run_to_run_mde(0.0, lv), 0.0);
        // z_c (α 0.01 over 6 rows ≈ 2.94) + z_β 1.645 ≈ 4.58; × 0.02 × √2 ≈ 0.130 → +13.9%.
        let mde = run_to_run_mde(0.02, lv);
        assert!((mde - 0.139).abs() < 0.005, "{mde}");
        assert!(run_to_run_mde(0.04, lv) > mde);
    }

    #[test]
    fn winsorizing_tames_one_outlier() {
        let mut xs: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 0.01 } else { -0.01 })
            .collect();
        let plain = winsorized_sd(&xs);
        xs[0] = 5.0;
        assert!(winsorized_sd(&xs) < 0.05, "{}", winsorized_sd(&xs));
        assert!((plain - 0.01).abs() < 0.002);
    }

    #[test]
    fn defaults_are_labelled_uncalibrated() {
        let n = Noise::defaults();
        assert!(!n.calibrated && n.source.contains("uncalibrated"));
        assert_eq!(n.tau(None, Metric::P99), 0.10);
    }
}

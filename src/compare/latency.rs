//! The latency and throughput family: a change beyond the threshold *and* beyond the noise the
//! block bootstrap and τ estimate (the shared log-change judge), or, for a result that keeps only
//! per-period summaries, beyond the thresholds alone.

use crate::compare::bootstrap;
use crate::compare::guard::{self, Call, Levels, LogThresholds};
use crate::compare::log_change::{self, LogChange};
use crate::compare::{Criteria, Row, Sides, Status};
use crate::result::metric::{Direction, Metric, Unit};
use crate::scenario::Thresholds;

#[allow(
    clippy::too_many_arguments,
    reason = "one row's inputs; grouping them would only rename them"
)]
pub(super) fn guarded(
    s: &Sides<'_>,
    settings: Criteria<'_>,
    levels: Levels,
    metric: Metric,
    thresholds: Thresholds,
    can_fail: bool,
    bv: f64,
    rv: f64,
    out: &mut Row,
) -> (Status, String) {
    if s.baseline.summaries_only() || s.run.summaries_only() {
        // A value the result never measured is neither shown nor judged.
        if !(s.baseline.measures(metric) && s.run.measures(metric)) {
            out.gated = false;
            out.baseline = None;
            out.run = None;
            out.change = None;
            return (
                Status::Info,
                "not measured: the format's per-period summaries report no p5".to_string(),
            );
        }
        return thresholds_only(metric, thresholds, can_fail, bv, rv);
    }
    let (Some(eb), Some(er)) = (
        s.eb.and_then(|e| e.get(&metric)),
        s.er.and_then(|e| e.get(&metric)),
    ) else {
        let status = if out.gated && can_fail {
            Status::Incomplete
        } else {
            Status::Info
        };
        return (status, format!("too few windows to estimate the noise (need {} seconds of measurement on each side)", bootstrap::MIN_WINDOWS));
    };
    let lower = metric.direction() == Direction::LowerIsWorse;
    let tau = settings.noise.tau(out.request.as_deref(), metric);
    let (nb, nr) = (s.baseline.runs() as f64, s.run.runs() as f64);
    let within = eb.log_var + er.log_var;
    let se = log_change::standard_error(within, tau, (s.baseline.runs(), s.run.runs()));
    let LogChange {
        d,
        raw,
        lt,
        judgement: j,
    } = log_change::judge(out, bv, rv, se, thresholds, lower, levels, can_fail);
    let pct = |x: f64| format!("{:+.1}%", x * 100.0);
    if metric.unit() == Unit::Micros && (rv - bv).abs() < settings.policy.latency_floor_us {
        out.suspect = false;
        out.decisive = false;
        return (
            Status::Pass,
            format!(
                "{} ({:.0}us) is within the latency floor of {:.0}us",
                pct(raw.exp() - 1.0),
                (rv - bv).abs(),
                settings.policy.latency_floor_us
            ),
        );
    }
    let noisy = if out.too_noisy {
        let target = lt.critical / (levels.z_critical + levels.z_beta);
        let hint = match guard::length_factor(within, tau * tau * (1.0 / nb + 1.0 / nr), target) {
            Some(f) => format!("a run about {:.0}x longer would make it gateable", f.ceil()),
            None => "longer runs will not help: record more baseline runs (`loadgate record --runs 5`) so the gate learns this noise, or measure it (`loadgate calibrate`)".to_string(),
        };
        format!(
            "; too noisy to gate at {} (MDE {:.0}%): {hint}",
            thresholds.critical,
            j.mde * 100.0
        )
    } else {
        String::new()
    };
    let worse = if lower {
        (1.0 - (-d).exp()) * 100.0
    } else {
        (d.exp() - 1.0) * 100.0
    };
    let result = match j.call {
        Call::Critical => (
            Status::Critical,
            format!(
                "{worse:+.1}% worse (95% interval {}): beyond noise, and consistent with a regression of {} or more",
                interval_text(out.interval),
                thresholds.critical
            ),
        ),
        Call::Warn if !can_fail && (d.exp() - 1.0) >= thresholds.critical.fraction() => {
            (Status::Warn, format!("{worse:+.1}% worse, beyond noise; per-request rows warn unless overridden in [gate.overrides]"))
        }
        Call::Warn => (Status::Warn, format!("{worse:+.1}% worse (95% interval {}), beyond the warn threshold {}", interval_text(out.interval), thresholds.warn)),
        Call::Improved => (Status::Improved, format!("{:.1}% better", -worse)),
        Call::PassConfident if out.too_noisy => (Status::Pass, format!("{worse:+.1}%: within noise")),
        Call::PassConfident => (Status::Pass, format!("{worse:+.1}%: no regression of {} or more (95% confidence)", thresholds.critical)),
        Call::PassInconclusive => (Status::Pass, format!("{worse:+.1}%: within noise, but a regression of {} could hide in it (MDE {:.0}%)", thresholds.critical, j.mde * 100.0)),
    };
    (result.0, format!("{}{noisy}", result.1))
}

/// A row of a result that keeps only per-period summaries (Artillery): its within-run noise is
/// unknown, so the change is held against the thresholds alone, and the reason says so.
fn thresholds_only(
    metric: Metric,
    thresholds: Thresholds,
    can_fail: bool,
    bv: f64,
    rv: f64,
) -> (Status, String) {
    let lower = metric.direction() == Direction::LowerIsWorse;
    let sign = if lower { -1.0 } else { 1.0 };
    let d = sign * (rv.max(1e-9).ln() - bv.max(1e-9).ln());
    let lt = LogThresholds::new(thresholds, lower);
    let worse = if lower {
        (1.0 - (-d).exp()) * 100.0
    } else {
        (d.exp() - 1.0) * 100.0
    };
    let why = "thresholds only: the result keeps only per-period summaries, so no noise guard can judge it";
    if d >= lt.critical && can_fail {
        (
            Status::Critical,
            format!(
                "{worse:+.1}% worse, beyond the critical threshold {} ({why})",
                thresholds.critical
            ),
        )
    } else if d >= lt.warn {
        (
            Status::Warn,
            format!(
                "{worse:+.1}% worse, beyond the warn threshold {} ({why})",
                thresholds.warn
            ),
        )
    } else if d <= -lt.warn {
        (Status::Improved, format!("{:.1}% better ({why})", -worse))
    } else {
        (
            Status::Pass,
            format!("{worse:+.1}%: within the thresholds ({why})"),
        )
    }
}

fn interval_text(i: Option<(f64, f64)>) -> String {
    i.map_or_else(
        || "-".to_string(),
        |(a, b)| format!("{:+.1}%..{:+.1}%", a * 100.0, b * 100.0),
    )
}

//! The log-change judge every noise-guarded row shares (latency, throughput, peak memory, CPU): the
//! change d = ln(run / baseline) in the bad direction, its standard error from the within-run
//! variance and the run-to-run term τ, its 95% interval, and the noise guard's call, written into
//! the row. Each family words the call its own way.

use crate::compare::guard::{self, Judgement, Levels, LogThresholds};
use crate::compare::Row;
use crate::scenario::Thresholds;

/// Standard error of a log change: both sides' within-run variance (`within`), plus τ² once per
/// side, shrunk by the runs pooled on that side (`runs`: baseline, candidate).
pub fn standard_error(within: f64, tau: f64, runs: (usize, usize)) -> f64 {
    (within + tau * tau * (1.0 / runs.0 as f64 + 1.0 / runs.1 as f64)).sqrt()
}

/// A judged change, for the family's wording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogChange {
    /// ln(run / baseline), signed so that positive is worse.
    pub d: f64,
    /// ln(run / baseline), as measured.
    pub raw: f64,
    /// The thresholds in log space, in the bad direction.
    pub lt: LogThresholds,
    /// The noise guard's call.
    pub judgement: Judgement,
}

/// Judges the change from `baseline` to `run` with standard error `se`, and records it in `out`: the
/// 95% interval, the MDE, and whether the row is too noisy, suspect or decisive (the last two only
/// for a gated row).
#[allow(
    clippy::too_many_arguments,
    reason = "one change's inputs; grouping them would only rename them"
)]
pub fn judge(
    out: &mut Row,
    baseline: f64,
    run: f64,
    se: f64,
    thresholds: Thresholds,
    lower_is_worse: bool,
    levels: Levels,
    can_fail: bool,
) -> LogChange {
    let raw = run.max(1e-9).ln() - baseline.max(1e-9).ln();
    let d = if lower_is_worse { -raw } else { raw };
    out.interval = Some(((raw - 1.96 * se).exp() - 1.0, (raw + 1.96 * se).exp() - 1.0));
    let lt = LogThresholds::new(thresholds, lower_is_worse);
    let judgement = guard::judge_log_change(d, se, lt, levels, can_fail);
    out.mde = Some(judgement.mde);
    out.too_noisy = judgement.too_noisy && can_fail;
    out.suspect = judgement.suspect && out.gated;
    out.decisive = judgement.gross && out.gated;
    LogChange {
        d,
        raw,
        lt,
        judgement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::guard::{Call, Z_BETA};
    use crate::result::metric::Metric;
    use crate::scenario::Percent;

    const T: Thresholds = Thresholds {
        warn: Percent::from_fraction(0.10),
        critical: Percent::from_fraction(0.20),
    };

    fn row(gated: bool) -> Row {
        Row::new(None, Metric::P95, gated, true)
    }

    #[test]
    fn the_standard_error_pools_within_run_noise_and_tau_per_run() {
        assert_eq!(standard_error(0.0004, 0.0, (1, 1)), 0.02);
        // τ = 0.03 on one run each side: 0.03²·2 = 0.0018.
        assert!((standard_error(0.0, 0.03, (1, 1)) - 0.0018f64.sqrt()).abs() < 1e-15);
        // Three baseline runs shrink the baseline's share of τ² to a third.
        assert!(
            (standard_error(0.0, 0.03, (3, 1)) - (0.0009f64 * (1.0 / 3.0 + 1.0)).sqrt()).abs()
                < 1e-15
        );
    }

    #[test]
    fn a_rise_is_judged_and_recorded_in_the_row() {
        let lv = Levels::new(8, 8, Z_BETA);
        let mut out = row(true);
        let c = judge(&mut out, 100.0, 150.0, 0.02, T, false, lv, true);
        assert_eq!(c.judgement.call, Call::Critical);
        assert!((c.d - 1.5f64.ln()).abs() < 1e-12 && c.d == c.raw);
        let (lo, hi) = out.interval.unwrap();
        assert!(lo < 0.5 && 0.5 < hi && lo > 0.4, "{lo} {hi}");
        assert!(out.suspect && out.decisive && !out.too_noisy);
        assert_eq!(out.mde, Some(c.judgement.mde));
        // An ungated row records the same numbers, but is neither suspect nor decisive.
        let mut quiet = row(false);
        judge(&mut quiet, 100.0, 150.0, 0.02, T, false, lv, true);
        assert_eq!(quiet.interval, out.interval);
        assert!(!quiet.suspect && !quiet.decisive);
    }

    #[test]
    fn a_fall_is_worse_when_lower_is_worse() {
        let lv = Levels::new(8, 8, Z_BETA);
        let mut out = row(true);
        let c = judge(&mut out, 100.0, 50.0, 0.02, T, true, lv, true);
        assert!(c.d > 0.0 && c.raw < 0.0);
        assert_eq!(c.judgement.call, Call::Critical);
        let mut up = row(true);
        let better = judge(&mut up, 100.0, 150.0, 0.02, T, true, lv, true);
        assert_eq!(better.judgement.call, Call::Improved);
    }
}

//! The error family: error rates compared by Wilson intervals per run and Newcombe's for the
//! difference, widened for bursts of errors (overdispersion), with absolute floors.

use crate::compare::guard::Levels;
use crate::compare::{policy, Sides, Status};
use crate::result::Window;
use crate::scenario::Thresholds;

/// Error rate: Wilson intervals per run, Newcombe for the difference, widened for bursts
/// (overdispersion over 5 s windows); absolute floors of 0.1 / 0.5 points and minimum error counts
/// (docs/statistics.md §5).
pub(super) fn error_rate(
    s: &Sides<'_>,
    t: Thresholds,
    lv: Levels,
    can_fail: bool,
) -> (Status, String) {
    let (Some(b), Some(r)) = (s.b, s.r) else {
        return (Status::Info, "missing".to_string());
    };
    let (ea, na) = (b.errors.total() as f64, b.requests as f64);
    let (eb, nb) = (r.errors.total() as f64, r.requests as f64);
    let (phi_a, phi_b) = (overdispersion(&b.windows), overdispersion(&r.windows));
    let (pa, pb) = (ea / na, eb / nb);
    let diff = pb - pa;
    let lower =
        |z: f64| crate::stats::newcombe(ea / phi_a, na / phi_a, eb / phi_b, nb / phi_b, z).0;
    let text = |p: f64| format!("{:.2}%", p * 100.0);
    let critical = lower(lv.z_critical) > 0.0
        && pb >= (1.0 + t.critical.fraction()) * pa
        && diff >= policy::ERROR_RATE_CRITICAL_FLOOR
        && eb >= 10.0;
    let warn = lower(lv.z_warn) > 0.0
        && pb >= (1.0 + t.warn.fraction()) * pa
        && diff >= policy::ERROR_RATE_WARN_FLOOR
        && eb >= 5.0;
    if critical && can_fail {
        (
            Status::Critical,
            format!(
                "error rate {} → {} ({} errors), beyond noise and the 0.5-point floor",
                text(pa),
                text(pb),
                eb
            ),
        )
    } else if critical || warn {
        (
            Status::Warn,
            format!(
                "error rate {} → {} ({} errors), beyond noise",
                text(pa),
                text(pb),
                eb
            ),
        )
    } else if diff <= -policy::ERROR_RATE_WARN_FLOOR
        && crate::stats::newcombe(ea, na, eb, nb, lv.z_warn).1 < 0.0
    {
        (
            Status::Improved,
            format!("error rate {} → {}", text(pa), text(pb)),
        )
    } else {
        (
            Status::Pass,
            format!(
                "error rate {} → {}: not a significant rise",
                text(pa),
                text(pb)
            ),
        )
    }
}

/// Dispersion factor φ ≥ 1 of errors over 5 s windows: bursts of errors carry less evidence than
/// the same count spread evenly.
fn overdispersion(windows: &[Window]) -> f64 {
    let chunks: Vec<(f64, f64)> = windows
        .chunks(5)
        .map(|c| {
            (
                c.iter().map(|w| w.errors as f64).sum(),
                c.iter().map(|w| w.requests as f64).sum(),
            )
        })
        .filter(|(_, n)| *n > 0.0)
        .collect();
    let (e, n): (f64, f64) = chunks
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    if chunks.len() < 2 || e == 0.0 || e == n {
        return 1.0;
    }
    let p = e / n;
    let x2: f64 = chunks
        .iter()
        .map(|(ek, nk)| (ek - nk * p).powi(2) / (nk * p * (1.0 - p)))
        .sum();
    (x2 / (chunks.len() - 1) as f64).max(1.0)
}

//! The service family: the service's own metrics from its samples (docs/statistics.md §6). Peak
//! memory and CPU go through the shared log-change judge; memory growth through the leak rule,
//! which a soak (`loadgate stress --soak`) applies too, against a flat reference.

use crate::compare::guard::{Call, Levels};
use crate::compare::log_change::{self, LogChange};
use crate::compare::{Criteria, Row, Sides, Status};
use crate::result::metric::Metric;
use crate::result::{service, RunResult};
use crate::scenario::Thresholds;
use crate::stats::Slope;

/// A leak below 0.5 MB/min is indistinguishable from allocator and cache settling in CI-length runs.
pub const LEAK_FLOOR_BYTES_PER_MIN: f64 = 0.5e6;
/// ... or below 2% of the service's memory per hour, whichever is larger.
pub const LEAK_FLOOR_FRACTION_PER_HOUR: f64 = 0.02;

/// A row of the service's own metrics (memory, CPU), from its samples.
pub(super) fn service_row(
    s: &Sides<'_>,
    settings: Criteria<'_>,
    levels: Levels,
    metric: Metric,
    thresholds: Thresholds,
    gated: bool,
    can_fail: bool,
) -> Row {
    let mut out = Row::new(None, metric, gated, can_fail);
    let short = out.unjudged();
    let (bs, rs) = (&s.baseline.samples, &s.run.samples);
    if let Some(why) = service::unusable(bs, "baseline").or_else(|| service::unusable(rs, "run")) {
        (out.status, out.reason) = (short, why);
        return out;
    }
    let (b, r, within) = match metric {
        Metric::PeakRss => (service::peak_rss(bs), service::peak_rss(rs), Some(0.0)),
        Metric::Cpu => {
            let (b, r) = (service::cpu(bs), service::cpu(rs));
            let within = b
                .zip(r)
                .map(|((mb, vb), (mr, vr))| vb / (mb * mb).max(1e-9) + vr / (mr * mr).max(1e-9));
            (b.map(|x| x.0), r.map(|x| x.0), within)
        }
        _ => return growth_row(s, out, gated && can_fail, short),
    };
    out.baseline = b;
    out.run = r;
    let (Some(bv), Some(rv), Some(within)) = (b, r, within) else {
        (out.status, out.reason) = (
            short,
            format!(
                "too few samples in the measured window (need {})",
                service::MIN_POINTS
            ),
        );
        return out;
    };
    out.change = (bv > 0.0).then(|| (rv - bv) / bv);
    let tau = settings.noise.tau(None, metric);
    let se = log_change::standard_error(within, tau, (s.baseline.runs(), s.run.runs()));
    let LogChange {
        d, judgement: j, ..
    } = log_change::judge(&mut out, bv, rv, se, thresholds, false, levels, can_fail);
    let worse = (d.exp() - 1.0) * 100.0;
    let (status, reason) = match j.call {
        Call::Critical => (
            Status::Critical,
            format!(
                "{worse:+.1}%, beyond noise and consistent with {} or more",
                thresholds.critical
            ),
        ),
        Call::Warn => (
            Status::Warn,
            format!(
                "{worse:+.1}%, beyond noise and the warn threshold {}",
                thresholds.warn
            ),
        ),
        Call::Improved => (Status::Improved, format!("{:.1}% lower", -worse)),
        _ => (
            Status::Pass,
            format!("{worse:+.1}%: within noise (MDE {:.0}%)", j.mde * 100.0),
        ),
    };
    out.status = if gated { status } else { Status::Info };
    out.reason = reason;
    out
}

/// Memory growth: the leak rule of docs/statistics.md §6 on the RSS floor.
fn growth_row(s: &Sides<'_>, mut out: Row, can_fail: bool, short: Status) -> Row {
    let (b, r) = (
        service::growth(&s.baseline.samples, service::floor_window_ms(s.baseline)),
        service::growth(&s.run.samples, service::floor_window_ms(s.run)),
    );
    out.baseline = b.map(|x| x.0.per_min);
    out.run = r.map(|x| x.0.per_min);
    let (Some(b), Some(r)) = (b, r) else {
        (out.status, out.reason) = (
            short,
            format!(
                "too few floor windows for a slope (need {}): run longer",
                service::MIN_FLOOR_WINDOWS
            ),
        );
        return out;
    };
    let floor = leak_floor(service::median_rss(&s.baseline.samples).unwrap_or(0.0));
    let secs = s.run.measured_seconds();
    let per_request = r.0.per_min / 60.0 / (s.run.all.requests as f64 / secs).max(1e-9);
    let mb = |v: f64| format!("{:+.2} MB/min", v / 1e6);
    let text = format!(
        "RSS floor {} (99% lower bound {}, last half {}), baseline {}; leak floor {} (≈{per_request:.0} B/request)",
        mb(r.0.per_min),
        mb(r.0.lower),
        mb(r.1.per_min),
        mb(b.0.per_min),
        mb(floor)
    );
    let status = leak_status(r, b, floor, can_fail);
    let verdict = match status {
        Status::Pass => "no leak detected (runs under 10 minutes cannot rule out a slow one)",
        s => leak_words(s),
    };
    out.status = if out.gated { status } else { Status::Info };
    out.decisive = out.status == Status::Critical;
    out.reason = format!("{verdict}: {text}");
    out
}

/// The leak floor F for a service of `median_rss` bytes: max(0.5 MB/min, 2%/h).
pub fn leak_floor(median_rss: f64) -> f64 {
    LEAK_FLOOR_BYTES_PER_MIN.max(median_rss * LEAK_FLOOR_FRACTION_PER_HOUR / 60.0)
}

/// How a run's growth compares with its baseline's (docs/statistics.md §6): a leak needs the whole
/// run's and the last half's lower bounds above the floor, and the last half beyond the baseline's.
/// Returns (leak at `factor`·F?) for factor 1 (warn) and 4 (critical).
pub fn leaking(run: (Slope, Slope), base: (Slope, Slope), floor: f64, factor: f64) -> bool {
    let f = floor * factor;
    let beyond_base =
        run.1.per_min - base.1.per_min - 2.33 * (run.1.se().powi(2) + base.1.se().powi(2)).sqrt();
    run.0.lower > f && run.1.lower > f && beyond_base > f / 2.0
}

/// The leak rule: growth `run` (whole run, last half) against `base` over leak floor `floor` is
/// critical beyond 4·F (only where the row `can_fail`), a warning beyond F, a pass otherwise.
pub fn leak_status(
    run: (Slope, Slope),
    base: (Slope, Slope),
    floor: f64,
    can_fail: bool,
) -> Status {
    if leaking(run, base, floor, 4.0) && can_fail {
        Status::Critical
    } else if leaking(run, base, floor, 1.0) {
        Status::Warn
    } else {
        Status::Pass
    }
}

/// The words of a leak status, for reasons.
fn leak_words(status: Status) -> &'static str {
    match status {
        Status::Critical => "a leak",
        Status::Warn => "a probable leak",
        _ => "no leak detected",
    }
}

/// A soak's leak verdict: its growth, and the leak rule's call against a flat reference (a soak
/// has no baseline slope).
#[derive(Debug, Clone, PartialEq)]
pub struct SoakLeak {
    /// The RSS floor's slope over the whole soak, when there were enough floor windows.
    pub growth: Option<Slope>,
    /// Critical, warn or pass; incomplete when the samples cannot tell.
    pub status: Status,
    /// Why, in words.
    pub reason: String,
}

/// The leak rule on a soak run's samples: floors of the gate's windows, against a flat reference.
pub fn soak_leak(run: &RunResult) -> SoakLeak {
    let incomplete = |reason: String| SoakLeak {
        growth: None,
        status: Status::Incomplete,
        reason,
    };
    if let Some(why) = service::unusable(&run.samples, "soak") {
        return incomplete(why);
    }
    let Some(g) = service::growth(&run.samples, service::floor_window_ms(run)) else {
        return incomplete(format!(
            "too few floor windows for a slope (need {}): soak longer or sample more often (--sample-interval)",
            service::MIN_FLOOR_WINDOWS
        ));
    };
    let flat = Slope {
        per_min: 0.0,
        lower: 0.0,
        upper: 0.0,
    };
    let floor = leak_floor(service::median_rss(&run.samples).unwrap_or(0.0));
    let status = leak_status(g, (flat, flat), floor, true);
    let mb = |v: f64| format!("{:+.2} MB/min", v / 1e6);
    let reason = format!(
        "{}: RSS floor {} (99% lower bound {}, last half {}); leak floor {}",
        leak_words(status),
        mb(g.0.per_min),
        mb(g.0.lower),
        mb(g.1.per_min),
        mb(floor)
    );
    SoakLeak {
        growth: Some(g.0),
        status,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::service::growth;
    use crate::result::testing::{self, samples};
    use crate::result::Samples;

    const FLAT: Slope = Slope {
        per_min: 0.0,
        lower: 0.0,
        upper: 0.0,
    };

    /// A 50 MB service sawtoothing ±5 MB every 3 s: no growth.
    fn sawtooth() -> Samples {
        samples(|t| 50_000_000 + (t.rem_euclid(3) as u64) * 5_000_000, 60)
    }

    /// A 50 MB service growing `bytes_per_s` (200 kB/s is 12 MB/min).
    fn ramp(bytes_per_s: u64) -> Samples {
        samples(|t| 50_000_000 + t.max(0) as u64 * bytes_per_s, 60)
    }

    /// A soak of 60 s sampled every second.
    fn soak(s: Samples) -> RunResult {
        let mut r = testing::result();
        r.meta.measured_duration_ms = 60_000;
        r.samples = vec![s];
        r
    }

    #[test]
    fn a_flat_sawtooth_is_not_a_leak_and_a_ramp_is() {
        let flat = sawtooth();
        let leak = ramp(200_000);
        let (gf, gl) = (
            growth(std::slice::from_ref(&flat), 2_000.0).unwrap(),
            growth(&[leak], 2_000.0).unwrap(),
        );
        let floor = leak_floor(50e6);
        assert!(!leaking(gf, gf, floor, 1.0));
        assert!(leaking(gl, gf, floor, 4.0), "{gl:?}");
        assert!((gl.0.per_min - 12e6).abs() < 1e6);
    }

    #[test]
    fn the_rule_is_critical_beyond_four_floors_and_warns_beyond_one() {
        let floor = leak_floor(50e6);
        assert_eq!(floor, LEAK_FLOOR_BYTES_PER_MIN);
        let g = |s: Samples| growth(&[s], 2_000.0).unwrap();
        // 12 MB/min is 24 floors; 1.2 MB/min is 2.4: a warning; a critical call needs a row that can fail.
        assert_eq!(
            leak_status(g(ramp(200_000)), (FLAT, FLAT), floor, true),
            Status::Critical
        );
        assert_eq!(
            leak_status(g(ramp(200_000)), (FLAT, FLAT), floor, false),
            Status::Warn
        );
        assert_eq!(
            leak_status(g(ramp(20_000)), (FLAT, FLAT), floor, true),
            Status::Warn
        );
        assert_eq!(
            leak_status(g(sawtooth()), (FLAT, FLAT), floor, true),
            Status::Pass
        );
        // The same growth in the baseline is no leak of this change.
        let same = g(ramp(200_000));
        assert_eq!(leak_status(same, same, floor, true), Status::Pass);
    }

    #[test]
    fn a_soak_is_judged_against_a_flat_reference() {
        let leak = soak_leak(&soak(ramp(200_000)));
        assert_eq!(leak.status, Status::Critical, "{}", leak.reason);
        assert!(
            leak.reason.starts_with("a leak: RSS floor +12."),
            "{}",
            leak.reason
        );
        let growth = leak.growth.unwrap().per_min;
        assert!((growth - 12e6).abs() < 1e6, "{growth}");
        let slow = soak_leak(&soak(ramp(20_000)));
        assert_eq!(slow.status, Status::Warn, "{}", slow.reason);
        assert!(
            slow.reason.starts_with("a probable leak: "),
            "{}",
            slow.reason
        );
        let flat = soak_leak(&soak(sawtooth()));
        assert_eq!(flat.status, Status::Pass, "{}", flat.reason);
        assert!(
            flat.reason.starts_with("no leak detected: "),
            "{}",
            flat.reason
        );
        assert!(
            flat.reason.ends_with("leak floor +0.50 MB/min"),
            "{}",
            flat.reason
        );
    }

    #[test]
    fn a_soak_without_usable_samples_is_incomplete_and_says_why() {
        let none = soak_leak(&testing::result());
        assert_eq!(none.status, Status::Incomplete);
        assert!(none.reason.contains("no memory samples"), "{}", none.reason);
        assert_eq!(none.growth, None);
        // 6 one-second samples: fewer floor windows than a slope needs.
        let short = soak_leak(&soak(samples(|_| 50_000_000, 5)));
        assert_eq!(short.status, Status::Incomplete);
        assert!(
            short.reason.contains("too few floor windows"),
            "{}",
            short.reason
        );
    }
}

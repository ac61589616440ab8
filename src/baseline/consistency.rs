//! Whether a stored result holds together: every count agrees with the windows, window histograms
//! and status codes it was made from, and the measured duration with its windows. A file edited by hand or damaged on
//! disk must stop the gate (exit 2, naming the field), not be judged: a baseline claiming 2^64 − 1
//! requests would make any run look like a −100% throughput collapse and fire the rollback.

use crate::result::{RequestStats, RunResult};

/// The first inconsistency of `r`, naming the field and what it disagrees with.
pub fn check(r: &RunResult) -> Result<(), String> {
    if r.requests.is_empty() {
        return Err("it holds no request statistics".into());
    }
    if r.all.requests == 0 {
        return Err("it holds no measured requests".into());
    }
    if r.all.windows.is_empty() {
        return Err("it has no per-window series".into());
    }
    let per_request: u128 = r.requests.values().map(|s| u128::from(s.requests)).sum();
    if per_request != u128::from(r.all.requests) {
        return Err(format!(
            "per-request counts do not add up to `all.requests` ({per_request} against {})",
            r.all.requests
        ));
    }
    stats("all", &r.all)?;
    for (name, s) in &r.requests {
        stats(&format!("requests.{name}"), s)?;
    }
    duration(r)?;
    learned(r)
}

/// A learned τ or MDE that is negative, not a number or absurdly large would silently widen or
/// narrow every later gate's noise guard: stop instead.
fn learned(r: &RunResult) -> Result<(), String> {
    let Some(l) = &r.learned else { return Ok(()) };
    if l.runs == 0 {
        return Err("`learned.runs` is zero".into());
    }
    // τ is a standard deviation of log values: 10 would mean runs differing by e^10, nothing real.
    // An MDE is a relative change: a very noisy metric's may be large, never negative.
    let maps = [
        ("tau", &l.tau, 10.0, "a run-to-run spread (0 to 10)"),
        (
            "observed_tau",
            &l.observed_tau,
            10.0,
            "a run-to-run spread (0 to 10)",
        ),
        (
            "expected_mde",
            &l.expected_mde,
            f64::MAX,
            "a relative change (0 or more)",
        ),
    ];
    for (field, map, most, what) in maps {
        for (metric, v) in map {
            if !v.is_finite() || *v < 0.0 || *v > most {
                return Err(format!(
                    "`learned.{field}.{}` is {v}, not {what}",
                    metric.name()
                ));
            }
        }
    }
    Ok(())
}

fn stats(label: &str, s: &RequestStats) -> Result<(), String> {
    let sum = |f: fn(&crate::result::Window) -> u64| -> u128 {
        s.windows.iter().map(|w| u128::from(f(w))).sum()
    };
    let in_windows = sum(|w| w.requests);
    if in_windows != u128::from(s.requests) {
        return Err(format!(
            "`{label}.requests` is {} but its windows hold {in_windows}",
            s.requests
        ));
    }
    let errors: u128 = [
        s.errors.connect,
        s.errors.timeout,
        s.errors.status,
        s.errors.other,
        s.errors.check,
        s.errors.capture,
        s.errors.redirect,
    ]
    .iter()
    .map(|n| u128::from(*n))
    .sum();
    if errors > u128::from(s.requests) || s.windows.iter().any(|w| w.errors > w.requests) {
        return Err(format!(
            "`{label}.errors`: it counts more errors than requests"
        ));
    }
    let window_errors = sum(|w| w.errors);
    if window_errors != errors {
        return Err(format!(
            "`{label}.errors` add up to {errors} but its windows hold {window_errors}"
        ));
    }
    let latencies = u128::from(s.histogram.count());
    let in_window_histograms: u128 = s
        .windows
        .iter()
        .map(|w| u128::from(w.histogram.count()))
        .sum();
    if latencies != in_window_histograms {
        return Err(format!(
            "`{label}.histogram` holds {latencies} latencies but its windows hold {in_window_histograms}"
        ));
    }
    let answered: u128 = s.status_codes.values().map(|n| u128::from(*n)).sum();
    if answered > u128::from(s.requests) {
        return Err(format!(
            "`{label}.status_codes` add up to {answered}, more than its {} requests",
            s.requests
        ));
    }
    Ok(())
}

/// The measured window is covered by the windows: at most one window more per pooled run or shard
/// (a run's last window, a shard's offset), never more.
fn duration(r: &RunResult) -> Result<(), String> {
    let measured = r.meta.measured_duration_ms;
    if measured == 0 {
        return Err("its measured duration is zero (`meta.measured_duration_ms`)".into());
    }
    let window = r.meta.load.window_ms;
    if window == 0 {
        return Err("`meta.load.window_ms` is zero".into());
    }
    let slack = 1 + r.meta.run_windows.len() as u128;
    let covered = (r.all.windows.len() as u128 + slack) * u128::from(window);
    if u128::from(measured) > covered {
        return Err(format!(
            "`meta.measured_duration_ms` is {measured} but its {} windows of {window} ms cover {} ms",
            r.all.windows.len(),
            r.all.windows.len() as u128 * u128::from(window)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::learned::Learned;
    use crate::result::metric::Metric;
    use crate::result::{testing, Window};

    /// One request name, `windows` windows of 10 requests (1 error each), 1 s each.
    fn sound(windows: u64) -> RunResult {
        let mut r = testing::result();
        r.meta.measured_duration_ms = windows * 1_000;
        let mut s = RequestStats {
            requests: 10 * windows,
            ..Default::default()
        };
        s.errors.status = windows;
        s.status_codes.insert("200".into(), 10 * windows);
        for _ in 0..windows {
            s.windows.push(Window {
                requests: 10,
                errors: 1,
                ..Default::default()
            });
        }
        r.all = s.clone();
        r.requests.insert("a".into(), s);
        r
    }

    fn learned_with(metric: Metric, tau: f64) -> Learned {
        let mut l = Learned {
            runs: 3,
            host_fingerprint: "h".into(),
            tau: Default::default(),
            observed_tau: Default::default(),
            expected_mde: Default::default(),
            not_gated: Vec::new(),
        };
        l.tau.insert(Metric::P50, 0.02);
        l.tau.insert(metric, tau);
        l
    }

    /// A way to damage a sound result, and what the message must say.
    type Damage = (fn(&mut RunResult), &'static str);

    #[test]
    fn every_count_and_the_duration_must_agree_with_the_windows() {
        assert_eq!(check(&sound(3)), Ok(()));
        let mut with_tau = sound(3);
        with_tau.learned = Some(learned_with(Metric::P95, 0.03));
        assert_eq!(check(&with_tau), Ok(()));
        let damaged: [Damage; 8] = [
            (
                |r| r.all.histogram.record(5),
                "`all.histogram` holds 1 latencies but its windows hold 0",
            ),
            (
                |r| {
                    r.all.requests = u64::MAX;
                    if let Some(a) = r.requests.get_mut("a") {
                        a.requests = u64::MAX;
                    }
                },
                "`all.requests` is 18446744073709551615 but its windows hold 30",
            ),
            (
                |r| {
                    r.requests
                        .get_mut("a")
                        .into_iter()
                        .for_each(|a| a.errors.status = 2)
                },
                "`requests.a.errors` add up to 2 but its windows hold 3",
            ),
            (
                |r| {
                    r.all.status_codes.insert("500".into(), 1);
                },
                "`all.status_codes` add up to 31, more than its 30 requests",
            ),
            (
                |r| r.meta.measured_duration_ms = u64::MAX,
                "`meta.measured_duration_ms` is 18446744073709551615",
            ),
            (
                |r| r.meta.load.window_ms = 0,
                "`meta.load.window_ms` is zero",
            ),
            (
                |r| r.learned = Some(learned_with(Metric::P95, -3.0)),
                "`learned.tau.p95` is -3",
            ),
            (
                |r| r.learned = Some(learned_with(Metric::P99, f64::NAN)),
                "`learned.tau.p99` is NaN",
            ),
        ];
        for (damage, needle) in damaged {
            let mut r = sound(3);
            damage(&mut r);
            let e = check(&r).unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }
}

//! The leak rule on the service's memory floor (docs/statistics.md §6): growth counts as a leak
//! only beyond a floor that allocator and cache settling cannot reach.

use crate::stats::Slope;

/// A leak below 0.5 MB/min is indistinguishable from allocator and cache settling in CI-length runs.
pub const LEAK_FLOOR_BYTES_PER_MIN: f64 = 0.5e6;
/// ... or below 2% of the service's memory per hour, whichever is larger.
pub const LEAK_FLOOR_FRACTION_PER_HOUR: f64 = 0.02;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::service::growth;
    use crate::result::testing::samples;

    #[test]
    fn a_flat_sawtooth_is_not_a_leak_and_a_ramp_is() {
        let flat = samples(|t| 50_000_000 + (t.rem_euclid(3) as u64) * 5_000_000, 60);
        let leak = samples(|t| 50_000_000 + t.max(0) as u64 * 200_000, 60); // 12 MB/min
        let (gf, gl) = (
            growth(std::slice::from_ref(&flat), 2_000.0).unwrap(),
            growth(&[leak], 2_000.0).unwrap(),
        );
        let floor = leak_floor(50e6);
        assert!(!leaking(gf, gf, floor, 1.0));
        assert!(leaking(gl, gf, floor, 4.0), "{gl:?}");
        assert!((gl.0.per_min - 12e6).abs() < 1e6);
    }
}

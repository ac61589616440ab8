//! Tests of the change-point detector: known answers of the t distribution, steps found where they
//! are, none in noise or constants, and invariants under arbitrary input (proptest).

use proptest::prelude::*;

use super::*;
use crate::stats::SplitMix64;

/// Relative noise of the synthetic nightly values: 5%, a typical run-to-run spread of a p95.
const NOISE: f64 = 0.05;
/// The level of the synthetic series (e.g. a p95 of 10 ms, in µs).
const LEVEL: f64 = 10_000.0;

/// Standard normal draws (Box–Muller) from a seeded generator.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut uniform = move || ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        })
        .collect()
}

/// `LEVEL` with `NOISE`, multiplied by `factor` from each `(index, factor)` step on.
fn series(seed: u64, n: usize, steps: &[(usize, f64)]) -> Vec<f64> {
    normals(seed, n)
        .into_iter()
        .enumerate()
        .map(|(i, z)| {
            let level = steps
                .iter()
                .filter(|(at, _)| i >= *at)
                .fold(LEVEL, |l, (_, f)| l * f);
            level * (1.0 + NOISE * z)
        })
        .collect()
}

fn indices(found: &[Detected]) -> Vec<usize> {
    found.iter().map(|d| d.index).collect()
}

#[test]
fn a_step_of_20_percent_is_found_at_its_index() {
    for seed in 1..=10 {
        for at in [12, 30, 57, 88] {
            let s = series(seed, 100, &[(at, 1.2)]);
            let found = detect(&s, DetectOptions::default());
            assert_eq!(found.len(), 1, "seed {seed}, step at {at}: {found:?}");
            let d = found[0];
            assert!(
                d.index.abs_diff(at) <= 1,
                "seed {seed}: at {} not {at}",
                d.index
            );
            assert!((d.after / d.before - 1.2).abs() < 0.05, "{d:?}");
            assert!(d.p_value <= DEFAULT_MAX_P);
        }
    }
}

#[test]
fn a_drop_is_found_too() {
    let s = series(3, 60, &[(40, 0.8)]);
    let found = detect(&s, DetectOptions::default());
    assert_eq!(indices(&found).len(), 1, "{found:?}");
    assert!(found[0].index.abs_diff(40) <= 1);
    assert!(found[0].after < found[0].before);
}

#[test]
fn pure_noise_rarely_has_change_points() {
    // At p ≤ 0.001 per test a series may hold a false change point now and then; measured here on
    // 200 seeded 365-run series (a year of nightly runs each).
    let hits = (0..200u64)
        .filter(|&seed| {
            !detect(&series(seed + 10_000, 365, &[]), DetectOptions::default()).is_empty()
        })
        .count();
    assert!(hits <= 2, "{hits} of 200 noise series had a change point");
}

#[test]
fn pure_noise_has_no_change_points() {
    for seed in 100..120 {
        // Year-long series: see `pure_noise_rarely_has_change_points`.
        for n in [30, 60, 100] {
            let s = series(seed, n, &[]);
            let found = detect(&s, DetectOptions::default());
            assert!(found.is_empty(), "seed {seed}, n {n}: {found:?}");
        }
    }
}

#[test]
fn two_steps_give_two_change_points() {
    for seed in 1..=10 {
        let s = series(seed, 120, &[(40, 1.2), (80, 1.25)]);
        let found = indices(&detect(&s, DetectOptions::default()));
        assert_eq!(found.len(), 2, "seed {seed}: {found:?}");
        // Seed 9 draws z = −3.0 and −2.6 on runs 41 and 42, just after the first step, which makes
        // run 43 the best fit: a location is exact only up to the noise (±1 in 98% of 500 trials).
        assert!(
            found[0].abs_diff(40) <= 3 && found[1].abs_diff(80) <= 1,
            "{found:?}"
        );
    }
}

#[test]
fn a_step_and_its_reversal_are_both_found() {
    let s = series(7, 90, &[(30, 1.3), (60, 1.0 / 1.3)]);
    let found = indices(&detect(&s, DetectOptions::default()));
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn constant_series_have_none() {
    for v in [0.0, 1.0, 0.1, 12_345.678] {
        for n in [0, 1, 5, 6, 50, 200] {
            assert!(detect(&vec![v; n], DetectOptions::default()).is_empty());
        }
    }
}

#[test]
fn noiseless_step_is_found_exactly() {
    let mut s = vec![100.0; 20];
    s.extend([120.0; 20]);
    let found = detect(&s, DetectOptions::default());
    assert_eq!(indices(&found), [20]);
    assert_eq!((found[0].before, found[0].after), (100.0, 120.0));
}

#[test]
fn short_series_have_none_and_do_not_panic() {
    for n in 0..2 * MIN_SEGMENT {
        let s: Vec<f64> = (0..n)
            .map(|i| if i < n / 2 { 1.0 } else { 100.0 })
            .collect();
        assert!(detect(&s, DetectOptions::default()).is_empty(), "n = {n}");
    }
}

#[test]
fn a_step_beyond_the_first_window_is_found() {
    // 365 nightly runs, a step at run 300: only the later windows see it.
    let s = series(11, 365, &[(300, 1.2)]);
    let found = indices(&detect(&s, DetectOptions::default()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].abs_diff(300) <= 1);
}

#[test]
fn min_magnitude_drops_small_significant_changes() {
    let s = series(5, 100, &[(50, 1.2)]);
    let strict = DetectOptions {
        min_magnitude: 0.5,
        ..DetectOptions::default()
    };
    assert!(detect(&s, strict).is_empty());
}

#[test]
fn non_finite_values_do_not_panic_or_report_nan() {
    let mut s = series(1, 60, &[(30, 1.2)]);
    s[10] = f64::NAN;
    s[45] = f64::INFINITY;
    for d in detect(&s, DetectOptions::default()) {
        assert!(d.p_value <= DEFAULT_MAX_P);
    }
}

/// Prints how long a year of 8 metrics takes (not asserted: the machine is shared and noisy).
#[test]
fn a_year_of_eight_metrics_is_fast() {
    let metrics: Vec<Vec<f64>> = (0..8)
        .map(|m| series(m, 365, &[(100 + 20 * m as usize, 1.2)]))
        .collect();
    let start = std::time::Instant::now();
    let found: usize = metrics
        .iter()
        .map(|s| detect(s, DetectOptions::default()).len())
        .sum();
    eprintln!(
        "365 points × 8 metrics: {found} change points in {:?}",
        start.elapsed()
    );
    assert!(found >= 8);
}

proptest! {
    #[test]
    fn indices_are_sorted_spaced_and_in_range(
        values in prop::collection::vec(prop_oneof![
            8 => -1e6f64..1e6,
            1 => Just(0.0),
            1 => prop::num::f64::ANY,
        ], 0..160),
        window in 0usize..80,
        max_p in 0.0f64..0.5,
    ) {
        let settings = DetectOptions { window, max_p, ..DetectOptions::default() };
        let found = detect(&values, settings);
        let mut last = 0;
        for d in &found {
            prop_assert!(d.index >= last + MIN_SEGMENT, "{found:?}");
            prop_assert!(d.index + MIN_SEGMENT <= values.len(), "{found:?}");
            prop_assert!(d.p_value <= max_p);
            last = d.index;
        }
    }

    #[test]
    fn steps_in_noise_are_found_near_their_index(seed in 0u64..1_000, at in 10usize..90, up in any::<bool>()) {
        // A 30% step stands out of 5% noise (4.6σ down, 6σ up): it must be found, near its index.
        // Near, not exactly: two unlucky draws beside the step move the best fit by 2 (seed 783,
        // step at 76: z = −2.4, −2.1 just before it); `a_step_of_20_percent_is_found_at_its_index`
        // holds the fixed seeds to ±1.
        let factor = if up { 1.3 } else { 1.0 / 1.3 };
        let s = series(seed, 100, &[(at, factor)]);
        let found = indices(&detect(&s, DetectOptions::default()));
        prop_assert!(found.iter().any(|i| i.abs_diff(at) <= 3), "{found:?}");
    }
}

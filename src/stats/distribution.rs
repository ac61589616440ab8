//! Quantiles of the standard normal and chi-square distributions. statrs does the
//! work (it appears only in `stats/`); these wrappers give the edge cases a value instead of a panic.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Φ⁻¹(p), the standard normal quantile: −∞ at 0, +∞ at 1, NaN for NaN.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    Normal::standard().inverse_cdf(p)
}

/// The p-quantile of χ² with `k` degrees of freedom; NaN when `k` is not positive or `p` is
/// outside [0, 1].
pub fn chi_square_quantile(p: f64, k: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    ChiSquared::new(k).map_or(f64::NAN, |d| d.inverse_cdf(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_quantiles_match_tables() {
        for (p, z) in [
            (0.5, 0.0),
            (0.95, 1.644854),
            (0.975, 1.959964),
            (0.99, 2.326348),
            (1.0 - 0.01 / 8.0, 3.023341),
            (0.001, -3.090232),
        ] {
            assert!(
                close(normal_quantile(p), z, 1e-5),
                "p={p}: {} vs {z}",
                normal_quantile(p)
            );
        }
    }

    #[test]
    fn normal_quantiles_are_the_constants_the_guard_uses() {
        // The guard's power quantiles were written down to 16 digits; statrs agrees to 1e-14.
        // (The rational approximation used before statrs was off by up to 3.8e-8 here.)
        assert!(close(normal_quantile(0.95), 1.644_853_626_951_472_2, 1e-14));
        assert!(close(normal_quantile(0.98), 2.053_748_910_631_823, 1e-14));
        assert!(close(normal_quantile(0.97), 1.880_793_608_151_251, 1e-14));
        assert!(normal_quantile(f64::NAN).is_nan());
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn chi_square_quantile_matches_tables() {
        for (p, k, table) in [
            (0.10, 2.0, 0.2107),
            (0.10, 3.0, 0.5844),
            (0.10, 29.0, 19.768),
            (0.25, 5.0, 2.6746),
            (0.95, 10.0, 18.307),
        ] {
            let q = chi_square_quantile(p, k);
            assert!(close(q, table, 5e-4), "p={p} k={k}: {q} vs {table}");
        }
        assert!(chi_square_quantile(0.5, 0.0).is_nan());
        assert!(chi_square_quantile(1.5, 3.0).is_nan());
    }

    /// The Wilson–Hilferty approximation this module used before statrs, kept to state the change:
    /// calibration reads χ²_{0.10; n−1} (n pairs ≥ 3) and a baseline's learned τ χ²_{0.25; ν} (ν ≥ 5).
    fn wilson_hilferty(p: f64, k: f64) -> f64 {
        let z = normal_quantile(p);
        let a = 2.0 / (9.0 * k);
        (k * (1.0 - a + z * a.sqrt()).powi(3)).max(0.0)
    }

    #[test]
    fn the_exact_quantile_differs_from_the_old_approximation_only_for_few_degrees_of_freedom() {
        let rel = |p: f64, k: f64| wilson_hilferty(p, k) / chi_square_quantile(p, k) - 1.0;
        // Three calibration pairs (k = 2): the approximation was 6.6% low, so the τ upper bound
        // sd·√(k/χ²) was 3.5% high; at k = 3 1.3% low; from k = 4 on within 0.32%.
        assert!(close(rel(0.10, 2.0), -0.0659, 5e-4), "{}", rel(0.10, 2.0));
        assert!(close(rel(0.10, 3.0), -0.0131, 5e-4), "{}", rel(0.10, 3.0));
        for k in 4..=60 {
            assert!(rel(0.10, f64::from(k)).abs() < 0.0032, "k={k}");
        }
        // The learned τ's posterior quantile: at most 0.6% apart (ν = 5), so τ moves by ≤ 0.3%.
        assert!(close(rel(0.25, 5.0), 0.0059, 5e-4), "{}", rel(0.25, 5.0));
        for nu in 5..=60 {
            assert!(rel(0.25, f64::from(nu)).abs() < 0.006, "nu={nu}");
        }
    }
}

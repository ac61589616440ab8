//! Small, dependency-free statistics used by the noise guard: normal quantiles, a chi-square
//! quantile, Wilson and Newcombe intervals, the modified z-score and a seeded RNG.
//! Pure functions; each has its source in a comment and a test against known values.

/// Φ⁻¹(p), the standard normal quantile. Acklam's rational approximation refined by one Halley step
/// (relative error < 1e-9 over (0, 1)).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p_low = 0.02425;
    let x = if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step on Φ(x) − p.
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Φ(x), via the complementary error function (W. J. Cody's rational fit through `erfc`).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// erfc with relative error < 1.2e-7 (Numerical Recipes' Chebyshev fit), enough for Φ before the
/// Halley refinement above.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398
                                    + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The p-quantile of χ² with `k` degrees of freedom (Wilson–Hilferty; within 1% for k ≥ 3).
pub fn chi_square_quantile(p: f64, k: f64) -> f64 {
    let z = normal_quantile(p);
    let a = 2.0 / (9.0 * k);
    (k * (1.0 - a + z * a.sqrt()).powi(3)).max(0.0)
}

/// Wilson score interval for `e` successes in `n` trials at normal quantile `z`.
pub fn wilson(e: f64, n: f64, z: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 1.0);
    }
    let p = e / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// Newcombe's hybrid score interval for p_b − p_a (docs/statistics.md §5); works with zero errors.
pub fn newcombe(e_a: f64, n_a: f64, e_b: f64, n_b: f64, z: f64) -> (f64, f64) {
    let (pa, pb) = (e_a / n_a.max(1.0), e_b / n_b.max(1.0));
    let (la, ua) = wilson(e_a, n_a, z);
    let (lb, ub) = wilson(e_b, n_b, z);
    let d = pb - pa;
    (
        d - ((pb - lb).powi(2) + (ua - pa).powi(2)).sqrt(),
        d + ((ub - pb).powi(2) + (pa - la).powi(2)).sqrt(),
    )
}

/// Median of a slice (NaN-free input); 0 for an empty one.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Modified z-scores (x − median) / (1.4826·MAD), hyperfine's outlier measure. 1.4826 makes the MAD
/// a consistent estimator of σ for normal data. A zero MAD (perfectly steady series) gives zeros,
/// except for values away from the median, which get ±∞.
pub fn modified_z(values: &[f64]) -> Vec<f64> {
    let m = median(values);
    let mad = median(&values.iter().map(|x| (x - m).abs()).collect::<Vec<_>>()) * 1.4826;
    values
        .iter()
        .map(|x| {
            let d = x - m;
            if mad > 0.0 {
                d / mad
            } else if d == 0.0 {
                0.0
            } else {
                f64::INFINITY.copysign(d)
            }
        })
        .collect()
}

/// SplitMix64: a tiny, seeded, reproducible generator, so a re-evaluation gives the same verdict.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// FNV-1a of a string, for seeding from names.
pub fn seed_of(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
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
    fn chi_square_quantile_is_close_to_tables() {
        // χ²_{0.10; 29} = 19.768 (tables).
        assert!(close(chi_square_quantile(0.10, 29.0), 19.768, 0.1));
        assert!(close(chi_square_quantile(0.95, 10.0), 18.307, 0.1));
    }

    #[test]
    fn wilson_and_newcombe() {
        let (l, u) = wilson(0.0, 1000.0, 1.96);
        assert!(l == 0.0 && close(u, 0.00383, 1e-4), "{u}");
        let (lo, hi) = newcombe(1.0, 1000.0, 30.0, 1000.0, 1.96);
        assert!(lo > 0.0 && hi > lo && hi < 0.05);
        let (lo, _) = newcombe(10.0, 1000.0, 10.0, 1000.0, 1.96);
        assert!(lo < 0.0);
    }

    #[test]
    fn modified_z_flags_the_outlier_only() {
        let z = modified_z(&[10.0, 11.0, 10.5, 9.5, 10.0, 50.0]);
        assert!(z[5] > 10.0 && z[..5].iter().all(|v| v.abs() < 3.0), "{z:?}");
        assert_eq!(modified_z(&[5.0, 5.0, 5.0]), vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn rng_is_reproducible_and_uniform_enough() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let mut counts = [0usize; 10];
        for _ in 0..10_000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            counts[x] += 1;
        }
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
    }
}

//! Student's two-sample t-test (pooled variance, two-sided): the test Otava runs on each split of a
//! change-point search, and the special functions it needs.

/// A difference of means below this fraction of the level is rounding, not a change (a constant
/// series' segments can have means that differ in the 16th digit).
const RELATIVE_EPSILON: f64 = 1e-9;

/// Mean of `v`; NaN when empty.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sum of squared deviations from the mean (two-pass, so a constant segment gives exactly 0).
fn squares(v: &[f64], m: f64) -> f64 {
    v.iter().map(|x| (x - m).powi(2)).sum()
}

/// Two-sided p-value of Student's two-sample t-test with pooled variance (scipy's
/// `ttest_ind_from_stats`, as Otava calls it). Two segments without noise and with different means
/// give 0; equal means give 1.
pub fn student_t_p(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 || na + nb <= 2 {
        return 1.0;
    }
    let (ma, mb) = (mean(a), mean(b));
    let diff = mb - ma;
    if !diff.is_finite() {
        return f64::NAN;
    }
    if diff.abs() <= RELATIVE_EPSILON * ma.abs().max(mb.abs()) {
        return 1.0;
    }
    let df = (na + nb - 2) as f64;
    let pooled = (squares(a, ma) + squares(b, mb)) / df;
    let se = (pooled * (1.0 / na as f64 + 1.0 / nb as f64)).sqrt();
    if se == 0.0 {
        return 0.0;
    }
    let t = diff / se;
    // P(|T| > t) for T ~ t(df) is the regularized incomplete beta I_{df/(df+t²)}(df/2, 1/2).
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// Regularized incomplete beta function I_x(a, b), by its continued fraction (Numerical Recipes
/// §6.4, modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    // 300 iterations reach 1e-15 for the a, b ≤ ~500 of any realistic history (NR: O(√max(a, b))).
    const MAX_ITERATIONS: usize = 300;
    const EPS: f64 = 1e-15;
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=MAX_ITERATIONS {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0: Lanczos approximation (g = 7, 9 terms; relative error < 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let a = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_distribution_matches_tables() {
        // Two-sided critical values of Student's t (any statistics table).
        for (t, df, p) in [
            (2.228_f64, 10.0_f64, 0.05),
            (3.169, 10.0, 0.01),
            (4.587, 10.0, 0.001),
            (1.96, 1e6, 0.05),
            (12.706, 1.0, 0.05),
            (3.551, 40.0, 0.001),
        ] {
            let got = incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
            assert!((got - p).abs() < p * 0.01, "t={t} df={df}: {got} vs {p}");
        }
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn t_test_edges() {
        assert_eq!(student_t_p(&[], &[1.0]), 1.0);
        assert_eq!(student_t_p(&[1.0], &[2.0]), 1.0);
        assert_eq!(student_t_p(&[5.0, 5.0, 5.0], &[5.0, 5.0]), 1.0);
        assert_eq!(student_t_p(&[5.0, 5.0, 5.0], &[6.0, 6.0]), 0.0);
        // Means that differ only by rounding (0.1 × 3 / 3 ≠ 0.1 × 4 / 4 in binary) are no change.
        assert_eq!(student_t_p(&[0.1; 3], &[0.1; 4]), 1.0);
        let p = student_t_p(&[1.0, 2.0, 3.0], &[1.5, 2.5, 3.5]);
        assert!(p > 0.5 && p < 1.0, "{p}");
        assert!(student_t_p(&[1.0, f64::NAN], &[2.0, 3.0]).is_nan());
    }
}

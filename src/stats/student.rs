//! Student's two-sample t-test (pooled variance, two-sided): the test Otava runs on each split of a
//! change-point search.

use statrs::distribution::{ContinuousCDF, StudentsT};

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
    two_sided_p(t, df)
}

/// P(|T| > |t|) for T ~ Student's t with `df` degrees of freedom; NaN when `df` is not positive.
pub fn two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    // statrs' survival function is ½·I_{df/(df+t²)}(df/2, 1/2), the incomplete beta this module
    // computed itself before (Numerical Recipes' continued fraction; the two agree to 1e-12).
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * d.sf(t.abs()))
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
            let got = two_sided_p(t, df);
            assert!((got - p).abs() < p * 0.01, "t={t} df={df}: {got} vs {p}");
        }
        assert_eq!(two_sided_p(0.0, 5.0), 1.0);
        assert!(two_sided_p(1.0, 0.0).is_nan());
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

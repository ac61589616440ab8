//! Intervals for proportions: Wilson's score interval for one rate and Newcombe's for the
//! difference of two (error rates).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_and_newcombe() {
        let (l, u) = wilson(0.0, 1000.0, 1.96);
        assert!(l == 0.0 && (u - 0.00383).abs() <= 1e-4, "{u}");
        let (lo, hi) = newcombe(1.0, 1000.0, 30.0, 1000.0, 1.96);
        assert!(lo > 0.0 && hi > lo && hi < 0.05);
        let (lo, _) = newcombe(10.0, 1000.0, 10.0, 1000.0, 1.96);
        assert!(lo < 0.0);
    }
}

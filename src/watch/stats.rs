//! Watch — the tests on counts behind the verdict (docs/watch.md "The maths"): the exact binomial
//! tail, Wald's likelihood ratio for the early verdict, and the conditional test of two Poisson
//! rates for before/after. Pure maths, no I/O.

/// ln n!, exact by summation for small n, Stirling's series beyond (error < 1e-12 there).
pub fn ln_factorial(n: u64) -> f64 {
    if n <= 32 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    let pi2 = 2.0 * std::f64::consts::PI;
    x * x.ln() - x + 0.5 * (pi2 * x).ln() + 1.0 / (12.0 * x) - 1.0 / (360.0 * x.powi(3))
        + 1.0 / (1260.0 * x.powi(5))
}

/// ln P(X = k) for X ~ Binomial(n, p), 0 < p < 1, k ≤ n.
fn ln_pmf(n: u64, k: u64, p: f64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
        + k as f64 * p.ln()
        + (n - k) as f64 * (-p).ln_1p()
}

/// P(X ≥ k) for X ~ Binomial(n, p): the chance of seeing `k` or more errors in `n` requests if the
/// true rate were `p`. Summed term by term from the mode outwards in log space, stopping when the
/// terms no longer change the sum (they fall geometrically away from the mode).
pub fn binomial_upper_tail(n: u64, k: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 || p.is_nan() {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let mean = n as f64 * p;
    // Sum the shorter side: the upper tail when k is above the mean, else 1 − the lower tail.
    let (from, up) = if k as f64 >= mean {
        (k, true)
    } else {
        (k - 1, false)
    };
    let ratio_up = |j: u64| ((n - j) as f64 / (j + 1) as f64) * (p / (1.0 - p));
    let mut term = ln_pmf(n, from, p).exp();
    let mut sum = term;
    let mut j = from;
    loop {
        if up {
            if j >= n {
                break;
            }
            term *= ratio_up(j);
            j += 1;
        } else {
            if j == 0 {
                break;
            }
            term /= ratio_up(j - 1);
            j -= 1;
        }
        sum += term;
        if term <= sum * 1e-17 || term == 0.0 {
            break;
        }
    }
    let tail = if up { sum } else { 1.0 - sum };
    tail.clamp(0.0, 1.0)
}

/// Wald's log likelihood ratio of `k` errors in `n` requests for the rate `p1` against `p0`
/// (0 < p0 < p1 < 1). Under any rate ≤ `p0` its exponential is a non-negative supermartingale, so
/// by Ville's inequality it ever reaches ln(1/α) with probability at most α: the early verdict's
/// false-alarm bound holds however often it is looked at.
pub fn log_likelihood_ratio(n: u64, k: u64, p0: f64, p1: f64) -> f64 {
    let k = k.min(n);
    k as f64 * (p1 / p0).ln() + (n - k) as f64 * ((1.0 - p1) / (1.0 - p0)).ln()
}

/// The alternative the early verdict tests `p0` against: twice the objective's rate, capped halfway
/// to 1 (a 60% objective's alternative is 80%, not 120%).
pub fn alternative(p0: f64) -> f64 {
    (2.0 * p0).min((1.0 + p0) / 2.0)
}

/// One-sided p-value that the rate after (`k_after` in `n_after`) exceeds the rate before
/// (`k_before` in `n_before`) by more than the factor `1 + threshold`. Conditional on the total
/// `m` errors, the after count is Binomial(m, π) with π = n_a(1+t) / (n_a(1+t) + n_b) at the
/// boundary of H0 (errors rare enough for the Poisson approximation, as error rates are).
pub fn rise_p_value(
    k_after: u64,
    n_after: u64,
    k_before: u64,
    n_before: u64,
    threshold: f64,
) -> f64 {
    if n_after == 0 || n_before == 0 {
        return 1.0;
    }
    let m = k_after + k_before;
    let weighted = n_after as f64 * (1.0 + threshold);
    let pi = weighted / (weighted + n_before as f64);
    binomial_upper_tail(m, k_after, pi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Direct summation with exact binomial coefficients, for small n.
    fn naive_tail(n: u64, k: u64, p: f64) -> f64 {
        (k..=n)
            .map(|j| {
                let c: f64 = (0..j).map(|i| (n - i) as f64 / (i + 1) as f64).product();
                c * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32)
            })
            .sum()
    }

    #[test]
    fn tail_matches_known_values() {
        // 1 error in 20 requests at a 1% objective: 1 − 0.99^20.
        let t = binomial_upper_tail(20, 1, 0.01);
        assert!((t - (1.0 - 0.99f64.powi(20))).abs() < 1e-12, "{t}");
        assert_eq!(binomial_upper_tail(20, 0, 0.01), 1.0);
        assert_eq!(binomial_upper_tail(20, 21, 0.01), 0.0);
        // 30 errors in 100 at 1%: astronomically unlikely.
        assert!(binomial_upper_tail(100, 30, 0.01) < 1e-30);
        // Large n near the mean: about one half.
        let mid = binomial_upper_tail(1_000_000, 10_000, 0.01);
        assert!((mid - 0.5).abs() < 0.01, "{mid}");
    }

    #[test]
    fn ln_factorial_is_continuous_at_the_switch() {
        let exact: f64 = (2..=33u64).map(|i| (i as f64).ln()).sum();
        assert!((ln_factorial(33) - exact).abs() < 1e-10);
    }

    #[test]
    fn a_rise_needs_counts_not_ratios() {
        // 1 error in 20 after, none in 200 before: far from evidence.
        assert!(rise_p_value(1, 20, 0, 200, 0.2) > 0.05);
        // 100 errors in 1000 after vs 10 in 1000 before: certain.
        assert!(rise_p_value(100, 1000, 10, 1000, 0.2) < 1e-10);
        // Equal rates are no evidence of a rise.
        assert!(rise_p_value(50, 1000, 50, 1000, 0.1) > 0.5);
    }

    proptest! {
        #[test]
        fn tail_agrees_with_direct_summation(n in 1u64..60, k in 0u64..60, p in 0.001f64..0.999) {
            let k = k.min(n);
            let got = binomial_upper_tail(n, k, p);
            let want = naive_tail(n, k, p);
            prop_assert!((got - want).abs() < 1e-9, "n={n} k={k} p={p}: {got} vs {want}");
        }

        #[test]
        fn tail_falls_as_k_rises_and_rises_with_p(n in 1u64..5000, k in 0u64..5000, p in 0.0001f64..0.5) {
            let k = k.min(n);
            let t = binomial_upper_tail(n, k, p);
            prop_assert!((0.0..=1.0).contains(&t));
            prop_assert!(binomial_upper_tail(n, k + 1, p) <= t + 1e-12);
            prop_assert!(binomial_upper_tail(n, k, (p * 1.5).min(0.99)) >= t - 1e-12);
        }

        #[test]
        fn more_errors_never_lower_the_ratio(n in 1u64..100_000, k in 0u64..1000, p0 in 0.001f64..0.3) {
            let k = k.min(n.saturating_sub(1));
            let p1 = alternative(p0);
            prop_assert!(p1 > p0 && p1 < 1.0);
            prop_assert!(log_likelihood_ratio(n, k + 1, p0, p1) > log_likelihood_ratio(n, k, p0, p1));
        }
    }
}

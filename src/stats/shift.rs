//! A permutation test of "no mean shift in this segment", whose statistic is the best least-squares
//! split: it accounts for the split having been chosen to look strong, which a t-test of that split
//! does not (the confirming test of a change-point search).

use super::rng::SplitMix64;

/// How a [`permutation_p`] runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PermutationTest {
    /// Fewest points on either side of a split.
    pub min_segment: usize,
    /// Permutations B: the smallest p-value is 1/(B+1).
    pub permutations: usize,
    /// The p-value the caller needs: the test stops once its count rules this out.
    pub max_p: f64,
    /// Seed of the shuffles (mixed with the segment's length), so a segment always gets the same p.
    pub seed: u64,
}

/// Largest least-squares split statistic m·n/(m+n)·(x̄ − ȳ)² of `seg` (each side ≥ `min_segment`).
pub fn best_shift(seg: &[f64], min_segment: usize) -> f64 {
    let total: f64 = seg.iter().sum();
    let l = seg.len();
    let mut left = 0.0;
    let mut best = 0.0_f64;
    for (t, v) in seg.iter().enumerate().take(l.saturating_sub(min_segment)) {
        left += v;
        let m = t + 1;
        if m < min_segment {
            continue;
        }
        let (mf, rf) = (m as f64, (l - m) as f64);
        let d = left / mf - (total - left) / rf;
        best = best.max(mf * rf / (mf + rf) * d * d);
    }
    best
}

/// p-value of "no change in `seg`": the share of permutations of `seg` whose best split is at least
/// as strong as the observed one. Stops once the count rules out `test.max_p` (the p-value is then a
/// lower bound).
pub fn permutation_p(seg: &[f64], test: PermutationTest) -> f64 {
    let b = test.permutations;
    let observed = best_shift(seg, test.min_segment);
    if !observed.is_finite() || observed <= 0.0 || seg.len() < 2 * test.min_segment {
        return 1.0;
    }
    // A permutation that ties the observed value up to rounding counts as reaching it.
    let reach = observed * (1.0 - 1e-12);
    let allowed = (test.max_p * (b + 1) as f64).floor() as usize;
    let mut rng = SplitMix64::new(test.seed ^ ((seg.len() as u64) << 32));
    let mut perm = seg.to_vec();
    let mut reached = 0;
    for _ in 0..b {
        for i in (1..perm.len()).rev() {
            perm.swap(i, rng.below(i + 1));
        }
        if best_shift(&perm, test.min_segment) >= reach {
            reached += 1;
            if reached + 1 > allowed {
                break;
            }
        }
    }
    (reached + 1) as f64 / (b + 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: PermutationTest = PermutationTest {
        min_segment: 3,
        permutations: 999,
        max_p: 0.001,
        seed: 7,
    };

    #[test]
    fn the_best_split_of_a_step_is_at_the_step() {
        // 0,0,0,0 | 1,1,1,1: m = n = 4, (x̄ − ȳ)² = 1, so 4·4/8 = 2.
        let step = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(best_shift(&step, 3), 2.0);
        assert_eq!(best_shift(&[5.0; 8], 3), 0.0);
    }

    #[test]
    fn a_clean_step_passes_and_a_constant_or_short_segment_does_not() {
        let mut step = vec![10.0; 20];
        step.extend([20.0; 20]);
        // No permutation splits as well as the step itself: p is the smallest possible, 1/(B+1).
        assert_eq!(permutation_p(&step, TEST), 1.0 / 1000.0);
        assert_eq!(permutation_p(&[3.0; 40], TEST), 1.0);
        assert_eq!(permutation_p(&[1.0, 2.0, 3.0, 4.0, 5.0], TEST), 1.0);
    }

    #[test]
    fn an_alternating_series_is_no_shift() {
        let zigzag: Vec<f64> = (0..40).map(|i| f64::from(i % 2)).collect();
        let p = permutation_p(&zigzag, TEST);
        // Stopped as soon as p could no longer reach max_p: at least 2/(B+1), far above max_p.
        assert!(p > TEST.max_p, "{p}");
    }
}

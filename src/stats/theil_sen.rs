//! Theil–Sen: the median of pairwise slopes, with Sen's (1968) distribution-free bounds — a slope
//! that a few outlying points cannot pull (the growth of a service's memory floor).

use super::distribution::normal_quantile;

/// A slope with Sen's 99% (one-sided) bounds, in the points' y per x (bytes per minute for the
/// memory floor, whose x is in minutes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slope {
    /// Theil–Sen estimate.
    pub per_min: f64,
    /// 99% lower bound.
    pub lower: f64,
    /// 99% upper bound.
    pub upper: f64,
}

impl Slope {
    /// Standard error implied by the bounds.
    pub fn se(&self) -> f64 {
        (self.upper - self.lower) / (2.0 * normal_quantile(0.99))
    }
}

/// Theil–Sen slope with Sen's (1968) distribution-free bounds at 99% one-sided.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<Slope> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dt = points[j].0 - points[i].0;
            if dt != 0.0 {
                slopes.push((points[j].1 - points[i].1) / dt);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let m = slopes.len();
    let median = if m % 2 == 1 {
        slopes[m / 2]
    } else {
        (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0
    };
    let nf = n as f64;
    let var_s = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let c = normal_quantile(0.99) * var_s.sqrt();
    let lo = (((m as f64 - c) / 2.0).round() as isize).clamp(1, m as isize) as usize;
    let hi = ((((m as f64 + c) / 2.0).round() as isize) + 1).clamp(1, m as isize) as usize;
    Some(Slope {
        per_min: median,
        lower: slopes[lo - 1],
        upper: slopes[hi - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theil_sen_finds_a_line_through_noise() {
        let pts: Vec<(f64, f64)> = (0..30)
            .map(|i| {
                (
                    i as f64,
                    2.0 * i as f64 + if i % 7 == 0 { 50.0 } else { 0.0 },
                )
            })
            .collect();
        let s = theil_sen(&pts).unwrap();
        assert!(
            (s.per_min - 2.0).abs() < 0.01 && s.lower <= 2.0 && s.upper >= 2.0,
            "{s:?}"
        );
    }
}

//! Robust summaries of a series: the median and hyperfine's modified z-score.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_z_flags_the_outlier_only() {
        let z = modified_z(&[10.0, 11.0, 10.5, 9.5, 10.0, 50.0]);
        assert!(z[5] > 10.0 && z[..5].iter().all(|v| v.abs() < 3.0), "{z:?}");
        assert_eq!(modified_z(&[5.0, 5.0, 5.0]), vec![0.0, 0.0, 0.0]);
    }
}

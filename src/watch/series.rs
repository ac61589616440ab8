//! Watch — from raw readings to counts: each query's answer at a poll is a set of series (a label
//! set and a value); counters become increases since the watch began (a counter that went down was
//! reset, and counts from zero again, as Prometheus's own `increase()` does), and histogram bucket
//! series become one cumulative histogram of the requests since the watch began. Pure, no I/O.

use std::collections::BTreeMap;

/// One series of a query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its labels (with `le` for a histogram bucket).
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

impl Sample {
    /// A sample with `labels` given as pairs (for tests and the command source).
    pub fn new(labels: &[(&str, &str)], value: f64) -> Self {
        Self {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }

    fn key(&self) -> String {
        self.labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What is wrong with an answer: it cannot be counted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A value is NaN, infinite or negative.
    #[error("series {{{series}}} has the value {value}, not a count")]
    NotACount {
        /// The series' labels.
        series: String,
        /// The value.
        value: f64,
    },
    /// The query matched nothing at this poll.
    #[error("no series")]
    Empty,
    /// A bucket series has no `le` label, or one that is not a number.
    #[error(
        "series {{{series}}} has no numeric `le` label; query the `_bucket` series of a histogram"
    )]
    NoBound {
        /// The series' labels.
        series: String,
    },
    /// Bucket counts fall as the bound rises.
    #[error("histogram buckets are not cumulative: le={upper} holds {upper_count} requests, fewer than the {lower_count} of le={lower}")]
    NotMonotonic {
        /// The lower bound.
        lower: f64,
        /// Its count.
        lower_count: f64,
        /// The higher bound.
        upper: f64,
        /// Its (smaller) count.
        upper_count: f64,
    },
    /// No `le="+Inf"` bucket: the total is unknown.
    #[error(
        "the histogram has no le=\"+Inf\" bucket, so its total is unknown; query every bucket"
    )]
    NoInfBucket,
}

/// Increases of a set of counters since the first reading, per series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counter {
    last: BTreeMap<String, f64>,
    increase: BTreeMap<String, f64>,
    labels: BTreeMap<String, BTreeMap<String, String>>,
    started: bool,
    resets: u64,
}

impl Counter {
    /// Takes a reading. The first one is the starting point; a series seen for the first time after
    /// it started from zero since (a new pod); a value below the last one is a reset. A reading that
    /// cannot be counted changes nothing.
    pub fn observe(&mut self, samples: &[Sample]) -> Result<(), DataError> {
        if samples.is_empty() {
            return Err(DataError::Empty);
        }
        if let Some(bad) = samples
            .iter()
            .find(|s| !s.value.is_finite() || s.value < 0.0)
        {
            return Err(DataError::NotACount {
                series: bad.key(),
                value: bad.value,
            });
        }
        for s in samples {
            let key = s.key();
            let delta = match self.last.get(&key) {
                Some(&last) if s.value >= last => s.value - last,
                Some(_) => {
                    self.resets += 1;
                    s.value
                }
                None if self.started => s.value,
                None => 0.0,
            };
            *self.increase.entry(key.clone()).or_default() += delta;
            self.labels.entry(key.clone()).or_insert(s.labels.clone());
            self.last.insert(key, s.value);
        }
        self.started = true;
        Ok(())
    }

    /// The increase of all series together.
    pub fn total(&self) -> f64 {
        self.increase.values().sum()
    }

    /// Counter resets seen.
    pub fn resets(&self) -> u64 {
        self.resets
    }

    /// The increases grouped by the `le` label: a cumulative histogram, checked.
    pub fn histogram(&self) -> Result<Histogram, DataError> {
        let mut by_le: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        for (key, inc) in &self.increase {
            let labels = &self.labels[key];
            let le = labels
                .get("le")
                .and_then(|v| parse_bound(v))
                .ok_or_else(|| DataError::NoBound {
                    series: key.clone(),
                })?;
            // Total order of non-negative floats (and +Inf) by their bits.
            by_le.entry(le.to_bits()).or_insert((le, 0.0)).1 += inc;
        }
        Histogram::new(by_le.into_values().collect())
    }
}

/// A bucket bound: a number, or `+Inf`.
fn parse_bound(v: &str) -> Option<f64> {
    match v.trim() {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        t => t.parse::<f64>().ok().filter(|b| b.is_finite() && *b >= 0.0),
    }
}

/// A cumulative histogram: (upper bound, requests at or below it), by rising bound, ending at +Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    buckets: Vec<(f64, f64)>,
}

impl Histogram {
    /// Checks that counts rise with the bound (allowing rounding) and that +Inf is there.
    pub fn new(mut buckets: Vec<(f64, f64)>) -> Result<Self, DataError> {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
            return Err(DataError::NoInfBucket);
        }
        for w in buckets.windows(2) {
            let ((lower, lower_count), (upper, upper_count)) = (w[0], w[1]);
            // Buckets are scraped at slightly different instants on a live server; a shortfall
            // under one request is that, not a broken histogram.
            if upper_count + 0.5 < lower_count {
                return Err(DataError::NotMonotonic {
                    lower,
                    lower_count,
                    upper,
                    upper_count,
                });
            }
        }
        Ok(Self { buckets })
    }

    /// Requests counted.
    pub fn total(&self) -> f64 {
        self.buckets.last().map_or(0.0, |b| b.1)
    }

    /// The largest finite bound.
    pub fn largest_bound(&self) -> Option<f64> {
        self.buckets
            .iter()
            .rev()
            .map(|b| b.0)
            .find(|b| b.is_finite())
    }

    /// The `q` quantile, interpolated linearly within its bucket as `histogram_quantile` does;
    /// `None` without requests. In the +Inf bucket it is the largest finite bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut prev = (0.0, 0.0);
        for &(le, count) in &self.buckets {
            if count >= rank {
                if le.is_infinite() {
                    return Some(prev.0);
                }
                let within = count - prev.1;
                let fraction = if within > 0.0 {
                    (rank - prev.1) / within
                } else {
                    1.0
                };
                return Some(prev.0 + (le - prev.0) * fraction.clamp(0.0, 1.0));
            }
            prev = (le, count);
        }
        self.largest_bound()
    }

    /// Requests above `bound`, interpolating within its bucket (rounded down: a request is slow
    /// only when the counts say so); `None` when `bound` is beyond the largest finite bucket, where
    /// the histogram cannot tell.
    pub fn above(&self, bound: f64) -> Option<u64> {
        let mut prev = (0.0, 0.0);
        for &(le, count) in &self.buckets {
            if le.is_infinite() {
                return None;
            }
            if le >= bound {
                let fraction = if le > prev.0 {
                    (bound - prev.0) / (le - prev.0)
                } else {
                    1.0
                };
                let at_or_below = prev.1 + (count - prev.1) * fraction.clamp(0.0, 1.0);
                return Some((self.total() - at_or_below).max(0.0).floor() as u64);
            }
            prev = (le, count);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(v: f64) -> Vec<Sample> {
        vec![Sample::new(&[("job", "api")], v)]
    }

    #[test]
    fn a_reset_counts_from_zero_and_is_no_drop() {
        let mut k = Counter::default();
        for v in [100.0, 150.0, 5.0, 20.0] {
            k.observe(&c(v)).unwrap();
        }
        assert_eq!(k.total(), 50.0 + 5.0 + 15.0);
        assert_eq!(k.resets(), 1);
    }

    #[test]
    fn a_new_series_counts_whole_and_the_first_reading_is_the_start() {
        let mut k = Counter::default();
        k.observe(&[Sample::new(&[("pod", "a")], 1000.0)]).unwrap();
        k.observe(&[
            Sample::new(&[("pod", "a")], 1010.0),
            Sample::new(&[("pod", "b")], 7.0),
        ])
        .unwrap();
        assert_eq!(k.total(), 17.0);
    }

    #[test]
    fn nan_negative_and_nothing_are_not_counts() {
        let mut k = Counter::default();
        assert_eq!(k.observe(&[]), Err(DataError::Empty));
        assert!(matches!(
            k.observe(&c(f64::NAN)),
            Err(DataError::NotACount { .. })
        ));
        assert!(matches!(
            k.observe(&c(-1.0)),
            Err(DataError::NotACount { .. })
        ));
        assert!(!k.started);
    }

    fn buckets(pairs: &[(&str, f64)]) -> Vec<Sample> {
        pairs
            .iter()
            .map(|(le, v)| Sample::new(&[("le", le)], *v))
            .collect()
    }

    #[test]
    fn bucket_increases_make_a_histogram() {
        let mut k = Counter::default();
        k.observe(&buckets(&[("0.1", 10.0), ("0.5", 20.0), ("+Inf", 20.0)]))
            .unwrap();
        k.observe(&buckets(&[("0.1", 90.0), ("0.5", 120.0), ("+Inf", 120.0)]))
            .unwrap();
        let h = k.histogram().unwrap();
        assert_eq!(h.total(), 100.0);
        // 80 of 100 at or below 0.1 s: p50 within the first bucket, p95 within the second.
        assert!((h.quantile(0.5).unwrap() - 0.0625).abs() < 1e-9);
        assert!((h.quantile(0.95).unwrap() - (0.1 + 0.4 * 0.75)).abs() < 1e-9);
        assert_eq!(h.above(0.1), Some(20));
        assert_eq!(h.above(0.3), Some(10));
        assert_eq!(h.above(1.0), None);
    }

    #[test]
    fn broken_histograms_are_errors() {
        assert!(matches!(
            Histogram::new(vec![(0.1, 10.0), (0.5, 5.0), (f64::INFINITY, 10.0)]),
            Err(DataError::NotMonotonic { .. })
        ));
        assert_eq!(
            Histogram::new(vec![(0.1, 10.0)]),
            Err(DataError::NoInfBucket)
        );
        let mut k = Counter::default();
        k.observe(&[Sample::new(&[("job", "x")], 1.0)]).unwrap();
        assert!(matches!(k.histogram(), Err(DataError::NoBound { .. })));
    }

    proptest! {
        #[test]
        fn increases_never_go_down_whatever_the_readings(values in proptest::collection::vec(0.0f64..1e9, 1..40)) {
            let mut k = Counter::default();
            let mut before = 0.0;
            for v in values {
                k.observe(&c(v)).unwrap();
                prop_assert!(k.total() >= before);
                before = k.total();
            }
        }

        #[test]
        fn quantiles_rise_with_q(counts in proptest::collection::vec(0u32..1000, 1..10)) {
            let mut acc = 0.0;
            let mut b: Vec<(f64, f64)> = counts.iter().enumerate().map(|(i, c)| {
                acc += f64::from(*c);
                ((i + 1) as f64 * 0.1, acc)
            }).collect();
            b.push((f64::INFINITY, acc));
            let h = Histogram::new(b).unwrap();
            let qs: Vec<Option<f64>> = [0.5, 0.9, 0.95, 0.99].iter().map(|q| h.quantile(*q)).collect();
            for w in qs.windows(2) {
                if let (Some(a), Some(b)) = (w[0], w[1]) {
                    prop_assert!(a <= b + 1e-12);
                }
            }
        }
    }
}

//! Per-window latency histograms, kept compact: the recorder and every `RunResult` hold one per request
//! name per window, so their memory must follow what was recorded, not the histogram's value range.
//!
//! A dense HdrHistogram of microseconds costs 40 KB once it has seen a 10 ms value and ~140 KB past a
//! minute, whatever it holds; a one-second window of one request name holds a few hundred distinct
//! buckets. Here the recorded buckets are stored as varint pairs (value delta, count): typically 2 to 3
//! bytes each, so a long soak's windows cost kilobytes instead of megabytes. Values are the buckets'
//! representative values, so converting to and from [`LatencyHistogram`] is exact, and the file format
//! (V2 + DEFLATE, base64) is the dense histogram's.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::LatencyHistogram;

/// Recorded `(value_us, count)` buckets in ascending value order, varint-encoded.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CompactHistogram {
    bytes: Vec<u8>,
    count: u64,
}

impl CompactHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// The buckets of `dense`.
    pub fn from_dense(dense: &LatencyHistogram) -> Self {
        Self::from_sorted(dense.buckets())
    }

    /// The same counts as a dense histogram (for quantiles, and to serialize).
    pub fn to_dense(&self) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for (v, c) in self.buckets() {
            h.record_n(v, c);
        }
        h
    }

    /// From buckets in strictly ascending value order with non-zero counts.
    fn from_sorted(buckets: impl Iterator<Item = (u64, u64)>) -> Self {
        let mut out = Self::default();
        let mut previous = 0;
        for (v, c) in buckets.filter(|&(_, c)| c > 0) {
            put_varint(&mut out.bytes, v - previous);
            put_varint(&mut out.bytes, c);
            previous = v;
            out.count += c;
        }
        out.bytes.shrink_to_fit();
        out
    }

    /// Recorded `(value_us, count)` pairs in ascending value order, as [`LatencyHistogram::buckets`].
    pub fn buckets(&self) -> Buckets<'_> {
        Buckets {
            bytes: &self.bytes,
            value: 0,
        }
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }

    /// Adds every count of `other` into `self`. Exact, like [`LatencyHistogram::merge`].
    pub fn merge(&mut self, other: &CompactHistogram) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            self.clone_from(other);
            return;
        }
        *self = Self::from_sorted(MergeSorted::new(self.buckets(), other.buckets()));
    }

    /// Adds every count of a dense histogram into `self`.
    pub fn merge_dense(&mut self, other: &LatencyHistogram) {
        if other.count() == 0 {
            return;
        }
        *self = Self::from_sorted(MergeSorted::new(self.buckets(), other.buckets()));
    }

    /// Records one latency. Goes through a dense histogram to find the value's bucket, so it costs a
    /// conversion: for building windows in tests and simulations, not for the hot path (the recorder
    /// records into dense histograms and hands over each window once).
    pub fn record(&mut self, us: u64) {
        let mut dense = self.to_dense();
        dense.record(us);
        *self = Self::from_dense(&dense);
    }

    /// Value at quantile `q` in [0, 1], exactly as [`LatencyHistogram::quantile_us`]; `None` when empty.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.is_empty() {
            return None;
        }
        self.to_dense().quantile_us(q)
    }

    /// Arithmetic mean, exactly as [`LatencyHistogram::mean_us`]; `None` when empty.
    pub fn mean_us(&self) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        self.to_dense().mean_us()
    }
}

impl From<&LatencyHistogram> for CompactHistogram {
    fn from(dense: &LatencyHistogram) -> Self {
        Self::from_dense(dense)
    }
}

impl From<LatencyHistogram> for CompactHistogram {
    fn from(dense: LatencyHistogram) -> Self {
        Self::from_dense(&dense)
    }
}

/// Decodes the buckets of a [`CompactHistogram`].
pub struct Buckets<'a> {
    bytes: &'a [u8],
    value: u64,
}

impl Iterator for Buckets<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        let delta = take_varint(&mut self.bytes)?;
        let count = take_varint(&mut self.bytes)?;
        self.value += delta;
        Some((self.value, count))
    }
}

/// Two ascending bucket streams as one, equal values summed.
struct MergeSorted<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> MergeSorted<A, B>
where
    A: Iterator<Item = (u64, u64)>,
    B: Iterator<Item = (u64, u64)>,
{
    fn new(a: A, b: B) -> Self {
        Self {
            a: a.peekable(),
            b: b.peekable(),
        }
    }
}

impl<A, B> Iterator for MergeSorted<A, B>
where
    A: Iterator<Item = (u64, u64)>,
    B: Iterator<Item = (u64, u64)>,
{
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        match (self.a.peek().copied(), self.b.peek().copied()) {
            (Some((va, ca)), Some((vb, cb))) => {
                if va < vb {
                    self.a.next()
                } else if vb < va {
                    self.b.next()
                } else {
                    self.a.next();
                    self.b.next();
                    Some((va, ca + cb))
                }
            }
            (Some(_), None) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl fmt::Debug for CompactHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactHistogram")
            .field("count", &self.count)
            .field("heap_bytes", &self.bytes.len())
            .finish()
    }
}

impl Serialize for CompactHistogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_dense().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CompactHistogram {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LatencyHistogram::deserialize(d).map(|h| Self::from_dense(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dense(values: &[u64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for &v in values {
            h.record(v);
        }
        h
    }

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut slice = out.as_slice();
            assert_eq!(take_varint(&mut slice), Some(v));
            assert!(slice.is_empty());
        }
        assert_eq!(take_varint(&mut [0x80u8].as_slice()), None, "truncated");
    }

    #[test]
    fn a_busy_window_is_far_smaller_than_its_dense_histogram() {
        // 10k requests spread from 50 µs to 20 ms: the dense histogram spans 6 buckets of 1024 u64.
        let values: Vec<u64> = (0..10_000u64).map(|i| 50 + (i * i) % 20_000).collect();
        let c = CompactHistogram::from_dense(&dense(&values));
        assert_eq!(c.count(), 10_000);
        assert!(
            c.heap_bytes() < 16 * 1024,
            "{} bytes for {} buckets",
            c.heap_bytes(),
            c.buckets().count()
        );
    }

    proptest! {
        #[test]
        fn conversions_and_statistics_are_exact(values in prop::collection::vec(0u64..5_000_000, 0..300)) {
            let d = dense(&values);
            let c = CompactHistogram::from_dense(&d);
            prop_assert_eq!(c.count(), d.count());
            prop_assert!(c.buckets().eq(d.buckets()));
            prop_assert_eq!(c.to_dense(), d.clone());
            for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
                prop_assert_eq!(c.quantile_us(q), d.quantile_us(q));
            }
            prop_assert_eq!(c.mean_us(), d.mean_us());
        }

        #[test]
        fn merging_matches_the_dense_merge(
            a in prop::collection::vec(0u64..2_000_000, 0..200),
            b in prop::collection::vec(0u64..2_000_000, 0..200),
        ) {
            let (da, db) = (dense(&a), dense(&b));
            let mut expected = da.clone();
            expected.merge(&db);
            let mut c = CompactHistogram::from_dense(&da);
            c.merge(&CompactHistogram::from_dense(&db));
            prop_assert_eq!(c.to_dense(), expected.clone());
            let mut c = CompactHistogram::from_dense(&da);
            c.merge_dense(&db);
            prop_assert_eq!(c.to_dense(), expected);
        }

        #[test]
        fn recording_matches_the_dense_histogram(values in prop::collection::vec(0u64..100_000, 0..50)) {
            let mut c = CompactHistogram::new();
            for &v in &values {
                c.record(v);
            }
            prop_assert_eq!(c.to_dense(), dense(&values));
        }
    }
}

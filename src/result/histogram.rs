//! Latency histograms: the lossless unit of measurement that flows from `load` to `compare`.
//!
//! A thin newtype over an HdrHistogram of microseconds. It serializes as HdrHistogram's V2 format with
//! DEFLATE, base64-encoded, so a stored baseline keeps every recorded value at 3 significant digits and
//! results from several workers merge exactly. Latency never lives in a `Vec` of samples.

use std::fmt;

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{
    Deserialize, Deserializer as SerdeDeserializer, Serialize, Serializer as SerdeSerializer,
};

/// 3 significant digits: values are quantized by at most 0.1%, far below any threshold we gate on.
const SIGNIFICANT_DIGITS: u8 = 3;
/// One hour in µs: the longest latency we can represent. Longer values are clamped (a request timeout
/// is always far shorter), so recording never fails.
pub const MAX_TRACKABLE_US: u64 = 3_600_000_000;

/// Latency distribution in microseconds.
#[derive(Clone)]
pub struct LatencyHistogram(Histogram<u64>);

impl LatencyHistogram {
    /// An empty histogram that grows to the range of the values it sees.
    pub fn new() -> Self {
        // `Histogram::new` only fails for sigfig > 5; 3 is a constant.
        #[expect(clippy::expect_used, reason = "constant, valid significant digits")]
        let h = Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is valid");
        Self(h)
    }

    /// Records one latency. Zero is stored as 1 µs (the histogram's lowest discernible value).
    pub fn record(&mut self, us: u64) {
        let us = us.clamp(1, MAX_TRACKABLE_US);
        // `record` grows the auto-resizing histogram; `saturating_record` would not, and would clamp
        // every value to the current range.
        if self.0.record(us).is_err() {
            self.0.saturating_record(us);
        }
    }

    /// Records `n` occurrences of one latency.
    pub fn record_n(&mut self, us: u64, n: u64) {
        let us = us.clamp(1, MAX_TRACKABLE_US);
        if n > 0 && self.0.record_n(us, n).is_err() {
            self.0.saturating_record_n(us, n);
        }
    }

    /// Records one latency and back-fills the values a closed-loop user would have measured had it
    /// sent at its intended `interval_us` cadence (coordinated-omission correction).
    pub fn record_corrected(&mut self, us: u64, interval_us: u64) {
        let us = us.clamp(1, MAX_TRACKABLE_US);
        if interval_us == 0 || self.0.record_correct(us, interval_us).is_err() {
            self.record(us);
        }
    }

    /// Adds every count of `other` into `self`. Exact: merging is associative and commutative.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Both sides auto-resize and share lowest value and precision, so `add` cannot fail; fall back to
        // value-by-value merging if a future hdrhistogram version disagrees.
        if self.0.add(&other.0).is_err() {
            for v in other.0.iter_recorded() {
                let _ = self.0.record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Value at quantile `q` in [0, 1]; `None` when empty.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        (!self.0.is_empty()).then(|| self.0.value_at_quantile(q))
    }

    /// Arithmetic mean; `None` when empty. The same number as HdrHistogram's `mean` (each bucket
    /// at its median-equivalent value, summed in value order), in a walk several times cheaper than
    /// its generic iterator: `compare` takes the mean of every request on both sides.
    pub fn mean_us(&self) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let n = self.0.len() as f64;
        Some(self.recorded().fold(0.0, |total, (lowest, count)| {
            total + self.0.median_equivalent(lowest) as f64 * count as f64 / n
        }))
    }

    /// Largest recorded value (bucket-equivalent); `None` when empty.
    pub fn max_us(&self) -> Option<u64> {
        (!self.0.is_empty()).then(|| self.0.max())
    }

    /// Smallest recorded value; `None` when empty.
    pub fn min_us(&self) -> Option<u64> {
        (!self.0.is_empty()).then(|| self.0.min())
    }

    /// Recorded `(value_us, count)` pairs in ascending value order, each at its bucket's highest
    /// equivalent value (as HdrHistogram's `iter_recorded` reports them).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.recorded()
            .map(|(lowest, count)| (self.0.highest_equivalent(lowest), count))
    }

    /// Recorded `(value_us, count)` pairs in ascending value order, each at its bucket's lowest
    /// equivalent value: every value counted is at least that, which a bound that must never
    /// overstate a latency needs (`load::abort`).
    pub fn buckets_from_below(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.recorded()
    }

    /// `(lowest equivalent value, count)` of each non-empty bucket in ascending order: a walk from
    /// bucket to bucket between the smallest and largest recorded values. HdrHistogram's
    /// `iter_recorded` visits the same buckets but pays for quantile bookkeeping at every step, and
    /// this walk is on the recorder's path (each window is handed over through it).
    fn recorded(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let h = &self.0;
        let last = h.max();
        let mut next = (!h.is_empty()).then(|| h.min());
        std::iter::from_fn(move || loop {
            let at = next.filter(|&v| v <= last)?;
            let after = h.next_non_equivalent(at);
            // The top bucket saturates at u64::MAX: stop rather than visit it again.
            next = (after > at).then_some(after);
            let count = h.count_at(at);
            if count > 0 {
                return Some((at, count));
            }
        })
    }

    /// V2 + DEFLATE, base64 (standard alphabet, padded).
    pub fn to_base64(&self) -> Result<String, HistogramCodecError> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.0, &mut bytes)
            .map_err(|e| HistogramCodecError(format!("cannot encode histogram: {e:?}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// Inverse of [`LatencyHistogram::to_base64`].
    pub fn from_base64(text: &str) -> Result<Self, HistogramCodecError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| HistogramCodecError(format!("histogram is not valid base64: {e}")))?;
        check_header(&bytes)?;
        let mut h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| {
                HistogramCodecError(format!("histogram is not HdrHistogram V2 data: {e:?}"))
            })?;
        h.auto(true);
        Ok(Self(h))
    }
}

/// Largest V2 payload accepted: 9 bytes (the longest varint) per count of a 3-digit histogram up to
/// an hour is ~200 KB; a stored file that claims more is corrupt or hostile.
const MAX_PAYLOAD_BYTES: usize = 16 << 20;

/// The highest trackable value loadgate's histograms ever declare: auto-resizing stops at the
/// bucket holding [`MAX_TRACKABLE_US`], which ends below twice that.
const MAX_DECLARED_HIGH: u64 = 2 * MAX_TRACKABLE_US;

/// HdrHistogram's deserializer allocates what the header claims before reading the data: a payload
/// length (gigabytes, found by fuzzing, `fuzz/regressions`), and counts for the declared precision
/// and range (5 significant digits over 2^62 makes a 75 KB file cost seconds of CPU to load).
/// Reads the inner header of a compressed V2 histogram (outer cookie and length, then the zlib
/// stream's cookie, payload length, index offset, significant digits, lowest and highest values)
/// and refuses anything loadgate never writes, before the deserializer sees it.
fn check_header(bytes: &[u8]) -> Result<(), HistogramCodecError> {
    use std::io::Read;
    let Some(compressed) = bytes.get(8..) else {
        return Ok(()); // too short for a header: the deserializer says so
    };
    let mut inner = [0u8; 32];
    if flate2::read::ZlibDecoder::new(compressed)
        .read_exact(&mut inner)
        .is_err()
    {
        return Ok(()); // not zlib, or truncated: the deserializer says so
    }
    let be32 =
        |at: usize| u32::from_be_bytes([inner[at], inner[at + 1], inner[at + 2], inner[at + 3]]);
    let be64 = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&inner[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let corrupt = |what: String| Err(HistogramCodecError(format!("{what}: the data is corrupt")));
    let claimed = be32(4) as usize;
    if claimed > MAX_PAYLOAD_BYTES {
        return corrupt(format!(
            "histogram claims a {claimed}-byte payload (at most {MAX_PAYLOAD_BYTES} is plausible)"
        ));
    }
    let digits = be32(12);
    if digits != u32::from(SIGNIFICANT_DIGITS) {
        return corrupt(format!(
            "histogram declares {digits} significant digits (loadgate writes {SIGNIFICANT_DIGITS})"
        ));
    }
    let (lowest, highest) = (be64(16), be64(24));
    if lowest != 1 {
        return corrupt(format!(
            "histogram declares a lowest value of {lowest} µs (loadgate writes 1)"
        ));
    }
    if highest > MAX_DECLARED_HIGH {
        return corrupt(format!(
            "histogram declares values up to {highest} µs (loadgate's stop below {MAX_DECLARED_HIGH})"
        ));
    }
    Ok(())
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for LatencyHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.count() == other.count() && self.buckets().eq(other.buckets())
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count())
            .field("min_us", &self.min_us())
            .field("max_us", &self.max_us())
            .finish()
    }
}

/// A histogram could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct HistogramCodecError(String);

impl Serialize for LatencyHistogram {
    fn serialize<S: SerdeSerializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.to_base64().map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: SerdeDeserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_losslessly() {
        let mut h = LatencyHistogram::new();
        for v in [1, 50, 999, 1_000, 12_345, 2_000_000] {
            h.record(v);
        }
        let back = LatencyHistogram::from_base64(&h.to_base64().unwrap()).unwrap();
        assert_eq!(h, back);
        assert_eq!(back.count(), 6);
        // Values keep their magnitude (regression: an auto-resizing histogram once clamped to 2us).
        assert_eq!(back.max_us().unwrap() / 1000, 2_000);
        assert_eq!(back.quantile_us(0.5).unwrap(), 999);
    }

    #[test]
    fn a_header_claiming_a_huge_payload_is_refused_before_allocating() {
        // Found by fuzzing: a V2 header claiming ~2.2 GB made the deserializer allocate it.
        let mut h = LatencyHistogram::new();
        h.record(1_000);
        let good = base64::engine::general_purpose::STANDARD
            .decode(h.to_base64().unwrap())
            .unwrap();
        let mut inner = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&good[8..]), &mut inner)
            .unwrap();
        inner[4..8].copy_from_slice(&0x8400_0000u32.to_be_bytes());
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &inner).unwrap();
        let z = z.finish().unwrap();
        let mut bad = good[..4].to_vec();
        bad.extend_from_slice(&(z.len() as u32).to_be_bytes());
        bad.extend_from_slice(&z);
        let text = base64::engine::general_purpose::STANDARD.encode(bad);
        let err = LatencyHistogram::from_base64(&text).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
        // The untouched histogram still decodes.
        assert_eq!(
            LatencyHistogram::from_base64(&h.to_base64().unwrap()).unwrap(),
            h
        );
    }

    /// `h` encoded, with its inner V2 header patched by `patch`.
    fn patched(h: &LatencyHistogram, patch: impl Fn(&mut Vec<u8>)) -> String {
        let good = base64::engine::general_purpose::STANDARD
            .decode(h.to_base64().unwrap())
            .unwrap();
        let mut inner = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&good[8..]), &mut inner)
            .unwrap();
        patch(&mut inner);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &inner).unwrap();
        let z = z.finish().unwrap();
        let mut bad = good[..4].to_vec();
        bad.extend_from_slice(&(z.len() as u32).to_be_bytes());
        bad.extend_from_slice(&z);
        base64::engine::general_purpose::STANDARD.encode(bad)
    }

    /// A patch to a V2 header, and what the refusal must say.
    type HeaderPatch = (fn(&mut Vec<u8>), &'static str);

    #[test]
    fn precision_and_range_loadgate_never_writes_are_refused_before_allocating() {
        let mut h = LatencyHistogram::new();
        h.record(1_000);
        h.record(MAX_TRACKABLE_US);
        let cases: [HeaderPatch; 3] = [
            (
                |b| b[12..16].copy_from_slice(&5u32.to_be_bytes()),
                "declares 5 significant digits",
            ),
            (
                |b| b[24..32].copy_from_slice(&(1u64 << 62).to_be_bytes()),
                "declares values up to 4611686018427387904",
            ),
            (
                |b| b[16..24].copy_from_slice(&1000u64.to_be_bytes()),
                "lowest value of 1000",
            ),
        ];
        for (patch, needle) in cases {
            let err = LatencyHistogram::from_base64(&patched(&h, patch))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle) && err.contains("corrupt"), "{err}");
        }
        // The largest histogram loadgate writes still decodes.
        assert_eq!(
            LatencyHistogram::from_base64(&h.to_base64().unwrap()).unwrap(),
            h
        );
    }

    #[test]
    fn zero_and_huge_values_are_clamped_not_lost() {
        let mut h = LatencyHistogram::new();
        h.record(0);
        h.record(u64::MAX);
        assert_eq!(h.count(), 2);
        assert_eq!(h.min_us(), Some(1));
    }

    #[test]
    fn correction_backfills_missed_intervals() {
        let mut h = LatencyHistogram::new();
        h.record_corrected(10_000, 1_000);
        // 10 ms at an intended 1 ms cadence: the 9 requests that would have waited are added.
        assert_eq!(h.count(), 10);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(LatencyHistogram::from_base64("not base64!").is_err());
        assert!(LatencyHistogram::from_base64("aGVsbG8=").is_err());
    }

    proptest! {
        /// The bucket walk sees exactly HdrHistogram's recorded buckets, and the mean is its mean to
        /// the bit: values over many magnitudes, with zero (possible in a decoded file) and the clamp.
        #[test]
        fn the_bucket_walk_is_hdrhistograms_iteration(
            values in proptest::collection::vec(
                (prop_oneof![0u64..3, 1u64..5_000, 1u64..MAX_TRACKABLE_US, Just(MAX_TRACKABLE_US)], 1u64..1_000),
                0..200),
        ) {
            let mut raw = Histogram::<u64>::new(SIGNIFICANT_DIGITS).unwrap();
            for &(v, n) in &values {
                raw.record_n(v, n).unwrap();
            }
            let h = LatencyHistogram(raw.clone());
            let want: Vec<(u64, u64)> = raw
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
            prop_assert_eq!(h.buckets().collect::<Vec<_>>(), want);
            let mean = h.mean_us();
            prop_assert_eq!(mean.map(f64::to_bits), (!raw.is_empty()).then(|| raw.mean().to_bits()));
        }

        #[test]
        fn merge_is_associative(a in proptest::collection::vec(1u64..10_000_000, 0..50),
                                b in proptest::collection::vec(1u64..10_000_000, 0..50),
                                c in proptest::collection::vec(1u64..10_000_000, 0..50)) {
            let mk = |vs: &[u64]| { let mut h = LatencyHistogram::new(); for v in vs { h.record(*v); } h };
            let (ha, hb, hc) = (mk(&a), mk(&b), mk(&c));
            let mut left = ha.clone(); left.merge(&hb); left.merge(&hc);
            let mut bc = hb.clone(); bc.merge(&hc);
            let mut right = ha.clone(); right.merge(&bc);
            prop_assert_eq!(left.count(), (a.len() + b.len() + c.len()) as u64);
            prop_assert_eq!(left, right);
        }
    }
}

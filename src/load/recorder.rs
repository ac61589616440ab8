//! Per-request recording: latency (µs) into HdrHistograms per request name, status codes, error kinds
//! and per-window series — without a global lock on the hot path.
//!
//! Each goose user records into its own shard (`user index % shards`), so the only lock taken per
//! request is uncontended. A shard hands its finished window to the shared collector once per
//! window, not once per request. `finish` merges everything exactly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::result::{ErrorCounts, LatencyHistogram, LatencySummary, RequestStats, Window};

/// Why a request failed, judged by loadgate (goose's own success flag is not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Could not connect.
    Connect,
    /// No complete response within the request timeout.
    Timeout,
    /// A response with an unexpected status.
    Status,
    /// Another transport or body error.
    Other,
    /// A response failed a check.
    Check,
    /// A capture found nothing in the response.
    Capture,
    /// A redirect to another host, not followed.
    Redirect,
}

/// The outcome of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Headers time plus body read. Recorded only when a response arrived.
    pub latency_us: u64,
    /// HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Failure kind, if the request failed.
    pub error: Option<ErrorKind>,
    /// With [`ErrorKind::Check`]: the index of the first failing check of the request.
    pub check: Option<u16>,
}

#[derive(Default)]
struct Acc {
    requests: u64,
    errors: ErrorCounts,
    status_codes: BTreeMap<u16, u64>,
    histogram: LatencyHistogram,
    window: OpenWindow,
    failed_checks: Vec<u64>,
}

/// A shard's current window: dense, so recording stays a few nanoseconds; handed to the collector in
/// compact form once the shard moves on.
#[derive(Default)]
struct OpenWindow {
    requests: u64,
    errors: u64,
    histogram: LatencyHistogram,
}

struct Shard {
    window_index: Option<usize>,
    per_request: Vec<Acc>,
}

/// Timing of the measured window.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Start of the measured window (end of ramp-up).
    pub measure_from: Instant,
    /// Intended end of the measured window.
    pub measure_until: Instant,
    /// Width of one window.
    pub window: Duration,
}

/// Collects the outcomes of every user of one run.
pub struct Recorder {
    timing: Timing,
    shards: Vec<Mutex<Shard>>,
    /// `windows[request][index]`, filled as shards close windows.
    collected: Mutex<Vec<Vec<Window>>>,
    names: Vec<String>,
    sent: AtomicU64,
    warmup: AtomicU64,
    max_requests: u64,
    co_interval_us: Option<u64>,
    /// Check names per request, for `failed_checks`.
    check_names: Vec<Vec<String>>,
    /// Requests not sent (missing variable, feeder exhausted) in the measured window, per request.
    not_sent: Vec<AtomicU64>,
    /// Per request: sent once per user (`on_start`), so counted even during the ramp-up.
    once: Vec<bool>,
}

impl Recorder {
    /// A recorder for requests named `names` (indexed as given), with `shards` shards (one per user
    /// is ideal: no contention at all).
    pub fn new(
        names: Vec<String>,
        shards: usize,
        timing: Timing,
        max_requests: u64,
        co_interval_us: Option<u64>,
    ) -> Self {
        let n = names.len();
        let shard = || {
            Mutex::new(Shard {
                window_index: None,
                per_request: (0..n).map(|_| Acc::default()).collect(),
            })
        };
        Self {
            timing,
            shards: (0..shards.max(1)).map(|_| shard()).collect(),
            collected: Mutex::new(vec![Vec::new(); n]),
            names,
            sent: AtomicU64::new(0),
            warmup: AtomicU64::new(0),
            max_requests,
            co_interval_us,
            check_names: vec![Vec::new(); n],
            not_sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
            once: vec![false; n],
        }
    }

    /// Marks the requests each user sends once as it starts (`on_start`, indexed as the requests):
    /// they run during the ramp-up, and a login that fails there must still count (as an error of
    /// its request, in the first window), or a run whose every later request went unsent would
    /// show no error at all.
    pub fn with_once(mut self, once: Vec<bool>) -> Self {
        self.once = once;
        self
    }

    /// Names the checks of each request (indexed as the requests), so failures are reported by name.
    pub fn with_checks(mut self, check_names: Vec<Vec<String>>) -> Self {
        self.check_names = check_names;
        self
    }

    /// Counts a request that was not sent at `at` (a variable had no value, or a feeder ran out).
    pub fn not_sent(&self, request: usize, at: Instant) {
        if at >= self.timing.measure_from && at < self.timing.measure_until {
            if let Some(n) = self.not_sent.get(request) {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// True once `max_requests` requests have completed: the run must stop.
    pub fn limit_reached(&self) -> bool {
        self.sent.load(Ordering::Relaxed) >= self.max_requests
    }

    /// Requests completed so far, warm-up included.
    pub fn completed(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Records one completed request of `request` made by `user`, finished at `at`.
    pub fn record(&self, user: usize, request: usize, outcome: Outcome, at: Instant) {
        if self.sent.fetch_add(1, Ordering::Relaxed) >= self.max_requests {
            return; // beyond the hard bound: in flight when the limit hit, not part of the run
        }
        let at = match self.once.get(request) {
            Some(true) => at.max(self.timing.measure_from),
            _ => at,
        };
        if at < self.timing.measure_from {
            self.warmup.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if at >= self.timing.measure_until {
            return; // finished after the measured window: goose lets in-flight requests complete
        }
        let window = ((at - self.timing.measure_from).as_micros()
            / self.timing.window.as_micros().max(1)) as usize;
        let Some(shard) = self.shards.get(user % self.shards.len()) else {
            return;
        };
        // A poisoned shard means a panic mid-record in another thread: keep the data, it is plain counts.
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if shard.window_index != Some(window) {
            self.flush(&mut shard);
            shard.window_index = Some(window);
        }
        let Some(acc) = shard.per_request.get_mut(request) else {
            return;
        };
        acc.requests += 1;
        acc.window.requests += 1;
        if let Some(s) = outcome.status {
            *acc.status_codes.entry(s).or_default() += 1;
        }
        if let Some(kind) = outcome.error {
            acc.window.errors += 1;
            match kind {
                ErrorKind::Connect => acc.errors.connect += 1,
                ErrorKind::Timeout => acc.errors.timeout += 1,
                ErrorKind::Status => acc.errors.status += 1,
                ErrorKind::Other => acc.errors.other += 1,
                ErrorKind::Check => {
                    acc.errors.check += 1;
                    if let Some(i) = outcome.check {
                        let i = usize::from(i);
                        if acc.failed_checks.len() <= i {
                            acc.failed_checks.resize(i + 1, 0);
                        }
                        acc.failed_checks[i] += 1;
                    }
                }
                ErrorKind::Capture => acc.errors.capture += 1,
                ErrorKind::Redirect => acc.errors.redirect += 1,
            }
        }
        if outcome.status.is_some() {
            match self.co_interval_us {
                Some(interval) => {
                    acc.histogram.record_corrected(outcome.latency_us, interval);
                    acc.window
                        .histogram
                        .record_corrected(outcome.latency_us, interval);
                }
                None => {
                    acc.histogram.record(outcome.latency_us);
                    acc.window.histogram.record(outcome.latency_us);
                }
            }
        }
    }

    /// Moves a shard's current window into the collector (once per window per shard).
    fn flush(&self, shard: &mut Shard) {
        let Some(index) = shard.window_index else {
            return;
        };
        let mut collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        for (acc, windows) in shard.per_request.iter_mut().zip(collected.iter_mut()) {
            let w = std::mem::take(&mut acc.window);
            if w.requests == 0 {
                continue;
            }
            if windows.len() <= index {
                windows.resize_with(index + 1, Window::default);
            }
            let slot = &mut windows[index];
            slot.requests += w.requests;
            slot.errors += w.errors;
            slot.histogram.merge_dense(&w.histogram);
        }
    }

    /// Windows `range` summed over every request name, as far as the shards have handed them over
    /// (a window a shard still holds open is missing until its next request). For the progress line:
    /// takes the collector's lock, never a shard's, so the hot path does not wait on it.
    pub fn collected_windows(&self, range: std::ops::Range<usize>) -> Window {
        let collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        let mut sum = Window::default();
        for windows in collected.iter() {
            for w in windows.iter().skip(range.start).take(range.len()) {
                sum.requests += w.requests;
                sum.errors += w.errors;
                sum.histogram.merge(&w.histogram);
            }
        }
        sum
    }

    /// Windows `range` of each request name (indexed as the names), as far as the shards have
    /// handed them over: for the abort watch, which judges per-request objectives. Takes the
    /// collector's lock only, as [`Recorder::collected_windows`] does.
    pub fn collected_per_request(&self, range: std::ops::Range<usize>) -> Vec<Window> {
        let collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        collected
            .iter()
            .map(|windows| {
                let mut sum = Window::default();
                for w in windows.iter().skip(range.start).take(range.len()) {
                    sum.requests += w.requests;
                    sum.errors += w.errors;
                    sum.histogram.merge(&w.histogram);
                }
                sum
            })
            .collect()
    }

    /// Requests completed during the ramp-up.
    pub fn warmup_requests(&self) -> u64 {
        self.warmup.load(Ordering::Relaxed)
    }

    /// Merges every shard: per-request stats and the aggregate, each with `window_count` windows.
    pub fn finish(&self, window_count: usize) -> (RequestStats, BTreeMap<String, RequestStats>) {
        let mut per_request: Vec<RequestStats> =
            self.names.iter().map(|_| RequestStats::default()).collect();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            self.flush(&mut shard);
            shard.window_index = None;
            for (r, (acc, stats)) in shard
                .per_request
                .iter()
                .zip(per_request.iter_mut())
                .enumerate()
            {
                stats.requests += acc.requests;
                stats.errors.add(&acc.errors);
                for (code, n) in &acc.status_codes {
                    *stats.status_codes.entry(code.to_string()).or_default() += n;
                }
                for (i, n) in acc
                    .failed_checks
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                {
                    let name = self
                        .check_names
                        .get(r)
                        .and_then(|c| c.get(i))
                        .cloned()
                        .unwrap_or_else(|| format!("check {i}"));
                    *stats.failed_checks.entry(name).or_default() += n;
                }
                stats.histogram.merge(&acc.histogram);
            }
        }
        for (stats, n) in per_request.iter_mut().zip(&self.not_sent) {
            stats.not_sent = n.load(Ordering::Relaxed);
        }
        let mut collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = RequestStats::default();
        let mut by_name = BTreeMap::new();
        for ((name, mut stats), windows) in
            self.names.iter().zip(per_request).zip(collected.iter_mut())
        {
            let mut windows = std::mem::take(windows);
            windows.resize_with(window_count.max(windows.len()), Window::default);
            stats.windows = windows;
            stats.latency = LatencySummary::of(&stats.histogram);
            all.merge(&stats);
            // Check names are per request: the aggregate says whose check failed.
            for (check, n) in &stats.failed_checks {
                all.failed_checks.remove(check);
                *all.failed_checks
                    .entry(format!("{name}: {check}"))
                    .or_default() += n;
            }
            by_name.insert(name.clone(), stats);
        }
        all.windows
            .resize_with(window_count.max(all.windows.len()), Window::default);
        (all, by_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(now: Instant) -> Timing {
        Timing {
            measure_from: now + Duration::from_secs(1),
            measure_until: now + Duration::from_secs(4),
            window: Duration::from_secs(1),
        }
    }

    const OK: Outcome = Outcome {
        latency_us: 1_000,
        status: Some(200),
        error: None,
        check: None,
    };

    #[test]
    fn splits_warmup_windows_and_requests() {
        let t0 = Instant::now();
        let r = Recorder::new(vec!["a".into(), "b".into()], 3, timing(t0), 1_000, None);
        r.record(0, 0, OK, t0); // warm-up
        r.record(1, 0, OK, t0 + Duration::from_millis(1_100)); // window 0
        r.record(2, 1, OK, t0 + Duration::from_millis(2_500)); // window 1
        let failed = Outcome {
            latency_us: 5,
            status: None,
            error: Some(ErrorKind::Connect),
            check: None,
        };
        r.record(4, 1, failed, t0 + Duration::from_millis(3_900)); // window 2
        r.record(0, 0, OK, t0 + Duration::from_millis(4_100)); // after the window
        let (all, by_name) = r.finish(3);
        assert_eq!(r.warmup_requests(), 1);
        assert_eq!(all.requests, 3);
        assert_eq!(all.errors.connect, 1);
        assert_eq!(all.histogram.count(), 2, "no latency without a response");
        assert_eq!(
            all.windows.iter().map(|w| w.requests).collect::<Vec<_>>(),
            vec![1, 1, 1]
        );
        assert_eq!(all.windows[2].errors, 1);
        assert_eq!(by_name["a"].requests, 1);
        assert_eq!(by_name["b"].status_codes.get("200"), Some(&1));
        assert_eq!(by_name["a"].windows.len(), 3);
    }

    #[test]
    fn shards_merge_to_the_same_totals_as_one_shard() {
        let t0 = Instant::now();
        let mk = |shards| {
            let r = Recorder::new(vec!["a".into()], shards, timing(t0), 1_000, None);
            for i in 0..300u64 {
                let at = t0 + Duration::from_millis(1_000 + i * 9);
                let o = Outcome {
                    latency_us: 100 + i,
                    status: Some(200),
                    error: None,
                    check: None,
                };
                r.record(i as usize, 0, o, at);
            }
            r.finish(3).0
        };
        assert_eq!(mk(1), mk(7));
    }

    #[test]
    fn a_once_only_request_in_the_ramp_up_counts_in_the_first_window() {
        let t0 = Instant::now();
        let r = Recorder::new(vec!["login".into(), "a".into()], 1, timing(t0), 1_000, None)
            .with_once(vec![true, false]);
        let failed = Outcome {
            latency_us: 5,
            status: Some(200),
            error: Some(ErrorKind::Capture),
            check: None,
        };
        r.record(0, 0, failed, t0); // the login, during the ramp-up
        r.record(0, 1, OK, t0); // a main request during the ramp-up: warm-up
        let (all, by_name) = r.finish(3);
        assert_eq!(r.warmup_requests(), 1);
        assert_eq!(by_name["login"].errors.capture, 1);
        assert_eq!(all.windows[0].requests, 1);
        assert_eq!(all.windows[0].errors, 1);
    }

    #[test]
    fn stops_counting_at_the_hard_bound() {
        let t0 = Instant::now();
        let r = Recorder::new(vec!["a".into()], 1, timing(t0), 2, None);
        for _ in 0..5 {
            r.record(0, 0, OK, t0 + Duration::from_millis(1_500));
        }
        assert!(r.limit_reached());
        assert_eq!(r.finish(3).0.requests, 2);
    }

    #[test]
    fn corrects_for_coordinated_omission_when_a_rate_is_set() {
        let t0 = Instant::now();
        let r = Recorder::new(vec!["a".into()], 1, timing(t0), 10, Some(10_000));
        let slow = Outcome {
            latency_us: 50_000,
            status: Some(200),
            error: None,
            check: None,
        };
        r.record(0, 0, slow, t0 + Duration::from_millis(1_500));
        let (all, _) = r.finish(3);
        assert_eq!(all.requests, 1);
        assert_eq!(
            all.histogram.count(),
            5,
            "50 ms at a 10 ms cadence back-fills 4 values"
        );
    }
}

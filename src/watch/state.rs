//! Watch — the running state: each poll's readings go in (or the reason there are none), the
//! counters advance, every signal is judged, and the watch either goes on or ends with a verdict.
//! Pure and synchronous, so whole watches are unit-tested on fixture series; the command only
//! fetches readings and sleeps.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::Outcome;
use crate::watch::decide::{self, Judgement};
use crate::watch::file::WatchSpec;
use crate::watch::series::{Counter, DataError, Histogram, Sample};

/// One poll's readings: each query's series, by the key of the query (`errors.requests`, …).
pub type Snapshot = BTreeMap<String, Vec<Sample>>;

/// One signal at one poll, for the report's time series and the live line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Seconds since the watch began.
    pub t_s: f64,
    /// Requests counted since the watch began (rates and latency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Of them, the bad ones (errors; requests slower than the bound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad: Option<u64>,
    /// The signal's value: the error rate (a fraction), the quantile in ms, the check's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The judgement at this poll.
    pub outcome: Outcome,
}

/// A signal with its series and its latest judgement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    /// `error_rate`, `error_rate_vs_before`, `p95`, `p95_vs_before`, or a check's name.
    pub name: String,
    /// The objective, in words.
    pub objective: String,
    /// Fewest requests it is judged on, when it is a rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u64>,
    /// Latest judgement.
    pub outcome: Outcome,
    /// Why.
    pub message: String,
    /// Its values, poll by poll.
    pub series: Vec<Point>,
}

/// A poll that brought no usable readings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedPoll {
    /// Seconds since the watch began.
    pub t_s: f64,
    /// Why (secrets already masked by the source).
    pub problem: String,
}

/// Counts of the window before the watch, for `compare = "before"`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Before {
    /// (requests, errors).
    pub errors: Option<(u64, u64)>,
    /// The latency histogram.
    pub latency: Option<Histogram>,
}

impl Before {
    /// The counts between two readings of the same queries: at the start of the window before
    /// the watch (`from`) and at the start of the watch (`to`).
    pub fn between(spec: &WatchSpec, from: &Snapshot, to: &Snapshot) -> Result<Self, String> {
        let mut c = Counters::default();
        let get = |s: &Snapshot, key: &str| s.get(key).cloned().unwrap_or_default();
        let zero = || vec![Sample::new(&[], 0.0)];
        let fail = |key: &str, e: DataError| format!("query `{key}` before the watch: {e}");
        let mut before = Before::default();
        if spec.errors.is_some() {
            for s in [from, to] {
                c.requests
                    .observe(&get(s, "errors.requests"))
                    .map_err(|e| fail("errors.requests", e))?;
                let errors = get(s, "errors.errors");
                c.errors
                    .observe(&if errors.is_empty() { zero() } else { errors })
                    .map_err(|e| fail("errors.errors", e))?;
            }
            before.errors = Some((
                c.requests.total().round() as u64,
                c.errors.total().round() as u64,
            ));
        }
        if spec.latency.is_some() {
            for s in [from, to] {
                c.buckets
                    .observe(&get(s, "latency.buckets"))
                    .map_err(|e| fail("latency.buckets", e))?;
            }
            before.latency = Some(
                c.buckets
                    .histogram()
                    .map_err(|e| fail("latency.buckets", e))?,
            );
        }
        Ok(before)
    }
}

/// What the watch does after a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Keep watching.
    Continue,
    /// Stop now with this verdict (a certain breach, or a source gone for too long).
    Stop(Outcome),
}

#[derive(Debug, Clone, Default)]
struct Counters {
    requests: Counter,
    errors: Counter,
    buckets: Counter,
}

/// The watch so far.
#[derive(Debug, Clone)]
pub struct State {
    spec: WatchSpec,
    counters: Counters,
    check_values: Vec<Vec<Option<f64>>>,
    before: Option<Before>,
    /// The signals, in a fixed order.
    pub signals: Vec<Signal>,
    /// Polls that failed.
    pub failed: Vec<FailedPoll>,
    /// Polls made (failed ones too).
    pub polls: u32,
    failed_in_a_row: u32,
    last_ok: bool,
    /// Why the verdict is what it is, beyond the signals (a source gone, a last poll lost).
    pub notes: Vec<String>,
}

impl State {
    /// A watch of `spec`; `before` holds the counts of the window before, when compared.
    pub fn new(spec: WatchSpec, before: Option<Before>) -> Self {
        let mut signals = Vec::new();
        let mut add = |name: String, objective: String, min_requests: Option<u64>| {
            signals.push(Signal {
                name,
                objective,
                min_requests,
                outcome: Outcome::Pass,
                message: "no reading yet".to_string(),
                series: Vec::new(),
            });
        };
        if let Some(e) = &spec.errors {
            if let Some(p0) = e.max_rate {
                add(
                    "error_rate".into(),
                    format!("≤ {}", decide::percent(p0)),
                    Some(decide::min_requests(p0, spec.min_requests)),
                );
            }
            if before.is_some() {
                add(
                    "error_rate_vs_before".into(),
                    format!(
                        "no rise beyond +{:.0}% (warn +{:.0}%)",
                        decide::CRITICAL_RISE * 100.0,
                        decide::WARN_RISE * 100.0
                    ),
                    Some(compare_min(&spec)),
                );
            }
        }
        if let Some(l) = &spec.latency {
            let q = decide::pct_name(l.quantile);
            if let Some(ms) = l.max_ms {
                add(
                    format!("p{q}"),
                    format!("≤ {ms} ms"),
                    Some(decide::min_requests(1.0 - l.quantile, spec.min_requests)),
                );
            }
            if before.is_some() {
                add(
                    format!("p{q}_vs_before"),
                    format!(
                        "no rise beyond +{:.0}% (warn +{:.0}%)",
                        decide::CRITICAL_RISE * 100.0,
                        decide::WARN_RISE * 100.0
                    ),
                    Some(compare_min(&spec)),
                );
            }
        }
        for c in &spec.checks {
            let limits = match (c.min, c.max) {
                (Some(lo), Some(hi)) => format!("within [{lo}, {hi}]"),
                (None, Some(hi)) => format!("≤ {hi}"),
                (Some(lo), _) => format!("≥ {lo}"),
                (None, None) => String::new(),
            };
            add(
                c.name.clone(),
                format!("{limits} for {} polls", c.for_polls),
                None,
            );
        }
        Self {
            check_values: vec![Vec::new(); spec.checks.len()],
            spec,
            counters: Counters::default(),
            before,
            signals,
            failed: Vec::new(),
            polls: 0,
            failed_in_a_row: 0,
            last_ok: false,
            notes: Vec::new(),
        }
    }

    /// The spec watched.
    pub fn spec(&self) -> &WatchSpec {
        &self.spec
    }

    /// Counter resets seen (a restarted service).
    pub fn resets(&self) -> u64 {
        self.counters.requests.resets() + self.counters.errors.resets()
    }

    /// Takes one poll at `t_s` seconds: its readings, or why there are none.
    pub fn observe(&mut self, t_s: f64, readings: Result<Snapshot, String>) -> Step {
        self.polls += 1;
        let outcome = readings.and_then(|snap| self.advance(&snap));
        match outcome {
            Ok(values) => {
                self.failed_in_a_row = 0;
                self.last_ok = true;
                for (i, v) in values.into_iter().enumerate() {
                    self.check_values[i].push(v);
                }
                let verdict = self.judge_signals(t_s, false);
                match verdict {
                    Some(o) => Step::Stop(o),
                    None => Step::Continue,
                }
            }
            Err(problem) => {
                self.failed_in_a_row += 1;
                self.last_ok = false;
                for values in &mut self.check_values {
                    values.push(None);
                }
                self.failed.push(FailedPoll {
                    t_s,
                    problem: problem.clone(),
                });
                if self.failed_in_a_row >= self.spec.max_failed_polls {
                    self.notes.push(format!(
                        "{} polls in a row brought no readings (last: {problem}); the watch cannot judge what it cannot see",
                        self.failed_in_a_row
                    ));
                    Step::Stop(Outcome::Incomplete)
                } else {
                    Step::Continue
                }
            }
        }
    }

    /// The verdict at the end of the window (`t_s` seconds in).
    pub fn finish(&mut self, t_s: f64) -> Outcome {
        if !self.last_ok {
            self.notes.push(
                "the last poll brought no readings, so the end of the window is unseen".to_string(),
            );
            return Outcome::Incomplete;
        }
        self.judge_signals(t_s, true).unwrap_or(Outcome::Incomplete)
    }

    /// Every counter advanced by `snap`, all or nothing; the checks' values.
    fn advance(&mut self, snap: &Snapshot) -> Result<Vec<Option<f64>>, String> {
        let mut next = self.counters.clone();
        let get = |key: &str| snap.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let fail = |key: &str, e: DataError| format!("query `{key}`: {e}");
        if self.spec.errors.is_some() {
            next.requests
                .observe(get("errors.requests"))
                .map_err(|e| fail("errors.requests", e))?;
            // No error series at all is zero errors where a query filters on a status no request
            // has had yet (Prometheus returns nothing for a sum over no series).
            let errors = get("errors.errors");
            let zero = [Sample::new(&[], 0.0)];
            next.errors
                .observe(if errors.is_empty() { &zero } else { errors })
                .map_err(|e| fail("errors.errors", e))?;
        }
        if self.spec.latency.is_some() {
            next.buckets
                .observe(get("latency.buckets"))
                .map_err(|e| fail("latency.buckets", e))?;
            next.buckets
                .histogram()
                .map_err(|e| fail("latency.buckets", e))?;
        }
        let values = self
            .spec
            .checks
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let s = get(&format!("check[{i}].query"));
                let sum: f64 = s.iter().map(|s| s.value).sum();
                (!s.is_empty() && sum.is_finite()).then_some(sum)
            })
            .collect();
        self.counters = next;
        Ok(values)
    }

    /// Judges every signal, records the points, and folds.
    fn judge_signals(&mut self, t_s: f64, end: bool) -> Option<Outcome> {
        let mut results: Vec<(Judgement, Point)> = Vec::new();
        let point = |requests, bad, value, outcome| Point {
            t_s,
            requests,
            bad,
            value,
            outcome,
        };
        if let Some(e) = &self.spec.errors {
            let n = self.counters.requests.total().round() as u64;
            let k = self.counters.errors.total().round() as u64;
            let rate = (n > 0).then(|| k as f64 / n as f64);
            let mismatch = k > n;
            let broken = |what: &str| {
                Judgement {
                    outcome: Outcome::Incomplete,
                    message: format!("{k} errors but only {n} requests: the `errors` query counts something the `requests` query does not; {what}"),
                }
            };
            if let Some(p0) = e.max_rate {
                let j = if mismatch {
                    broken("fix the queries")
                } else {
                    decide::objective(
                        n,
                        k,
                        p0,
                        decide::min_requests(p0, self.spec.min_requests),
                        end,
                        "failed",
                    )
                };
                let o = j.outcome;
                results.push((j, point(Some(n), Some(k), rate, o)));
            }
            if let Some(before) = &self.before {
                let j = match (before.errors, end, mismatch) {
                    (_, _, true) => broken("fix the queries"),
                    (Some(b), true, false) => {
                        decide::error_rise((n, k), b, compare_min(&self.spec))
                    }
                    (None, true, false) => Judgement {
                        outcome: Outcome::Incomplete,
                        message: "no counts of the window before the watch".to_string(),
                    },
                    (_, false, false) => Judgement {
                        outcome: Outcome::Pass,
                        message: format!("{k}/{n} so far; compared at the end of the window"),
                    },
                };
                let o = j.outcome;
                results.push((j, point(Some(n), Some(k), rate, o)));
            }
        }
        if let Some(l) = &self.spec.latency {
            let hist = self.counters.buckets.histogram().ok();
            let n = hist.as_ref().map_or(0, |h| h.total().round() as u64);
            let q_ms = hist
                .as_ref()
                .and_then(|h| h.quantile(l.quantile))
                .map(|v| v * l.ms_per_unit);
            if let Some(ms) = l.max_ms {
                let bad = hist.as_ref().and_then(|h| h.above(ms / l.ms_per_unit));
                let j = match (&hist, bad) {
                    (Some(_), Some(bad)) => decide::objective(
                        n,
                        bad,
                        1.0 - l.quantile,
                        decide::min_requests(1.0 - l.quantile, self.spec.min_requests),
                        end,
                        &format!("slower than {ms} ms"),
                    ),
                    (Some(h), None) => Judgement {
                        outcome: if end || n > 0 { Outcome::Incomplete } else { Outcome::Pass },
                        message: format!(
                            "the histogram's largest finite bucket ({} ms) is below the bound {ms} ms, so it cannot tell; add buckets above the bound",
                            h.largest_bound().map_or(0.0, |b| b * l.ms_per_unit)
                        ),
                    },
                    (None, _) => Judgement {
                        outcome: Outcome::Incomplete,
                        message: "no histogram".to_string(),
                    },
                };
                let o = j.outcome;
                results.push((j, point(Some(n), bad, q_ms, o)));
            }
            if let Some(before) = &self.before {
                let j = match (&hist, &before.latency, end) {
                    (Some(h), Some(b), true) => decide::latency_rise(
                        h,
                        b,
                        l.quantile,
                        compare_min(&self.spec),
                        l.ms_per_unit,
                    ),
                    (_, _, false) => Judgement {
                        outcome: Outcome::Pass,
                        message: format!("{n} requests so far; compared at the end of the window"),
                    },
                    _ => Judgement {
                        outcome: Outcome::Incomplete,
                        message: "no histogram of the window before the watch".to_string(),
                    },
                };
                let o = j.outcome;
                results.push((j, point(Some(n), None, q_ms, o)));
            }
        }
        for (i, c) in self.spec.checks.iter().enumerate() {
            let values = &self.check_values[i];
            let j = decide::bound(values, c.max, c.min, c.for_polls, end);
            let o = j.outcome;
            let v = values.last().copied().flatten();
            results.push((j, point(None, None, v, o)));
        }
        let outcomes: Vec<Outcome> = results.iter().map(|(j, _)| j.outcome).collect();
        for (signal, (j, p)) in self.signals.iter_mut().zip(results) {
            signal.outcome = j.outcome;
            signal.message = j.message;
            // The end's judgement of the last poll replaces that poll's interim one.
            if signal.series.last().is_some_and(|last| last.t_s == p.t_s) {
                signal.series.pop();
            }
            signal.series.push(p);
        }
        decide::fold(&outcomes, end)
    }

    /// One line for the terminal and CI logs: each signal's latest value and status.
    pub fn live_line(&self, t_s: f64) -> String {
        let parts: Vec<String> = self
            .signals
            .iter()
            .map(|s| {
                let latest = s.series.last();
                let value = match latest {
                    Some(p) if s.name.starts_with("error_rate") => match (p.bad, p.requests) {
                        (Some(b), Some(n)) => format!("{b}/{n}"),
                        _ => "-".to_string(),
                    },
                    Some(Point { value: Some(v), .. })
                        if s.name.starts_with('p') && s.min_requests.is_some() =>
                    {
                        format!("{v:.1}ms")
                    }
                    Some(Point { value: Some(v), .. }) => format!("{v}"),
                    _ => "-".to_string(),
                };
                format!("{} {value} {}", s.name, s.outcome.name())
            })
            .collect();
        let failed = if self.failed_in_a_row > 0 {
            format!(" | {} failed poll(s) in a row", self.failed_in_a_row)
        } else {
            String::new()
        };
        format!(
            "watch {:>5.1}s/{}s | {}{failed}",
            t_s,
            self.spec.window.as_secs_f64(),
            parts.join(" | ")
        )
    }
}

fn compare_min(spec: &WatchSpec) -> u64 {
    spec.min_requests.unwrap_or(decide::MIN_REQUESTS_COMPARE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(extra: &str) -> WatchSpec {
        let text = format!(
            r#"
name = "api"
[source]
metrics = "http://127.0.0.1:1/metrics"
[window]
duration = "60s"
poll = "5s"
[errors]
requests = "http_requests_total"
errors = 'http_requests_total{{code="500"}}'
max_rate = "1%"
{extra}"#
        );
        crate::watch::file::parse(Path::new("w.toml"), &text, &|_| None).unwrap()
    }

    fn snap(requests: f64, errors: f64) -> Result<Snapshot, String> {
        let mut s = Snapshot::new();
        s.insert(
            "errors.requests".into(),
            vec![Sample::new(&[("job", "api")], requests)],
        );
        s.insert(
            "errors.errors".into(),
            vec![Sample::new(&[("job", "api")], errors)],
        );
        Ok(s)
    }

    /// Runs polls every 5 s of cumulative (requests, errors); the verdict and the stopping time.
    fn run(state: &mut State, polls: &[(f64, f64)]) -> (Outcome, f64) {
        for (i, (r, e)) in polls.iter().enumerate() {
            let t = i as f64 * 5.0;
            if let Step::Stop(o) = state.observe(t, snap(*r, *e)) {
                return (o, t);
            }
        }
        let t = (polls.len() - 1) as f64 * 5.0;
        (state.finish(t), t)
    }

    #[test]
    fn a_healthy_window_passes_at_the_end() {
        let polls: Vec<(f64, f64)> = (0..13)
            .map(|i| (1000.0 + 500.0 * f64::from(i), 0.0 + f64::from(i)))
            .collect();
        let mut s = State::new(spec(""), None);
        assert_eq!(run(&mut s, &polls), (Outcome::Pass, 60.0));
        assert_eq!(s.signals[0].series.len(), 13);
        assert!(
            s.live_line(60.0).contains("error_rate 12/6000 pass"),
            "{}",
            s.live_line(60.0)
        );
    }

    #[test]
    fn a_certain_breach_stops_within_a_poll() {
        // Healthy for 20 s, then 30% errors: stopped at the first poll after the switch.
        let mut polls: Vec<(f64, f64)> = (0..5).map(|i| (500.0 * f64::from(i), 0.0)).collect();
        for i in 1..9 {
            polls.push((2000.0 + 500.0 * f64::from(i), 150.0 * f64::from(i)));
        }
        let mut s = State::new(spec(""), None);
        assert_eq!(run(&mut s, &polls), (Outcome::Critical, 25.0));
    }

    #[test]
    fn a_counter_reset_is_no_breach_and_no_drop() {
        let polls = [
            (10_000.0, 10.0),
            (10_500.0, 11.0),
            (300.0, 0.0), // restarted
            (800.0, 1.0),
            (1300.0, 2.0),
        ];
        let mut sp = spec("");
        sp.min_requests = Some(100);
        let mut s = State::new(sp, None);
        let (o, _) = run(&mut s, &polls);
        assert_eq!(o, Outcome::Pass, "{:?}", s.signals);
        assert_eq!(s.resets(), 2);
        assert_eq!(s.signals[0].series.last().unwrap().requests, Some(1800));
    }

    #[test]
    fn no_traffic_and_one_in_twenty_are_incomplete_never_critical() {
        let mut s = State::new(spec(""), None);
        assert_eq!(run(&mut s, &[(50.0, 0.0); 13]).0, Outcome::Incomplete);
        let polls: Vec<(f64, f64)> = (0..13)
            .map(|i| (50.0 + 2.0 * f64::from(i), if i > 6 { 1.0 } else { 0.0 }))
            .collect();
        let mut s = State::new(spec(""), None);
        let (o, _) = run(&mut s, &polls);
        assert_eq!(o, Outcome::Incomplete, "{:?}", s.signals[0].message);
    }

    #[test]
    fn nan_and_a_lost_source_are_incomplete() {
        let mut s = State::new(spec(""), None);
        assert_eq!(s.observe(0.0, snap(10.0, 0.0)), Step::Continue);
        assert_eq!(s.observe(5.0, snap(f64::NAN, 0.0)), Step::Continue);
        assert!(s.failed[0].problem.contains("NaN"), "{:?}", s.failed);
        assert_eq!(
            s.observe(10.0, Err("connection refused".into())),
            Step::Continue
        );
        assert_eq!(
            s.observe(15.0, Err("connection refused".into())),
            Step::Stop(Outcome::Incomplete)
        );
        let mut s = State::new(spec(""), None);
        s.observe(0.0, snap(10.0, 0.0));
        s.observe(5.0, Err("timeout".into()));
        assert_eq!(s.finish(5.0), Outcome::Incomplete);
    }

    #[test]
    fn a_failed_poll_advances_no_counter() {
        let mut s = State::new(spec(""), None);
        s.observe(0.0, snap(100.0, 0.0));
        let mut bad = snap(200.0, 0.0).unwrap();
        bad.insert("errors.errors".into(), vec![Sample::new(&[], -3.0)]);
        s.observe(5.0, Ok(bad));
        s.observe(10.0, snap(300.0, 3.0));
        assert_eq!(s.signals[0].series.last().unwrap().requests, Some(200));
        assert_eq!(s.signals[0].series.last().unwrap().bad, Some(3));
    }
}

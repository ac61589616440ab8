//! Stage 2 — stop a load whose objective is breached beyond doubt (`[gate] abort_on_slo`): the rule,
//! pure and tested on simulated data, and the once-a-second look at the recorder's closed windows.
//!
//! Every objective watched bounds a fraction of bad requests: `p95 ≤ L` allows at most 5% of the
//! responses above L, `error_rate ≤ f` at most a fraction f of failed requests, `max ≤ L` none above
//! L. If the true fraction is at most p0, the chance of k or more bad out of n is at most
//! exp(−n·KL(k/n ‖ p0)) (the Chernoff bound, exact for any n, no normal approximation), so k bad
//! out of n is a breach beyond doubt when that is below the look's α. For a quantile the same test
//! reads as a lower confidence bound: the k-th slowest response is a value the quantile is at
//! least, and the load stops when it is above the objective.
//!
//! Looking every second is a sequential test, and each look is another chance of a false alarm:
//! the i-th look at one of m objectives gets α · 6/(π²·i²) / m, which add up to α however long the
//! run (Σ 1/i² = π²/6). A run whose objectives all hold is stopped with probability at most
//! [`FALSE_ABORT_RATE`], if its requests are independent. Mean and throughput objectives have no
//! such bound before the run ends: they are judged at the end only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::load::recorder::{Recorder, Timing};
use crate::result::histogram::LatencyHistogram;
use crate::result::metric::Metric;
use crate::result::{Aborted, Window};
use crate::scenario::{GateSpec, Slo};

/// The chance that a run whose objectives all hold is stopped anyway, over all its looks.
pub const FALSE_ABORT_RATE: f64 = 0.001;

/// How often the objectives are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Whether an objective on `metric` can be watched while the load runs.
pub fn watchable(metric: Metric) -> bool {
    metric.watchable_live()
}

/// Kullback–Leibler divergence of Bernoulli(a) from Bernoulli(b), for the upper tail only: zero
/// when `a ≤ b`.
fn kl_above(a: f64, b: f64) -> f64 {
    if a <= b {
        return 0.0;
    }
    if b <= 0.0 {
        return f64::INFINITY;
    }
    let first = a * (a / b).ln();
    let second = if a < 1.0 {
        (1.0 - a) * ((1.0 - a) / (1.0 - b)).ln()
    } else {
        0.0
    };
    first + second
}

/// Whether `bad` of `n` shows, beyond doubt at level `alpha`, that the true fraction of bad is
/// above `allowed`.
pub fn beyond_doubt(n: u64, bad: u64, allowed: f64, alpha: f64) -> bool {
    if n == 0 || bad == 0 || allowed >= 1.0 || alpha.is_nan() || alpha <= 0.0 {
        return false;
    }
    let share = bad.min(n) as f64 / n as f64;
    n as f64 * kl_above(share, allowed) >= (1.0 / alpha).ln()
}

/// The fewest bad out of `n` that are a breach beyond doubt; `None` when even `n` would not be.
pub fn fewest_beyond_doubt(n: u64, allowed: f64, alpha: f64) -> Option<u64> {
    if !beyond_doubt(n, n, allowed, alpha) {
        return None;
    }
    // The test is monotone in `bad`: search the smallest that passes.
    let (mut lo, mut hi) = (0u64, n);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if beyond_doubt(n, mid, allowed, alpha) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// A lower confidence bound on a fraction from `bad` of `n`, at level `alpha`: the smallest true
/// fraction the test above cannot rule out.
pub fn fraction_lower_bound(n: u64, bad: u64, alpha: f64) -> f64 {
    if n == 0 || bad == 0 || alpha.is_nan() || alpha <= 0.0 {
        return 0.0;
    }
    let share = bad.min(n) as f64 / n as f64;
    let needed = (1.0 / alpha).ln() / n as f64;
    let (mut lo, mut hi) = (0.0, share);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if kl_above(share, mid) > needed {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The level of the `look`-th look (from 1) at one of `objectives` objectives: the looks of every
/// objective together spend [`FALSE_ABORT_RATE`], however many there are.
pub fn look_alpha(look: u32, objectives: usize) -> f64 {
    let i = f64::from(look.max(1));
    FALSE_ABORT_RATE * 6.0 / (std::f64::consts::PI.powi(2) * i * i) / objectives.max(1) as f64
}

/// What the rule sees of one scope (a request name, or all of them) so far.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Requests completed, failed ones included.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Latencies of the responses.
    pub histogram: LatencyHistogram,
}

impl Tally {
    /// Adds one closed window.
    pub fn add(&mut self, w: &Window) {
        self.requests += w.requests;
        self.errors += w.errors;
        self.histogram.merge(&w.histogram.to_dense());
    }
}

/// One look at one objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// The metric's value so far, when breached (the only time it is reported).
    pub value: Option<f64>,
    /// Its lower confidence bound at the look's level.
    pub lower_bound: f64,
    /// Requests (responses, for latency) it rests on.
    pub requests: u64,
    /// The lower bound is above the objective.
    pub breached: bool,
}

/// Looks at `slo` over `tally` at level `alpha`. `None` when the objective cannot be watched, or
/// there are fewer requests than its metric needs to mean anything ([`Metric::min_requests`]).
pub fn look(slo: &Slo, tally: &Tally, alpha: f64) -> Option<Look> {
    let metric = slo.metric;
    if !watchable(metric) {
        return None;
    }
    if metric == Metric::ErrorRate {
        let n = tally.requests;
        if n < metric.min_requests() {
            return None;
        }
        let bad = tally.errors.min(n);
        return Some(Look {
            value: Some(bad as f64 / n as f64),
            lower_bound: fraction_lower_bound(n, bad, alpha),
            requests: n,
            breached: beyond_doubt(n, bad, slo.limit, alpha),
        });
    }
    let h = &tally.histogram;
    let n = h.count();
    if n < metric.min_requests() || n == 0 {
        return None;
    }
    let q = metric.quantile().unwrap_or(1.0);
    // The k slowest responses, k the fewest that are beyond doubt: the quantile is at least the
    // smallest of them. Each is taken at its bucket's lowest value, so the bound never overstates.
    let lower_bound = match fewest_beyond_doubt(n, 1.0 - q, alpha) {
        None => 0,
        Some(k) => {
            let buckets: Vec<(u64, u64)> = h.buckets_from_below().collect();
            let mut seen = 0;
            let mut bound = 0;
            for (value, count) in buckets.into_iter().rev() {
                seen += count;
                if seen >= k {
                    bound = value;
                    break;
                }
            }
            bound
        }
    };
    let breached = lower_bound as f64 > slo.limit;
    // The point value costs a walk over the whole histogram: only a breach reports it.
    let value = match (breached, metric.quantile()) {
        (false, _) => None,
        (true, Some(q)) => h.quantile_us(q),
        (true, None) => h.max_us(),
    };
    Some(Look {
        value: value.map(|v| v as f64),
        lower_bound: lower_bound as f64,
        requests: n,
        breached,
    })
}

/// One objective under watch.
#[derive(Debug, Clone)]
struct Watched {
    /// Index and name of its request; `None` for the aggregate.
    request: Option<(usize, String)>,
    slo: Slo,
    /// Looks taken so far (each spends some of the false-abort rate).
    looks: u32,
}

/// The watch over one run's objectives: which ones, from when, and how many looks each has had.
#[derive(Debug, Clone)]
pub struct Watch {
    objectives: Vec<Watched>,
    grace: Duration,
}

impl Watch {
    /// The watch `gate` asks for, over requests named `names` (indexed as the recorder's); `None`
    /// without `abort_on_slo` or without an objective to watch.
    pub fn of(gate: &GateSpec, names: &[String]) -> Option<Watch> {
        let abort = gate.abort?;
        let mut objectives: Vec<Watched> = gate
            .slos
            .iter()
            .map(|slo| Watched {
                request: None,
                slo: *slo,
                looks: 0,
            })
            .collect();
        for (name, slos) in &gate.request_slos {
            let Some(index) = names.iter().position(|n| n == name) else {
                continue;
            };
            objectives.extend(slos.iter().map(|slo| Watched {
                request: Some((index, name.clone())),
                slo: *slo,
                looks: 0,
            }));
        }
        objectives.retain(|w| watchable(w.slo.metric));
        (!objectives.is_empty()).then_some(Watch {
            objectives,
            grace: abort.grace,
        })
    }

    /// Looks at every objective after `measured` of measurement, over the aggregate `all` and each
    /// request's tally (indexed as the names). The first objective breached beyond doubt, if any.
    pub fn look(&mut self, measured: Duration, all: &Tally, requests: &[Tally]) -> Option<Aborted> {
        if measured < self.grace {
            return None;
        }
        let count = self.objectives.len();
        for w in &mut self.objectives {
            let tally = match &w.request {
                None => all,
                Some((i, _)) => match requests.get(*i) {
                    Some(t) => t,
                    None => continue,
                },
            };
            let next = w.looks + 1;
            let Some(seen) = look(&w.slo, tally, look_alpha(next, count)) else {
                continue;
            };
            w.looks = next;
            if seen.breached {
                return Some(Aborted {
                    request: w.request.as_ref().map(|(_, name)| name.clone()),
                    metric: w.slo.metric,
                    objective: w.slo.limit,
                    value: seen.value.unwrap_or(seen.lower_bound),
                    lower_bound: seen.lower_bound,
                    requests: seen.requests,
                    after_ms: measured.as_millis() as u64,
                });
            }
        }
        None
    }
}

/// Where the watch leaves its finding for the load's watchdog.
#[derive(Debug, Default)]
pub struct Tripwire {
    fired: AtomicBool,
    breach: Mutex<Option<Aborted>>,
}

impl Tripwire {
    /// Whether an objective was breached: the load must stop.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// The breach found, once.
    pub fn take(&self) -> Option<Aborted> {
        self.breach.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn fire(&self, breach: Aborted) {
        *self.breach.lock().unwrap_or_else(|e| e.into_inner()) = Some(breach);
        self.fired.store(true, Ordering::SeqCst);
    }
}

/// Looks once a second at the windows the recorder has closed, and fires `tripwire` on a breach.
/// Reads the collector as the progress line does, never a user's shard.
pub fn spawn(
    mut watch: Watch,
    recorder: Arc<Recorder>,
    timing: Timing,
    tripwire: Arc<Tripwire>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let window_us = timing.window.as_micros().max(1);
        let mut all = Tally::default();
        let mut requests: Vec<Tally> = Vec::new();
        let mut taken = 0usize;
        let mut tick = tokio::time::interval(LOOK_EVERY);
        loop {
            tick.tick().await;
            let now = Instant::now();
            if now < timing.measure_from {
                continue;
            }
            let measured = now - timing.measure_from;
            // Windows that ended at least one window ago: every busy user has handed them over.
            let closed = ((measured.as_micros() / window_us) as usize).saturating_sub(1);
            if closed <= taken {
                continue;
            }
            let windows = recorder.collected_per_request(taken..closed);
            requests.resize_with(windows.len(), Tally::default);
            for (tally, w) in requests.iter_mut().zip(&windows) {
                tally.add(w);
                all.add(w);
            }
            taken = closed;
            if let Some(breach) = watch.look(measured, &all, &requests) {
                tripwire.fire(breach);
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests;

//! The demo service's capacity knob (`--capacity RPS`): a token bucket in its
//! virtual-scheduling form (GCRA), so the demo behaves like a service with a fixed throughput.
//!
//! Each request is given the next free service slot, 1/RPS after the previous one: it waits until
//! then (the queue, so latency climbs as the offered load passes capacity), and when the wait would
//! exceed [`MAX_QUEUE_WAIT`] the request is refused (503), like a service whose queue is full.
//! Pure logic over a caller-supplied clock; `demo.rs` applies it. Imports nothing from the crate.

use std::time::Duration;

/// The queue holds one second of work: long enough that latency visibly climbs before errors
/// start, short enough that a one-second capacity-search step sees the 503s.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(1);

/// What happens to one arriving request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Served after waiting this long in the queue.
    Wait(Duration),
    /// The queue is full: answer 503.
    Reject,
}

/// A request-rate limit with a bounded queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Limiter {
    interval_s: f64,
    max_wait_s: f64,
    /// Time (seconds on the caller's clock) of the next free service slot.
    next_free_s: f64,
}

impl Limiter {
    /// Admits at most `rps` requests per second (`rps` ≥ 1), queueing up to `max_wait`.
    pub fn new(rps: u32, max_wait: Duration) -> Self {
        Self {
            interval_s: 1.0 / f64::from(rps.max(1)),
            max_wait_s: max_wait.as_secs_f64(),
            next_free_s: f64::NEG_INFINITY,
        }
    }

    /// A request arriving at `now_s` (seconds on a monotonic clock).
    pub fn admit(&mut self, now_s: f64) -> Admission {
        let start = self.next_free_s.max(now_s);
        let wait = start - now_s;
        // A nanosecond of slack: slot times are sums of f64 intervals.
        if wait > self.max_wait_s + 1e-9 {
            return Admission::Reject;
        }
        self.next_free_s = start + self.interval_s;
        Admission::Wait(Duration::from_secs_f64(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wait_ms(a: Admission) -> Option<u128> {
        match a {
            Admission::Wait(d) => Some(d.as_millis()),
            Admission::Reject => None,
        }
    }

    #[test]
    fn under_capacity_nothing_waits() {
        let mut l = Limiter::new(100, MAX_QUEUE_WAIT);
        for i in 0..50 {
            assert_eq!(l.admit(i as f64 * 0.02), Admission::Wait(Duration::ZERO));
        }
    }

    #[test]
    fn a_burst_queues_then_is_refused_past_the_bound() {
        // 10 req/s, 300 ms of queue: four at once are served at 0, 100, 200, 300 ms; the fifth is refused.
        let mut l = Limiter::new(10, Duration::from_millis(300));
        let waits: Vec<_> = (0..5).map(|_| wait_ms(l.admit(0.0))).collect();
        assert_eq!(waits, vec![Some(0), Some(100), Some(200), Some(300), None]);
        // A refused request takes no slot: the queue drains and admits again.
        assert_eq!(wait_ms(l.admit(0.35)), Some(50));
    }

    proptest! {
        #[test]
        fn admitted_requests_never_exceed_the_rate(rps in 1u32..500, offered in 1u32..2_000, secs in 1u32..5) {
            let mut l = Limiter::new(rps, MAX_QUEUE_WAIT);
            let n = offered * secs;
            let mut served_by_end = 0u64;
            for i in 0..n {
                let now = i as f64 / offered as f64;
                if let Admission::Wait(w) = l.admit(now) {
                    if now + w.as_secs_f64() < secs as f64 {
                        served_by_end += 1;
                    }
                }
            }
            // Service starts are 1/rps apart: at most rps·secs (+1 for the slot at t = 0).
            prop_assert!(served_by_end <= (rps * secs) as u64 + 1);
            // And under capacity, everything is served.
            if offered <= rps {
                prop_assert!(served_by_end >= n as u64 - 1);
            }
        }
    }
}

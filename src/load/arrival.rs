//! Stage 2 helper — pacing of the load: when each request is meant to start.
//!
//! Open model (`[load] rate` or rate stages): loadgate's own arrival schedule, not goose's throttle
//! (a cap that under-delivers and lets a stalled server lower the load, docs/goose.md §3). The intended
//! send time of slot k is the t where ∫₀ᵗ rate = k, so a ramp from 100 to 500 req/s is exact. Each
//! goose user takes the next slot (one atomic add) and sleeps until its time; the users are a pool
//! (k6's `preAllocatedVUs`): when all are busy, slots pile up and the achieved rate falls below the
//! target. A request that starts late is timed from its intended time (the coordinated-omission
//! correction of wrk2, k6 and Gatling).
//!
//! Closed model with user stages: every user is started, and a user whose index is beyond the
//! stage's current count idles in short sleeps instead of sending (goose's test plans print to
//! stdout, docs/goose.md §2).
//!
//! [`Schedule`] and [`UserRamp`] are pure; [`Pacer`] holds the clock. Consumes the validated
//! [`LoadSpec`]; produces waits and lateness for the transaction in `goose.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::scenario::{LoadSpec, StageTarget};

/// Lateness up to this much is the generator's own timer and scheduler, not the service: tokio's
/// timer has 1 ms granularity and a task on a shared 2-core runner wakes a few ms late. Beyond it,
/// the request waited for a free user, and the wait is charged to its latency.
pub const LATE_SLACK: Duration = Duration::from_millis(5);

/// An idle user (closed-model stages) checks again after this long: short enough to follow a ramp
/// of a 250 ms window, long enough to cost nothing.
const IDLE_POLL: Duration = Duration::from_millis(20);

/// One piece of a piecewise-linear function of time: from `start_s` for `len_s`, `from` → `to`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    start_s: f64,
    len_s: f64,
    from: f64,
    to: f64,
}

impl Segment {
    /// ∫ over the first `t` seconds of the segment.
    fn integral(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, self.len_s);
        self.from * t + (self.to - self.from) * t * t / (2.0 * self.len_s)
    }

    fn value(&self, t: f64) -> f64 {
        self.from + (self.to - self.from) * (t / self.len_s).clamp(0.0, 1.0)
    }
}

/// A piecewise-linear rate over time (requests per second, time in seconds from the run's start).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    segments: Vec<Segment>,
}

impl Schedule {
    /// Holds `start` for `hold`, then ramps linearly through `stages` (duration, target).
    pub fn new(start: f64, hold: Duration, stages: &[(Duration, f64)]) -> Self {
        let mut segments = Vec::with_capacity(stages.len() + 1);
        let mut at = 0.0;
        let mut from = start;
        let pieces = std::iter::once((hold, start)).chain(stages.iter().copied());
        for (len, to) in pieces {
            let len_s = len.as_secs_f64();
            if len_s > 0.0 {
                segments.push(Segment {
                    start_s: at,
                    len_s,
                    from,
                    to,
                });
                at += len_s;
            }
            from = to;
        }
        Self { segments }
    }

    /// Total length in seconds.
    pub fn len_s(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.start_s + s.len_s)
    }

    /// The value at `t` seconds (0 outside the schedule).
    pub fn value_at(&self, t: f64) -> f64 {
        self.segments
            .iter()
            .find(|s| t >= s.start_s && t < s.start_s + s.len_s)
            .map_or(0.0, |s| s.value(t - s.start_s))
    }

    /// ∫₀ᵗ: the number of requests intended in the first `t` seconds.
    pub fn integral(&self, t: f64) -> f64 {
        self.segments
            .iter()
            .take_while(|s| s.start_s < t)
            .map(|s| s.integral(t - s.start_s))
            .sum()
    }

    /// Intended send time of slot `k` (0-based): the t where ∫₀ᵗ rate = k; `None` past the end.
    pub fn time_of(&self, k: u64) -> Option<f64> {
        let mut left = k as f64;
        for s in &self.segments {
            let total = s.integral(s.len_s);
            if left < total {
                // Solve from·t + a·t² = left with a = (to − from) / 2len, in the form that stays exact
                // when a → 0 and when from = 0: t = 2·left / (from + √(from² + 4·a·left)).
                let a = (s.to - s.from) / (2.0 * s.len_s);
                let disc = (s.from * s.from + 4.0 * a * left).max(0.0);
                let denom = s.from + disc.sqrt();
                let t = if denom > 0.0 { 2.0 * left / denom } else { 0.0 };
                return Some(s.start_s + t.min(s.len_s));
            }
            left -= total;
        }
        None
    }
}

/// The number of active users over time (closed-model stages): the rounded ramp, at least 1.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRamp {
    schedule: Schedule,
}

impl UserRamp {
    /// Active users at `t` seconds; the last stage's count after the end.
    pub fn active_at(&self, t: f64) -> u32 {
        let end = self.schedule.len_s();
        let v = if t >= end {
            self.schedule.segments.last().map_or(1.0, |s| s.to)
        } else {
            self.schedule.value_at(t)
        };
        (v.round() as u32).max(1)
    }
}

/// How the transaction paces its user.
#[derive(Debug)]
pub enum Pacer {
    /// Closed model, fixed users: send as soon as the previous response arrived.
    Unpaced,
    /// Open model: the arrival schedule.
    Open(Arrivals),
    /// Closed model with user stages.
    Users {
        /// Start of the run.
        origin: Instant,
        /// Active users over time.
        ramp: UserRamp,
    },
}

/// Open-model state: the schedule, its clock and the next free slot.
#[derive(Debug)]
pub struct Arrivals {
    schedule: Schedule,
    /// The schedule's t = 0: the start of the ramp-up, on the recorder's clock.
    origin: Instant,
    next: AtomicU64,
    measure_from_s: f64,
    measure_until_s: f64,
    late: AtomicU64,
}

/// What the open model's schedule asked of a measured window, and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intended {
    /// Requests due in the window.
    pub requests: u64,
    /// Of which started late.
    pub late: u64,
    /// Of which never handed to a user.
    pub unsent: u64,
}

/// What a user should do before its next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Send now; charge this much lateness (µs) to the request's latency.
    Send {
        /// Time between the intended send time and now, when beyond [`LATE_SLACK`]; else 0.
        late_us: u64,
    },
    /// Do not send (idle user, or the schedule is over).
    Skip,
}

impl Pacer {
    /// The pacer of `load`, its clock starting at `origin` (the start of the ramp-up).
    pub fn for_load(load: &LoadSpec, origin: Instant) -> Self {
        let stages: Vec<(Duration, f64)> = load
            .stages
            .iter()
            .map(|s| match s.target {
                StageTarget::Rate(r) | StageTarget::Users(r) => (s.duration, r as f64),
            })
            .collect();
        let open = |start: f64, stages: &[(Duration, f64)]| {
            let from = load.ramp_up.as_secs_f64();
            Pacer::Open(Arrivals {
                schedule: Schedule::new(start, load.ramp_up, stages),
                origin,
                next: AtomicU64::new(0),
                measure_from_s: from,
                measure_until_s: from + load.duration.as_secs_f64(),
                late: AtomicU64::new(0),
            })
        };
        // The first stage ramps from `rate` when set (k6's startRate), else it holds its own value;
        // the ramp-up (warm-up) holds the starting value.
        match load.stages.first().map(|s| s.target) {
            Some(StageTarget::Users(first)) => Pacer::Users {
                origin,
                ramp: UserRamp {
                    schedule: Schedule::new(first as f64, load.ramp_up, &stages),
                },
            },
            Some(StageTarget::Rate(first)) => open(load.rate.unwrap_or(first) as f64, &stages),
            None => match load.rate {
                Some(r) => open(r as f64, &[(load.duration, r as f64)]),
                None => Pacer::Unpaced,
            },
        }
    }

    /// Waits for this user's turn. Cheap: one atomic add and one timer per request.
    pub async fn turn(&self, user: usize) -> Turn {
        match self {
            Pacer::Unpaced => Turn::Send { late_us: 0 },
            Pacer::Users { origin, ramp } => {
                let t = origin.elapsed().as_secs_f64();
                if (user as u64) < ramp.active_at(t) as u64 {
                    Turn::Send { late_us: 0 }
                } else {
                    tokio::time::sleep(IDLE_POLL).await;
                    Turn::Skip
                }
            }
            Pacer::Open(a) => a.turn().await,
        }
    }

    /// Open model: requests intended in the measured window of `measured` length, how many of
    /// them started late (beyond [`LATE_SLACK`]), and how many were due but never handed to a user
    /// (every user was still waiting on earlier requests: a target that hangs). `None` for a
    /// closed model.
    pub fn intended(&self, measured: Duration) -> Option<Intended> {
        let Pacer::Open(a) = self else {
            return None;
        };
        let from = a.schedule.integral(a.measure_from_s);
        let until = a
            .schedule
            .integral(a.measure_from_s + measured.as_secs_f64());
        let handed = a.next.load(Ordering::Relaxed) as f64;
        let taken = handed.clamp(from.ceil(), until.ceil()) - from.ceil();
        let requests = (until - from).round() as u64;
        Some(Intended {
            requests,
            late: a.late.load(Ordering::Relaxed),
            unsent: requests.saturating_sub(taken.max(0.0) as u64),
        })
    }
}

impl Arrivals {
    async fn turn(&self) -> Turn {
        loop {
            let k = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(t) = self.schedule.time_of(k) else {
                // The schedule is over; the watchdog ends the run at the end of the measured window.
                tokio::time::sleep(IDLE_POLL).await;
                return Turn::Skip;
            };
            let intended = self.origin + Duration::from_secs_f64(t);
            let now = Instant::now();
            if intended > now {
                tokio::time::sleep_until(intended.into()).await;
                return Turn::Send { late_us: 0 };
            }
            let late = now - intended;
            if late <= LATE_SLACK {
                return Turn::Send { late_us: 0 };
            }
            if t < self.measure_from_s {
                // A warm-up slot: goose builds every user's HTTP client before (and while) users
                // start, blocking the runtime for up to a second on a busy runner. Late warm-up
                // slots are skipped, not sent as a burst: they are never measured, and the burst
                // would queue into the measured window. A start-up longer than the ramp-up still
                // makes the first measured slots late (and says so).
                let now_s = (now - self.origin).as_secs_f64().min(self.measure_from_s);
                let due = self.schedule.integral(now_s).ceil() as u64;
                self.next.fetch_max(due.max(k + 1), Ordering::Relaxed);
                continue;
            }
            if t < self.measure_until_s {
                self.late.fetch_add(1, Ordering::Relaxed);
            }
            return Turn::Send {
                late_us: late.as_micros() as u64,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn constant_rate_slots_are_evenly_spaced() {
        let s = Schedule::new(100.0, S(0), &[(S(2), 100.0)]);
        assert_eq!(s.time_of(0), Some(0.0));
        assert!((s.time_of(50).unwrap() - 0.5).abs() < 1e-9);
        assert!((s.time_of(199).unwrap() - 1.99).abs() < 1e-9);
        assert_eq!(s.time_of(200), None);
    }

    #[test]
    fn a_ramp_from_100_to_500_is_exact() {
        // Over 10 s the mean rate is 300: 3000 slots. Half of them are sent by the t where
        // 100t + 20t² = 1500: t = (√325 − 5) / 2 ≈ 6.51 s, later than half-time as the rate rises.
        let s = Schedule::new(100.0, S(0), &[(S(10), 500.0)]);
        assert!((s.integral(10.0) - 3000.0).abs() < 1e-6);
        let half = (325f64.sqrt() - 5.0) / 2.0;
        assert!((s.time_of(1500).unwrap() - half).abs() < 1e-9);
        assert!((s.value_at(5.0) - 300.0).abs() < 1e-9);
        assert_eq!(s.time_of(3000), None);
    }

    #[test]
    fn a_ramp_from_zero_and_a_zero_hold_work() {
        let s = Schedule::new(0.0, S(5), &[(S(2), 100.0)]);
        // Nothing during the 5 s hold at 0; 100 slots over the 2 s ramp (mean 50 req/s).
        assert!(s.time_of(0).unwrap() >= 5.0);
        assert!((s.integral(7.0) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn hold_then_stages_ramp_from_the_previous_target() {
        let s = Schedule::new(
            100.0,
            S(2),
            &[(S(10), 100.0), (S(30), 400.0), (S(5), 400.0)],
        );
        assert!((s.value_at(1.0) - 100.0).abs() < 1e-9);
        assert!((s.value_at(12.0 + 15.0) - 250.0).abs() < 1e-9);
        assert!((s.value_at(43.0) - 400.0).abs() < 1e-9);
        assert!((s.len_s() - 47.0).abs() < 1e-9);
    }

    #[test]
    fn user_ramp_rounds_and_keeps_the_last_count() {
        let r = UserRamp {
            schedule: Schedule::new(2.0, S(1), &[(S(10), 12.0)]),
        };
        assert_eq!(r.active_at(0.5), 2);
        assert_eq!(r.active_at(6.0), 7);
        assert_eq!(r.active_at(100.0), 12);
        let zero = UserRamp {
            schedule: Schedule::new(0.0, S(0), &[(S(1), 0.0)]),
        };
        assert_eq!(zero.active_at(0.5), 1, "never fewer than one user");
    }

    fn stages() -> impl Strategy<Value = (f64, Vec<(Duration, f64)>)> {
        (
            0.0..2_000.0f64,
            prop::collection::vec((1u64..20_000, 0.0..2_000.0f64), 1..6),
        )
            .prop_map(|(start, v)| {
                (
                    start,
                    v.into_iter()
                        .map(|(ms, r)| (Duration::from_millis(ms), r))
                        .collect(),
                )
            })
    }

    proptest! {
        #[test]
        fn slot_count_over_the_schedule_equals_the_integral((start, st) in stages()) {
            let s = Schedule::new(start, Duration::ZERO, &st);
            let total = s.integral(s.len_s());
            let expected: f64 = {
                let mut from = start;
                st.iter().map(|(d, to)| { let a = (from + to) / 2.0 * d.as_secs_f64(); from = *to; a }).sum()
            };
            prop_assert!((total - expected).abs() < 1e-6 * expected.max(1.0));
            // Slots are 0..ceil(total): the last one exists, the next one does not.
            let n = total.ceil() as u64;
            prop_assume!(total.fract() > 1e-6 && total.fract() < 1.0 - 1e-6);
            prop_assert!(s.time_of(n - 1).is_some());
            prop_assert!(s.time_of(n).is_none());
        }

        #[test]
        fn slot_times_are_monotone_and_inside_the_schedule((start, st) in stages(), step in 1u64..50) {
            let s = Schedule::new(start, Duration::from_millis(500), &st);
            let mut last = -1.0;
            let mut k = 0;
            while let Some(t) = s.time_of(k) {
                prop_assert!(t >= last - 1e-9, "slot {k} at {t} before {last}");
                prop_assert!(t <= s.len_s() + 1e-9);
                // The count intended before a slot's time is the slot's index.
                prop_assert!((s.integral(t) - k as f64).abs() < 1e-3 * (k as f64).max(1.0));
                last = t;
                k += step;
                if k > 200_000 { break; }
            }
        }

        #[test]
        fn ramp_endpoints_are_the_stage_targets(from in 0.0..1_000.0f64, to in 0.0..1_000.0f64, secs in 1u64..60) {
            let s = Schedule::new(from, Duration::ZERO, &[(S(secs), to)]);
            prop_assert!((s.value_at(0.0) - from).abs() < 1e-9);
            prop_assert!((s.value_at(secs as f64 - 1e-9) - to).abs() < 1e-6);
            prop_assert!((s.integral(secs as f64) - (from + to) / 2.0 * secs as f64).abs() < 1e-6);
        }
    }
}

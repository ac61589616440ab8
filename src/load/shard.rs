//! Stage 2 — one worker's part of a sharded run (`run --shard i/N`): its share of the scenario's load,
//! and a measured window that starts on a wall-clock window boundary so `merge` aligns shards exactly.
//!
//! No coordinator: each worker computes its own share from `i/N` alone (docs/sharding.md).

use std::time::Duration;

use crate::result::Shard;
use crate::scenario::{LoadSpec, Stage, StageTarget};

/// This worker's share of `load`: the rate cap, users and request bound divided by N with the
/// remainder spread over the first shards, so the shares add up to the scenario's numbers. Times
/// (ramp-up, duration, window, timeout) are the same for every shard.
pub fn split(load: &LoadSpec, shard: Shard) -> Result<LoadSpec, ShardError> {
    let rate = match load.rate {
        Some(rate) if rate < shard.count => {
            return Err(ShardError::RateTooLow {
                rate,
                count: shard.count,
            })
        }
        Some(rate) => Some(u32::try_from(shard.share(u64::from(rate))).unwrap_or(rate)),
        None => None,
    };
    // A worker needs at least one user; with fewer users than shards the total grows to N users,
    // which a rate cap keeps harmless and which the merged result's load settings show.
    let users = u32::try_from(shard.share(u64::from(load.users)))
        .unwrap_or(load.users)
        .max(1);
    // Every stage target is shared the same way, so the workers' schedules add up to the scenario's.
    let stages = load
        .stages
        .iter()
        .map(|s| Stage {
            duration: s.duration,
            target: match s.target {
                StageTarget::Rate(r) => {
                    StageTarget::Rate(u32::try_from(shard.share(u64::from(r))).unwrap_or(r))
                }
                StageTarget::Users(u) => {
                    StageTarget::Users(u32::try_from(shard.share(u64::from(u))).unwrap_or(u).max(1))
                }
            },
        })
        .collect();
    Ok(LoadSpec {
        users,
        rate,
        max_requests: shard.share(load.max_requests).max(1),
        stages,
        ..load.clone()
    })
}

/// How long to wait from `now_unix_ms` so that the measured window (which opens `ramp_up` after the
/// load starts) opens on a multiple of `window` in wall-clock time. Shards started at different
/// moments then cut time at the same instants, and window k of every shard covers the same slice.
pub fn delay_to_boundary(now_unix_ms: i64, ramp_up: Duration, window: Duration) -> Duration {
    let window_ms = window.as_millis().max(1) as i64;
    let opens_at = now_unix_ms + ramp_up.as_millis() as i64;
    let wait = (window_ms - opens_at.rem_euclid(window_ms)) % window_ms;
    Duration::from_millis(wait as u64)
}

/// Waits until starting the load now opens the measured window on a wall-clock window boundary
/// (at most one window).
pub async fn align_start(load: &LoadSpec) {
    let now = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(delay_to_boundary(now, load.ramp_up, load.window)).await;
}

/// The scenario's load cannot be split as asked.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// Fewer requests per second than workers.
    #[error("the scenario's rate cap of {rate} req/s cannot be split over {count} shards (each needs at least 1 req/s); use fewer shards or raise `[load] rate`")]
    RateTooLow {
        /// `[load] rate`.
        rate: u32,
        /// Shards.
        count: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(users: u32, rate: Option<u32>, max_requests: u64) -> LoadSpec {
        LoadSpec {
            users,
            rate,
            ramp_up: Duration::from_millis(500),
            duration: Duration::from_secs(3),
            max_requests,
            request_timeout: Duration::from_secs(2),
            window: Duration::from_millis(250),
            stages: Vec::new(),
        }
    }

    #[test]
    fn rate_stages_are_shared_too() {
        let whole = LoadSpec {
            stages: vec![
                Stage {
                    duration: Duration::from_secs(1),
                    target: StageTarget::Rate(100),
                },
                Stage {
                    duration: Duration::from_secs(1),
                    target: StageTarget::Rate(401),
                },
            ],
            ..load(8, None, 1_000)
        };
        let parts: Vec<LoadSpec> = (1..=2)
            .map(|index| split(&whole, Shard { index, count: 2 }))
            .collect::<Result<_, _>>()
            .expect("splittable");
        let rate_at = |i: usize| -> u32 {
            parts
                .iter()
                .map(|p| match p.stages[i].target {
                    StageTarget::Rate(r) => r,
                    StageTarget::Users(_) => 0,
                })
                .sum()
        };
        assert_eq!((rate_at(0), rate_at(1)), (100, 401));
    }

    #[test]
    fn shares_add_up_to_the_scenario() {
        let whole = load(10, Some(1_001), 20_000);
        let parts: Vec<LoadSpec> = (1..=3)
            .map(|index| split(&whole, Shard { index, count: 3 }))
            .collect::<Result<_, _>>()
            .expect("splittable");
        assert_eq!(parts.iter().map(|p| p.users).sum::<u32>(), 10);
        assert_eq!(
            parts.iter().filter_map(|p| p.rate).collect::<Vec<_>>(),
            vec![334, 334, 333]
        );
        assert_eq!(parts.iter().map(|p| p.max_requests).sum::<u64>(), 20_000);
        assert!(parts.iter().all(|p| p.duration == whole.duration));
    }

    #[test]
    fn every_shard_gets_a_user_and_a_rate_below_n_is_refused() {
        let one = split(&load(1, None, 10), Shard { index: 2, count: 2 }).expect("splittable");
        assert_eq!(one.users, 1);
        let e = split(&load(4, Some(2), 10), Shard { index: 1, count: 3 }).expect_err("too low");
        assert!(e.to_string().contains("raise `[load] rate`"), "{e}");
    }

    #[test]
    fn the_measured_window_opens_on_a_boundary() {
        let w = Duration::from_millis(1_000);
        let ramp = Duration::from_millis(500);
        for now in [0i64, 1, 499, 500, 501, 999, 1_234_567] {
            let d = delay_to_boundary(now, ramp, w).as_millis() as i64;
            assert!(d < 1_000, "{now}: waits less than one window");
            assert_eq!((now + d + 500) % 1_000, 0, "{now}: opens on a boundary");
        }
    }
}

//! The defaults of every scenario key, defined once: what a scenario that leaves a key out runs and
//! gates with.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::result::metric::Metric;
use crate::scenario::units::Percent;
use crate::scenario::{GateSpec, Thresholds};

/// Goose's default is one user per CPU, which makes load depend on the machine: pick a fixed number.
pub const DEFAULT_USERS: u32 = 8;
/// Long enough for connection pools and caches to warm, short enough for a PR job.
pub const DEFAULT_RAMP_UP: Duration = Duration::from_secs(5);
/// 30 s gives ~25 usable one-second windows: the minimum the noise guard wants (docs/statistics.md §3).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);
/// One-second windows: long enough to hold many requests, short enough that a 30 s run gives the
/// noise guard ~30 blocks to resample.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(1);
/// A hard bound so a fast target and a long duration cannot run away.
pub const DEFAULT_MAX_REQUESTS: u64 = 1_000_000;
/// Goose's default is 60 s, which turns a hung target into a hung CI job.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Warn at +10% in the bad direction (docs/statistics.md §1).
pub const DEFAULT_WARN: Percent = Percent::from_fraction(0.10);
/// Critical at +20% in the bad direction (docs/statistics.md §1).
pub const DEFAULT_CRITICAL: Percent = Percent::from_fraction(0.20);
/// Measured time before `abort_on_slo` first looks: the first seconds of a run are the least
/// typical (cold caches, connection set-up), and no run is stopped on them.
pub const DEFAULT_ABORT_GRACE: Duration = Duration::from_secs(10);
/// Below 25 µs, a change is scheduler and loopback jitter, not a regression a user would feel.
pub const DEFAULT_LATENCY_FLOOR: Duration = Duration::from_micros(25);
/// A baseline with more than 1% errors describes a broken service, not a reference.
pub const DEFAULT_RECORD_MAX_ERROR_RATE: Percent = Percent::from_fraction(0.01);
/// Gated unless `[gate] metrics` says otherwise; p90 and max are reported only. p5 is gated because
/// on a shared machine it is the one latency that interference barely reaches: a build that slows
/// every request moves it as much as the median, while a busy runner moves the median alone.
pub const DEFAULT_METRICS: [Metric; 7] = [
    Metric::P5,
    Metric::P50,
    Metric::P95,
    Metric::P99,
    Metric::Mean,
    Metric::Throughput,
    Metric::ErrorRate,
];
/// The `[gate]` of a scenario that sets none of its keys: what `compare` and `report` judge with when
/// no scenario is given.
pub fn default_gate() -> GateSpec {
    GateSpec {
        thresholds: Thresholds {
            warn: DEFAULT_WARN,
            critical: DEFAULT_CRITICAL,
        },
        metrics: DEFAULT_METRICS.to_vec(),
        slos: Vec::new(),
        request_slos: BTreeMap::new(),
        latency_floor: DEFAULT_LATENCY_FLOOR,
        record_max_error_rate: DEFAULT_RECORD_MAX_ERROR_RATE,
        overrides: BTreeMap::new(),
        abort: None,
    }
}
pub(super) const DEFAULT_HEALTH_RETRIES: u32 = 5;
pub(super) const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
pub(super) const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Sampling once a second resolves a leak's slope within a CI run without measurable cost.
pub const DEFAULT_MONITOR_INTERVAL: Duration = Duration::from_secs(1);

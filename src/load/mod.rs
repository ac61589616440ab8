//! Stage 2 — send the load and measure it: [`Scenario`] + [`Target`] → [`RunResult`].
//!
//! `goose.rs` drives goose, `recorder.rs` measures, `target.rs` resolves and probes the target,
//! `demo.rs` is the built-in demo service. This stage does not compare or judge.

pub mod abort;
pub mod arrival;
pub mod body;
pub mod client;
pub mod flow;
mod goose;
pub mod progress;
pub mod recorder;
pub mod shard;
pub mod target;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::result::{
    Host, LoadSettings, Meta, OpenModel, RunResult, StageSettings, RESULT_SCHEMA_VERSION,
};
use crate::scenario::{Scenario, StageTarget};
pub use target::Target;

use self::goose::{Ending, Plan};
use self::recorder::{Recorder, Timing};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks a running load to stop (Ctrl-C / SIGTERM). The run ends gracefully and is marked interrupted.
pub fn request_stop() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Provenance the caller knows and the load stage does not look up itself.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// Commit of the code under test.
    pub git_commit: Option<String>,
    /// This machine.
    pub host: Host,
}

/// Loads `target` with `scenario` and measures it. The target must have passed [`target::preflight`].
pub async fn run(
    scenario: &Scenario,
    target: &Target,
    provenance: Provenance,
) -> Result<RunResult, LoadError> {
    let load = &scenario.load;
    let started = Instant::now();
    let measure_from = started + load.ramp_up;
    let measure_until = measure_from + load.duration;
    let window = load.window;
    let timing = Timing {
        measure_from,
        measure_until,
        window,
    };
    // Open-model latencies are timed from each request's intended send time (arrival.rs), so the
    // recorder's back-filling correction of the old throttle-based runs is not applied.
    let co_interval_us = None;
    let pacer = Arc::new(arrival::Pacer::for_load(load, started));
    let names: Vec<String> = scenario.requests.iter().map(|r| r.name.clone()).collect();
    let tripwire = Arc::new(abort::Tripwire::default());
    let checks = scenario
        .requests
        .iter()
        .map(|r| r.checks.iter().map(|c| c.name.clone()).collect())
        .collect();
    let recorder = Arc::new(
        Recorder::new(
            names.clone(),
            load.users as usize,
            timing,
            load.max_requests,
            co_interval_us,
        )
        .with_checks(checks)
        .with_once(
            scenario
                .requests
                .iter()
                .map(|r| r.phase == crate::scenario::Phase::OnStart)
                .collect(),
        ),
    );
    let started_at =
        chrono::Utc::now() + chrono::Duration::from_std(load.ramp_up).unwrap_or_default();
    let plan = Plan {
        base_url: target.base(),
        requests: scenario.requests.clone(),
        target_headers: scenario.target.headers.clone(),
        captures: scenario.captures.clone(),
        feeds: Arc::new(flow::Feeds::new(&scenario.feeders, load.users)),
        client: client::ClientOptions::new(&scenario.target, target.accepts_invalid_certs()),
        users: load.users,
        pacer: pacer.clone(),
        ramp_up: load.ramp_up,
        request_timeout: load.request_timeout,
        stop_at: measure_until,
        abort: tripwire.clone(),
    };
    let shown = progress::start(recorder.clone(), timing, started);
    let watching = abort::Watch::of(&scenario.gate, &names)
        .map(|w| abort::spawn(w, recorder.clone(), timing, tripwire.clone()));
    let outcome = goose::execute(plan, recorder.clone()).await;
    if let Some(w) = watching {
        w.abort();
    }
    let (ending, stopped) = outcome?;
    drop(shown);
    let aborted = match ending {
        Ending::Aborted => tripwire.take(),
        _ => None,
    };
    if ending == Ending::Interrupted {
        return Err(LoadError::Interrupted);
    }
    let measured = stopped.clamp(measure_from, measure_until) - measure_from;
    let window_count = (measured.as_micros().div_ceil(window.as_micros())) as usize;
    let (all, requests) = recorder.finish(window_count);
    let meta = Meta {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_name: scenario.name.clone(),
        scenario_hash: scenario.hash.clone(),
        // Never stored or shown with a `${env:NAME}` value its path may hold.
        target_url: scenario.secrets.redact(&target.base()),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        measured_duration_ms: measured.as_millis() as u64,
        git_commit: provenance.git_commit,
        host: provenance.host,
        load: LoadSettings {
            users: load.users,
            rate_rps: load.rate,
            ramp_up_ms: load.ramp_up.as_millis() as u64,
            duration_ms: load.duration.as_millis() as u64,
            max_requests: load.max_requests,
            request_timeout_ms: load.request_timeout.as_millis() as u64,
            window_ms: window.as_millis() as u64,
            stages: load
                .stages
                .iter()
                .map(|s| StageSettings {
                    duration_ms: s.duration.as_millis() as u64,
                    rate_rps: match s.target {
                        StageTarget::Rate(r) => Some(r),
                        StageTarget::Users(_) => None,
                    },
                    users: match s.target {
                        StageTarget::Users(u) => Some(u),
                        StageTarget::Rate(_) => None,
                    },
                })
                .collect(),
        },
        warmup_requests: recorder.warmup_requests(),
        stopped_early: match &ending {
            Ending::MaxRequests => Some(format!(
                "max_requests ({}) reached after {:.1}s of measurement",
                load.max_requests,
                measured.as_secs_f64()
            )),
            Ending::FeederExhausted(name) => Some(format!(
                "feeder `{name}` ran out of rows (on_end = \"stop\") after {:.1}s of measurement",
                measured.as_secs_f64()
            )),
            Ending::Aborted => aborted.as_ref().map(|a| a.describe()),
            Ending::Duration | Ending::Interrupted => None,
        },
        co_correction_interval_us: co_interval_us,
        run_windows: Vec::new(),
        measure_start_unix_ms: Some(started_at.timestamp_millis()),
        shard: None,
        merged: None,
        open_model: pacer.intended(measured).map(|i| OpenModel {
            target_requests: i.requests,
            target_rps: i.requests as f64 / measured.as_secs_f64().max(1e-3),
            late_requests: i.late,
            unsent_requests: i.unsent,
        }),
        aborted,
    };
    Ok(RunResult {
        schema_version: RESULT_SCHEMA_VERSION,
        meta,
        all,
        requests,
        samples: Vec::new(),
        learned: None,
        imported: None,
    })
}

/// The load could not be sent or measured.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A base URL is unusable.
    #[error("{source_name}: target URL `{shown}` is not usable: {problem}")]
    TargetUrl {
        /// Where it came from.
        source_name: String,
        /// The URL with credentials masked.
        shown: String,
        /// What is wrong, and the fix.
        problem: String,
    },
    /// No base URL anywhere.
    #[error("no target: scenario {scenario} has no `[target] base_url`; pass `--target URL`, or `--demo` for the built-in demo service")]
    NoTarget {
        /// Scenario file.
        scenario: String,
    },
    /// The preflight probe failed: no load was sent.
    #[error("target is not healthy: {url} failed {attempts} attempt(s) over {waited:?} (last: {last}); no load was sent. Check the service is up and `--target`/`target.base_url` is right, or raise `[target.health] retries`")]
    Unhealthy {
        /// Probed URL (credentials masked).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Last failure.
        last: String,
        /// Time spent waiting between attempts.
        waited: Duration,
    },
    /// A header cannot be sent.
    #[error("request `{request}`: header `{header}` has a name or value HTTP does not allow; fix it in the scenario")]
    Header {
        /// Request name.
        request: String,
        /// Header name.
        header: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Goose refused the configuration or failed.
    #[error("the load generator failed: {0}")]
    Goose(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The run did not stop in time.
    #[error("the load did not stop within {after:?} of its end; this is a bug in loadgate, please report it")]
    DidNotStop {
        /// Time waited.
        after: Duration,
    },
    /// Ctrl-C or SIGTERM.
    #[error("interrupted: the run was stopped before its end; nothing was recorded or judged")]
    Interrupted,
}

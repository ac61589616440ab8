//! Stage 2 — the live progress on stderr while the load runs: phase, elapsed / total, achieved
//! rate over the last second, errors and p95 so far. The only module that knows indicatif.
//!
//! On a terminal (with `TERM` not `dumb`) it is one line redrawn 4 times a second; elsewhere (a
//! pipe, a CI log) the same line is printed every 10 s, so a one-hour soak shows it is alive. `-q`
//! hides both; nothing ever goes to stdout. It reads the recorder from its own task and never
//! touches the per-request hot path: counts come from one atomic, errors and p95 from the windows the
//! user shards have already handed over (so they lag the live traffic by about one window).

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::load::recorder::{Recorder, Timing};
use crate::result::Window;

/// 4 refreshes a second: live enough to watch, cheap enough to be invisible in the load.
const REFRESH: Duration = Duration::from_millis(250);
/// Where the line cannot be redrawn (a CI log), one line this often: alive, without flooding.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// The achieved rate is averaged over this long: one second, as "req/s" promises.
const RATE_SPAN: Duration = Duration::from_secs(1);

/// What one refresh of the line shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// In the measured window (else the ramp-up).
    pub measuring: bool,
    /// Since the load started.
    pub elapsed: Duration,
    /// Ramp-up plus measured duration.
    pub total: Duration,
    /// Completed requests per second over the last second.
    pub rate_rps: f64,
    /// Requests completed so far, ramp-up included.
    pub requests: u64,
    /// Failed requests in the measured windows handed over so far.
    pub errors: u64,
    /// p95 of the measured windows handed over so far.
    pub p95_us: Option<u64>,
}

/// The progress line for `s`, e.g. `measuring 12.3s/30.5s · 412 req/s · 4120 requests · 3 errors · p95 4.21ms`.
pub fn line(s: &Snapshot) -> String {
    let phase = if s.measuring { "measuring" } else { "ramp-up" };
    let p95 = s.p95_us.map_or_else(|| "–".to_string(), micros);
    format!(
        "{phase} {:.1}s/{:.1}s · {:.0} req/s · {} requests · {} errors · p95 {p95}",
        s.elapsed.as_secs_f64(),
        s.total.as_secs_f64(),
        s.rate_rps,
        s.requests,
        s.errors,
    )
}

fn micros(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

/// Where the progress goes.
enum Sink {
    /// Redrawn in place on a terminal.
    Bar(ProgressBar),
    /// A line every [`LOG_EVERY`] into a log.
    Log,
}

/// The running progress; dropping it stops the refresh task and clears the line.
pub struct Progress {
    shown: Option<(Option<ProgressBar>, tokio::task::JoinHandle<()>)>,
}

/// Starts the progress for a load that began at `started`: a redrawn line on a terminal, a line
/// every 10 s elsewhere, nothing with `-q`.
pub fn start(recorder: Arc<Recorder>, timing: Timing, started: Instant) -> Progress {
    if crate::terminal::quiet() {
        return Progress { shown: None };
    }
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let sink = if dumb || !std::io::stderr().is_terminal() {
        Sink::Log
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        Sink::Bar(bar)
    };
    let bar = match &sink {
        Sink::Bar(b) => Some(b.clone()),
        Sink::Log => None,
    };
    let task = tokio::spawn(refresh(sink, recorder, timing, started));
    Progress {
        shown: Some((bar, task)),
    }
}

/// Whether a log line is due at `elapsed`, the last one having been printed at `last`.
fn log_due(elapsed: Duration, last: Duration) -> bool {
    elapsed >= last + LOG_EVERY
}

async fn refresh(sink: Sink, recorder: Arc<Recorder>, timing: Timing, started: Instant) {
    let total = timing.measure_until.saturating_duration_since(started);
    let window_us = timing.window.as_micros().max(1);
    let mut seen = Window::default();
    let mut taken = 0usize;
    let mut counts: VecDeque<(Instant, u64)> = VecDeque::new();
    let mut logged = Duration::ZERO;
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tick.tick().await;
        let now = Instant::now();
        let requests = recorder.completed();
        counts.push_back((now, requests));
        while counts.len() > 2 && counts[1].0 + RATE_SPAN <= now {
            counts.pop_front();
        }
        let rate_rps = match counts.front() {
            Some(&(t, n)) if now > t => (requests - n) as f64 / (now - t).as_secs_f64(),
            _ => 0.0,
        };
        // Windows that ended at least one window ago: every busy user shard has handed them over.
        let current = (now
            .saturating_duration_since(timing.measure_from)
            .as_micros()
            / window_us) as usize;
        let closed = current.saturating_sub(1);
        if now >= timing.measure_from && closed > taken {
            let w = recorder.collected_windows(taken..closed);
            seen.requests += w.requests;
            seen.errors += w.errors;
            seen.histogram.merge(&w.histogram);
            taken = closed;
        }
        let elapsed = now.saturating_duration_since(started);
        let snapshot = Snapshot {
            measuring: now >= timing.measure_from,
            elapsed: elapsed.min(total),
            total,
            rate_rps,
            requests,
            errors: seen.errors,
            p95_us: seen.histogram.quantile_us(0.95),
        };
        match &sink {
            Sink::Bar(bar) => bar.set_message(line(&snapshot)),
            Sink::Log if log_due(elapsed, logged) => {
                logged = elapsed;
                eprintln!("loadgate: {}", line(&snapshot));
            }
            Sink::Log => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some((bar, task)) = self.shown.take() {
            task.abort();
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_phase_time_rate_errors_and_p95() {
        let s = Snapshot {
            measuring: true,
            elapsed: Duration::from_millis(12_340),
            total: Duration::from_millis(30_500),
            rate_rps: 411.6,
            requests: 4_120,
            errors: 3,
            p95_us: Some(4_210),
        };
        assert_eq!(
            line(&s),
            "measuring 12.3s/30.5s · 412 req/s · 4120 requests · 3 errors · p95 4.21ms"
        );
        let ramp = Snapshot {
            measuring: false,
            p95_us: None,
            errors: 0,
            ..s
        };
        assert_eq!(
            line(&ramp),
            "ramp-up 12.3s/30.5s · 412 req/s · 4120 requests · 0 errors · p95 –"
        );
    }

    #[test]
    fn a_log_gets_one_line_every_ten_seconds() {
        let s = Duration::from_secs;
        assert!(!log_due(Duration::from_millis(9_750), Duration::ZERO));
        assert!(log_due(s(10), Duration::ZERO));
        assert!(!log_due(Duration::from_millis(19_900), s(10)));
        assert!(log_due(Duration::from_millis(20_100), s(10)));
    }

    #[test]
    fn latencies_read_in_their_natural_unit() {
        assert_eq!(micros(850), "850µs");
        assert_eq!(micros(12_300), "12.30ms");
        assert_eq!(micros(1_200_000), "1.20s");
    }
}

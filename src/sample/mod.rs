//! Stage 2b — watch the service while it is loaded: memory (RSS) and CPU over time.
//!
//! A [`Sampler`] reads the service once; [`start`] runs one on its own task every interval, from
//! before the ramp-up to after the run, and never blocks the load. A sampler that fails is retried;
//! one that keeps failing stops, and its reason travels with the samples so the memory metrics are
//! reported incomplete instead of silently passing. sysinfo appears only in this module.

pub mod host;
pub mod process;
pub mod prometheus;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::result::{SamplePoint, Samples};

/// One reading of the service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Resident set size.
    pub rss_bytes: Option<u64>,
    /// CPU time consumed since the process started (user + system), in seconds.
    pub cpu_seconds: Option<f64>,
}

/// Reads the service's memory and CPU.
pub trait Sampler: Send {
    /// What is sampled, for reports ("pid 1234", "http://host:9100/metrics").
    fn source(&self) -> String;
    /// One reading.
    fn read(&mut self) -> Pin<Box<dyn Future<Output = Result<Reading, SampleError>> + Send + '_>>;
}

/// A reading failed; the message says what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    /// The process is gone.
    #[error("process {pid} is not running (it exited, or the pid is wrong)")]
    NoProcess {
        /// Pid.
        pid: u32,
    },
    /// The endpoint failed.
    #[error("cannot scrape {url}: {problem}")]
    Scrape {
        /// URL, without credentials.
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// The endpoint answered without the metric.
    #[error("{url} has no `{metric}`{labels}; set `[monitor] memory_metric`/`cpu_metric` or `labels` to match what it exports")]
    NoMetric {
        /// URL.
        url: String,
        /// Metric name.
        metric: String,
        /// Label selector, for the message.
        labels: String,
    },
}

/// Consecutive failed readings after which sampling gives up (the reason is kept).
const MAX_CONSECUTIVE_FAILURES: u32 = 3;

/// What a sampling task collected, and why it stopped early if it did.
type Collected = (Vec<(Instant, Reading)>, Option<String>);

/// A running sampling task.
pub struct Sampling {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Collected>,
    source: String,
    interval: Duration,
}

/// Reads once now (so a wrong pid or a dead endpoint fails before any load), then keeps reading every
/// `interval` on its own task until [`Sampling::finish`].
pub async fn start(
    mut sampler: Box<dyn Sampler>,
    interval: Duration,
) -> Result<Sampling, SampleError> {
    let first = sampler.read().await?;
    let source = sampler.source();
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut points = vec![(Instant::now(), first)];
        let mut failures = 0;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate: we just read
        loop {
            tokio::select! {
                _ = stopped.changed() => return (points, None),
                _ = ticker.tick() => {}
            }
            match sampler.read().await {
                Ok(r) => {
                    failures = 0;
                    points.push((Instant::now(), r));
                }
                Err(e) => {
                    failures += 1;
                    log::warn!("sampling {}: {e}", sampler.source());
                    if failures >= MAX_CONSECUTIVE_FAILURES {
                        return (points, Some(format!("sampling stopped mid-run: {e}")));
                    }
                }
            }
        }
    });
    Ok(Sampling {
        stop,
        task,
        source,
        interval,
    })
}

impl Sampling {
    /// Stops sampling; times are made relative to `measure_from` (negative during the ramp-up).
    pub async fn finish(self, measure_from: Instant) -> Samples {
        let _ = self.stop.send(true);
        let (points, error) = match self.task.await {
            Ok(x) => x,
            Err(e) => (
                Vec::new(),
                Some(format!(
                    "the sampling task failed: {e}; this is a bug in loadgate, please report it"
                )),
            ),
        };
        to_samples(&self.source, self.interval, &points, error, measure_from)
    }
}

/// Converts readings into stored samples: RSS as read, CPU as % of one core between readings.
fn to_samples(
    source: &str,
    interval: Duration,
    points: &[(Instant, Reading)],
    error: Option<String>,
    from: Instant,
) -> Samples {
    let offset_ms = |t: Instant| -> i64 {
        if t >= from {
            (t - from).as_millis() as i64
        } else {
            -((from - t).as_millis() as i64)
        }
    };
    let mut out = Vec::with_capacity(points.len());
    for (i, (t, r)) in points.iter().enumerate() {
        let cpu_percent = i.checked_sub(1).and_then(|j| {
            let (t0, r0) = points[j];
            let (c0, c1) = (r0.cpu_seconds?, r.cpu_seconds?);
            let dt = (*t - t0).as_secs_f64();
            (dt > 0.0 && c1 >= c0).then(|| 100.0 * (c1 - c0) / dt)
        });
        out.push(SamplePoint {
            t_ms: offset_ms(*t),
            rss_bytes: r.rss_bytes,
            cpu_percent,
        });
    }
    Samples {
        source: source.to_string(),
        interval_ms: interval.as_millis() as u64,
        points: out,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted(Vec<Result<Reading, SampleError>>);

    impl Sampler for Scripted {
        fn source(&self) -> String {
            "scripted".into()
        }
        fn read(
            &mut self,
        ) -> Pin<Box<dyn Future<Output = Result<Reading, SampleError>> + Send + '_>> {
            let next = if self.0.is_empty() {
                Err(SampleError::NoProcess { pid: 1 })
            } else {
                self.0.remove(0)
            };
            Box::pin(async move { next })
        }
    }

    fn ok(rss: u64, cpu: f64) -> Result<Reading, SampleError> {
        Ok(Reading {
            rss_bytes: Some(rss),
            cpu_seconds: Some(cpu),
        })
    }

    #[tokio::test]
    async fn samples_until_stopped_and_derives_cpu_percent() {
        let s = Scripted((0..1000).map(|i| ok(1_000 + i, i as f64 * 0.005)).collect());
        let sampling = start(Box::new(s), Duration::from_millis(10)).await.unwrap();
        let from = Instant::now();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let samples = sampling.finish(from).await;
        assert!(samples.points.len() >= 5, "{}", samples.points.len());
        assert!(samples.error.is_none());
        assert!(samples.points[0].t_ms <= 0 && samples.points.last().unwrap().t_ms > 0);
        let cpu = samples.points[3].cpu_percent.unwrap();
        assert!(cpu > 0.0 && cpu < 1000.0, "{cpu}");
    }

    #[tokio::test]
    async fn a_sampler_that_keeps_failing_stops_with_its_reason() {
        let s = Scripted(vec![ok(1, 0.0), ok(2, 0.0)]);
        let sampling = start(Box::new(s), Duration::from_millis(5)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let samples = sampling.finish(Instant::now()).await;
        assert_eq!(samples.points.len(), 2);
        assert!(samples.error.unwrap().contains("not running"));
    }

    #[tokio::test]
    async fn a_failing_first_reading_is_an_error_before_any_load() {
        assert!(start(Box::new(Scripted(vec![])), Duration::from_millis(5))
            .await
            .is_err());
    }
}

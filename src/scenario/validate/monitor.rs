//! `[monitor]`: the service process or Prometheus endpoint sampled for memory and CPU, and how often.

use std::time::Duration;

use super::context::Ctx;
use super::defaults::DEFAULT_MONITOR_INTERVAL;
use crate::scenario::file::MonitorFile;
use crate::scenario::{MonitorSource, MonitorSpec, ScenarioError};

pub(super) fn monitor(cx: &Ctx<'_>, m: &MonitorFile) -> Result<MonitorSpec, ScenarioError> {
    let source = source(cx, m)?;
    if !matches!(source, MonitorSource::Prometheus { .. })
        && (m.memory_metric.is_some() || m.cpu_metric.is_some() || !m.labels.is_empty())
    {
        return Err(cx.invalid(
            "monitor",
            "`memory_metric`, `cpu_metric` and `labels` apply to `prometheus` only",
            "remove them",
        ));
    }
    let interval = cx.duration(
        "monitor.interval",
        m.interval.as_ref(),
        DEFAULT_MONITOR_INTERVAL,
    )?;
    if interval < Duration::from_millis(100) || interval > Duration::from_secs(60) {
        return Err(cx.invalid(
            "monitor.interval",
            "must be between 100ms and 60s",
            "keep the default \"1s\"",
        ));
    }
    Ok(MonitorSpec { source, interval })
}

/// Exactly one of `pid`, `command` and `prometheus`.
fn source(cx: &Ctx<'_>, m: &MonitorFile) -> Result<MonitorSource, ScenarioError> {
    let fix = "set exactly one of `pid`, `command` or `prometheus`";
    match (m.pid, &m.command, &m.prometheus) {
        (Some(pid), None, None) => Ok(MonitorSource::Pid(pid)),
        (None, Some(argv), None) => command(cx, argv),
        (None, None, Some(url)) => prometheus(cx, m, url),
        (None, None, None) => Err(cx.invalid("monitor", "no source to sample", fix)),
        _ => Err(cx.invalid("monitor", "more than one source", fix)),
    }
}

fn command(cx: &Ctx<'_>, argv: &[String]) -> Result<MonitorSource, ScenarioError> {
    if argv.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(cx.invalid("monitor.command", "empty command", "write the program then its arguments, e.g. [\"./target/release/api\", \"--port\", \"8080\"]"));
    }
    Ok(MonitorSource::Command(
        argv.iter()
            .enumerate()
            .map(|(i, a)| cx.expand(&format!("monitor.command[{i}]"), a))
            .collect::<Result<_, _>>()?,
    ))
}

fn prometheus(cx: &Ctx<'_>, m: &MonitorFile, url: &str) -> Result<MonitorSource, ScenarioError> {
    let url = cx.expand("monitor.prometheus", url)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(cx.invalid(
            "monitor.prometheus",
            "not an http(s) URL",
            "e.g. \"http://staging:9100/metrics\"",
        ));
    }
    Ok(MonitorSource::Prometheus {
        url,
        memory_metric: m
            .memory_metric
            .clone()
            .unwrap_or_else(|| "process_resident_memory_bytes".to_string()),
        cpu_metric: m
            .cpu_metric
            .clone()
            .unwrap_or_else(|| "process_cpu_seconds_total".to_string()),
        labels: m.labels.clone(),
    })
}

//! `[gate]`: thresholds, the gated metrics, SLOs, per-request overrides, and the `[gate]` of a
//! `[suite]` file.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::context::Ctx;
use super::defaults::{
    DEFAULT_ABORT_GRACE, DEFAULT_CRITICAL, DEFAULT_LATENCY_FLOOR, DEFAULT_METRICS,
    DEFAULT_RECORD_MAX_ERROR_RATE, DEFAULT_WARN,
};
use crate::result::metric::Metric;
use crate::scenario::file::{GateFile, ThresholdFile};
use crate::scenario::units::Percent;
use crate::scenario::{GateSpec, LoadSpec, RequestSpec, ScenarioError, Slo, Thresholds};

/// Per request: its own thresholds by metric, and its own SLOs.
type Overrides = (
    BTreeMap<String, BTreeMap<Metric, Thresholds>>,
    BTreeMap<String, Vec<Slo>>,
);

/// The `[gate]` of a `[suite]` file: as a scenario's, except that its rows (the benchmarks) are
/// known only once the suite has run, so `[gate.overrides]` cannot name them.
pub fn suite_gate(path: &Path, g: &GateFile) -> Result<GateSpec, ScenarioError> {
    let env = |k: &str| std::env::var(k).ok();
    let cx = Ctx {
        path,
        env: &env,
        constants: BTreeMap::new(),
        captures: Vec::new(),
        feeders: Vec::new(),
    };
    gate(&cx, g, &[])
}

/// A scenario's `[gate]`, with the metrics its run can be gated on.
pub(super) fn scenario_gate(
    cx: &Ctx<'_>,
    g: &GateFile,
    requests: &[RequestSpec],
    load: &LoadSpec,
    monitored: bool,
) -> Result<GateSpec, ScenarioError> {
    let mut gate = gate(cx, g, requests)?;
    if load.ramps_rate() {
        // The run's throughput follows the ramp by construction: reported, never gated.
        gate.metrics.retain(|m| *m != Metric::Throughput);
    }
    if monitored && g.metrics.is_none() {
        // Watching the service is for gating its memory: add peak and growth to the defaults.
        gate.metrics.extend([Metric::PeakRss, Metric::RssGrowth]);
    }
    Ok(gate)
}

fn gate(cx: &Ctx<'_>, g: &GateFile, requests: &[RequestSpec]) -> Result<GateSpec, ScenarioError> {
    let defaults = Thresholds {
        warn: DEFAULT_WARN,
        critical: DEFAULT_CRITICAL,
    };
    let top = ThresholdFile {
        warn: g.warn.clone(),
        critical: g.critical.clone(),
    };
    let thresholds = thresholds(cx, "gate", &top, defaults)?;
    let metrics = gated_metrics(cx, g.metrics.as_deref())?;
    let slos = slo_list(cx, "gate", &g.slo)?;
    let (overrides, request_slos) = overrides(cx, g, requests, thresholds)?;
    let abort = abort(cx, g, &slos, &request_slos)?;
    Ok(GateSpec {
        thresholds,
        metrics,
        slos,
        request_slos,
        abort,
        latency_floor: cx.duration(
            "gate.latency_floor",
            g.latency_floor.as_ref(),
            DEFAULT_LATENCY_FLOOR,
        )?,
        record_max_error_rate: match &g.record_max_error_rate {
            None => DEFAULT_RECORD_MAX_ERROR_RATE,
            Some(t) => {
                Percent::from_fraction(fraction_at_most_one(cx, "gate.record_max_error_rate", t)?)
            }
        },
        overrides,
    })
}

/// `abort_on_slo` and `abort_grace`: the abort needs an objective it can watch while the load runs.
fn abort(
    cx: &Ctx<'_>,
    g: &GateFile,
    slos: &[Slo],
    request_slos: &BTreeMap<String, Vec<Slo>>,
) -> Result<Option<crate::scenario::AbortOnSlo>, ScenarioError> {
    if g.abort_on_slo != Some(true) {
        if g.abort_grace.is_some() {
            return Err(cx.invalid(
                "gate.abort_grace",
                "it has no effect without `abort_on_slo = true`",
                "add `abort_on_slo = true` to `[gate]`, or remove `abort_grace`",
            ));
        }
        return Ok(None);
    }
    let grace = cx.duration(
        "gate.abort_grace",
        g.abort_grace.as_ref(),
        DEFAULT_ABORT_GRACE,
    )?;
    let all = slos.iter().chain(request_slos.values().flatten());
    if !all.clone().any(|s| s.metric.watchable_live()) {
        let problem = if all.count() == 0 {
            "there is no objective to watch".to_string()
        } else {
            "mean and throughput objectives are judged at the end of the run only".to_string()
        };
        return Err(cx.invalid(
            "gate.abort_on_slo",
            problem,
            "add a latency quantile, max or error-rate objective, e.g. `slo = { p95 = \"300ms\", error_rate = \"1%\" }` in `[gate]` or a request's `[gate.overrides.\"name\"]`, or remove `abort_on_slo`",
        ));
    }
    Ok(Some(crate::scenario::AbortOnSlo { grace }))
}

/// `gate.metrics`, each once, in the order written; the defaults when absent.
fn gated_metrics(cx: &Ctx<'_>, names: Option<&[String]>) -> Result<Vec<Metric>, ScenarioError> {
    let Some(names) = names else {
        return Ok(DEFAULT_METRICS.to_vec());
    };
    let mut ms = Vec::new();
    for n in names {
        let m = metric(cx, "gate.metrics", n)?;
        if !ms.contains(&m) {
            ms.push(m);
        }
    }
    if ms.is_empty() {
        return Err(cx.invalid(
            "gate.metrics",
            "an empty list gates nothing, so every gate would end incomplete",
            "list the metrics to gate, or remove the key for the defaults",
        ));
    }
    Ok(ms)
}

/// `[gate.overrides."name"]`: each names a request; its thresholds default to the gate's.
fn overrides(
    cx: &Ctx<'_>,
    g: &GateFile,
    requests: &[RequestSpec],
    thresholds: Thresholds,
) -> Result<Overrides, ScenarioError> {
    let mut overrides = BTreeMap::new();
    let mut request_slos = BTreeMap::new();
    for (request, per_request) in &g.overrides {
        if !requests.iter().any(|r| &r.name == request) {
            return Err(cx.invalid(
                format!("gate.overrides.\"{request}\""),
                "no request has this name",
                "use the `name` of a `[[request]]`",
            ));
        }
        let prefix = format!("gate.overrides.\"{request}\"");
        let own = slo_list(cx, &prefix, &per_request.slo)?;
        if !own.is_empty() {
            request_slos.insert(request.clone(), own);
        }
        let mut map = BTreeMap::new();
        for (m, t) in &per_request.metrics {
            let key = format!("gate.overrides.\"{request}\".{m}");
            map.insert(
                metric(cx, &key, m)?,
                self::thresholds(cx, &key, t, thresholds)?,
            );
        }
        if !map.is_empty() {
            overrides.insert(request.clone(), map);
        }
    }
    Ok((overrides, request_slos))
}

fn thresholds(
    cx: &Ctx<'_>,
    key: &str,
    t: &ThresholdFile,
    default: Thresholds,
) -> Result<Thresholds, ScenarioError> {
    let warn = cx.percent(&format!("{key}.warn"), t.warn.as_ref(), default.warn)?;
    let critical = cx.percent(
        &format!("{key}.critical"),
        t.critical.as_ref(),
        default.critical,
    )?;
    if warn.fraction() > critical.fraction() {
        return Err(cx.invalid(
            key,
            format!("warn ({warn}) is above critical ({critical})"),
            "set warn ≤ critical",
        ));
    }
    Ok(Thresholds { warn, critical })
}

fn metric(cx: &Ctx<'_>, key: &str, name: &str) -> Result<Metric, ScenarioError> {
    name.parse()
        .map_err(|e: crate::result::metric::UnknownMetric| {
            cx.invalid(key, e.to_string(), "fix the name")
        })
}

/// `slo = { ... }` under `prefix` (`gate` or `gate.overrides."name"`): latency bounds, a maximum
/// error rate, a minimum throughput.
fn slo_list(
    cx: &Ctx<'_>,
    prefix: &str,
    table: &BTreeMap<String, toml::Value>,
) -> Result<Vec<Slo>, ScenarioError> {
    let mut slos = Vec::new();
    for (name, value) in table {
        let key = format!("{prefix}.slo.{name}");
        let m = metric(cx, &key, name)?;
        if m.is_service() {
            return Err(cx.invalid(
                &key,
                "SLOs apply to request metrics only",
                "gate memory and CPU with `warn`/`critical` thresholds",
            ));
        }
        let limit = slo_limit(cx, &key, m, value)?;
        slos.push(Slo { metric: m, limit });
    }
    Ok(slos)
}

/// An SLO's limit in the metric's unit: a fraction, req/s, or µs.
fn slo_limit(
    cx: &Ctx<'_>,
    key: &str,
    m: Metric,
    value: &toml::Value,
) -> Result<f64, ScenarioError> {
    match (m, value.as_str()) {
        (Metric::ErrorRate, Some(t)) => fraction_at_most_one(cx, key, t),
        (Metric::Throughput, None) => value
            .as_integer()
            .map(|v| v as f64)
            .or_else(|| value.as_float())
            .filter(|v| *v > 0.0)
            .ok_or_else(|| {
                cx.invalid(
                    key,
                    "not a positive number",
                    "write the minimum req/s, e.g. `throughput = 150`",
                )
            }),
        (Metric::Throughput | Metric::ErrorRate, _) => Err(cx.invalid(
            key,
            "wrong type",
            "write `error_rate = \"1%\"` or `throughput = 150` (req/s)",
        )),
        (_, Some(t)) => Ok(cx
            .duration(key, Some(&t.to_string()), Duration::ZERO)?
            .as_micros() as f64),
        (_, None) => Err(cx.invalid(
            key,
            "not a duration",
            "write a latency bound like `p95 = \"350ms\"`",
        )),
    }
}

/// An error rate: a percentage no larger than 100%.
fn fraction_at_most_one(cx: &Ctx<'_>, key: &str, text: &str) -> Result<f64, ScenarioError> {
    let f = cx
        .percent(key, Some(&text.to_string()), DEFAULT_WARN)?
        .fraction();
    if f > 1.0 {
        return Err(cx.invalid(
            key,
            format!("{text} is above 100%"),
            "an error rate is between \"0%\" and \"100%\"",
        ));
    }
    Ok(f)
}

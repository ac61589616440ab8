//! `loadgate stress`: capacity search (steps, then bisection; each step measured and judged by
//! `compare::capacity`), the capacity recorded or gated against the stored one, then an optional
//! soak with memory sampling and the leak verdict of `compare::service`.

use std::time::Duration;

use crate::baseline::capacity as store;
use crate::cli::StressArgs;
use crate::compare::capacity::{gate_capacity, step_breaks, Found, Search, SearchSpec};
use crate::compare::service::soak_leak;
use crate::compare::Status;
use crate::error::Error;
use crate::exit;
use crate::fsutil::write_atomic;
use crate::pipeline::measure::{Monitor, Resolved};
use crate::report::stress::{Judged, Soak, Step, StressReport, STRESS_SCHEMA_VERSION};
use crate::report::Format;
use crate::result::capacity::{Capacity, CAPACITY_SCHEMA_VERSION};
use crate::result::RunResult;
use crate::scenario::units::{parse_duration, Percent};
use crate::scenario::Scenario;

/// Without a scenario rate, the search starts low enough for any service worth load testing.
const DEFAULT_START_RPS: u32 = 50;
/// The soak holds 70% of the capacity: loaded, but below the knee where queues grow.
const DEFAULT_SOAK_FRACTION: f64 = 0.7;

/// Validated flags.
struct StressPlan {
    search: Option<SearchSpec>,
    step: Duration,
    warmup: Duration,
    max_error_rate: f64,
    soak: Option<SoakSettings>,
}

struct SoakSettings {
    duration: Duration,
    rate: Option<u32>,
    fraction: f64,
    interval: Option<Duration>,
}

fn duration(flag: &'static str, v: &str, min: Duration) -> Result<Duration, Error> {
    parse_duration(v)
        .ok()
        .filter(|d| *d >= min)
        .ok_or_else(|| Error::Flag {
            flag,
            problem: format!("`{v}` is not a duration of at least {min:?}; write e.g. 10s"),
        })
}

fn settings(a: &StressArgs, scenario: &Scenario) -> Result<StressPlan, Error> {
    let flag = |flag, problem: String| Err(Error::Flag { flag, problem });
    if !(a.step_factor > 1.0 && a.step_factor <= 10.0) {
        return flag(
            "--step-factor",
            format!(
                "got {}; use a factor above 1 and at most 10, e.g. 1.5",
                a.step_factor
            ),
        );
    }
    if a.max_rate == 0 || a.start_rate == Some(0) {
        return flag(
            "--start-rate/--max-rate",
            "a rate of 0 sends nothing; use at least 1".to_string(),
        );
    }
    if a.no_search && a.record {
        return flag(
            "--record",
            "there is no capacity to record with --no-search; drop one of them".to_string(),
        );
    }
    let max_error_rate = a
        .max_error_rate
        .parse::<Percent>()
        .ok()
        .map(|p| p.fraction())
        .filter(|f| (0.0..=1.0).contains(f))
        .ok_or_else(|| Error::Flag {
            flag: "--max-error-rate",
            problem: format!(
                "`{}` is not a percentage between 0% and 100%; write e.g. 1%",
                a.max_error_rate
            ),
        })?;
    let soak = match &a.soak {
        None => None,
        Some(d) => {
            let fraction = a.soak_fraction.unwrap_or(DEFAULT_SOAK_FRACTION);
            if !(fraction > 0.0 && fraction <= 1.0) {
                return flag(
                    "--soak-fraction",
                    format!("got {fraction}; use a share in (0, 1], e.g. 0.7"),
                );
            }
            if a.soak_rate == Some(0) {
                return flag(
                    "--soak-rate",
                    "a rate of 0 sends nothing; use at least 1".to_string(),
                );
            }
            Some(SoakSettings {
                duration: duration("--soak", d, Duration::from_secs(1))?,
                rate: a.soak_rate,
                fraction,
                interval: a
                    .sample_interval
                    .as_deref()
                    .map(|v| duration("--sample-interval", v, Duration::from_millis(100)))
                    .transpose()?,
            })
        }
    };
    Ok(StressPlan {
        search: (!a.no_search).then(|| SearchSpec {
            start_rps: a
                .start_rate
                .or(scenario.load.rate)
                .unwrap_or(DEFAULT_START_RPS),
            factor: a.step_factor,
            max_rps: a.max_rate,
            refine: a.refine,
            max_steps: a.max_steps,
        }),
        step: duration("--step-duration", &a.step_duration, Duration::from_secs(1))?,
        warmup: duration("--step-warmup", &a.step_warmup, Duration::ZERO)?,
        max_error_rate,
        soak,
    })
}

/// The whole flow of `loadgate stress`; returns the process exit code.
pub async fn run(args: StressArgs) -> Result<u8, Error> {
    if args.output.format == Format::Junit {
        return Err(Error::Flag {
            flag: "--format",
            problem: "the stress report has no JUnit form (it has no gated metrics per test case); use table, json, markdown or html".to_string(),
        });
    }
    let scenario = crate::pipeline::measure::load_scenario(&args.scenario, &args.target)?;
    let settings = settings(&args, &scenario)?;
    let path = store::path_for(&args.baselines, &scenario.baseline_name());
    if args.record {
        crate::pipeline::outputs::baselines_folder(&args.baselines)?;
    }
    let stored = match args.record {
        true => None,
        false => store::load(&path)?,
    };
    crate::pipeline::outputs::preflight_outputs(&[
        args.output.output.as_deref(),
        args.record.then_some(path.as_path()),
    ])?;
    // The stress runs go to their own history series: a run at the capacity, or a soak, is not
    // comparable with the scenario's nightly runs at its own rate.
    let series = |suffix: &str| format!("{}.{suffix}", scenario.baseline_name());
    for (suffix, used) in [
        ("capacity", settings.search.is_some()),
        ("soak", settings.soak.is_some()),
    ] {
        if used {
            crate::pipeline::history::preflight(args.history.as_deref(), &series(suffix))?;
        }
    }
    let mut resolved = crate::pipeline::measure::resolve_target(&args.target, &scenario).await?;
    let report = stress(&scenario, &mut resolved, &settings, stored.as_ref()).await;
    crate::pipeline::measure::finish(resolved).await;
    let (report, found, runs) = report?;
    for (suffix, run) in runs {
        let mut run = run;
        run.meta.scenario_name = series(suffix);
        crate::pipeline::history::append(args.history.as_deref(), &run)?;
    }
    if args.record {
        record(&path, &scenario, &settings, found)?;
    }
    let options = crate::report::Options::default();
    let view = crate::report::View::Stress(&report);
    let text = crate::report::export(&view, args.output.format, &options)?;
    match &args.output.output {
        Some(p) => {
            write_atomic(p, text.as_bytes())?;
            eprintln!("loadgate: wrote the stress report to {}", p.display());
            crate::pipeline::outputs::print(&crate::report::export(
                &view,
                Format::Table,
                &options,
            )?)?;
        }
        None => crate::pipeline::outputs::print(&text)?,
    }
    Ok(match report.outcome {
        Status::Critical => exit::REGRESSION,
        Status::Incomplete => exit::INCOMPLETE,
        _ => exit::PASS,
    })
}

/// The scenario at a constant `rate` for `measured` after `warmup`.
fn at_rate(base: &Scenario, rate: u32, measured: Duration, warmup: Duration) -> Scenario {
    let mut s = base.clone();
    s.load.rate = Some(rate);
    s.load.stages.clear();
    s.load.duration = measured;
    s.load.ramp_up = warmup;
    s.load.window = s.load.window.min(measured);
    s
}

fn step_of(run: &RunResult, target: u32, broke: Option<String>) -> Step {
    let l = &run.all.latency;
    Step {
        target_rps: target,
        achieved_rps: run.all.requests as f64 / run.measured_seconds(),
        p50_us: l.p50_us,
        p95_us: l.p95_us,
        p99_us: l.p99_us,
        errors: run.all.errors.total(),
        error_rate: run.all.error_rate().unwrap_or(0.0),
        broke,
    }
}

async fn stress(
    scenario: &Scenario,
    resolved: &mut Resolved,
    settings: &StressPlan,
    stored: Option<&Capacity>,
) -> Result<(StressReport, Found, Vec<(&'static str, RunResult)>), Error> {
    let mut steps = Vec::new();
    let mut runs: Vec<(&'static str, RunResult)> = Vec::new();
    let mut at_capacity: Option<(u32, RunResult)> = None;
    let mut found = Found {
        capacity_rps: None,
        broke_at_rps: None,
    };
    let mut search_note = "search skipped (--no-search)".to_string();
    if let Some(spec) = settings.search {
        let mut search = Search::new(spec);
        while let Some(rate) = search.next() {
            let s = at_rate(scenario, rate, settings.step, settings.warmup);
            let run = crate::pipeline::measure::measure(&s, resolved).await?;
            let broke = step_breaks(&run, &scenario.gate.slos, settings.max_error_rate);
            eprintln!(
                "loadgate: step {} at {rate} req/s: {}",
                steps.len() + 1,
                broke.as_deref().unwrap_or("held")
            );
            search.record(rate, broke.is_none());
            steps.push(step_of(&run, rate, broke.clone()));
            if broke.is_none() && at_capacity.as_ref().is_none_or(|(r, _)| rate > *r) {
                at_capacity = Some((rate, run));
            }
        }
        found = search.found();
        if let Some((rate, run)) = at_capacity.take() {
            if Some(rate) == found.capacity_rps {
                runs.push(("capacity", run));
            }
        }
        search_note = match (found.capacity_rps, found.broke_at_rps) {
            (Some(c), None) if c >= spec.max_rps => {
                format!("nothing broke up to --max-rate {}: raise it to find the limit", spec.max_rps)
            }
            (_, None) => format!("stopped after --max-steps {}", spec.max_steps),
            _ => format!(
                "{} step(s) of {} each with a pool of {} users (a saturated pool limits the rate too: raise `load.users` if steps break as \"saturated\" at low latency)",
                steps.len(),
                fmt(settings.step),
                scenario.load.users
            ),
        };
    }
    let gate = match (stored, settings.search) {
        (Some(c), Some(_)) => Some(judge_stored(c, scenario, found)),
        _ => None,
    };
    let soak = match &settings.soak {
        Some(s) => {
            let (soak, run) = soak(scenario, resolved, s, found).await?;
            runs.push(("soak", run));
            Some(soak)
        }
        None => None,
    };
    let mut outcome = Status::Pass;
    if settings.search.is_some() && found.capacity_rps.is_none() {
        outcome = Status::Incomplete;
    }
    for st in gate.iter().chain(soak.as_ref().map(|s| &s.leak)) {
        outcome = outcome.max(st.status);
    }
    let report = StressReport {
        schema_version: STRESS_SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        profile: scenario.profile.clone(),
        steps,
        capacity_rps: found.capacity_rps,
        broke_at_rps: found.broke_at_rps,
        resolution_rps: found.resolution_rps(),
        search_note,
        gate,
        soak,
        outcome,
    };
    Ok((report, found, runs))
}

fn fmt(d: Duration) -> String {
    crate::scenario::units::format_duration(d)
}

fn judge_stored(c: &Capacity, scenario: &Scenario, found: Found) -> Judged {
    if c.scenario_hash != scenario.hash {
        return Judged {
            status: Status::Info,
            reason: "the stored capacity was found for another version of the scenario's load: not gated; re-record it with `loadgate stress --record`".to_string(),
        };
    }
    let (status, mut reason) = gate_capacity(
        c.capacity_rps,
        c.resolution_rps,
        found,
        scenario.gate.thresholds,
    );
    if c.host.fingerprint != crate::sample::host::current().fingerprint {
        reason.push_str(&format!(
            " (note: stored on another machine, {}, {} CPUs: capacity rarely transfers)",
            c.host.cpu_model, c.host.cpus
        ));
    }
    Judged { status, reason }
}

async fn soak(
    scenario: &Scenario,
    resolved: &mut Resolved,
    s: &SoakSettings,
    found: Found,
) -> Result<(Soak, RunResult), Error> {
    let rate = match (s.rate, found.capacity_rps) {
        (Some(r), _) => r,
        (None, Some(c)) => ((c as f64 * s.fraction).round() as u32).max(1),
        (None, None) => {
            return Err(Error::Flag {
                flag: "--soak",
                problem: "no capacity was found to take --soak-fraction of; give --soak-rate RPS"
                    .to_string(),
            })
        }
    };
    if let (Some(i), Some(Monitor::Pid(pid, _))) = (s.interval, &resolved.monitor) {
        resolved.monitor = Some(Monitor::Pid(*pid, i));
    }
    if resolved.monitor.is_none() {
        eprintln!("warning: nothing monitors the service's memory (use `[monitor]`, --monitor-pid or --demo): the soak cannot give a leak verdict");
    }
    eprintln!("loadgate: soak at {rate} req/s for {}", fmt(s.duration));
    let warmup = scenario.load.ramp_up;
    let run =
        crate::pipeline::measure::measure(&at_rate(scenario, rate, s.duration, warmup), resolved)
            .await?;
    let leak = soak_leak(&run);
    let growth = leak.growth;
    let soak = Soak {
        rate_rps: rate,
        duration_ms: run.meta.measured_duration_ms,
        achieved_rps: run.all.requests as f64 / run.measured_seconds(),
        errors: run.all.errors.total(),
        growth_bytes_per_min: growth.map(|g| g.per_min),
        growth_lower_bytes_per_min: growth.map(|g| g.lower),
        leak: Judged {
            status: leak.status,
            reason: leak.reason,
        },
    };
    Ok((soak, run))
}

fn record(
    path: &std::path::Path,
    scenario: &Scenario,
    settings: &StressPlan,
    found: Found,
) -> Result<(), Error> {
    let refuse = |reason: String| Error::RecordRefused {
        path: path.to_path_buf(),
        reason,
    };
    let (Some(capacity_rps), Some(broke_at_rps)) = (found.capacity_rps, found.broke_at_rps) else {
        return Err(refuse(match found.capacity_rps {
            None => "no rate held; lower --start-rate".to_string(),
            Some(_) => {
                "nothing broke, so the capacity is only a lower bound; raise --max-rate".to_string()
            }
        }));
    };
    let c = Capacity {
        schema_version: CAPACITY_SCHEMA_VERSION,
        scenario_name: scenario.name.clone(),
        profile: scenario.profile.clone(),
        scenario_hash: scenario.hash.clone(),
        capacity_rps,
        broke_at_rps,
        resolution_rps: broke_at_rps - capacity_rps,
        step_duration_ms: settings.step.as_millis() as u64,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: crate::pipeline::measure::git_commit(),
        host: crate::sample::host::current(),
        recorded_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    store::save(path, &c)?;
    eprintln!(
        "loadgate: recorded capacity {capacity_rps} req/s in {}",
        path.display()
    );
    Ok(())
}

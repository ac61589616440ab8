//! Measuring, between the commands and the load stage: the scenario a command runs, its target
//! (incl. the embedded demo) and monitor, preflight + load + sampling, and the demo's shutdown.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::{KnobArgs, TargetArgs};
use crate::demo::{self, DemoKnobs, DemoServer};
use crate::error::Error;
use crate::load::{self, target, Provenance, Target};
use crate::result::RunResult;
use crate::sample::process::{ProcessSampler, Service};
use crate::sample::prometheus::PrometheusSampler;
use crate::sample::{self, Sampler};
use crate::scenario::units::parse_duration;
use crate::scenario::Scenario;

/// The scenario a command runs: the file, its `--profile`, then the `[load]` flags.
pub fn load_scenario(path: &Path, args: &TargetArgs) -> Result<Scenario, Error> {
    Ok(crate::scenario::load_with(
        path,
        args.profile.as_deref(),
        &overrides(args),
    )?)
}

/// `--users`, `--rate`, `--duration` (each checked by clap already).
pub fn overrides(args: &TargetArgs) -> crate::scenario::LoadOverrides {
    crate::scenario::LoadOverrides {
        users: args.users,
        rate: args.rate,
        duration: args.duration.clone(),
    }
}

/// Validated demo knobs.
pub fn knobs(k: &KnobArgs) -> Result<DemoKnobs, Error> {
    let dur = |flag: &'static str, v: &str| -> Result<Duration, Error> {
        parse_duration(v).map_err(|e| Error::Flag {
            flag,
            problem: e.to_string(),
        })
    };
    let knobs = DemoKnobs {
        slowdown: k.slowdown,
        delay: dur("--delay", &k.delay)?,
        spike_fraction: k.spike_fraction,
        spike_delay: dur("--spike-delay", &k.spike_delay)?,
        error_rate: k.error_rate,
        leak_bytes: k.leak_bytes,
        capacity_rps: k.capacity,
    };
    knobs.validate()?;
    Ok(knobs)
}

/// The target of a run, and the embedded demo service when `--demo` started one.
pub struct Resolved {
    /// Where the load goes.
    pub target: Target,
    /// Keeps the embedded demo alive for the run.
    pub demo: Option<DemoServer>,
    /// How to watch the service during each run, if at all.
    pub monitor: Option<Monitor>,
}

/// A way to sample the service, made into a fresh [`Sampler`] for every run.
pub enum Monitor {
    /// A local pid (or this process, for the embedded demo).
    Pid(u32, Duration),
    /// A service loadgate started; stopped by [`finish`].
    Service(Arc<Mutex<Service>>, Duration),
    /// A Prometheus endpoint.
    Prometheus(Box<crate::scenario::MonitorSource>, Duration),
}

impl Monitor {
    fn sampler(&self) -> Result<(Box<dyn Sampler>, Duration), Error> {
        Ok(match self {
            Monitor::Pid(pid, i) => (Box::new(ProcessSampler::new(*pid)), *i),
            Monitor::Service(s, i) => (Box::new(ProcessSampler::of(s)), *i),
            Monitor::Prometheus(source, i) => {
                let crate::scenario::MonitorSource::Prometheus {
                    url,
                    memory_metric,
                    cpu_metric,
                    labels,
                } = source.as_ref()
                else {
                    return Err(Error::Flag {
                        flag: "[monitor]",
                        problem:
                            "not a Prometheus source; this is a bug in loadgate, please report it"
                                .into(),
                    });
                };
                let shown = target::redact(url);
                let s = PrometheusSampler::new(
                    url.clone(),
                    shown,
                    memory_metric.clone(),
                    cpu_metric.clone(),
                    labels.clone(),
                    (*i).max(Duration::from_secs(1)),
                )?;
                (Box::new(s), *i)
            }
        })
    }
}

/// The monitor a run uses: `--monitor-pid` > `[monitor]` > this process for `--demo` (the demo
/// service runs inside loadgate).
fn monitor_for(args: &TargetArgs, scenario: &Scenario) -> Result<Option<Monitor>, Error> {
    use crate::scenario::MonitorSource;
    let interval = scenario
        .monitor
        .as_ref()
        .map_or(crate::scenario::validate::DEFAULT_MONITOR_INTERVAL, |m| {
            m.interval
        });
    if let Some(pid) = args.monitor_pid {
        return Ok(Some(Monitor::Pid(pid, interval)));
    }
    Ok(match scenario.monitor.as_ref().map(|m| &m.source) {
        Some(MonitorSource::Pid(pid)) => Some(Monitor::Pid(*pid, interval)),
        Some(MonitorSource::Command(argv)) => {
            Some(Monitor::Service(Service::start(argv)?, interval))
        }
        Some(p @ MonitorSource::Prometheus { .. }) => {
            Some(Monitor::Prometheus(Box::new(p.clone()), interval))
        }
        None if args.demo => Some(Monitor::Pid(std::process::id(), interval)),
        None => None,
    })
}

/// `--demo` > `--target` > `target.base_url`.
pub async fn resolve_target(args: &TargetArgs, scenario: &Scenario) -> Result<Resolved, Error> {
    let knobs = knobs(&args.knobs)?;
    if !args.demo && knobs != DemoKnobs::default() {
        return Err(Error::Flag {
            flag: "--slowdown/--delay/--spike-*/--error-rate/--leak-bytes/--capacity",
            problem: "demo knobs apply only to the built-in demo service; add --demo".to_string(),
        });
    }
    if args.demo {
        let server = demo::start(([127, 0, 0, 1], 0).into(), knobs).await?;
        let target = Target::parse(&server.url(), "--demo")?;
        let monitor = monitor_for(args, scenario)?;
        return Ok(Resolved {
            target,
            demo: Some(server),
            monitor,
        });
    }
    let target = match (&args.target, &scenario.target.base_url) {
        (Some(t), _) => Target::parse(t, "--target")?,
        (None, Some(t)) => {
            Target::parse(t, &format!("{}: target.base_url", scenario.path.display()))?
        }
        (None, None) => {
            return Err(load::LoadError::NoTarget {
                scenario: scenario.path.display().to_string(),
            }
            .into())
        }
    };
    if args.danger_accept_invalid_certs {
        log::warn!(
            "--danger-accept-invalid-certs: TLS certificates of {} are NOT verified; anyone on the path can read and change this traffic. Use `[target] ca_file` for a private CA instead.",
            scenario.secrets.redact(&target.base())
        );
    }
    let target = target.accepting_invalid_certs(args.danger_accept_invalid_certs);
    let monitor = monitor_for(args, scenario)?;
    Ok(Resolved {
        target,
        demo: None,
        monitor,
    })
}

/// Commit of the code under test: `GITHUB_SHA` in Actions, else the working directory's HEAD.
pub fn git_commit() -> Option<String> {
    if let Ok(sha) = std::env::var("GITHUB_SHA") {
        if !sha.trim().is_empty() {
            return Some(sha.trim().to_string());
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

/// Preflight, then the measured run. Progress goes to stderr.
pub async fn measure(scenario: &Scenario, resolved: &Resolved) -> Result<RunResult, Error> {
    measure_shard(scenario, resolved, None).await
}

/// [`measure`] as worker `shard` of a sharded run: `scenario` already carries this worker's share
/// of the load; the measured window opens on a wall-clock window boundary, and the result says
/// which shard it is.
pub async fn measure_shard(
    scenario: &Scenario,
    resolved: &Resolved,
    shard: Option<crate::result::Shard>,
) -> Result<RunResult, Error> {
    let target = &resolved.target;
    target::preflight(target, &scenario.target, &scenario.secrets).await?;
    // Sampling starts before the ramp-up and ends after the run; a first reading that fails (a wrong
    // pid, an endpoint that is down) stops here, before any load.
    let sampling = match &resolved.monitor {
        Some(m) => {
            let (sampler, interval) = m.sampler()?;
            Some(sample::start(sampler, interval).await?)
        }
        None => None,
    };
    let l = &scenario.load;
    eprintln!(
        "loadgate: {}{}{} against {} for {}{}...",
        shard.map(|s| format!("shard {s}: ")).unwrap_or_default(),
        crate::report::count(l.users as usize, "user"),
        match (l.stages.len(), l.rate) {
            (0, Some(r)) => format!(" at {r} req/s (open model)"),
            (0, None) => String::new(),
            (n, _) => format!(" through {}", crate::report::count(n, "stage")),
        },
        scenario.secrets.redact(&target.base()),
        crate::scenario::units::format_duration(l.duration),
        match l.ramp_up.is_zero() {
            true => String::new(),
            false => format!(
                " after a {} ramp-up",
                crate::scenario::units::format_duration(l.ramp_up)
            ),
        },
    );
    let provenance = Provenance {
        git_commit: git_commit(),
        host: crate::sample::host::current(),
    };
    if shard.is_some() {
        load::shard::align_start(&scenario.load).await;
    }
    let started = Instant::now();
    let mut result = load::run(scenario, target, provenance).await?;
    result.meta.shard = shard;
    if let Some(s) = sampling {
        let samples = s.finish(started + scenario.load.ramp_up).await;
        if let Some(e) = &samples.error {
            eprintln!("warning: {e}; the memory metrics of this run are incomplete");
        }
        result.samples.push(samples);
    }
    Ok(result)
}

/// Live loads of one scenario against one resolved target: the gate's runs.
pub struct Live<'a> {
    /// What to run.
    pub scenario: &'a Scenario,
    /// Where to run it.
    pub resolved: &'a Resolved,
}

impl crate::pipeline::Runs for Live<'_> {
    type Error = Error;
    async fn next(&mut self) -> Result<RunResult, Error> {
        measure(self.scenario, self.resolved).await
    }
}

/// The run sent none of its load proper (the requests other than `on_start`/`on_stop`), though
/// some went unsent: the run measured nothing and must not pass for a success.
pub fn nothing_sent(scenario: &Scenario, run: &RunResult) -> Option<Error> {
    use crate::scenario::Phase;
    let main = scenario.requests.iter().filter(|r| r.phase == Phase::Main);
    let sent: u64 = main
        .clone()
        .filter_map(|r| run.requests.get(&r.name))
        .map(|s| s.requests)
        .sum();
    let not_sent: u64 = run.requests.values().map(|s| s.not_sent).sum();
    (sent == 0 && main.count() > 0 && not_sent > 0).then_some(Error::NothingSent { not_sent })
}

/// Stops the embedded demo, if any.
pub async fn finish(resolved: Resolved) {
    if let Some(d) = resolved.demo {
        d.stop().await;
    }
    if let Some(Monitor::Service(s, _)) = resolved.monitor {
        if let Ok(mut s) = s.lock() {
            eprintln!("loadgate: {}", s.stop(Duration::from_secs(5)));
        }
    }
}

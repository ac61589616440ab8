//! Steps shared by run, record and gate: target resolution (incl. the embedded demo), provenance,
//! preflight + load, and writing outputs.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::{KnobArgs, OutputArgs, ReportsArgs, TargetArgs};
use crate::error::Error;
use crate::fsutil::write_atomic;
use crate::load::demo::{self, DemoKnobs, DemoServer};
use crate::load::{self, target, Provenance, Target};
use crate::report::{self, Format, Report, ReportFile};
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
    knobs.validate().map_err(load::LoadError::from)?;
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
        let server = demo::start(([127, 0, 0, 1], 0).into(), knobs)
            .await
            .map_err(load::LoadError::from)?;
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

/// Checks before any load that every output file can be written.
pub fn preflight_outputs(paths: &[Option<&Path>]) -> Result<(), Error> {
    for p in paths.iter().flatten() {
        crate::fsutil::check_writable(p)?;
    }
    Ok(())
}

/// Refuses, before any load, an output that is one of the command's inputs or another output
/// (`gate --output baselines/t.json` would replace the baseline it compares against,
/// `compare a.json b.json --output a.json` its own input). Outputs to stdout or a device are
/// exempt: they replace nothing.
pub fn refuse_overlaps(outputs: &[Option<&Path>], inputs: &[Option<&Path>]) -> Result<(), Error> {
    use crate::fsutil::{destination, Destination};
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        // A file that does not exist yet is none of the inputs; two outputs not yet written
        // collide when they are written the same way.
        _ => a == b,
    };
    let outputs: Vec<&Path> = outputs
        .iter()
        .flatten()
        .copied()
        .filter(|p| matches!(destination(p), Destination::Atomic(_)))
        .collect();
    for (i, out) in outputs.iter().enumerate() {
        let overlap = inputs
            .iter()
            .flatten()
            .find(|input| same(out, input))
            .map(|input| format!("it is also an input of this command ({})", input.display()))
            .or_else(|| {
                outputs[..i]
                    .iter()
                    .find(|other| same(out, other))
                    .map(|other| format!("another output goes to it too ({})", other.display()))
            });
        if let Some(why) = overlap {
            return Err(Error::Flag {
                flag: "output",
                problem: format!(
                    "refusing to write {}: {why}, which the write would replace; write it to another file",
                    out.display()
                ),
            });
        }
    }
    Ok(())
}

/// Refuses `--out -` (the result on stdout) when the report goes to stdout too: the two would be
/// printed one after the other, and neither could be read back.
pub fn one_on_stdout(out: Option<&Path>, report: Option<&Path>) -> Result<(), Error> {
    use crate::fsutil::{destination, Destination};
    let on_stdout = |p: &Path| destination(p) == Destination::Stdout;
    if out.is_some_and(on_stdout) && report.is_none_or(on_stdout) {
        return Err(Error::Flag {
            flag: "--out",
            problem: "it puts the result on stdout, where the report goes too; send the report elsewhere with --output FILE (or --output /dev/null)".to_string(),
        });
    }
    Ok(())
}

/// Writes a result file (`--out`).
pub fn write_result(path: &Path, result: &RunResult) -> Result<(), Error> {
    crate::baseline::save(path, result)?;
    eprintln!("loadgate: wrote {}", path.display());
    Ok(())
}

/// Prints `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) -> Result<(), Error> {
    match crate::terminal::write_stdout(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Stdout(e)),
        _ => Ok(()),
    }
}

/// Every report file a command writes (`--output`, `--report`), for [`refuse_overlaps`] and
/// [`preflight_outputs`].
pub fn report_paths<'a>(output: &'a OutputArgs, reports: &'a ReportsArgs) -> Vec<Option<&'a Path>> {
    std::iter::once(output.output.as_deref())
        .chain(reports.files.iter().map(|f| Some(f.path.as_path())))
        .collect()
}

/// Checks `--report` and `--report-url` before any load: stdout holds the `--format` report alone
/// (two reports there could not be told apart), and the URL is one a reader can open.
pub fn check_reports(reports: &ReportsArgs) -> Result<(), Error> {
    use crate::fsutil::{destination, Destination};
    if let Some(f) = reports
        .files
        .iter()
        .find(|f| destination(&f.path) == Destination::Stdout)
    {
        return Err(Error::Flag {
            flag: "--report",
            problem: format!(
                "`{}={}` puts a report on stdout, where the --format report goes; use `--format {}` for stdout, or give --report a file",
                f.format.name(),
                f.path.display(),
                f.format.name()
            ),
        });
    }
    if let Some(u) = &reports.report_url {
        let ok = url::Url::parse(u)
            .ok()
            .is_some_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
        if !ok {
            return Err(Error::Flag {
                flag: "--report-url",
                problem: format!(
                    "`{u}` is not an http(s) URL; give the address where the HTML report is published, e.g. https://ci.example.com/run/42/perf.html"
                ),
            });
        }
    }
    Ok(())
}

/// The rendering options of a command's reports.
pub fn options(reports: &ReportsArgs, warn_fails: bool) -> report::Options {
    report::Options {
        warn_fails,
        report_url: reports.report_url.clone(),
    }
}

/// What [`emit`] wrote, and what it could not.
#[derive(Debug, Default)]
pub struct Emitted {
    /// Report files written (not stdout).
    pub written: Vec<ReportFile>,
    /// Failures, each naming its file.
    pub failed: Vec<Error>,
}

impl Emitted {
    /// The first failure as the error (the others printed now), or `Ok`.
    pub fn result(self) -> Result<(), Error> {
        let mut failed = self.failed.into_iter();
        let first = failed.next();
        for e in failed {
            eprintln!("error: {e}");
        }
        first.map_or(Ok(()), Err)
    }

    /// The JSON reports written to stored files, which can be read back and handed on
    /// (`/dev/null` or a pipe cannot).
    pub fn json_files(&self) -> Vec<&Path> {
        self.written
            .iter()
            .filter(|f| f.format == Format::Json)
            .map(|f| f.path.as_path())
            .filter(|p| {
                matches!(
                    crate::fsutil::destination(p),
                    crate::fsutil::Destination::Atomic(_)
                )
            })
            .collect()
    }
}

/// Emits the reports: the `--format` report to `--output` or stdout (with `--output FILE`, the
/// table also goes to stdout so a human sees the result), then every `--report` file, each written
/// atomically. Every report that can be written is; the failures are returned, not fatal to the
/// others.
pub fn emit(
    report: &Report<'_>,
    output: &OutputArgs,
    reports: &[ReportFile],
    options: &report::Options,
) -> Emitted {
    let mut done = Emitted::default();
    let to_stdout = |p: &Path| crate::fsutil::destination(p) == crate::fsutil::Destination::Stdout;
    let main = output
        .output
        .as_ref()
        .filter(|p| !to_stdout(p))
        .map(|p| ReportFile {
            format: output.format,
            path: p.clone(),
        });
    // The table reaches stdout even when a file cannot be written: the human reading the log
    // still sees the result.
    let stdout_format = match main {
        Some(_) => Format::Table,
        None => output.format,
    };
    for file in main.iter().chain(reports) {
        let written = report::render_with(report, file.format, options)
            .map_err(Error::from)
            .and_then(|text| Ok(write_atomic(&file.path, text.as_bytes())?));
        match written {
            Ok(()) => {
                eprintln!(
                    "loadgate: wrote {} report to {}",
                    format_name(file.format),
                    file.path.display()
                );
                done.written.push(file.clone());
            }
            Err(e) => done.failed.push(e),
        }
    }
    // Colour only on stdout: a file keeps the plain table.
    let printed = match stdout_format {
        Format::Table => print(&report::table::render_colored(report)),
        _ => report::render_with(report, stdout_format, options)
            .map_err(Error::from)
            .and_then(|text| print(&text)),
    };
    if let Err(e) = printed {
        done.failed.push(e);
    }
    done
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Table => "table",
        Format::Json => "JSON",
        Format::Markdown => "Markdown",
        Format::Html => "HTML",
        Format::Junit => "JUnit",
    }
}

/// The run-to-run noise to use, best evidence first: a calibration from `explicit`, or beside the
/// baseline, when it matches this scenario and machine; else what the baseline's own runs taught
/// (`record`), when they were made on this machine; else the documented defaults. The note says why
/// better evidence was passed over.
pub fn noise_for(
    scenario: Option<&Scenario>,
    explicit: Option<&Path>,
    beside: Option<&Path>,
    baseline: Option<&RunResult>,
) -> Result<(crate::compare::Noise, Option<String>), Error> {
    let (calibrated, note) = calibration_noise(scenario, explicit, beside)?;
    if let Some(n) = calibrated {
        return Ok((n, None));
    }
    let (learned, learned_note) = learned_noise(baseline);
    let notes: Vec<String> = note.into_iter().chain(learned_note).collect();
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((
        learned.unwrap_or_else(crate::compare::Noise::defaults),
        note,
    ))
}

/// The noise a baseline's runs taught, when they were made on this machine.
fn learned_noise(baseline: Option<&RunResult>) -> (Option<crate::compare::Noise>, Option<String>) {
    match baseline {
        Some(b) => {
            crate::compare::Noise::of_baseline(b, &crate::sample::host::current().fingerprint)
        }
        None => (None, None),
    }
}

/// A calibration from `explicit`, or beside the baseline, when it matches this scenario and machine.
fn calibration_noise(
    scenario: Option<&Scenario>,
    explicit: Option<&Path>,
    beside: Option<&Path>,
) -> Result<(Option<crate::compare::Noise>, Option<String>), Error> {
    use crate::compare::Noise;
    let path = match (explicit, beside) {
        (Some(p), _) => p,
        (None, Some(p)) => p,
        (None, None) => return Ok((None, None)),
    };
    let Some(c) = crate::baseline::calibration::load(path)? else {
        if explicit.is_some() {
            return Err(crate::baseline::BaselineError::NotFound {
                path: path.to_path_buf(),
                what: "calibration",
                fix: "measure one with `loadgate calibrate SCENARIO`, or drop `--calibration` for the noise the baseline learned",
            }
            .into());
        }
        return Ok((None, None));
    };
    let host = crate::sample::host::current();
    if c.host.fingerprint != host.fingerprint {
        let note = format!(
            "calibration {} was measured on another machine ({}, {} CPUs) and is not used: noise does not transfer \
             between machines; run `loadgate calibrate` on this runner class",
            path.display(),
            c.host.cpu_model,
            c.host.cpus
        );
        return Ok((None, Some(note)));
    }
    if let Some(s) = scenario {
        if c.scenario_hash != s.hash {
            let note = format!("calibration {} was measured for another version of the scenario and is not used; re-run `loadgate calibrate`", path.display());
            return Ok((None, Some(note)));
        }
    }
    Ok((Some(Noise::calibrated(&c)), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports(files: &[&str], url: Option<&str>) -> ReportsArgs {
        ReportsArgs {
            files: files.iter().map(|f| f.parse().unwrap()).collect(),
            report_url: url.map(str::to_string),
        }
    }

    #[test]
    fn every_report_that_can_be_written_is_and_each_failure_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (md, bad, xml) = (
            dir.path().join("a.md"),
            dir.path().join("missing/b.html"),
            dir.path().join("c.xml"),
        );
        let specs: Vec<String> = [("markdown", &md), ("html", &bad), ("junit", &xml)]
            .iter()
            .map(|(f, p)| format!("{f}={}", p.display()))
            .collect();
        let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
        let r = reports(&specs, Some("https://ci.example.com/r.html"));
        let (base, run, c, v) = crate::report::fixture::judged();
        let report = Report {
            run: &run,
            judged: Some(crate::report::Judged {
                baseline: &base,
                comparison: &c,
                verdict: &v,
            }),
        };
        let output = OutputArgs {
            format: Format::Table,
            output: None,
        };
        let done = emit(&report, &output, &r.files, &options(&r, false));
        assert_eq!(done.written.len(), 2);
        assert_eq!(done.failed.len(), 1);
        assert!(done.failed[0].to_string().contains("missing/b.html"));
        let text = std::fs::read_to_string(&md).unwrap();
        assert!(text.contains("[full HTML report](https://ci.example.com/r.html)"));
        assert!(std::fs::read_to_string(&xml).unwrap().starts_with("<?xml"));
        assert!(done.json_files().is_empty());
    }

    #[test]
    fn a_report_on_stdout_or_a_url_no_one_can_open_is_refused() {
        assert!(check_reports(&reports(&["json=r.json"], Some("https://x.test/r.html"))).is_ok());
        let e = check_reports(&reports(&["json=-"], None)).unwrap_err();
        assert!(e.to_string().contains("use `--format json`"), "{e}");
        for url in ["perf.html", "file:///tmp/perf.html", "javascript:alert(1)"] {
            let e = check_reports(&reports(&[], Some(url))).unwrap_err();
            assert!(e.to_string().contains("is not an http(s) URL"), "{e}");
        }
    }
}

//! `loadgate watch`: watch file → preflight (actions, output, every query) → the window before
//! (when compared) → poll until the window ends, a breach is certain, the source is lost or a
//! signal stops it → report → actions → exit code. Interrupted, it writes the report so far and
//! runs no action.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::action::context::Counts;
use crate::action::{self, ActionContext, Worst};
use crate::cli::{FailOn, WatchArgs};
use crate::error::Error;
use crate::exit;
use crate::fsutil::write_atomic;
use crate::scenario::units::parse_duration;
use crate::verdict::Outcome;
use crate::watch::report::{Ended, WatchReport};
use crate::watch::state::{Before, State, Step};
use crate::watch::{file, Fetcher};

/// How often a sleep between polls looks for Ctrl-C.
const TICK: Duration = Duration::from_millis(100);

/// The whole flow of `loadgate watch`; returns the process exit code.
pub async fn run(args: WatchArgs) -> Result<u8, Error> {
    let mut spec = file::load(&args.file, &|k| std::env::var(k).ok())?;
    let flag = |name: &'static str, v: &str| {
        parse_duration(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::Flag {
                flag: name,
                problem: format!("`{v}` is not a positive duration; write e.g. 20s or 5m"),
            })
    };
    if let Some(w) = &args.window {
        spec.window = flag("--window", w)?;
    }
    if let Some(p) = &args.poll {
        spec.poll = flag("--poll", p)?;
    }
    if spec.poll > spec.window {
        return Err(Error::Flag {
            flag: "--poll",
            problem: "the poll interval is longer than the window; poll several times per window"
                .to_string(),
        });
    }
    spec.timeout = spec.timeout.min(spec.poll);
    let mut settings = action::Requested {
        secrets: spec.secrets.clone(),
        ..crate::pipeline::actions::settings(&args.actions)?
    };
    if spec.rollback_on_incomplete {
        // `--rollback-on warn` keeps its wider trigger; the file widens the default one.
        if let Some(hook) = settings
            .rollback
            .as_mut()
            .filter(|h| h.on == action::RollbackOn::Critical)
        {
            hook.on = action::RollbackOn::Incomplete;
        }
    }
    let plan = action::prepare(settings, &action::Env::capture())?;
    crate::pipeline::outputs::refuse_overlaps(
        &[
            args.output.as_deref(),
            args.actions.actions_json.as_deref(),
            args.actions.junit.as_deref(),
        ],
        &[Some(args.file.as_path())],
    )?;
    crate::pipeline::outputs::preflight_outputs(&[
        args.output.as_deref(),
        args.actions.actions_json.as_deref(),
    ])?;
    let fetcher = Fetcher::new(&spec)?;
    for w in fetcher.preflight().await? {
        eprintln!("warning: {w}");
    }
    let started_at = chrono::Utc::now();
    let before = if spec.compare_before {
        let now = started_at.timestamp_millis() as f64 / 1000.0;
        let from = fetcher
            .snapshot(Some(now - spec.window.as_secs_f64()))
            .await;
        let to = fetcher.snapshot(Some(now)).await;
        match (from, to) {
            (Ok(a), Ok(b)) => match Before::between(&spec, &a, &b) {
                Ok(before) => Some(before),
                Err(p) => {
                    eprintln!("warning: {p}; the comparison with before will be incomplete");
                    Some(Before::default())
                }
            },
            (Err(p), _) | (_, Err(p)) => {
                eprintln!("warning: cannot read the window before the watch: {p}; the comparison with before will be incomplete");
                Some(Before::default())
            }
        }
    } else {
        None
    };
    eprintln!(
        "loadgate: watching {} for {} (poll every {}), source {}",
        spec.name,
        action::seconds(spec.window),
        action::seconds(spec.poll),
        spec.shown_source()
    );
    let mut state = State::new(spec.clone(), before);
    let start = Instant::now();
    let mut next = Duration::ZERO;
    let (outcome, ended) = loop {
        if !sleep_until(start, next).await {
            break (Outcome::Incomplete, Ended::Interrupted);
        }
        let t = start.elapsed().as_secs_f64();
        let step = state.observe(t, fetcher.snapshot(None).await);
        eprintln!("loadgate: {}", state.live_line(t));
        if let Step::Stop(o) = step {
            let ended = match o {
                Outcome::Critical => Ended::Breach,
                _ => Ended::SourceLost,
            };
            break (o, ended);
        }
        if next >= spec.window {
            break (state.finish(t), Ended::Window);
        }
        next = (next + spec.poll).min(spec.window);
    };
    let elapsed = start.elapsed().as_secs_f64();
    if ended == Ended::Interrupted {
        let report = WatchReport::of(
            &state,
            started_at.to_rfc3339(),
            elapsed,
            outcome,
            exit::INTERRUPTED,
            ended,
        );
        emit(&report, args.output.as_deref(), None);
        eprintln!(
            "loadgate: interrupted: the report so far is written; no action was run (exit {})",
            exit::INTERRUPTED
        );
        return Ok(exit::INTERRUPTED);
    }
    let code = crate::verdict::exit_code(outcome, args.fail_on == FailOn::Warn);
    let report = WatchReport::of(
        &state,
        started_at.to_rfc3339(),
        elapsed,
        outcome,
        code,
        ended,
    );
    let written = emit(&report, args.output.as_deref(), None);
    eprintln!(
        "loadgate: watch verdict {} after {elapsed:.1}s (exit {code})",
        outcome.name()
    );
    for s in &state.signals {
        eprintln!("loadgate:   {} {}: {}", s.name, s.outcome.name(), s.message);
    }
    for n in &state.notes {
        eprintln!("loadgate:   {n}");
    }
    if !plan.is_empty() || args.actions.actions_json.is_some() {
        let ctx = context(
            &report,
            code,
            args.fail_on,
            written.then(|| args.output.clone()).flatten(),
        );
        let outcomes = plan.run(ctx).await;
        let _ = action::summarize(&outcomes, &mut std::io::stderr().lock());
        if written {
            emit(&report, args.output.as_deref(), Some(&outcomes));
        }
        if let Some(path) = &args.actions.actions_json {
            match write_atomic(path, action::to_json(&outcomes).as_bytes()) {
                Ok(()) => eprintln!("loadgate: wrote action outcomes to {}", path.display()),
                Err(e) => eprintln!("warning: {e}; the exit code is still the verdict's"),
            }
        }
    }
    Ok(code)
}

/// Sleeps until `at` after `start`; `false` when a stop was requested meanwhile.
async fn sleep_until(start: Instant, at: Duration) -> bool {
    loop {
        if crate::load::interrupted() {
            return false;
        }
        let left = at.saturating_sub(start.elapsed());
        if left.is_zero() {
            return true;
        }
        tokio::time::sleep(left.min(TICK)).await;
    }
}

/// Writes the JSON report (with the action outcomes once known) to `output` or stdout; whether a
/// file was written. A failure is reported, never fatal: the actions must not depend on a disk.
fn emit(
    report: &WatchReport<'_>,
    output: Option<&Path>,
    actions: Option<&[action::ActionOutcome]>,
) -> bool {
    let mut text = report.to_json();
    if let Some(outcomes) = actions {
        if let (Ok(mut v), Ok(a)) = (
            serde_json::from_str::<serde_json::Value>(&text),
            serde_json::to_value(outcomes),
        ) {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("actions".to_string(), a);
            }
            text = serde_json::to_string_pretty(&v).unwrap_or(text) + "\n";
        }
    }
    match output {
        Some(path) => match write_atomic(path, text.as_bytes()) {
            Ok(()) => {
                if actions.is_none() {
                    eprintln!("loadgate: wrote the watch report to {}", path.display());
                }
                true
            }
            Err(e) => {
                eprintln!("error: {e}; the watch goes on to its actions");
                false
            }
        },
        None => {
            if actions.is_none() {
                use std::io::Write;
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
            }
            false
        }
    }
}

/// What the actions read, from the watch report.
fn context(
    report: &WatchReport<'_>,
    code: u8,
    fail_on: FailOn,
    report_json: Option<std::path::PathBuf>,
) -> ActionContext {
    use crate::compare::Status;
    let status = |o: Outcome| match o {
        Outcome::Pass => Status::Pass,
        Outcome::Warn => Status::Warn,
        Outcome::Incomplete => Status::Incomplete,
        Outcome::Critical => Status::Critical,
    };
    let mut bad: Vec<_> = report
        .signals
        .iter()
        .filter(|s| s.outcome != Outcome::Pass)
        .collect();
    bad.sort_by_key(|s| std::cmp::Reverse(s.outcome));
    let count = |o: Outcome| report.signals.iter().filter(|s| s.outcome == o).count();
    ActionContext {
        scenario: report.name.to_string(),
        outcome: report.outcome,
        exit_code: code,
        markdown: report.markdown(),
        // A warning that fails the build is a JUnit failure too, as for `gate`.
        junit: Ok(report.junit(fail_on == FailOn::Warn)),
        report_json: report_json.map(|p| std::path::absolute(&p).unwrap_or(p)),
        result_json: None,
        worst: bad
            .iter()
            .take(action::context::WORST_MAX)
            .map(|s| Worst {
                request: None,
                metric: s.name.clone(),
                status: status(s.outcome),
                change: None,
                message: s.message.clone(),
            })
            .collect(),
        counts: Counts {
            critical: count(Outcome::Critical),
            warn: count(Outcome::Warn),
            incomplete: count(Outcome::Incomplete),
        },
    }
}

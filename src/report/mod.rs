//! Stage 6a — render: every format from one [`Report`] value. Renderers are pure
//! `fn(&Report) -> String`; writing to a file or stdout is the caller's job.

pub mod annotations;
pub mod change_chart;
pub mod charts;
#[cfg(test)]
pub(crate) mod fixture;
pub mod history;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod markup;
pub mod series;
pub mod stress;
pub mod table;

use crate::compare::{Comparison, Row, Status};
use crate::result::metric::{Metric, Unit};
use crate::result::RunResult;
use crate::verdict::Verdict;

/// What a report shows: a run, and when it was judged, the comparison and the verdict.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The measured run.
    pub run: &'a RunResult,
    /// The comparison with the baseline, when there was one.
    pub judged: Option<Judged<'a>>,
}

/// A comparison and the verdict folded from it.
#[derive(Debug, Clone, Copy)]
pub struct Judged<'a> {
    /// The baseline compared against.
    pub baseline: &'a RunResult,
    /// Rows.
    pub comparison: &'a Comparison,
    /// Decision.
    pub verdict: &'a Verdict,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human table.
    Table,
    /// Versioned JSON (schemas/report.schema.json).
    Json,
    /// Markdown, for PR comments and job summaries.
    Markdown,
    /// One self-contained HTML page with SVG charts (no script, no external URL).
    Html,
    /// JUnit XML: one test case per gated metric, for CI test viewers.
    Junit,
}

impl Format {
    /// The name used in flags (`--report markdown=perf.md`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Junit => "junit",
        }
    }
}

/// What some renderers need beyond the report itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--fail-on warn`: a warning is then a JUnit failure, as it fails the build.
    pub warn_fails: bool,
    /// Where the HTML report is published (`--report-url`): the Markdown report links to it.
    pub report_url: Option<String>,
}

/// What a report describes: one run (judged against a baseline or not), a stress search, or the
/// history of nightly runs. Every command renders through [`export`].
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    /// `run`, `gate`, `compare`, `report`, `merge`.
    Run(&'a Report<'a>),
    /// `stress`.
    Stress(&'a stress::StressReport),
    /// `history`.
    History(&'a history::HistoryReport<'a>),
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The JUnit document could not be built.
    #[error(transparent)]
    Junit(#[from] junit::JunitError),
    /// This view has no such form.
    #[error("the {view} report has no {format} form (it has no gated metrics per test case); use table, json, markdown or html")]
    Unsupported {
        /// The view (`stress`, `history`).
        view: &'static str,
        /// The format asked for.
        format: &'static str,
    },
}

/// The one entry point of every report: `view` in `format`, with `options`.
pub fn export(view: &View<'_>, format: Format, options: &Options) -> Result<String, ExportError> {
    let unsupported = |view| ExportError::Unsupported {
        view,
        format: format.name(),
    };
    match view {
        View::Run(report) => Ok(render_run(report, format, options)?),
        View::Stress(_) if format == Format::Junit => Err(unsupported("stress")),
        View::Stress(r) => Ok(stress::render(r, format)),
        View::History(_) if format == Format::Junit => Err(unsupported("history")),
        View::History(r) => Ok(history::render(r, format)),
    }
}

/// Renders `report` in `format`, with default [`Options`]. JUnit rendering cannot fail in
/// practice (XML into memory); should it, the text is its error message, which names the bug.
pub fn render(report: &Report<'_>, format: Format) -> String {
    render_run(report, format, &Options::default()).unwrap_or_else(|e| e.to_string())
}

fn render_run(
    report: &Report<'_>,
    format: Format,
    options: &Options,
) -> Result<String, junit::JunitError> {
    Ok(match format {
        Format::Table => table::render(report),
        Format::Json => json::render(report),
        Format::Markdown => markdown::render(report, options.report_url.as_deref()),
        Format::Html => html::render(report),
        Format::Junit => junit::render(report, options.warn_fails)?,
    })
}

/// One `--report FORMAT=FILE`: a report to write to a file, atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// Format.
    pub format: Format,
    /// Destination (`-` for stdout).
    pub path: std::path::PathBuf,
}

impl std::str::FromStr for ReportFile {
    type Err = String;

    /// `markdown=perf.md`; the format is one of [`Format`]'s names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let formats = || {
            [
                Format::Table,
                Format::Json,
                Format::Markdown,
                Format::Html,
                Format::Junit,
            ]
        };
        let names = formats().map(Format::name).join(", ");
        let Some((name, path)) = s.split_once('=') else {
            return Err(format!(
                "`{s}` is not FORMAT=FILE; write e.g. `markdown=perf.md` (formats: {names})"
            ));
        };
        let format = formats()
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| format!("unknown report format `{name}`; use one of {names}"))?;
        if path.trim().is_empty() {
            return Err(format!(
                "`{s}` names no file; write e.g. `{}=report.{}`",
                format.name(),
                match format {
                    Format::Table => "txt",
                    Format::Json => "json",
                    Format::Markdown => "md",
                    Format::Html => "html",
                    Format::Junit => "xml",
                }
            ));
        }
        Ok(ReportFile {
            format,
            path: path.into(),
        })
    }
}

/// `text` safe for a terminal: control characters (ESC starts a terminal escape sequence) and
/// bidirectional overrides (which reorder what is shown) become visible `\u{..}` escapes; line
/// breaks stay. Names come from scenario files and from the results a target produced.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let hostile = |c: char| {
        (c.is_control() && c != '\n')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if !text.chars().any(hostile) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| match hostile(c) {
                true => c.escape_unicode().to_string(),
                false => c.to_string(),
            })
            .collect(),
    )
}

/// Whether a row takes part in the verdict: a gated row, or one critical anyway (an objective
/// breached on a metric the baseline found too noisy to gate by change).
pub fn decides(r: &Row) -> bool {
    r.gated || r.status == Status::Critical
}

/// Rows worth a human's attention in a summary: the aggregate's metrics, and per-request rows that are
/// not a plain pass.
pub fn visible_rows(c: &Comparison) -> impl Iterator<Item = &Row> {
    c.rows
        .iter()
        .filter(|r| r.request.is_none() || !matches!(r.status, Status::Pass | Status::Info))
}

/// `n` and its noun, singular or plural: `1 run`, `3 runs`.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// A value in its metric's unit.
pub fn value(metric: Metric, v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| crate::compare::show(metric, v))
}

/// A signed relative change.
pub fn change(c: Option<f64>) -> String {
    match c {
        Some(c) if c.is_finite() => format!("{:+.1}%", c * 100.0),
        Some(_) => "new".to_string(),
        None => "-".to_string(),
    }
}

/// A row's change: relative, or for a rate that rose from zero (no relative change exists), the
/// rise in percentage points, e.g. `+20.00 pp`: a new error rate must not read as "no change".
pub fn row_change(r: &Row) -> String {
    match (r.change, r.metric.unit(), r.baseline, r.run) {
        (None, Unit::Fraction, Some(b), Some(v)) => format!("{:+.2} pp", (v - b) * 100.0),
        (c, ..) => change(c),
    }
}

/// One line on the service's memory and CPU, with an RSS sparkline; `None` when not monitored.
pub fn service_line(run: &RunResult) -> Option<String> {
    let s = run.samples.last()?;
    let rss: Vec<u64> = s
        .points
        .iter()
        .filter(|p| p.t_ms >= 0)
        .filter_map(|p| p.rss_bytes)
        .collect();
    let cpu: Vec<f64> = s
        .points
        .iter()
        .filter(|p| p.t_ms >= 0)
        .filter_map(|p| p.cpu_percent)
        .collect();
    let mb = |v: u64| format!("{:.1} MB", v as f64 / 1e6);
    let mut line = format!("service ({}): ", s.source);
    match (rss.first(), rss.last(), rss.iter().max()) {
        (Some(a), Some(b), Some(peak)) => line.push_str(&format!(
            "RSS {} → {} (max {}) {}",
            mb(*a),
            mb(*b),
            mb(*peak),
            sparkline(&rss, 40)
        )),
        _ => line.push_str("no memory readings"),
    }
    if !cpu.is_empty() {
        line.push_str(&format!(
            ", CPU {:.1}% of a core",
            cpu.iter().sum::<f64>() / cpu.len() as f64
        ));
    }
    if let Some(e) = &s.error {
        line.push_str(&format!(" — {e}"));
    }
    Some(line)
}

/// A Unicode sparkline of `values`, downsampled (by maximum) to at most `width` characters.
pub fn sparkline(values: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let chunk = values.len().div_ceil(width);
    let points: Vec<u64> = values
        .chunks(chunk)
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .collect();
    let (lo, hi) = (
        points.iter().copied().min().unwrap_or(0),
        points.iter().copied().max().unwrap_or(0),
    );
    points
        .iter()
        .map(|v| {
            if hi == lo {
                BARS[0]
            } else {
                BARS[((v - lo) as f64 / (hi - lo) as f64 * 7.0).round() as usize]
            }
        })
        .collect()
}

/// A 95% interval of a relative change, or `-`.
pub fn interval(i: Option<(f64, f64)>) -> String {
    i.map_or_else(
        || "-".to_string(),
        |(a, b)| format!("{:+.1}%..{:+.1}%", a * 100.0, b * 100.0),
    )
}

/// A row's minimum detectable effect, marked when the row is too noisy to gate.
pub fn mde(r: &Row) -> String {
    match r.mde {
        Some(m) if r.too_noisy => format!("{:.0}% (noisy)", m * 100.0),
        Some(m) => format!("{:.0}%", m * 100.0),
        None => "-".to_string(),
    }
}

/// One-line headline of a run: what, where, how much.
pub fn headline(run: &RunResult) -> String {
    let m = &run.meta;
    if let Some(i) = &run.imported {
        // Another tool's load or benchmark: no users or rate of loadgate's to state, but where the
        // numbers came from and (Artillery) what they cannot show.
        let counted = if run.is_benchmark() {
            "iterations"
        } else {
            "requests"
        };
        return format!(
            "`{}`: {} {counted} in {} row(s), {} errors; {}",
            m.scenario_name,
            run.all.requests,
            run.requests.len(),
            run.all.errors.total(),
            i.describe()
        );
    }
    let secs = run.measured_seconds();
    let achieved = (run.all.requests as f64) / secs;
    let rate = match (&m.open_model, m.load.rate_rps) {
        (Some(o), _) => format!(
            "{achieved:.1} req/s of a {:.1} req/s target{}",
            o.target_rps,
            match o.late_requests {
                0 => String::new(),
                n => format!(", {n} started late"),
            } + &match o.unsent_requests {
                0 => String::new(),
                n => format!(", {n} due but never sent"),
            }
        ),
        (None, Some(target)) => format!("{achieved:.1} req/s of a {target} req/s target"),
        (None, None) => format!("{achieved:.1} req/s"),
    };
    format!(
        "scenario `{}` on {}: {} requests in {:.1}s ({rate}), {} users, {} errors",
        m.scenario_name,
        m.target_url,
        run.all.requests,
        secs,
        m.load.users,
        run.all.errors.total()
    )
}

/// Why the run ended early, and what the scenario's checks and captures found: failed checks by
/// name, and requests not sent because a variable had no value or a feeder ran out.
pub fn flow_notes(run: &RunResult) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(why) = &run.meta.stopped_early {
        notes.push(format!("the run stopped early: {why}"));
    }
    for (request, s) in &run.requests {
        for (check, n) in &s.failed_checks {
            notes.push(format!(
                "check `{check}` of `{request}` failed {n} time(s) ({:.2}% of its responses)",
                100.0 * *n as f64 / s.requests.max(1) as f64
            ));
        }
        if s.errors.capture > 0 {
            notes.push(format!(
                "`{request}`: {} capture(s) found nothing in the response",
                s.errors.capture
            ));
        }
        if s.not_sent > 0 {
            notes.push(format!(
                "`{request}`: {} request(s) not sent: a variable it uses had no value (a capture found nothing, e.g. no token) or a feeder ran out",
                s.not_sent
            ));
        }
    }
    notes
}

/// An open-model run that achieved less than this share of its target rate did not apply the
/// load it was asked to (the capacity search calls such a step saturated).
pub const RATE_SHORTFALL: f64 = crate::compare::capacity::MIN_ACHIEVED_SHARE;

/// Warning when the target rate was not reached. Runs paced by loadgate's arrival schedule
/// (`meta.open_model`) are held to [`RATE_SHORTFALL`]; older files, made with goose's throttle (a
/// cap that delivers ~90% of its rate even on a fast service, docs/goose.md §3), only beyond 20%.
pub fn rate_warning(run: &RunResult) -> Option<String> {
    let achieved = run.all.requests as f64 / run.measured_seconds();
    if let Some(o) = &run.meta.open_model {
        return (achieved < RATE_SHORTFALL * o.target_rps).then(|| {
            format!(
                "achieved rate {achieved:.1} req/s of target {:.1} req/s ({} requests started late, {} due but never sent): all {} users were busy \
                 — raise `load.users`, or the service stalled (latencies are measured from the intended send times)",
                o.target_rps, o.late_requests, o.unsent_requests, run.meta.load.users
            )
        });
    }
    let target = run.meta.load.rate_rps? as f64;
    (achieved < 0.8 * target).then(|| {
        format!(
            "achieved {achieved:.1} req/s, below 80% of the {target:.0} req/s target: too few users for the latency, \
             or the service stalled (latencies are corrected for coordinated omission)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_singular_or_plural() {
        assert_eq!(count(1, "run"), "1 run");
        assert_eq!(count(3, "baseline run"), "3 baseline runs");
        assert_eq!(count(0, "stage"), "0 stages");
    }

    #[test]
    fn report_files_parse_and_bad_ones_say_how_to_write_them() {
        let r: ReportFile = "markdown=perf.md".parse().unwrap();
        assert_eq!(r.format, Format::Markdown);
        assert_eq!(r.path, std::path::PathBuf::from("perf.md"));
        let r: ReportFile = "JUnit=out/a=b.xml".parse().unwrap();
        assert_eq!(
            (r.format, r.path.to_str()),
            (Format::Junit, Some("out/a=b.xml"))
        );
        let e = "pdf=x.pdf".parse::<ReportFile>().unwrap_err();
        assert!(
            e.contains("unknown report format `pdf`") && e.contains("junit"),
            "{e}"
        );
        let e = "perf.md".parse::<ReportFile>().unwrap_err();
        assert!(e.contains("FORMAT=FILE"), "{e}");
        let e = "html=".parse::<ReportFile>().unwrap_err();
        assert!(e.contains("html=report.html"), "{e}");
    }

    #[test]
    fn sparkline_scales_and_downsamples() {
        assert_eq!(sparkline(&[1, 2, 3, 4, 5, 6, 7, 8], 8), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[5, 5, 5], 10), "▁▁▁");
        assert_eq!(
            sparkline(&(0..100).collect::<Vec<_>>(), 10).chars().count(),
            10
        );
        assert_eq!(sparkline(&[], 10), "");
    }

    #[test]
    fn a_rate_that_rose_from_zero_shows_its_rise_in_points() {
        let row = |metric, baseline: f64, run: f64, change| Row {
            baseline: Some(baseline),
            run: Some(run),
            change,
            ..Row::new(None, metric, true, true)
        };
        assert_eq!(
            row_change(&row(Metric::ErrorRate, 0.0, 0.2, None)),
            "+20.00 pp"
        );
        assert_eq!(
            row_change(&row(Metric::ErrorRate, 0.01, 0.02, Some(1.0))),
            "+100.0%"
        );
        // Other metrics have no points to show: a missing change stays "-".
        assert_eq!(row_change(&row(Metric::P50, 0.0, 5.0, None)), "-");
        let mut missing = row(Metric::ErrorRate, 0.0, 0.2, None);
        missing.run = None;
        assert_eq!(row_change(&missing), "-");
    }
}

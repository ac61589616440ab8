//! The human view: comfy-table tables of a run and of its comparison, plus the verdict line.
//! The only module that knows comfy-table.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

use crate::compare::Status;
use crate::report::{
    flow_notes, headline, interval, mde, rate_warning, row_change, value, visible_rows, Report,
};
use crate::result::RequestStats;
use crate::scenario::units::format_micros;
use crate::terminal::{paint, Tone};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied().map(Cell::new));
    t
}

fn right(t: &mut Table, from: usize) {
    for i in from..t.column_count() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A table in the house look for views other than the run report (the history): `right` lists
/// the columns aligned right. Cells may hold several lines.
pub fn grid(header: &[&str], rows: Vec<Vec<String>>, right: &[usize]) -> String {
    let mut t = table(header);
    for r in rows {
        t.add_row(r);
    }
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    crate::report::printable(&t.to_string()).into_owned()
}

fn stats_row(name: &str, s: &RequestStats, run: &crate::result::RunResult) -> Vec<String> {
    let l = &s.latency;
    let scale = run.micros_per_unit();
    // A benchmark's samples are not back to back in time: its rate is its own iterations per
    // second of iterating, the mean time per iteration inverted.
    let rate = if run.is_benchmark() {
        1e6 / (l.mean_us * scale).max(1e-9)
    } else {
        s.requests.saturating_sub(s.errors.total()) as f64 / run.measured_seconds()
    };
    let us = |v: u64| format_micros(v as f64 * scale);
    vec![
        crate::report::printable(name).into_owned(),
        s.requests.to_string(),
        format!("{:.2}%", s.error_rate().unwrap_or(0.0) * 100.0),
        format!("{:.1}", rate),
        us(l.p50_us),
        us(l.p90_us),
        us(l.p95_us),
        us(l.p99_us),
        us(l.max_us),
        format_micros(l.mean_us * scale),
    ]
}

/// The run's statistics per request, then (when judged) the comparison and the verdict.
pub fn render(report: &Report<'_>) -> String {
    // Names were made printable before the layout (so the columns line up); the whole text again
    // for what notes and messages quote.
    crate::report::printable(&render_text(report)).into_owned()
}

/// [`render`] with the statuses, reasons and verdict marked for colour (for a terminal: the marks
/// are dropped on the way out where colour is off).
pub fn render_colored(report: &Report<'_>) -> String {
    colored(&render(report))
}

fn tone(status: Status) -> Option<Tone> {
    match status {
        Status::Improved | Status::Pass => Some(Tone::Good),
        Status::Info => None,
        Status::Warn => Some(Tone::Warn),
        Status::Incomplete => Some(Tone::Unknown),
        Status::Critical => Some(Tone::Bad),
    }
}

const STATUSES: [Status; 6] = [
    Status::Improved,
    Status::Pass,
    Status::Info,
    Status::Warn,
    Status::Incomplete,
    Status::Critical,
];

fn tone_of_label(label: &str) -> Option<Tone> {
    STATUSES
        .into_iter()
        .find(|s| s.label() == label)
        .and_then(tone)
}

/// Marks the rendered (already printable) text: the comparison table's status cells (its last
/// column), the reason lines' labels, `warning:` and the verdict. Works on the finished text so the
/// table's column widths are measured without the marks. A name a scenario chose sits in a table's
/// first column or after a reason's label, never where a mark goes.
fn colored(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        out.push_str(&colored_line(line));
    }
    out
}

fn colored_line(line: &str) -> String {
    let body = line.trim_end_matches('\n');
    let end = &line[body.len()..];
    if let Some(name) = body.strip_prefix("verdict: ") {
        let t = match name {
            "PASS" => Some(Tone::Good),
            "WARN" => Some(Tone::Warn),
            "INCOMPLETE" => Some(Tone::Unknown),
            "CRITICAL" => Some(Tone::Bad),
            _ => None,
        };
        if let Some(t) = t {
            return format!("verdict: {}{end}", paint(t, name));
        }
    }
    if let Some(rest) = body.strip_prefix("warning:") {
        return format!("{}{rest}{end}", paint(Tone::Warn, "warning:"));
    }
    // A table row: `│ … ┆ status │`; the status cell is after the last column separator.
    if body.starts_with('│') && body.ends_with('│') {
        let inner = &body[..body.len() - '│'.len_utf8()];
        if let Some(bar) = inner.rfind('┆') {
            let cell = &inner[bar + '┆'.len_utf8()..];
            if let Some(t) = tone_of_label(cell.trim()) {
                let label = cell.trim();
                let at = bar + '┆'.len_utf8() + cell.find(label).unwrap_or(0);
                return format!(
                    "{}{}{}{end}",
                    &body[..at],
                    paint(t, label),
                    &body[at + label.len()..]
                );
            }
        }
        return line.to_string();
    }
    // A reason: the status label padded to 10 columns, then the metric and the message.
    if let Some((first, _)) = body.split_once(' ') {
        if body.len() > 10 && body.is_char_boundary(10) && body[..10].trim_end() == first {
            if let Some(t) = tone_of_label(first) {
                return format!("{}{}{end}", paint(t, first), &body[first.len()..]);
            }
        }
    }
    line.to_string()
}

fn render_text(report: &Report<'_>) -> String {
    let run = report.run;
    let mut out = format!("{}\n", headline(run));
    if let Some(w) = rate_warning(run) {
        out.push_str(&format!("warning: {w}\n"));
    }
    let mut t = table(&[
        "request", "requests", "errors", "req/s", "p50", "p90", "p95", "p99", "max", "mean",
    ]);
    for (name, s) in &run.requests {
        t.add_row(stats_row(name, s, run));
    }
    t.add_row(stats_row("all", &run.all, run));
    right(&mut t, 1);
    out.push_str(&format!("{t}\n"));
    let e = &run.all.errors;
    if e.total() > 0 {
        out.push_str(&format!(
            "errors: {} unexpected status, {} timeout, {} connect, {} other{}\n",
            e.status,
            e.timeout,
            e.connect,
            e.other,
            if e.check + e.capture > 0 {
                format!(", {} failed check, {} failed capture", e.check, e.capture)
            } else {
                String::new()
            }
        ));
        if e.redirect > 0 {
            out.push_str(&format!(
                "errors: {} redirect(s) to another host, not followed (set `[target] cross_host_redirects = true` to follow them)\n",
                e.redirect
            ));
        }
    }
    for n in flow_notes(run) {
        out.push_str(&format!("note: {n}\n"));
    }
    if let Some(line) = crate::report::service_line(run) {
        out.push_str(&format!("{line}\n"));
    }
    let Some(j) = report.judged else { return out };
    let mut t = table(&[
        "request",
        "metric",
        "baseline",
        "run",
        "change",
        "95% interval",
        "MDE",
        "status",
    ]);
    for r in visible_rows(j.comparison) {
        let metric = if r.gated {
            r.metric.to_string()
        } else {
            format!("{} (info)", r.metric)
        };
        t.add_row(vec![
            crate::report::printable(r.request.as_deref().unwrap_or("all")).into_owned(),
            metric,
            value(r.metric, r.baseline),
            value(r.metric, r.run),
            row_change(r),
            interval(r.interval),
            mde(r),
            r.status.label().to_string(),
        ]);
    }
    right(&mut t, 2);
    out.push_str(&format!(
        "\ncompared with the baseline of {} ({} vs {}); noise: {}\n{t}\n",
        j.baseline.meta.started_at,
        crate::report::count(j.comparison.runs.0, "baseline run"),
        crate::report::count(j.comparison.runs.1, "candidate run"),
        j.comparison.noise
    ));
    for n in &j.comparison.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let v = j.verdict;
    for r in &v.reasons {
        let scope = r.request.as_deref().unwrap_or("all");
        out.push_str(&format!(
            "{:<10} {scope} {}: {}\n",
            r.status.label(),
            r.metric,
            r.message
        ));
    }
    out.push_str(&format!("verdict: {}\n", v.outcome.name().to_uppercase()));
    out
}

/// The `baselines list` table.
pub fn baselines(entries: &[(&std::path::Path, &crate::result::RunResult)]) -> String {
    let mut t = table(&[
        "file", "scenario", "recorded", "commit", "host", "requests", "p95", "req/s",
    ]);
    for (path, r) in entries {
        let m = &r.meta;
        t.add_row(vec![
            path.display().to_string(),
            m.scenario_name.clone(),
            m.started_at.clone(),
            m.git_commit
                .as_deref()
                .map(|c| c.chars().take(10).collect())
                .unwrap_or_else(|| "-".to_string()),
            format!("{} ({} CPUs)", m.host.cpu_model, m.host.cpus),
            r.all.requests.to_string(),
            format_micros(r.all.latency.p95_us as f64 * r.micros_per_unit()),
            format!(
                "{:.1}",
                r.all.requests.saturating_sub(r.all.errors.total()) as f64 / r.measured_seconds()
            ),
        ]);
    }
    right(&mut t, 5);
    format!("{t}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        s.replace("\u{1b}[1m", "")
            .replace("\u{1b}[31m", "")
            .replace("\u{1b}[32m", "")
            .replace("\u{1b}[33m", "")
            .replace("\u{1b}[35m", "")
            .replace("\u{1b}[0m", "")
    }

    const TEXT: &str = "\
warning: the target rate was not reached
│ request ┆ metric ┆ change ┆ status   │
╞═════════╪════════╪════════╪══════════╡
│ all     ┆ p95    ┆ +43.2% ┆ CRITICAL │
│ all     ┆ mean   ┆ +1.0%  ┆ pass     │
│ all     ┆ rss    ┆ -      ┆ info     │
│ WARN    ┆ p50    ┆ +12.0% ┆ WARN     │
CRITICAL   all p95: +43.2%, beyond 20%
INCOMPLETE all p99: too few samples
note: CRITICAL in a note stays plain
verdict: CRITICAL
";

    #[test]
    fn statuses_reasons_warnings_and_the_verdict_are_marked() {
        let c = colored(TEXT);
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{} the target rate was not reached",
                paint(Tone::Warn, "warning:")
            )
        );
        assert_eq!(
            lines[3],
            format!(
                "│ all     ┆ p95    ┆ +43.2% ┆ {} │",
                paint(Tone::Bad, "CRITICAL")
            )
        );
        assert_eq!(
            lines[4],
            format!(
                "│ all     ┆ mean   ┆ +1.0%  ┆ {}     │",
                paint(Tone::Good, "pass")
            )
        );
        // A request named like a status is not marked; its status cell is.
        assert_eq!(
            lines[6],
            format!(
                "│ WARN    ┆ p50    ┆ +12.0% ┆ {}     │",
                paint(Tone::Warn, "WARN")
            )
        );
        assert_eq!(
            lines[7],
            format!(
                "{}   all p95: +43.2%, beyond 20%",
                paint(Tone::Bad, "CRITICAL")
            )
        );
        assert_eq!(
            lines[8],
            format!(
                "{} all p99: too few samples",
                paint(Tone::Unknown, "INCOMPLETE")
            )
        );
        assert_eq!(
            lines[10],
            format!("verdict: {}", paint(Tone::Bad, "CRITICAL"))
        );
    }

    #[test]
    fn what_is_not_a_status_stays_plain_and_nothing_else_changes() {
        let c = colored(TEXT);
        let lines: Vec<&str> = c.lines().collect();
        for plain in [1, 2, 5, 9] {
            assert_eq!(lines[plain], TEXT.lines().nth(plain).unwrap_or_default());
        }
        assert_eq!(strip(&c), TEXT);
    }
}

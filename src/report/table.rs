//! The human view: comfy-table tables of a run and of its comparison, plus the verdict line.
//! The only module that knows comfy-table.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

use crate::report::{
    flow_notes, headline, interval, mde, rate_warning, row_change, value, visible_rows, Report,
};
use crate::result::RequestStats;
use crate::scenario::units::format_micros;

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
        "\ncompared with the baseline of {} ({} run(s) vs {}); noise: {}\n{t}\n",
        j.baseline.meta.started_at, j.comparison.runs.0, j.comparison.runs.1, j.comparison.noise
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

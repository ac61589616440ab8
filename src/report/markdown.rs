//! Markdown: the PR comment and the CI job summary. GitHub-flavoured tables, worst rows first.

use crate::compare::Status;
use crate::report::{
    headline, interval, mde, rate_warning, row_change, value, visible_rows, Report,
};
use crate::verdict::Outcome;

fn badge(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "✅ pass",
        Outcome::Warn => "⚠️ warn",
        Outcome::Incomplete => "❔ incomplete",
        Outcome::Critical => "❌ critical",
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Improved => "🟢 improved",
        Status::Pass => "pass",
        Status::Info => "info",
        Status::Warn => "⚠️ warn",
        Status::Incomplete => "❔ incomplete",
        Status::Critical => "❌ critical",
    }
}

/// Text from names and messages made inert in GitHub Markdown: no HTML (a `<!-- loadgate:other -->`
/// marker would let another scenario's gate take this comment over), no @-mentions, no table
/// break-out, no control characters. Entities show as the characters they stand for.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("&#64;"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// Renders the Markdown report.
pub fn render(report: &Report<'_>) -> String {
    let run = report.run;
    let mut out = String::new();
    match report.judged {
        Some(j) => out.push_str(&format!(
            "### loadgate: {} — `{}`\n\n",
            badge(j.verdict.outcome),
            cell(&run.meta.scenario_name)
        )),
        None => out.push_str(&format!(
            "### loadgate run — `{}`\n\n",
            cell(&run.meta.scenario_name)
        )),
    }
    out.push_str(&format!("{}\n\n", cell(&headline(run))));
    if let Some(line) = crate::report::service_line(run) {
        out.push_str(&format!("{}\n\n", cell(&line)));
    }
    if let Some(w) = rate_warning(run) {
        out.push_str(&format!("> **Warning:** {}\n\n", cell(&w)));
    }
    for n in crate::report::flow_notes(run) {
        out.push_str(&format!("> **Note:** {}\n\n", cell(&n)));
    }
    let Some(j) = report.judged else {
        out.push_str(
            "| request | requests | errors | p50 | p95 | p99 |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for (name, s) in run
            .requests
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain([("all", &run.all)])
        {
            let us =
                |v: u64| crate::scenario::units::format_micros(v as f64 * run.micros_per_unit());
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(name),
                s.requests,
                s.errors.total(),
                us(s.latency.p50_us),
                us(s.latency.p95_us),
                us(s.latency.p99_us)
            ));
        }
        return out;
    };
    for r in &j.verdict.reasons {
        let scope = r.request.as_deref().unwrap_or("all");
        out.push_str(&format!(
            "- **{}** `{}` {}: {}\n",
            status(r.status),
            cell(scope),
            r.metric,
            cell(&r.message)
        ));
    }
    if !j.verdict.reasons.is_empty() {
        out.push('\n');
    }
    out.push_str(
        "| request | metric | baseline | run | change | 95% interval | MDE | status |\n|---|---|---:|---:|---:|---:|---:|---|\n",
    );
    let mut rows: Vec<_> = visible_rows(j.comparison).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.status));
    for r in rows {
        out.push_str(&format!(
            "| {} | {}{} | {} | {} | {} | {} | {} | {} |\n",
            cell(r.request.as_deref().unwrap_or("all")),
            r.metric,
            if r.gated { "" } else { " (info)" },
            value(r.metric, r.baseline),
            value(r.metric, r.run),
            row_change(r),
            interval(r.interval),
            mde(r),
            status(r.status)
        ));
    }
    out.push_str(&format!(
        "\n<sub>{} baseline run(s) vs {} candidate run(s); noise: {}</sub>\n",
        j.comparison.runs.0,
        j.comparison.runs.1,
        cell(&j.comparison.noise)
    ));
    for n in &j.comparison.notes {
        out.push_str(&format!("\n> **Note:** {}\n", cell(n)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::RequestStats;

    #[test]
    fn names_cannot_inject_html_mentions_or_another_scenarios_marker() {
        let mut run = crate::result::testing::result();
        run.requests.insert(
            "<!-- loadgate:other --> @octocat <img src=x>|\u{1b}[2J\nx".into(),
            RequestStats::default(),
        );
        let md = render(&Report {
            run: &run,
            judged: None,
        });
        for raw in ["<!--", "@octocat", "<img", "\u{1b}"] {
            assert!(!md.contains(raw), "{raw:?} in\n{md}");
        }
        assert!(
            md.contains("&lt;!-- loadgate:other --&gt; &#64;octocat &lt;img src=x&gt;\\|"),
            "{md}"
        );
        let table = crate::report::table::render(&Report {
            run: &run,
            judged: None,
        });
        assert!(!table.contains('\u{1b}'), "{table}");
        assert!(table.contains("\\u{1b}[2J"), "{table}");
    }
}

//! Markdown: the PR comment and the CI job summary. GitHub-flavoured tables, worst rows first; the
//! comment fits on one screen, with the long tables folded.

use crate::compare::{Row, Status};
use crate::report::{decides, headline, interval, mde, rate_warning, row_change, value, Report};
use crate::result::RunResult;
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

/// Renders the Markdown report; `report_url` is where the HTML report is published, linked at the
/// end. A judged report is the compact PR comment: the verdict and the worst rows, one table of the
/// gated aggregate metrics, the per-request and informational rows folded in `<details>`, then the
/// commits compared.
pub fn render(report: &Report<'_>, report_url: Option<&str>) -> String {
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
    if let Some(j) = report.judged {
        out.push_str(&summary_line(&j));
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
        if let Some(url) = report_url {
            out.push_str(&format!("\n[Full HTML report]({})\n", link(url)));
        }
        return out;
    };
    let rows = &j.comparison.rows;
    let gated = worst_first(
        rows.iter()
            .filter(|r| r.request.is_none() && decides(r))
            .collect(),
    );
    let per_request = worst_first(rows.iter().filter(|r| r.request.is_some()).collect());
    let info = worst_first(
        rows.iter()
            .filter(|r| r.request.is_none() && !decides(r))
            .collect(),
    );
    out.push_str(&table(&gated, false));
    // Reasons that belong to no row (an unstable run, too much unjudged) are nowhere in the tables.
    let orphans: Vec<_> = j
        .verdict
        .reasons
        .iter()
        .filter(|r| !rows.iter().any(|row| r.is_about(row)))
        .collect();
    if !orphans.is_empty() {
        out.push('\n');
    }
    for r in orphans {
        out.push_str(&format!(
            "- **{}** {}: {}\n",
            status(r.status),
            cell(r.metric.name()),
            cell(&r.message)
        ));
    }
    if !per_request.is_empty() {
        let flagged = per_request
            .iter()
            .filter(|r| !matches!(r.status, Status::Pass | Status::Info | Status::Improved))
            .count();
        out.push_str(&format!(
            "\n<details><summary>Per request: {} rows, {flagged} flagged</summary>\n\n{}\n</details>\n",
            per_request.len(),
            table(&per_request, true)
        ));
    }
    if !info.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>Not gated: {} informational metric(s)</summary>\n\n{}\n</details>\n",
            info.len(),
            table(&info, false)
        ));
    }
    out.push_str(&format!(
        "\n<sub>{}</sub>\n",
        provenance(&j, run, report_url)
    ));
    for n in &j.comparison.notes {
        out.push_str(&format!("\n> **Note:** {}\n", cell(n)));
    }
    out
}

/// `rows`, worst first: by status, then by the largest change (a stable sort: ties keep the
/// comparison's order).
fn worst_first(mut rows: Vec<&Row>) -> Vec<&Row> {
    rows.sort_by(|a, b| {
        severity(b)
            .partial_cmp(&severity(a))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rows
}

/// How bad a row is: its status, then how far it moved (an infinite change, from zero, counts as
/// the largest).
fn severity(r: &Row) -> (Status, f64) {
    let moved = r
        .change
        .map_or(0.0, |c| if c.is_nan() { 0.0 } else { c.abs() });
    (r.status, moved)
}

/// `**1 critical, 2 warn** of 8 gated metrics · worst: all p95 +43.2%, search p95 +60.0%`.
fn summary_line(j: &crate::report::Judged<'_>) -> String {
    let reasons = &j.verdict.reasons;
    let count = |s: Status| reasons.iter().filter(|r| r.status == s).count();
    let counts: Vec<String> = [
        (Status::Critical, "critical"),
        (Status::Incomplete, "incomplete"),
        (Status::Warn, "warn"),
    ]
    .into_iter()
    .filter(|(s, _)| count(*s) > 0)
    .map(|(s, name)| format!("{} {name}", count(s)))
    .collect();
    let gated = j.comparison.rows.iter().filter(|r| decides(r)).count();
    let head = match counts.is_empty() {
        true => format!("**no regression** in {gated} gated metrics"),
        false => format!("**{}** of {gated} gated metrics", counts.join(", ")),
    };
    // The verdict's reasons, each with its row when it has one, the most severe first.
    let mut flagged: Vec<(Status, f64, String)> = reasons
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                Status::Critical | Status::Warn | Status::Incomplete
            )
        })
        .map(|r| {
            let scope = cell(r.request.as_deref().unwrap_or("all"));
            let row = j.comparison.rows.iter().find(|row| r.is_about(row));
            match row {
                Some(row) => (
                    r.status,
                    severity(row).1,
                    format!("`{scope}` {} {}", cell(r.metric.name()), row_change(row)),
                ),
                None => (
                    r.status,
                    0.0,
                    format!("`{scope}` {}", cell(r.metric.name())),
                ),
            }
        })
        .collect();
    flagged.sort_by(|a, b| {
        (b.0, b.1)
            .partial_cmp(&(a.0, a.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let worst: Vec<String> = flagged.into_iter().take(3).map(|f| f.2).collect();
    match worst.is_empty() {
        true => format!("{head}\n\n"),
        false => format!("{head} · worst: {}\n\n", worst.join(", ")),
    }
}

/// A table of rows; `scoped` adds the request column.
fn table(rows: &[&Row], scoped: bool) -> String {
    let mut out = String::new();
    if scoped {
        out.push_str("| request ");
    }
    out.push_str("| metric | baseline | run | change | 95% interval | MDE | status |\n");
    if scoped {
        out.push_str("|---");
    }
    out.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        if scoped {
            out.push_str(&format!(
                "| {} ",
                cell(r.request.as_deref().unwrap_or("all"))
            ));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.metric,
            value(r.metric, r.baseline),
            value(r.metric, r.run),
            row_change(r),
            interval(r.interval),
            mde(r),
            status(r.status)
        ));
    }
    out
}

/// Which runs were compared: the baseline's commit and date, this run's commit, the noise, and
/// the link to the HTML report.
fn provenance(j: &crate::report::Judged<'_>, run: &RunResult, report_url: Option<&str>) -> String {
    let commit = |c: &Option<String>| match c {
        Some(c) => format!("commit `{}`", cell(&c.chars().take(7).collect::<String>())),
        None => "unknown commit".to_string(),
    };
    let runs = |n: usize, what: &str| match n {
        1 => String::new(),
        n => format!(", {n} runs{what}"),
    };
    let candidate = match j.comparison.confirmed {
        true => ": the first and its confirmation re-run",
        false => " pooled",
    };
    let b = &j.baseline.meta;
    let mut parts = vec![
        format!(
            "baseline: {}, {}{}",
            commit(&b.git_commit),
            cell(&day(&b.started_at)),
            runs(j.comparison.runs.0, "")
        ),
        format!(
            "this run: {}, {}{}",
            commit(&run.meta.git_commit),
            cell(&day(&run.meta.started_at)),
            runs(j.comparison.runs.1, candidate)
        ),
        format!("noise: {}", cell(&j.comparison.noise)),
    ];
    if let Some(url) = report_url {
        parts.push(format!("[full HTML report]({})", link(url)));
    }
    parts.join(" · ")
}

/// An RFC 3339 time as `2026-01-01 00:00 UTC`; anything else as it is.
fn day(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| {
            d.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_string())
}

/// A URL safe inside a Markdown link's parentheses (checked http(s) by the command).
fn link(url: &str) -> String {
    url.chars()
        .map(|c| match c {
            '(' => "%28".to_string(),
            ')' => "%29".to_string(),
            '<' => "%3C".to_string(),
            '>' => "%3E".to_string(),
            ' ' => "%20".to_string(),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::RequestStats;

    fn compact(url: Option<&str>) -> String {
        let (base, run, c, v) = crate::report::fixture::judged();
        render(
            &Report {
                run: &run,
                judged: Some(crate::report::Judged {
                    baseline: &base,
                    comparison: &c,
                    verdict: &v,
                }),
            },
            url,
        )
    }

    #[test]
    fn the_pr_comment_is_compact() {
        let md = compact(Some("https://ci.example.com/run/42/perf (1).html"));
        insta::assert_snapshot!("pr_comment", md);
        // The verdict and the worst rows come before any table.
        let worst = md.find("worst:").unwrap();
        assert!(worst < md.find("| metric").unwrap(), "{md}");
        // No reasons list repeating the table: each regressed row shows once outside the summary.
        assert_eq!(md.matches("p95 moved").count(), 0, "{md}");
        assert!(md.contains("<details><summary>Per request: 2 rows, 1 flagged</summary>"));
        assert!(
            md.contains("[full HTML report](https://ci.example.com/run/42/perf%20%281%29.html)")
        );
        assert!(!compact(None).contains("HTML report"));
    }

    #[test]
    fn a_reason_that_belongs_to_no_row_is_listed() {
        let (base, run, mut c, _) = crate::report::fixture::judged();
        c.unstable = Some("4 outlier seconds".into());
        let v = crate::verdict::decide(&c);
        let md = render(
            &Report {
                run: &run,
                judged: Some(crate::report::Judged {
                    baseline: &base,
                    comparison: &c,
                    verdict: &v,
                }),
            },
            None,
        );
        assert!(
            md.contains("- **❔ incomplete** run: unstable run, not judged: 4 outlier seconds"),
            "{md}"
        );
    }

    #[test]
    fn names_cannot_inject_html_mentions_or_another_scenarios_marker() {
        let mut run = crate::result::testing::result();
        run.requests.insert(
            "<!-- loadgate:other --> @octocat <img src=x>|\u{1b}[2J\nx".into(),
            RequestStats::default(),
        );
        let md = render(
            &Report {
                run: &run,
                judged: None,
            },
            None,
        );
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

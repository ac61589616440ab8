//! HTML: one self-contained page (inline CSS, inline SVG charts, no script, no external URL) for
//! nightly reports and CI artifacts. Same rows as the Markdown report, plus the charts of
//! `report::series`, drawn by `report::charts`.
//!
//! Every piece of user data (scenario, request names, URLs, messages) goes through [`escape`]. The
//! page is also well-formed XML (void elements self-closed), so tests can parse it whole.

use crate::compare::Status;
use crate::report::charts::{self, Chart, Colour, Line, XAxis};
use crate::report::{
    headline, interval, mde, rate_warning, row_change, value, visible_rows, Report,
};
use crate::result::RunResult;
use crate::scenario::units::format_micros;
use crate::verdict::Outcome;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1300px;\
padding:0 16px;color:#222;background:#fafafa}\
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}\
.meta{color:#555;font-size:14px;margin:2px 0}\
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}\
table{border-collapse:collapse;font-size:13px;background:#fff}\
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
th{background:#f0f0f0}\
.pass{background:#2e7d32}.warn{background:#ef6c00}.critical{background:#c62828}\
.incomplete{background:#6a1b9a}.improved{background:#1565c0}.info{background:#757575}\
tr.s-critical td{background:#fdecea}tr.s-warn td{background:#fff4e5}\
tr.s-incomplete td{background:#f3e5f5}tr.s-improved td{background:#e3f2fd}\
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;margin:6px 0;font-size:14px}\
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:12px}\
figure{margin:0;background:#fff;border:1px solid #ddd;padding:4px}\
figure svg{width:100%;height:auto}figure.change{max-width:780px;margin:8px 0}\
footer{color:#777;font-size:12px;margin-top:24px}";

pub use crate::report::markup::escape;

/// A URL with any `user:password@` replaced by `***@`: result files are written without
/// credentials, but a hand-edited one must not leak them into a published page.
fn mask_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_password(None);
            let _ = u.set_username("***");
            u.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) if url.contains('@') => "<URL not shown: it may hold credentials>".to_string(),
        Err(_) => url.to_string(),
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\
         <footer>loadgate {}</footer>\n</body>\n</html>\n",
        escape(title),
        escape(env!("CARGO_PKG_VERSION"))
    )
}

fn outcome_badge(o: Outcome) -> String {
    format!(
        "<span class=\"verdict {0}\">{1}</span>",
        o.name(),
        o.name().to_uppercase()
    )
}

fn meta_lines(run: &RunResult, baseline: Option<&RunResult>) -> String {
    let m = &run.meta;
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        out.push_str(&format!(
            "<p class=\"meta\"><b>{}:</b> {}</p>\n",
            escape(k),
            escape(&v)
        ))
    };
    line("target", mask_credentials(&m.target_url));
    line(
        "host",
        format!(
            "{} ({} CPUs, {:.1} GB, {})",
            m.host.cpu_model,
            m.host.cpus,
            m.host.memory_bytes as f64 / 1e9,
            m.host.os
        ),
    );
    line("commit", m.git_commit.clone().unwrap_or_else(|| "-".into()));
    line("when", m.started_at.clone());
    if let Some(b) = baseline {
        let commit = b.meta.git_commit.as_deref().unwrap_or("-");
        line(
            "baseline",
            format!("{} (commit {commit})", b.meta.started_at),
        );
    }
    out
}

fn run_table(run: &RunResult) -> String {
    let mut out = String::from(
        "<table>\n<tr><th>request</th><th>requests</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>\n",
    );
    let us = |v: u64| escape(&format_micros(v as f64 * run.micros_per_unit()));
    let rows = run
        .requests
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .chain([("all", &run.all)]);
    for (name, s) in rows {
        let l = &s.latency;
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            escape(name),
            s.requests,
            s.errors.total(),
            us(l.p50_us),
            us(l.p95_us),
            us(l.p99_us),
            us(l.max_us)
        ));
    }
    out.push_str("</table>\n");
    out
}

fn comparison_table(j: &crate::report::Judged<'_>) -> String {
    let mut out = String::from(
        "<table>\n<tr><th>request</th><th>metric</th><th>baseline</th><th>run</th><th>change</th>\
         <th>95% interval</th><th>MDE</th><th>status</th><th>why</th></tr>\n",
    );
    let mut rows: Vec<_> = visible_rows(j.comparison).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.status));
    for r in rows {
        let s = r.status.name();
        let n = |v: String| format!("<td class=\"n\">{}</td>", escape(&v));
        out.push_str(&format!(
            "<tr class=\"s-{s}\"><td>{}</td><td>{}{}</td>{}{}{}{}{}<td><span class=\"verdict {s}\">{s}</span></td><td>{}</td></tr>\n",
            escape(r.request.as_deref().unwrap_or("all")),
            escape(&r.metric.to_string()),
            if r.gated { "" } else { " (info)" },
            n(value(r.metric, r.baseline)),
            n(value(r.metric, r.run)),
            n(row_change(r)),
            n(interval(r.interval)),
            n(mde(r)),
            escape(&r.reason)
        ));
    }
    out.push_str("</table>\n");
    out
}

fn note(text: &str) -> String {
    format!("<div class=\"note\">{}</div>\n", escape(text))
}

fn figures(charts: &[Chart]) -> String {
    let mut out = String::from("<div class=\"charts\">\n");
    for c in charts {
        out.push_str(&format!("<figure>{}</figure>\n", charts::svg(c)));
    }
    out.push_str("</div>\n");
    out
}

/// Request names with a warn or critical row, in name order.
fn flagged_requests(c: &crate::compare::Comparison) -> Vec<&str> {
    let names: std::collections::BTreeSet<&str> = c
        .rows
        .iter()
        .filter(|r| matches!(r.status, Status::Warn | Status::Critical))
        .filter_map(|r| r.request.as_deref())
        .collect();
    names.into_iter().collect()
}

/// Renders the HTML report: headline, comparison (or the run's statistics), notes, then charts.
pub fn render(report: &Report<'_>) -> String {
    let run = report.run;
    let baseline = report.judged.map(|j| j.baseline);
    let name = &run.meta.scenario_name;
    let mut body = match report.judged {
        Some(j) => format!(
            "<h1>loadgate {} — {}</h1>\n",
            outcome_badge(j.verdict.outcome),
            escape(name)
        ),
        None => format!("<h1>loadgate run — {}</h1>\n", escape(name)),
    };
    body.push_str(&format!("<p>{}</p>\n", escape(&headline(run))));
    body.push_str(&meta_lines(run, baseline));
    if let Some(line) = crate::report::service_line(run) {
        body.push_str(&format!("<p class=\"meta\">{}</p>\n", escape(&line)));
    }
    if let Some(w) = rate_warning(run) {
        body.push_str(&note(&format!("Warning: {w}")));
    }
    match report.judged {
        Some(j) => {
            body.push_str("<h2>Comparison with the baseline</h2>\n");
            // A reason with a row is that row's "why"; only those with none are listed apart.
            for r in j
                .verdict
                .reasons
                .iter()
                .filter(|r| !j.comparison.rows.iter().any(|row| r.is_about(row)))
            {
                body.push_str(&format!(
                    "<p><span class=\"verdict {0}\">{0}</span> {1} {2}: {3}</p>\n",
                    r.status.name(),
                    escape(r.request.as_deref().unwrap_or("all")),
                    escape(r.metric.name()),
                    escape(&r.message)
                ));
            }
            if let Some(svg) = crate::report::change_chart::svg(&j.comparison.rows) {
                body.push_str(
                    "<p class=\"meta\">Each gated metric's change with its 95% interval; dashed lines at ±10% and ±20% \
                     (the default warn and critical thresholds).</p>\n",
                );
                body.push_str(&format!("<figure class=\"change\">{svg}</figure>\n"));
            }
            body.push_str(&comparison_table(&j));
            body.push_str(&format!(
                "<p class=\"meta\">{} vs {}; noise: {}</p>\n",
                crate::report::count(j.comparison.runs.0, "baseline run"),
                crate::report::count(j.comparison.runs.1, "candidate run"),
                escape(&j.comparison.noise)
            ));
            for n in &j.comparison.notes {
                body.push_str(&note(&format!("Note: {n}")));
            }
            body.push_str("<h2>Requests of this run</h2>\n");
        }
        None => {
            // A run alone has no comparison notes: say why it ended early, and what its checks found.
            for n in crate::report::flow_notes(run) {
                body.push_str(&note(&format!("Note: {n}")));
            }
            body.push_str("<h2>Requests</h2>\n");
        }
    }
    body.push_str(&run_table(run));
    body.push_str("<h2>Charts</h2>\n");
    if baseline.is_some() {
        body.push_str("<p class=\"meta\">Solid: this run. Dashed: the baseline.</p>\n");
    }
    body.push_str(&figures(&crate::report::series::all(run, baseline)));
    if let Some(j) = report.judged {
        let flagged = flagged_requests(j.comparison);
        if !flagged.is_empty() {
            body.push_str("<h2>Requests that warned or failed</h2>\n");
            let charts: Vec<Chart> = flagged
                .iter()
                .map(|name| crate::report::series::request_latency_over_time(run, baseline, name))
                .collect();
            body.push_str(&figures(&charts));
        }
    }
    page(&format!("loadgate — {name}"), &body)
}

/// One history trend as an `<svg>`: a value per run (`points`: x label such as a date, value in
/// `unit`), with a vertical marker at each index in `change_points` (indices out of range are
/// ignored).
pub fn trend_chart_svg(
    title: &str,
    unit: &str,
    points: &[(String, f64)],
    change_points: &[usize],
) -> String {
    let labels: Vec<String> = points.iter().map(|(l, _)| l.clone()).collect();
    let pts = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| (i as f64, *v))
        .collect();
    charts::svg(&Chart {
        title: title.to_string(),
        x_desc: String::new(),
        y_desc: unit.to_string(),
        x_axis: XAxis::Categories(labels),
        lines: vec![Line {
            name: String::new(),
            points: pts,
            colour: Colour::Blue,
            dashed: false,
        }],
        markers: change_points
            .iter()
            .filter(|i| **i < points.len())
            .map(|i| *i as f64)
            .collect(),
        marker_name: "change point".to_string(),
    })
}

/// A whole self-contained page of charts: `sections` are `(title, svg)` pairs, the svg from
/// [`trend_chart_svg`] (inserted as is; titles are escaped).
pub fn history_page(title: &str, sections: &[(String, String)]) -> String {
    let mut body = format!("<h1>{}</h1>\n<div class=\"charts\">\n", escape(title));
    for (t, svg) in sections {
        body.push_str(&format!("<figure><h2>{}</h2>{svg}</figure>\n", escape(t)));
    }
    body.push_str("</div>\n");
    page(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::guard::Z_BETA;
    use crate::compare::{compare, Comparison, Criteria, Noise, Policy};
    use crate::report::Judged;
    use crate::result::{testing, LatencySummary, RequestStats, SamplePoint, Samples, Window};
    use crate::scenario::validate;
    use crate::verdict::{decide, Verdict};
    use proptest::prelude::*;

    const EVIL: &str = "<script>alert('x')</script>";

    fn stats(base_us: u64, windows: usize) -> RequestStats {
        let mut s = RequestStats::default();
        for i in 0..windows {
            let mut w = Window::default();
            for k in 0..300u64 {
                let us = base_us + (k * 37 + i as u64 * 11) % 2_000;
                w.histogram.record(us);
                s.histogram.record(us);
            }
            w.requests = 300;
            s.requests += 300;
            s.windows.push(w);
        }
        s.latency = LatencySummary::of(&s.histogram);
        s
    }

    fn run(base_us: u64) -> RunResult {
        let mut r = testing::result();
        r.meta.scenario_name = "a & <b>".into();
        for (name, us) in [(EVIL, base_us), ("ok", base_us / 2)] {
            let s = stats(us, 10);
            r.all.merge(&s);
            r.requests.insert(name.to_string(), s);
        }
        r.meta.measured_duration_ms = 10_000;
        r.samples.push(Samples {
            source: "pid 1".into(),
            interval_ms: 1_000,
            points: (0..10)
                .map(|i| SamplePoint {
                    t_ms: i * 1_000,
                    rss_bytes: Some(20_000_000 + i as u64 * 100_000),
                    cpu_percent: Some(10.0),
                })
                .collect(),
            error: None,
        });
        r
    }

    fn judged(base: &RunResult, cand: &RunResult) -> (Comparison, Verdict) {
        let policy = Policy::from_gate(&validate::default_gate());
        let noise = Noise::defaults();
        let c = compare(
            base,
            cand,
            Criteria {
                policy: &policy,
                noise: &noise,
                z_beta: Z_BETA,
            },
        );
        let v = decide(&c);
        (c, v)
    }

    /// Parses a whole page as XML (its `<!DOCTYPE html>` is a DTD to roxmltree).
    fn parse(html: &str) -> Result<(), roxmltree::Error> {
        let opt = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        roxmltree::Document::parse_with_options(html, opt).map(|_| ())
    }

    fn svgs(html: &str) -> Vec<&str> {
        html.match_indices("<svg")
            .filter_map(|(i, _)| html[i..].find("</svg>").map(|j| &html[i..i + j + 6]))
            .collect()
    }

    /// The page with the SVG namespace and the target URL (both text, not resources) taken out.
    fn without_text_urls(html: &str, target: &str) -> String {
        html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
            .replace(target, "")
    }

    #[test]
    fn judged_page_is_escaped_well_formed_and_has_every_chart() {
        let (base, cand) = (run(5_000), run(8_000));
        let (c, v) = judged(&base, &cand);
        let html = render(&Report {
            run: &cand,
            judged: Some(Judged {
                baseline: &base,
                comparison: &c,
                verdict: &v,
            }),
        });
        assert!(!html.to_lowercase().contains("<script"), "unescaped script");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("a &amp; &lt;b&gt;"));
        // The change chart; latency, HDR, throughput, errors, RSS, CPU; then the latency of each
        // of the two requests, which both regressed.
        let charts = svgs(&html);
        assert_eq!(charts.len(), 9);
        assert!(html.contains("<figure class=\"change\"><svg"));
        assert!(html.contains("Requests that warned or failed"));
        assert!(html.contains("Latency of `ok` per window"));
        // Every reason is said once: in its row's "why" cell, not in a list above the table too.
        for r in &v.reasons {
            assert_eq!(
                html.matches(&escape(&r.message)).count(),
                1,
                "{}",
                r.message
            );
        }
        for svg in &charts {
            roxmltree::Document::parse(svg).unwrap();
        }
        parse(&html).unwrap();
        assert!(html.contains("Latency by percentile (HDR)") && html.contains("99.9%"));
        assert!(html.contains("baseline p95") && html.contains("class=\"s-critical\""));
        assert!(html.contains("<th>why</th>"));
        let rest = without_text_urls(&html, &cand.meta.target_url);
        for needle in [
            "http://", "https://", "src=", "href=", "url(", "@import", "<link",
        ] {
            assert!(!rest.contains(needle), "external reference {needle:?}");
        }
    }

    #[test]
    fn a_run_alone_shows_its_requests_and_no_baseline() {
        let mut r = run(5_000);
        r.samples.clear();
        let html = render(&Report {
            run: &r,
            judged: None,
        });
        parse(&html).unwrap();
        assert_eq!(svgs(&html).len(), 4, "no memory charts without samples");
        assert!(!html.contains("baseline") && !html.contains("dashed"));
        assert!(html.contains("<td>ok</td>") && html.contains("<td>all</td>"));
    }

    #[test]
    fn credentials_in_a_stored_url_are_masked() {
        assert_eq!(
            mask_credentials("http://user:secret@example.test/x"),
            "http://***@example.test/x"
        );
        assert_eq!(mask_credentials("http://127.0.0.1:1"), "http://127.0.0.1:1");
        assert!(!mask_credentials("not a url user:pw@host").contains("pw"));
    }

    #[test]
    fn history_page_wraps_trend_charts() {
        let pts: Vec<(String, f64)> = (1..=30)
            .map(|d| (format!("2026-11-{d:02}"), 10.0 + f64::from(d % 7)))
            .collect();
        let svg = trend_chart_svg("p95 <all>", "ms", &pts, &[12, 500]);
        assert!(svg.contains("change point") && svg.contains("2026-11-01"));
        let page = history_page("demo & co", &[("p95 <all>".into(), svg)]);
        parse(&page).unwrap();
        assert!(page.contains("<h2>p95 &lt;all&gt;</h2>") && page.contains("demo &amp; co"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn trend_chart_never_panics(
            n in prop_oneof![Just(0usize), Just(1usize), Just(100usize), 0usize..120],
            scale in prop_oneof![Just(0.0), Just(-5.0), Just(1e9), -1e3f64..1e6],
            change_points in proptest::collection::vec(0usize..300, 0..6),
        ) {
            let pts: Vec<(String, f64)> =
                (0..n).map(|i| (format!("run {i}"), scale * (i % 5) as f64)).collect();
            let svg = trend_chart_svg("t", "ms", &pts, &change_points);
            prop_assert!(svg.starts_with("<svg"));
            prop_assert!(!svg.contains("not drawn"), "{}", svg);
            prop_assert!(roxmltree::Document::parse(&svg).is_ok());
        }
    }
}

//! The history view (`loadgate history`): per scenario and metric, the trend at a glance and its
//! change points, as a table, Markdown (CI summaries) or versioned JSON
//! (`schemas/history.schema.json`). Pure renderers of what `history` computed; nothing is decided here.

use std::path::Path;

use serde::Serialize;

use crate::history::{ChangePoint, ScenarioHistory, Skipped, Summary, Trend, TrendPoint};
use crate::report::Format;
use crate::report::{change, sparkline, value};
use crate::result::metric::{Direction, Metric};

/// Version of the `--format json` history output. Bump on any incompatible change.
pub const HISTORY_SCHEMA_VERSION: u32 = 1;
/// Characters of a trend's sparkline: a month of nightly runs at one per character.
const SPARK_WIDTH: usize = 30;
/// Characters of a commit shown beside a change point (git's default short hash).
const SHORT_COMMIT: usize = 7;

/// What the history view shows.
#[derive(Debug, Clone, Copy)]
pub struct HistoryReport<'a> {
    /// The history folder.
    pub dir: &'a Path,
    /// One entry per scenario shown.
    pub scenarios: &'a [ScenarioHistory],
}

/// Renders `report` in `format`.
/// JUnit has no history form: [`crate::report::export`] refuses it before this is called.
pub(crate) fn render(report: &HistoryReport<'_>, format: Format) -> String {
    match format {
        Format::Table | Format::Junit => text(report, false),
        Format::Markdown => text(report, true),
        Format::Json => json(report),
        Format::Html => html(report),
    }
}

/// Every trend as a chart (dates along the x axis, change points as vertical markers), titled with
/// its change points; values in the units the table uses (latency in ms).
fn html(report: &HistoryReport<'_>) -> String {
    let mut sections = Vec::new();
    for h in report.scenarios {
        for t in &h.trends {
            let (scale, unit) = match t.unit.as_str() {
                "micros" => (1e-3, "ms"),
                "bytes" => (1.0 / 1_048_576.0, "MiB"),
                "bytes_per_minute" => (1.0 / 1_048_576.0, "MiB/min"),
                "fraction" => (100.0, "%"),
                "per_second" => (1.0, "req/s"),
                "cpu_percent" => (1.0, "% CPU"),
                other => (1.0, other),
            };
            let points: Vec<(String, f64)> = t
                .points
                .iter()
                .map(|p| (date(&p.started_at), p.value * scale))
                .collect();
            let marks: Vec<usize> = t.change_points.iter().map(|c| c.index).collect();
            let mut title = format!("{} — {}", h.scenario, t.metric);
            for c in &t.change_points {
                if let Some(p) = t.points.get(c.index) {
                    let commit = p.git_commit.as_deref().unwrap_or("no commit");
                    let commit: String = commit.chars().take(SHORT_COMMIT).collect();
                    title.push_str(&format!(
                        "; change at {} ({commit}): {:+.1}%",
                        date(&p.started_at),
                        100.0 * c.change
                    ));
                }
            }
            let svg = crate::report::html::trend_chart_svg(&t.metric, unit, &points, &marks);
            sections.push((title, svg));
        }
    }
    crate::report::html::history_page(
        &format!("loadgate history — {}", report.dir.display()),
        &sections,
    )
}

/// `2026-11-21T05:12:00Z` → `2026-11-21 05:12` (as stored, when it is not RFC 3339).
fn date(started_at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(started_at).map_or_else(
        |_| started_at.to_string(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

fn short(commit: Option<&str>) -> String {
    commit.map_or_else(
        || "no commit".to_string(),
        |c| c.chars().take(SHORT_COMMIT).collect(),
    )
}

/// One change point for humans: `2026-11-21 05:12 abc1234: 1.00ms → 1.25ms (+25.0%, worse)`.
fn describe(metric: Metric, trend: &Trend, cp: &ChangePoint) -> String {
    let at = trend.points.get(cp.index);
    let when = at.map_or_else(|| format!("run {}", cp.index + 1), |p| date(&p.started_at));
    let commit = short(at.and_then(|p| p.git_commit.as_deref()));
    let raw = if cp.before != 0.0 {
        change(Some(cp.after / cp.before - 1.0))
    } else {
        "from 0".to_string()
    };
    let verdict = if cp.change > 0.0 { "worse" } else { "better" };
    format!(
        "{when} {commit}: {} → {} ({raw}, {verdict})",
        value(metric, Some(cp.before)),
        value(metric, Some(cp.after))
    )
}

/// A sparkline of the values, scaled to integers for [`sparkline`] (order is all it needs).
fn spark(points: &[TrendPoint]) -> String {
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.value), h.max(p.value))
        });
    let scaled: Vec<u64> = points
        .iter()
        .map(|p| {
            if hi > lo {
                ((p.value - lo) / (hi - lo) * 1e6) as u64
            } else {
                0
            }
        })
        .collect();
    sparkline(&scaled, SPARK_WIDTH)
}

/// The cells of a trend's row: metric, runs, latest, recent median, latest vs median, sparkline,
/// change points (one per line).
fn row(trend: &Trend, s: &Summary, separator: &str) -> Option<Vec<String>> {
    let metric = trend.metric()?;
    let cps: Vec<String> = trend
        .change_points
        .iter()
        .map(|cp| describe(metric, trend, cp))
        .collect();
    Some(vec![
        trend.metric.clone(),
        s.runs.to_string(),
        value(metric, Some(s.latest)),
        value(metric, Some(s.recent_median)),
        change(s.change_vs_median),
        spark(&trend.points),
        if cps.is_empty() {
            "none".to_string()
        } else {
            cps.join(separator)
        },
    ])
}

const HEADER: [&str; 7] = [
    "metric",
    "runs",
    "latest",
    "median of last 10",
    "latest vs median",
    "trend",
    "change points",
];

fn heading(h: &ScenarioHistory) -> String {
    let span = h
        .trends
        .iter()
        .filter_map(Trend::summary)
        .max_by_key(|s| s.runs)
        .map(|s| format!(", {} → {}", date(&s.first), date(&s.last)))
        .unwrap_or_default();
    format!("{} runs{span}", h.runs)
}

fn skipped_line(skipped: &[Skipped]) -> Option<String> {
    (!skipped.is_empty()).then(|| {
        format!(
            "{} file(s) skipped as unreadable (left untouched; see the warnings on stderr)",
            skipped.len()
        )
    })
}

/// The table (`markdown == false`) or Markdown view.
fn text(report: &HistoryReport<'_>, markdown: bool) -> String {
    let dir = report.dir.display();
    if report.scenarios.is_empty() {
        return format!(
            "No runs in {dir} yet: append some with `loadgate run SCENARIO --history {dir}`.\n"
        );
    }
    let mut out = String::new();
    if markdown {
        out.push_str("### loadgate history\n\n");
    }
    for h in report.scenarios {
        let rows: Vec<Vec<String>> = h
            .trends
            .iter()
            .filter_map(|t| {
                t.summary()
                    .and_then(|s| row(t, &s, if markdown { "<br>" } else { "\n" }))
            })
            .collect();
        let missing: Vec<&str> = h
            .trends
            .iter()
            .filter(|t| t.points.is_empty())
            .map(|t| t.metric.as_str())
            .collect();
        if markdown {
            out.push_str(&format!("#### `{}` — {}\n\n", h.scenario, heading(h)));
        } else {
            out.push_str(&format!("{} — {}\n", h.scenario, heading(h)));
        }
        if !rows.is_empty() {
            out.push_str(&if markdown {
                format!("{}\n", markdown_table(&rows))
            } else {
                format!(
                    "{}\n",
                    crate::report::table::grid(&HEADER, rows, &[1, 2, 3, 4])
                )
            });
        }
        let notes = skipped_line(&h.skipped).into_iter().chain(
            (!missing.is_empty())
                .then(|| format!("no values for {} in these runs", missing.join(", "))),
        );
        for note in notes {
            out.push_str(&if markdown {
                format!("> {note}\n\n")
            } else {
                format!("{note}\n")
            });
        }
        if !markdown {
            out.push('\n');
        }
    }
    out
}

fn markdown_table(rows: &[Vec<String>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "| {} |\n|---|---:|---:|---:|---:|---|---|\n",
        HEADER.join(" | ")
    );
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The JSON view (schemas/history.schema.json).
#[derive(Serialize)]
struct Json<'a> {
    schema_version: u32,
    dir: String,
    scenarios: Vec<JsonScenario<'a>>,
}

#[derive(Serialize)]
struct JsonScenario<'a> {
    scenario: &'a str,
    runs: usize,
    skipped: &'a [Skipped],
    trends: Vec<JsonTrend<'a>>,
}

#[derive(Serialize)]
struct JsonTrend<'a> {
    metric: &'a str,
    unit: &'a str,
    direction: Option<Direction>,
    summary: Option<Summary>,
    points: &'a [TrendPoint],
    change_points: Vec<JsonChangePoint<'a>>,
}

#[derive(Serialize)]
struct JsonChangePoint<'a> {
    #[serde(flatten)]
    point: &'a ChangePoint,
    started_at: Option<&'a str>,
    git_commit: Option<&'a str>,
}

fn json(report: &HistoryReport<'_>) -> String {
    let view = Json {
        schema_version: HISTORY_SCHEMA_VERSION,
        dir: report.dir.display().to_string(),
        scenarios: report
            .scenarios
            .iter()
            .map(|h| JsonScenario {
                scenario: &h.scenario,
                runs: h.runs,
                skipped: &h.skipped,
                trends: h.trends.iter().map(json_trend).collect(),
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&view).unwrap_or_else(|e| {
        format!("{{\"error\": \"cannot encode the history: {e}; this is a bug in loadgate, please report it\"}}")
    });
    s.push('\n');
    s
}

fn json_trend(t: &Trend) -> JsonTrend<'_> {
    JsonTrend {
        metric: &t.metric,
        unit: &t.unit,
        direction: t.metric().map(Metric::direction),
        summary: t.summary(),
        points: &t.points,
        change_points: t
            .change_points
            .iter()
            .map(|cp| {
                let at = t.points.get(cp.index);
                JsonChangePoint {
                    point: cp,
                    started_at: at.map(|p| p.started_at.as_str()),
                    git_commit: at.and_then(|p| p.git_commit.as_deref()),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trend() -> Trend {
        let points = (1..=12)
            .map(|d| TrendPoint {
                started_at: format!("2026-11-{d:02}T05:00:00Z"),
                git_commit: Some(format!("{d:02}abcdef0123")),
                value: if d > 8 { 1_250.0 } else { 1_000.0 },
            })
            .collect();
        Trend {
            metric: "p95".into(),
            unit: "micros".into(),
            points,
            change_points: vec![ChangePoint {
                index: 8,
                before: 1_000.0,
                after: 1_250.0,
                change: 0.25,
            }],
        }
    }

    fn history() -> Vec<ScenarioHistory> {
        let mut empty = trend();
        empty.metric = "peak_rss".into();
        empty.unit = "bytes".into();
        empty.points.clear();
        empty.change_points.clear();
        vec![ScenarioHistory {
            scenario: "checkout".into(),
            runs: 12,
            skipped: vec![Skipped {
                file: "history/checkout/bad.json".into(),
                problem: "not valid JSON".into(),
            }],
            trends: vec![trend(), empty],
        }]
    }

    #[test]
    fn change_points_name_their_run_commit_and_direction() {
        let t = trend();
        let line = describe(Metric::P95, &t, &t.change_points[0]);
        assert_eq!(
            line,
            "2026-11-09 05:00 09abcde: 1.00ms → 1.25ms (+25.0%, worse)"
        );
        let drop = ChangePoint {
            index: 8,
            before: 100.0,
            after: 80.0,
            change: 0.2,
        };
        assert!(describe(Metric::Throughput, &t, &drop).ends_with("(-20.0%, worse)"));
    }

    #[test]
    fn table_and_markdown_show_trends_notes_and_empty_folders() {
        let h = history();
        let report = HistoryReport {
            dir: Path::new("history"),
            scenarios: &h,
        };
        let table = render(&report, Format::Table);
        assert!(table.starts_with("checkout — 12 runs, 2026-11-01 05:00 → 2026-11-12 05:00\n"));
        assert!(table.contains("2026-11-09 05:00 09abcde: 1.00ms → 1.25ms (+25.0%, worse)"));
        assert!(table.contains("1 file(s) skipped"));
        assert!(table.contains("no values for peak_rss"));
        let md = render(&report, Format::Markdown);
        assert!(md.contains("#### `checkout` — 12 runs"));
        assert!(
            md.contains("| p95 | 12 | 1.25ms | 1.00ms | +25.0% |"),
            "{md}"
        );
        let empty = render(
            &HistoryReport {
                dir: Path::new("h"),
                scenarios: &[],
            },
            Format::Table,
        );
        assert!(empty.starts_with("No runs in h yet"));
    }

    #[test]
    fn human_views_snapshot() {
        let h = history();
        let report = HistoryReport {
            dir: Path::new("history"),
            scenarios: &h,
        };
        insta::assert_snapshot!("history_table", render(&report, Format::Table));
        insta::assert_snapshot!("history_markdown", render(&report, Format::Markdown));
    }

    #[test]
    fn json_has_a_stable_shape() {
        let h = history();
        let report = HistoryReport {
            dir: Path::new("history"),
            scenarios: &h,
        };
        let v: serde_json::Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
        assert_eq!(v["schema_version"], 1);
        let t = &v["scenarios"][0]["trends"][0];
        assert_eq!(t["direction"], "higher_is_worse");
        assert_eq!(t["summary"]["runs"], 12);
        assert_eq!(t["change_points"][0]["index"], 8);
        assert_eq!(t["change_points"][0]["started_at"], "2026-11-09T05:00:00Z");
        assert_eq!(t["change_points"][0]["change"], 0.25);
        assert!(v["scenarios"][0]["trends"][1]["summary"].is_null());
    }
}

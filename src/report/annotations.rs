//! GitHub Actions annotations: one `::error::` line per critical reason of the verdict and one
//! `::warning::` line per warning, so a regression shows on the workflow run's page and in the
//! pull request's checks without opening the log. Pure text; `gate` prints it inside GitHub Actions.

use crate::compare::Status;
use crate::report::{interval, row_change, value, Report};

/// The annotation lines of a judged report (empty when nothing is critical or warn, or unjudged).
pub fn render(report: &Report<'_>) -> String {
    let Some(j) = report.judged else {
        return String::new();
    };
    let scenario = &report.run.meta.scenario_name;
    let mut out = String::new();
    for r in &j.verdict.reasons {
        let command = match r.status {
            Status::Critical => "error",
            Status::Warn => "warning",
            _ => continue,
        };
        let scope = r.request.as_deref().unwrap_or("all");
        let row = j.comparison.rows.iter().find(|row| r.is_about(row));
        let message = match row {
            Some(row) => format!(
                "{scope} {}: baseline {}, run {}, change {} (95% interval {}): {}",
                r.metric,
                value(row.metric, row.baseline),
                value(row.metric, row.run),
                row_change(row),
                interval(row.interval),
                r.message
            ),
            None => format!("{scope} {}: {}", r.metric, r.message),
        };
        let title = format!(
            "loadgate {scenario}: {scope} {} {}",
            r.metric,
            r.status.name()
        );
        out.push_str(&format!(
            "::{command} title={}::{}\n",
            property(&title),
            data(&message)
        ));
    }
    out
}

/// A message escaped as GitHub's workflow commands require: `%`, CR and LF.
pub fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value escaped as GitHub's workflow commands require: as [`data`], plus `:` and `,`
/// (which would end the value).
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Comparison, Row};
    use crate::report::Judged;
    use crate::result::metric::Metric;
    use crate::verdict::decide;

    fn row(request: Option<&str>, metric: Metric, status: Status, reason: &str) -> Row {
        Row {
            baseline: Some(10_000.0),
            run: Some(15_000.0),
            change: Some(0.5),
            interval: Some((0.4, 0.6)),
            status,
            reason: reason.to_string(),
            ..Row::new(request.map(str::to_string), metric, true, true)
        }
    }

    #[test]
    fn critical_rows_are_errors_warn_rows_warnings_and_passes_nothing() {
        let mut run = crate::result::testing::result();
        run.meta.scenario_name = "checkout".into();
        let c = Comparison {
            rows: vec![
                row(None, Metric::P95, Status::Critical, "p95 rose 50%"),
                row(
                    Some("a,b: c"),
                    Metric::P50,
                    Status::Warn,
                    "100% up\nsecond line\r",
                ),
                row(None, Metric::Mean, Status::Pass, "fine"),
            ],
            notes: Vec::new(),
            noise: String::new(),
            runs: (1, 1),
            unstable: None,
            confirmed: false,
        };
        let v = decide(&c);
        let text = render(&Report {
            run: &run,
            judged: Some(Judged {
                baseline: &run,
                comparison: &c,
                verdict: &v,
            }),
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[0],
            "::error title=loadgate checkout%3A all p95 critical::all p95: baseline 10.0ms, run 15.0ms, \
             change +50.0%25 (95%25 interval +40.0%25..+60.0%25): p95 rose 50%25"
        );
        assert_eq!(
            lines[1],
            "::warning title=loadgate checkout%3A a%2Cb%3A c p50 warn::a,b: c p50: baseline 10.0ms, \
             run 15.0ms, change +50.0%25 (95%25 interval +40.0%25..+60.0%25): 100%25 up%0Asecond line%0D"
        );
        assert!(render(&Report {
            run: &run,
            judged: None
        })
        .is_empty());
    }

    #[test]
    fn escaping_follows_githubs_rules() {
        assert_eq!(data("50% a\r\nb:c,d"), "50%25 a%0D%0Ab:c,d");
        assert_eq!(property("50% a\r\nb:c,d"), "50%25 a%0D%0Ab%3Ac%2Cd");
    }
}

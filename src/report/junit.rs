//! JUnit XML (`gate --junit FILE`, `--report junit=FILE`, `report --format junit`): one test case
//! per gated metric, for CI test viewers. The only user of quick-junit. Pure like every renderer;
//! the action in `action/ci.rs` and `--report` write the file.
//!
//! How statuses map, so that the test viewer agrees with the exit code:
//! - critical → `<failure type="critical">`;
//! - warn → `<failure type="warn">` with `--fail-on warn`, else a passing case whose system-out
//!   says "warn" (a warning passes the build by default, and a failure would turn the check red);
//! - incomplete → `<error type="incomplete">`: the metric could not be judged, which is not a pass
//!   (the gate exits 3), and an error is how JUnit says "the test could not run properly";
//! - pass, improved, and too-noisy rows → a passing case (noisy rows say so in system-out).
//!
//! Verdict-level reasons that belong to no row (an unstable run, too many metrics unjudged) become
//! their own test case, so the file never shows all green when the gate failed.
//! The failure message carries the numbers: baseline, run, change and the 95% interval. The suite
//! carries the measured time and the run's start (`time`, `timestamp`), and says when the verdict
//! pooled a confirmation re-run.

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use crate::compare::{Row, Status};
use crate::report::{decides, interval, row_change, value, Report};

/// The JUnit report could not be serialized.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the JUnit report: {0}; this is a bug in loadgate, please report it")]
pub struct JunitError(#[source] Box<dyn std::error::Error + Send + Sync>);

/// Renders the JUnit XML of a judged report (an unjudged one gives an empty suite).
/// `warn_fails`: `--fail-on warn` was given.
pub fn render(report: &Report<'_>, warn_fails: bool) -> Result<String, JunitError> {
    let meta = &report.run.meta;
    let scenario = meta.scenario_name.as_str();
    let mut suite = TestSuite::new(scenario);
    // The suite took as long as the measured load (all pooled runs); the metrics are judged in no
    // time of their own, so the cases carry none (a viewer would add them up).
    let time = std::time::Duration::from_millis(meta.measured_duration_ms);
    suite.set_time(time);
    let started = chrono::DateTime::parse_from_rfc3339(&meta.started_at).ok();
    if let Some(t) = started {
        suite.set_timestamp(t);
    }
    if let Some(j) = report.judged {
        suite.add_property(Property::new("verdict", j.verdict.outcome.name()));
        let candidates = j.comparison.runs.1;
        suite.add_property(Property::new("candidate_runs", candidates.to_string()));
        if j.comparison.confirmed {
            suite.set_system_out(format!(
                "judged on {candidates} pooled candidate runs: the first showed a suspect regression, and a confirmation re-run was measured and pooled with it before the verdict"
            ));
        }
        if let Some(a) = &meta.aborted {
            // The test viewer's one place for the run as a whole: when the load stopped, and why.
            suite.set_system_out(format!("the load was {}", a.describe()));
        }
        for row in j.comparison.rows.iter().filter(|r| decides(r)) {
            suite.add_test_case(case(scenario, row, warn_fails));
        }
        let orphan = j.verdict.reasons.iter().filter(|r| {
            r.status == Status::Incomplete
                && !j
                    .comparison
                    .rows
                    .iter()
                    .any(|row| decides(row) && r.is_about(row))
        });
        for r in orphan {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_type("incomplete")
                .set_message(r.message.as_str());
            let name = format!("{} {}", r.request.as_deref().unwrap_or("all"), r.metric);
            let mut tc = TestCase::new(name, status);
            tc.set_classname(scenario);
            suite.add_test_case(tc);
        }
    }
    let mut out = quick_junit::Report::new("loadgate");
    out.set_time(time);
    if let Some(t) = started {
        out.set_timestamp(t);
    }
    out.add_test_suite(suite);
    out.to_string().map_err(|e| JunitError(Box::new(e)))
}

fn case(scenario: &str, row: &Row, warn_fails: bool) -> TestCase {
    let numbers = format!(
        "{}: baseline {}, run {}, change {}, 95% interval {}",
        row.metric,
        value(row.metric, row.baseline),
        value(row.metric, row.run),
        row_change(row),
        interval(row.interval),
    );
    let failing = |kind, ty: &str| {
        let mut s = TestCaseStatus::non_success(kind);
        s.set_type(ty)
            .set_message(numbers.as_str())
            .set_description(row.reason.as_str());
        s
    };
    let (status, note) = match row.status {
        Status::Critical => (failing(NonSuccessKind::Failure, "critical"), None),
        Status::Warn if warn_fails => (failing(NonSuccessKind::Failure, "warn"), None),
        Status::Incomplete => (failing(NonSuccessKind::Error, "incomplete"), None),
        Status::Warn => (
            TestCaseStatus::success(),
            Some(format!("warn: {numbers}; {}", row.reason)),
        ),
        Status::Pass | Status::Improved | Status::Info if row.too_noisy => (
            TestCaseStatus::success(),
            Some(format!("too noisy to gate: {numbers}; {}", row.reason)),
        ),
        Status::Pass | Status::Improved | Status::Info => (TestCaseStatus::success(), None),
    };
    let name = format!("{} {}", row.request.as_deref().unwrap_or("all"), row.metric);
    let mut tc = TestCase::new(name, status);
    tc.set_classname(scenario);
    if let Some(note) = note {
        tc.set_system_out(note);
    }
    tc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::metric::Metric;

    fn row(status: Status) -> Row {
        Row {
            request: Some("search".to_string()),
            metric: Metric::P95,
            baseline: Some(10_000.0),
            run: Some(15_000.0),
            change: Some(0.5),
            interval: Some((0.4, 0.6)),
            mde: None,
            gated: true,
            can_fail: true,
            too_noisy: false,
            suspect: false,
            decisive: false,
            status,
            reason: "p95 rose 50%".to_string(),
        }
    }

    fn xml(tc: TestCase) -> String {
        let mut suite = TestSuite::new("t");
        suite.add_test_case(tc);
        let mut r = quick_junit::Report::new("loadgate");
        r.add_test_suite(suite);
        r.to_string().unwrap()
    }

    #[test]
    fn statuses_map_so_the_viewer_agrees_with_the_exit_code() {
        let cases = [
            (Status::Critical, false, "<failure", "type=\"critical\""),
            (Status::Warn, true, "<failure", "type=\"warn\""),
            (
                Status::Warn,
                false,
                "<system-out>warn: ",
                "name=\"search p95\"",
            ),
            (Status::Incomplete, false, "<error", "type=\"incomplete\""),
            (
                Status::Pass,
                false,
                "classname=\"t\"",
                "name=\"search p95\"",
            ),
        ];
        for (status, warn_fails, a, b) in cases {
            let text = xml(case("t", &row(status), warn_fails));
            assert!(text.contains(a) && text.contains(b), "{status:?}: {text}");
        }
        let pass = xml(case("t", &row(Status::Pass), false));
        assert!(
            !pass.contains("<failure") && !pass.contains("<error"),
            "{pass}"
        );
    }

    #[test]
    fn the_suite_has_its_time_and_timestamp_and_shows_a_confirmation_run() {
        let (base, run, c, v) = crate::report::fixture::judged();
        let xml = render(
            &Report {
                run: &run,
                judged: Some(crate::report::Judged {
                    baseline: &base,
                    comparison: &c,
                    verdict: &v,
                }),
            },
            false,
        )
        .unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("time"), Some("30.000"), "{xml}");
        assert_eq!(
            suite.attribute("timestamp"),
            Some("2026-12-07T10:00:00.000+00:00"),
            "{xml}"
        );
        assert!(xml.contains("name=\"candidate_runs\" value=\"2\""), "{xml}");
        assert!(xml.contains("a confirmation re-run was measured"), "{xml}");
        let mut single = c.clone();
        single.confirmed = false;
        let xml = render(
            &Report {
                run: &run,
                judged: Some(crate::report::Judged {
                    baseline: &base,
                    comparison: &single,
                    verdict: &v,
                }),
            },
            false,
        )
        .unwrap();
        assert!(!xml.contains("confirmation"), "{xml}");
    }

    #[test]
    fn a_failure_carries_the_numbers() {
        let text = xml(case("t", &row(Status::Critical), false));
        for needle in [
            "baseline 10.0ms",
            "run 15.0ms",
            "+50.0%",
            "+40.0%..+60.0%",
            "p95 rose 50%",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }
}

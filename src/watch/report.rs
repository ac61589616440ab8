//! Watch — the report: JSON (`schemas/watch-report.schema.json`) with each signal's time series
//! and the verdict, and the Markdown the job summary and the notifications carry.

use serde::Serialize;

use crate::verdict::Outcome;
use crate::watch::decide;
use crate::watch::state::{FailedPoll, Signal, State};

/// Version of the JSON report's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// How the watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// The window ran out.
    Window,
    /// A certain breach ended it early.
    Breach,
    /// The source gave no readings for too many polls.
    SourceLost,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// The JSON report.
#[derive(Debug, Serialize)]
pub struct WatchReport<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The watch file's name.
    pub name: &'a str,
    /// The source, secrets masked.
    pub source: String,
    /// When the watch began (RFC 3339, UTC).
    pub started_at: String,
    /// Window length, seconds.
    pub window_s: f64,
    /// Poll interval, seconds.
    pub poll_s: f64,
    /// Seconds watched.
    pub elapsed_s: f64,
    /// The verdict.
    pub outcome: Outcome,
    /// The exit code.
    pub exit_code: u8,
    /// How it ended.
    pub ended: Ended,
    /// False-alarm rates of the early and end-of-window tests.
    pub false_alarm_early: f64,
    /// See `false_alarm_early`.
    pub false_alarm_end: f64,
    /// Polls made.
    pub polls: u32,
    /// Polls that brought nothing.
    pub failed_polls: &'a [FailedPoll],
    /// Counter resets seen (a restarted service).
    pub counter_resets: u64,
    /// The signals with their series.
    pub signals: &'a [Signal],
    /// Verdict-level notes.
    pub notes: &'a [String],
}

impl<'a> WatchReport<'a> {
    /// The report of `state` so far.
    pub fn of(
        state: &'a State,
        started_at: String,
        elapsed_s: f64,
        outcome: Outcome,
        exit_code: u8,
        ended: Ended,
    ) -> Self {
        let spec = state.spec();
        Self {
            schema_version: SCHEMA_VERSION,
            name: &spec.name,
            source: spec.shown_source(),
            started_at,
            window_s: spec.window.as_secs_f64(),
            poll_s: spec.poll.as_secs_f64(),
            elapsed_s,
            outcome,
            exit_code,
            ended,
            false_alarm_early: decide::ALPHA_EARLY,
            false_alarm_end: decide::ALPHA_END,
            polls: state.polls,
            failed_polls: &state.failed,
            counter_resets: state.resets(),
            signals: &state.signals,
            notes: &state.notes,
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"error\": \"cannot serialize the watch report: {e}\"}}")
        });
        text.push('\n');
        text
    }

    /// Markdown for the job summary and the notifications.
    pub fn markdown(&self) -> String {
        let icon = match self.outcome {
            Outcome::Pass => "✅",
            Outcome::Warn => "⚠️",
            Outcome::Incomplete => "❔",
            Outcome::Critical => "❌",
        };
        let mut md = format!(
            "### loadgate watch: {icon} {} — `{}`\n\n{:.0} s of {:.0} s watched ({}), {} polls, source {}\n\n| signal | objective | status | detail |\n| --- | --- | --- | --- |\n",
            self.outcome.name(),
            self.name,
            self.elapsed_s,
            self.window_s,
            match self.ended {
                Ended::Window => "the whole window",
                Ended::Breach => "ended early on a certain breach",
                Ended::SourceLost => "the source was lost",
                Ended::Interrupted => "interrupted",
            },
            self.polls,
            self.source.replace('|', "\\|"),
        );
        for s in self.signals {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                s.name,
                s.objective,
                s.outcome.name(),
                s.message.replace('|', "\\|")
            ));
        }
        for n in self.notes {
            md.push_str(&format!("\n- {n}"));
        }
        md.push('\n');
        md
    }

    /// A one-suite JUnit XML: one test case per signal; a warning fails when `warn_fails`.
    pub fn junit(&self, warn_fails: bool) -> String {
        let failed = |o: Outcome| {
            matches!(o, Outcome::Critical | Outcome::Incomplete)
                || (warn_fails && o == Outcome::Warn)
        };
        let esc = |t: &str| {
            t.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let failures = self.signals.iter().filter(|s| failed(s.outcome)).count();
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"loadgate watch {}\" tests=\"{}\" failures=\"{failures}\">\n",
            esc(self.name),
            self.signals.len()
        );
        for s in self.signals {
            xml.push_str(&format!("<testcase name=\"{}\">", esc(&s.name)));
            if failed(s.outcome) {
                xml.push_str(&format!(
                    "<failure message=\"{}\">{}</failure>",
                    s.outcome.name(),
                    esc(&s.message)
                ));
            }
            xml.push_str("</testcase>\n");
        }
        xml.push_str("</testsuite>\n</testsuites>\n");
        xml
    }
}

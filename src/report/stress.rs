//! Stage 6a — the report of `loadgate stress`: the capacity search's steps, the capacity found and
//! its gate, and the soak's leak verdict. Plain data (JSON: schemas/stress.schema.json) decided
//! upstream in `compare::capacity` and `compare::service`, rendered here as table, JSON or Markdown.

use serde::{Deserialize, Serialize};

use crate::compare::Status;
use crate::report::Format;
use crate::scenario::units::format_micros;

/// Version of the stress report format.
pub const STRESS_SCHEMA_VERSION: u32 = 1;

/// Everything `loadgate stress` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StressReport {
    /// Format version.
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Profile applied, if any.
    pub profile: Option<String>,
    /// Measured steps in the order run.
    pub steps: Vec<Step>,
    /// Highest rate that held.
    pub capacity_rps: Option<u32>,
    /// Lowest rate that broke.
    pub broke_at_rps: Option<u32>,
    /// Width of [capacity, broke_at).
    pub resolution_rps: Option<u32>,
    /// Why the search ended, in words.
    pub search_note: String,
    /// The capacity against the stored one, when one exists and `--record` was not given.
    pub gate: Option<Judged>,
    /// The soak, when `--soak` was given.
    pub soak: Option<Soak>,
    /// Worst status of the gate and the soak.
    pub outcome: Status,
}

/// One measured step of the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Target arrival rate.
    pub target_rps: u32,
    /// Completed requests per measured second.
    pub achieved_rps: f64,
    /// Median latency (from intended send times).
    pub p50_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Failed requests.
    pub errors: u64,
    /// Failed / completed.
    pub error_rate: f64,
    /// Why the step broke; `None` when it held.
    pub broke: Option<String>,
}

/// A judged value with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judged {
    /// Outcome.
    pub status: Status,
    /// Why.
    pub reason: String,
}

/// The soak phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Soak {
    /// Rate held.
    pub rate_rps: u32,
    /// Measured length.
    pub duration_ms: u64,
    /// Achieved rate.
    pub achieved_rps: f64,
    /// Failed requests.
    pub errors: u64,
    /// Theil–Sen slope of the RSS floor, when enough samples were taken.
    pub growth_bytes_per_min: Option<f64>,
    /// Its 99% lower bound.
    pub growth_lower_bytes_per_min: Option<f64>,
    /// The leak verdict.
    pub leak: Judged,
}

/// Renders the report in `format`; JUnit has no stress form ([`crate::report::export`] refuses it).
pub(crate) fn render(r: &StressReport, format: Format) -> String {
    match format {
        // `stress --format junit` is refused before any load.
        Format::Table | Format::Junit => text(r, false),
        Format::Markdown => text(r, true),
        // No charts for a search yet: the table, in a self-contained page.
        Format::Html => crate::report::html::history_page(
            "loadgate stress",
            &[(
                "Capacity search".to_string(),
                format!(
                    "<pre>{}</pre>",
                    crate::report::html::escape(&text(r, false))
                ),
            )],
        ),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

const HEADER: [&str; 8] = [
    "target", "achieved", "p50", "p95", "p99", "errors", "", "why",
];

fn step_row(s: &Step) -> Vec<String> {
    let us = |v: u64| format_micros(v as f64);
    vec![
        format!("{} req/s", s.target_rps),
        format!("{:.1} req/s", s.achieved_rps),
        us(s.p50_us),
        us(s.p95_us),
        us(s.p99_us),
        format!("{} ({:.2}%)", s.errors, s.error_rate * 100.0),
        if s.broke.is_some() { "broke" } else { "ok" }.to_string(),
        s.broke.clone().unwrap_or_default(),
    ]
}

fn text(r: &StressReport, markdown: bool) -> String {
    let rows: Vec<Vec<String>> = r.steps.iter().map(step_row).collect();
    let mut out = String::new();
    let profile = r
        .profile
        .as_ref()
        .map(|p| format!(" (profile `{p}`)"))
        .unwrap_or_default();
    if markdown {
        out.push_str(&format!("### Capacity of `{}`{profile}\n\n", r.scenario));
        out.push_str(&format!("| {} |\n", HEADER.join(" | ")));
        out.push_str(&format!("|{}\n", " --- |".repeat(HEADER.len())));
        for row in &rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out.push('\n');
    } else {
        out.push_str(&format!("capacity search of `{}`{profile}\n", r.scenario));
        let right: Vec<usize> = (1..HEADER.len()).collect();
        out.push_str(&crate::report::table::grid(&HEADER, rows, &right));
        out.push('\n');
    }
    let capacity = match (r.capacity_rps, r.resolution_rps) {
        (Some(c), Some(res)) => format!(
            "highest sustainable rate: {c} req/s (broke at {} req/s; resolution {res} req/s)",
            r.broke_at_rps.unwrap_or(c + res)
        ),
        (Some(c), None) => format!("highest sustainable rate: at least {c} req/s (nothing broke)"),
        (None, _) => "highest sustainable rate: none (every rate tried broke)".to_string(),
    };
    out.push_str(&format!("{capacity}; {}\n", r.search_note));
    if let Some(g) = &r.gate {
        out.push_str(&format!("capacity {}: {}\n", g.status.label(), g.reason));
    }
    if let Some(s) = &r.soak {
        let mb = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:+.2} MB/min", v / 1e6));
        out.push_str(&format!(
            "soak at {} req/s for {:.0}s: achieved {:.1} req/s, {} errors, RSS floor {} (99% lower bound {})\n",
            s.rate_rps,
            s.duration_ms as f64 / 1000.0,
            s.achieved_rps,
            s.errors,
            mb(s.growth_bytes_per_min),
            mb(s.growth_lower_bytes_per_min)
        ));
        out.push_str(&format!(
            "leak {}: {}\n",
            s.leak.status.label(),
            s.leak.reason
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StressReport {
        let step = |t: u32, broke: Option<&str>| Step {
            target_rps: t,
            achieved_rps: t as f64 * 0.99,
            p50_us: 5_000,
            p95_us: 9_000,
            p99_us: 12_000,
            errors: 0,
            error_rate: 0.0,
            broke: broke.map(str::to_string),
        };
        StressReport {
            schema_version: STRESS_SCHEMA_VERSION,
            scenario: "demo".into(),
            profile: None,
            steps: vec![step(100, None), step(150, Some("saturated"))],
            capacity_rps: Some(100),
            broke_at_rps: Some(150),
            resolution_rps: Some(50),
            search_note: "refined 0 times".into(),
            gate: Some(Judged {
                status: Status::Warn,
                reason: "dropped".into(),
            }),
            soak: None,
            outcome: Status::Warn,
        }
    }

    #[test]
    fn every_format_shows_the_steps_and_the_capacity() {
        let r = report();
        for f in [Format::Table, Format::Markdown] {
            let t = render(&r, f);
            assert!(t.contains("150 req/s") && t.contains("saturated"), "{t}");
            assert!(t.contains("highest sustainable rate: 100 req/s"), "{t}");
            assert!(t.contains("capacity WARN: dropped"), "{t}");
        }
        let back: StressReport = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(back, r);
    }
}

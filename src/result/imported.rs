//! Provenance of a result loadgate did not measure itself: another tool's output, turned into a
//! [`crate::result::RunResult`] by `import` (plain data; the importers live in `crate::import`).

use serde::{Deserialize, Serialize};

/// Where an imported result came from and what its values mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imported {
    /// The format it was read from.
    pub format: Format,
    /// The tool's version, when its output names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// The files read, as given on the command line (or found under a given folder).
    pub sources: Vec<String>,
    /// When the files were imported (RFC 3339, UTC).
    pub imported_at: String,
    /// What every recorded value is.
    pub measure: Measure,
    /// Unit of every histogram and latency summary of the result: `us` unless `ns`.
    pub value_unit: ValueUnit,
    /// The format keeps only per-period summaries (no per-request samples): percentiles are
    /// reconstructed from the summaries and rows are judged on thresholds alone, without a noise
    /// guard.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub summaries_only: bool,
}

/// A format `loadgate import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// criterion.rs: `target/criterion/**/new/{sample,benchmark}.json`.
    Criterion,
    /// hyperfine `--export-json`.
    Hyperfine,
    /// k6 `--out json` (NDJSON points).
    K6,
    /// Apache JMeter JTL, CSV.
    Jmeter,
    /// Artillery `--output` JSON (per-period summaries).
    Artillery,
}

impl Format {
    /// Every format, in help order.
    pub const ALL: [Format; 5] = [
        Format::Criterion,
        Format::Hyperfine,
        Format::K6,
        Format::Jmeter,
        Format::Artillery,
    ];

    /// Name on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Format::Criterion => "criterion",
            Format::Hyperfine => "hyperfine",
            Format::K6 => "k6",
            Format::Jmeter => "jmeter",
            Format::Artillery => "artillery",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown format `{s}`; known: criterion, hyperfine, k6, jmeter, artillery")
            })
    }
}

/// What a recorded value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// A request's latency (load tests): rows gate like loadgate's own runs.
    Latency,
    /// Time per iteration of a micro-benchmark or a command (criterion, hyperfine): each window is
    /// one of the harness's samples, and the fewest-values rules count samples, not iterations.
    TimePerIteration,
}

/// Unit of an imported result's histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueUnit {
    /// Microseconds, as loadgate's own runs.
    Us,
    /// Nanoseconds: micro-benchmarks, whose iterations often take less than a microsecond.
    Ns,
}

impl ValueUnit {
    /// Microseconds per unit.
    pub fn micros(self) -> f64 {
        match self {
            ValueUnit::Us => 1.0,
            ValueUnit::Ns => 1e-3,
        }
    }
}

impl Imported {
    /// One line for reports: where the result came from and what it cannot show.
    pub fn describe(&self) -> String {
        let version = self
            .tool_version
            .as_deref()
            .map_or(String::new(), |v| format!(" {v}"));
        let what = match self.measure {
            Measure::Latency => "request latencies",
            Measure::TimePerIteration => "time per iteration; each harness sample is a window",
        };
        let mut line = format!(
            "imported from {}{version} ({what}), {} file(s), at {}",
            self.format,
            self.sources.len(),
            self.imported_at
        );
        if self.summaries_only {
            line.push_str(
                "; the format keeps only per-period summaries, so percentiles are reconstructed \
                 from them and latency rows are judged on thresholds alone, without a noise guard",
            );
        }
        line
    }
}

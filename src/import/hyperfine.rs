//! hyperfine `--export-json`: one row per command, each run's wall time a sample (and a window of
//! the noise guard's bootstrap); a run with a non-zero exit code counts as an error.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::import::build::{self, Origin, Sample};
use crate::import::{Context, ImportError, Input};
use crate::result::imported::{Format, ValueUnit};
use crate::result::RunResult;

#[derive(Deserialize)]
struct Export {
    results: Vec<Command>,
}

#[derive(Deserialize)]
struct Command {
    command: String,
    times: Vec<f64>,
    #[serde(default)]
    exit_codes: Vec<Option<i64>>,
}

/// Parses one or more hyperfine exports (their commands together).
pub fn parse(inputs: &[Input], ctx: &Context) -> Result<RunResult, ImportError> {
    let mut benches: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for input in inputs {
        let export: Export = serde_json::from_slice(&input.bytes).map_err(|e| {
            let problem = if e.is_eof() {
                format!("the file is truncated ({e})")
            } else {
                format!("not a hyperfine `--export-json` file ({e})")
            };
            ImportError::at(&input.path, format!("line {}", e.line()), problem)
        })?;
        for (k, c) in export.results.into_iter().enumerate() {
            let at = |field: &str| format!("results[{k}] (`{}`), field \"{field}\"", c.command);
            if c.times.is_empty() {
                return Err(ImportError::at(&input.path, at("times"), "holds no runs"));
            }
            if !c.exit_codes.is_empty() && c.exit_codes.len() != c.times.len() {
                return Err(ImportError::at(
                    &input.path,
                    at("exit_codes"),
                    format!(
                        "{} exit codes for {} runs",
                        c.exit_codes.len(),
                        c.times.len()
                    ),
                ));
            }
            let mut samples = Vec::with_capacity(c.times.len());
            for (i, &t) in c.times.iter().enumerate() {
                if !(t.is_finite() && t >= 0.0) {
                    return Err(ImportError::at(
                        &input.path,
                        format!("{}, run {}", at("times"), i + 1),
                        format!("{t} is not a time in seconds"),
                    ));
                }
                let failed = c
                    .exit_codes
                    .get(i)
                    .copied()
                    .flatten()
                    .is_some_and(|x| x != 0);
                samples.push(Sample {
                    value: (t * 1e6).round() as u64,
                    iterations: 1,
                    elapsed_ms: t * 1e3,
                    failed,
                });
            }
            if benches.insert(c.command.clone(), samples).is_some() {
                return Err(ImportError::at(
                    &input.path,
                    at("command"),
                    "this command appears twice; give each a name (`hyperfine --command-name`)",
                ));
            }
        }
    }
    let origin = Origin {
        format: Format::Hyperfine,
        tool_version: None,
        sources: inputs
            .iter()
            .map(|i| i.path.display().to_string())
            .collect(),
        ctx,
    };
    build::from_benchmarks(&benches, ValueUnit::Us, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testing::{ctx, fixture, text};
    use crate::result::metric::Metric;

    #[test]
    fn one_row_per_command_and_every_run_kept() {
        let r = parse(&[fixture("hyperfine.json")], &ctx()).unwrap();
        let names: Vec<&String> = r.requests.keys().collect();
        assert_eq!(
            names,
            ["grep -c needle corpus.txt", "rg -c needle corpus.txt"]
        );
        let rg = &r.requests["rg -c needle corpus.txt"];
        assert_eq!(rg.requests, 12);
        assert_eq!(rg.windows.len(), 12);
        let median = Metric::P50.value_of(rg, r.measured_seconds()).unwrap();
        assert!((4_000.0..6_000.0).contains(&median), "{median}");
        // One run of grep exited non-zero.
        assert_eq!(r.requests["grep -c needle corpus.txt"].errors.total(), 1);
        crate::baseline::consistency::check(&r).unwrap();
    }

    #[test]
    fn malformed_exports_name_the_field() {
        let cases = [
            (r#"{"results":[{"command":"a","times":[0.1,"#, "truncated"),
            (
                r#"{"results":[{"command":"a","times":[]}]}"#,
                "results[0] (`a`), field \"times\": holds no runs",
            ),
            (
                r#"{"results":[{"command":"a","times":[0.1],"exit_codes":[0,0]}]}"#,
                "exit_codes",
            ),
            (r#"{"results":[{"command":"a","times":[-1.0]}]}"#, "run 1"),
            (r#"{"aggregate":{}}"#, "not a hyperfine"),
        ];
        for (body, want) in cases {
            let e = parse(&[text("h.json", body)], &ctx())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("h.json") && e.contains(want), "{body}: {e}");
        }
    }
}

//! criterion.rs: each benchmark's `new/benchmark.json` (its id) and `new/sample.json` (iterations
//! and total nanoseconds per sample) become one row of time per iteration; every criterion sample
//! is one window of the noise guard's bootstrap.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::import::build::{self, Origin, Sample};
use crate::import::{Context, ImportError, Input};
use crate::result::histogram::MAX_TRACKABLE_US;
use crate::result::imported::{Format, ValueUnit};
use crate::result::RunResult;

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
}

#[derive(Deserialize)]
struct SampleFile {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Parses `benchmark.json` / `sample.json` pairs, paired by folder.
pub fn parse(inputs: &[Input], ctx: &Context) -> Result<RunResult, ImportError> {
    let mut dirs: BTreeMap<PathBuf, (Option<&Input>, Option<&Input>)> = BTreeMap::new();
    for input in inputs {
        let dir = input.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let slot = dirs.entry(dir).or_default();
        match input.path.file_name().and_then(|n| n.to_str()) {
            Some("benchmark.json") => slot.0 = Some(input),
            Some("sample.json") => slot.1 = Some(input),
            _ => {
                return Err(ImportError::file(
                    &input.path,
                    "not a criterion file: name `target/criterion` (or a benchmark's `new` folder), whose `benchmark.json` and `sample.json` are read",
                ))
            }
        }
    }
    let mut per_iteration: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (dir, pair) in &dirs {
        let (Some(bench), Some(sample)) = pair else {
            let missing = if pair.0.is_none() {
                "benchmark.json"
            } else {
                "sample.json"
            };
            return Err(ImportError::file(
                &dir.join(missing),
                "missing: criterion writes both files in each benchmark's `new` folder; run the benchmark again",
            ));
        };
        let id = read_benchmark(bench)?;
        let (iters, times) = read_samples(sample)?;
        if per_iteration.insert(id.clone(), (iters, times)).is_some() {
            return Err(ImportError::file(
                &bench.path,
                format!("benchmark `{id}` appears twice; name each benchmark's folder once"),
            ));
        }
    }
    // Nanoseconds keep sub-microsecond benchmarks apart; a benchmark whose iteration takes longer
    // than the histogram's range in ns is stored in µs instead.
    let longest_ns = per_iteration
        .values()
        .flat_map(|(i, t)| i.iter().zip(t).map(|(i, t)| t / i))
        .fold(0.0, f64::max);
    let unit = if longest_ns < MAX_TRACKABLE_US as f64 {
        ValueUnit::Ns
    } else {
        ValueUnit::Us
    };
    let per_unit = 1.0 / (unit.micros() * 1e3);
    let benches: BTreeMap<String, Vec<Sample>> = per_iteration
        .into_iter()
        .map(|(id, (iters, times))| {
            let samples = iters
                .iter()
                .zip(&times)
                .map(|(&i, &t)| Sample {
                    value: ((t / i) * per_unit).round().max(1.0) as u64,
                    iterations: (i.round() as u64).max(1),
                    elapsed_ms: t / 1e6,
                    failed: false,
                })
                .collect();
            (id, samples)
        })
        .collect();
    let origin = Origin {
        format: Format::Criterion,
        tool_version: None,
        sources: inputs
            .iter()
            .map(|i| i.path.display().to_string())
            .collect(),
        ctx,
    };
    build::from_benchmarks(&benches, unit, &origin)
}

fn json<'a, T: Deserialize<'a>>(input: &'a Input, what: &str) -> Result<T, ImportError> {
    serde_json::from_slice(&input.bytes).map_err(|e| {
        let problem = if e.is_eof() {
            format!("the file is truncated ({e})")
        } else {
            format!("not criterion's {what} ({e})")
        };
        ImportError::at(&input.path, format!("line {}", e.line()), problem)
    })
}

fn read_benchmark(input: &Input) -> Result<String, ImportError> {
    let b: Benchmark = json(input, "benchmark.json")?;
    if b.full_id.trim().is_empty() {
        return Err(ImportError::at(
            &input.path,
            "field \"full_id\"",
            "is empty: criterion names every benchmark",
        ));
    }
    Ok(b.full_id)
}

fn read_samples(input: &Input) -> Result<(Vec<f64>, Vec<f64>), ImportError> {
    let s: SampleFile = json(input, "sample.json")?;
    if s.iters.len() != s.times.len() {
        return Err(ImportError::at(
            &input.path,
            "fields \"iters\" and \"times\"",
            format!(
                "{} iteration counts but {} times: each sample has one of each",
                s.iters.len(),
                s.times.len()
            ),
        ));
    }
    if s.iters.is_empty() {
        return Err(ImportError::at(
            &input.path,
            "field \"iters\"",
            "holds no samples: the benchmark did not run",
        ));
    }
    for (k, (i, t)) in s.iters.iter().zip(&s.times).enumerate() {
        if !(i.is_finite() && *i >= 1.0) {
            return Err(ImportError::at(
                &input.path,
                format!("field \"iters\", sample {}", k + 1),
                format!("{i} is not an iteration count (a whole number of at least 1)"),
            ));
        }
        if !(t.is_finite() && *t > 0.0) {
            return Err(ImportError::at(
                &input.path,
                format!("field \"times\", sample {}", k + 1),
                format!("{t} is not a time in nanoseconds (a positive number)"),
            ));
        }
    }
    Ok((s.iters, s.times))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testing::{ctx, fixture, text};
    use crate::result::metric::Metric;

    fn queue() -> Vec<Input> {
        [
            "criterion/queue/push/new/benchmark.json",
            "criterion/queue/push/new/sample.json",
            "criterion/queue/pop/new/benchmark.json",
            "criterion/queue/pop/new/sample.json",
        ]
        .map(fixture)
        .to_vec()
    }

    #[test]
    fn one_row_per_benchmark_with_time_per_iteration_in_ns() {
        let r = parse(&queue(), &ctx()).unwrap();
        assert_eq!(
            r.requests.keys().collect::<Vec<_>>(),
            ["queue/pop", "queue/push"]
        );
        let push = &r.requests["queue/push"];
        // Every criterion sample is a window: the bootstrap resamples them.
        assert_eq!(push.windows.len(), 20);
        let imported = r.imported.as_ref().unwrap();
        assert_eq!(imported.value_unit, ValueUnit::Ns);
        assert!(r.is_benchmark());
        // The fixture's push takes about 48 ns per iteration.
        let mean = Metric::Mean.value_of(push, r.measured_seconds()).unwrap();
        assert!((45.0..52.0).contains(&mean), "{mean}");
        crate::baseline::consistency::check(&r).unwrap();
    }

    #[test]
    fn a_missing_half_of_a_pair_names_the_missing_file() {
        let mut inputs = queue();
        inputs.remove(3);
        let e = parse(&inputs, &ctx()).unwrap_err().to_string();
        assert!(e.contains("queue/pop/new/sample.json"), "{e}");
        assert!(e.contains("missing"), "{e}");
    }

    #[test]
    fn truncated_and_inconsistent_samples_name_file_and_field() {
        let bench = text("b/new/benchmark.json", r#"{"full_id":"b"}"#);
        let cases = [
            (
                r#"{"sampling_mode":"Linear","iters":[1.0,2.0],"times":[10.0"#,
                "truncated",
            ),
            (
                r#"{"iters":[1.0,2.0],"times":[10.0]}"#,
                "\"iters\" and \"times\"",
            ),
            (r#"{"iters":[1.0,0.0],"times":[10.0,20.0]}"#, "sample 2"),
            (
                r#"{"iters":[1.0],"times":[-3.0]}"#,
                "field \"times\", sample 1",
            ),
            (r#"{"iters":[],"times":[]}"#, "no samples"),
            (
                r#"{"mean":{"point_estimate":3.0}}"#,
                "not criterion's sample.json",
            ),
        ];
        for (body, want) in cases {
            let inputs = [bench.clone(), text("b/new/sample.json", body)];
            let e = parse(&inputs, &ctx()).unwrap_err().to_string();
            assert!(
                e.contains("b/new/sample.json") && e.contains(want),
                "{body}: {e}"
            );
        }
    }

    #[test]
    fn another_file_is_refused() {
        let e = parse(&[fixture("hyperfine.json")], &ctx())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a criterion file"), "{e}");
    }
}

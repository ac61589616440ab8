//! Machine outputs checked against the committed JSON Schemas: the result /
//! baseline file (`schemas/result.schema.json`) and the `--format json` report
//! (`schemas/report.schema.json`). Live outputs come from the real binary loading the built-in demo
//! service on 127.0.0.1:0 for 2 s; fixed outputs come from the fixtures in `snapshots.rs`. Negative
//! cases show the schemas are not vacuous and agree with loadgate's own loader.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use jsonschema::Validator;
use loadgate::compare::Comparison;
use loadgate::report::{render, Format, Judged, Report};
use loadgate::result::{LatencyHistogram, RunResult};
use loadgate::verdict::Verdict;
use serde_json::{json, Value};

use crate::snapshots;

/// A short scenario against the demo service: 4 users for 2 s after a 0.5 s ramp-up. p99 is not
/// gated because it needs 2000 requests to be judged (`Metric::min_requests`), more than a 2 s run
/// reliably completes on a busy CI machine; `record` would refuse the run.
const SCENARIO: &str = r#"
name = "schema-check"

[target]
health = { path = "/health", retries = 2, interval = "200ms", timeout = "2s" }

[load]
users = 4
ramp_up = "500ms"
duration = "2s"
request_timeout = "2s"

[[request]]
name = "fast"
path = "/fast"

[[request]]
name = "list products"
path = "/products?page=1"

[gate]
metrics = ["p50", "p95", "mean", "throughput", "error_rate"]
"#;

/// Ramp-up + duration is 2.5 s; the rest is process start, preflight and slack for a loaded machine.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What the tests and their helpers return: a failure is a message with its context.
pub(crate) type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read_json(path: &Path) -> TestResult<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    Ok(value)
}

/// The schema `schemas/<name>`, itself checked against the draft 2020-12 meta-schema, with `format`
/// assertions on (dates, URIs).
pub(crate) fn validator(name: &str) -> TestResult<Validator> {
    let schema = read_json(&repo_file(&format!("schemas/{name}")))?;
    jsonschema::meta::validate(&schema)
        .map_err(|e| format!("schemas/{name} is not a valid JSON Schema: {e}"))?;
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("cannot compile schemas/{name}: {e}"))?;
    Ok(validator)
}

pub(crate) fn result_schema() -> TestResult<Validator> {
    validator("result.schema.json")
}

pub(crate) fn report_schema() -> TestResult<Validator> {
    validator("report.schema.json")
}

/// Every violation, one per line, with where it is in the instance.
fn violations(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| {
            let mut message = e.to_string();
            // A histogram in a message is kilobytes of base64; keep messages readable.
            if let Some((cut, _)) = message.char_indices().nth(300) {
                message.truncate(cut);
                message.push('…');
            }
            format!("at `{}`: {message}", e.instance_path)
        })
        .collect()
}

pub(crate) fn assert_valid(validator: &Validator, instance: &Value, what: &str) {
    let errors = violations(validator, instance);
    assert!(
        errors.is_empty(),
        "{what} does not match its schema:\n{}",
        errors.join("\n")
    );
}

/// A tempdir holding the test scenario.
fn scenario_dir() -> TestResult<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let scenario = dir.path().join("schema-check.toml");
    std::fs::write(&scenario, SCENARIO)?;
    Ok((dir, scenario))
}

/// `loadgate <args>`, run in `dir` with bounded time.
fn loadgate(dir: &Path, args: &[&str]) -> TestResult<Command> {
    let mut cmd = Command::cargo_bin("loadgate")?;
    cmd.args(args)
        .current_dir(dir)
        .env_remove("GITHUB_SHA")
        .timeout(COMMAND_TIMEOUT);
    Ok(cmd)
}

fn path_arg(p: &Path) -> TestResult<&str> {
    let text = p
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))?;
    Ok(text)
}

fn stdout_json(stdout: &[u8], what: &str) -> TestResult<Value> {
    let value = serde_json::from_slice(stdout).map_err(|e| {
        format!(
            "{what}: stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(stdout)
        )
    })?;
    Ok(value)
}

#[test]
fn run_writes_a_result_and_a_report_that_match_their_schemas() -> TestResult {
    let (dir, scenario) = scenario_dir()?;
    let out = dir.path().join("r.json");
    let args = [
        "run",
        path_arg(&scenario)?,
        "--demo",
        "--out",
        path_arg(&out)?,
        "--format",
        "json",
    ];
    let assert = loadgate(dir.path(), &args)?.assert().success();

    let report = stdout_json(&assert.get_output().stdout, "run --format json")?;
    assert_valid(&report_schema()?, &report, "the `run --format json` report");
    assert_eq!(report["verdict"], Value::Null);
    assert_eq!(report["baseline"], Value::Null);
    assert!(report["run"]["all"]["requests"].as_u64() > Some(0));

    let result = read_json(&out)?;
    assert_valid(&result_schema()?, &result, "the `run --out` result file");
    assert_eq!(result["meta"]["load"]["rate_rps"], Value::Null);
    // The report summarizes the same run as the file.
    assert_eq!(report["run"]["meta"], result["meta"]);
    // loadgate loads back what it wrote.
    let loaded = loadgate::baseline::load(&out)?;
    assert_eq!(serde_json::to_value(&loaded)?["meta"], result["meta"]);
    Ok(())
}

#[test]
fn the_committed_demo_baseline_matches_the_result_schema() -> TestResult {
    let path = repo_file("baselines/demo.json");
    assert_valid(&result_schema()?, &read_json(&path)?, "baselines/demo.json");
    loadgate::baseline::load(&path)?;
    Ok(())
}

#[test]
fn record_then_gate_reports_a_verdict_that_matches_the_report_schema() -> TestResult {
    let (dir, scenario) = scenario_dir()?;
    let baselines = dir.path().join("baselines");
    std::fs::create_dir(&baselines)?;
    let (scenario, baselines) = (path_arg(&scenario)?, path_arg(&baselines)?);
    let record = ["record", scenario, "--demo", "--baselines", baselines];
    loadgate(dir.path(), &record)?.assert().success();
    let recorded = read_json(&dir.path().join("baselines/schema-check.json"))?;
    assert_valid(&result_schema()?, &recorded, "the recorded baseline");

    let gate = [
        "gate",
        scenario,
        "--demo",
        "--baselines",
        baselines,
        "--format",
        "json",
    ];
    let output = loadgate(dir.path(), &gate)?.output()?;
    // Two short runs on a shared machine may differ: any verdict will do (0 pass or warn,
    // 1 critical, 3 incomplete), but not an error (2).
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1 | 3)),
        "gate exited with {code:?}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = stdout_json(&output.stdout, "gate --format json")?;
    assert_valid(
        &report_schema()?,
        &report,
        "the `gate --format json` report",
    );
    assert!(report["verdict"].is_object(), "{report:#}");
    assert!(report["baseline"].is_object(), "{report:#}");
    assert_ne!(report["rows"], json!([]));
    Ok(())
}

/// The JSON report of the fixture pair of `snapshots.rs`, judged (`true`) or not.
fn fixture_report(judged: bool) -> TestResult<Value> {
    let (base, run, comparison, verdict) = snapshots::judged();
    let report = Report {
        run: &run,
        judged: judged.then_some(Judged {
            baseline: &base,
            comparison: &comparison,
            verdict: &verdict,
        }),
    };
    Ok(serde_json::from_str(&render(&report, Format::Json))?)
}

/// The fixture reports cover every row status and a verdict with reasons, however a live run turns
/// out.
#[test]
fn fixture_reports_match_the_report_schema() -> TestResult {
    let schema = report_schema()?;
    let judged = fixture_report(true)?;
    assert_valid(&schema, &judged, "the judged fixture report");
    assert_eq!(judged["verdict"]["outcome"], "critical");
    let alone = fixture_report(false)?;
    assert_valid(&schema, &alone, "the fixture report without a baseline");
    Ok(())
}

/// Every serialized type survives a JSON round trip, and the fixture results match the schema.
#[test]
fn serialized_types_round_trip() -> TestResult {
    let (base, run, comparison, verdict) = snapshots::judged();
    let schema = result_schema()?;
    for result in [&base, &run] {
        let value = serde_json::to_value(result)?;
        assert_valid(&schema, &value, "a fixture result");
        assert_eq!(&serde_json::from_value::<RunResult>(value)?, result);
    }
    let value = serde_json::to_value(&comparison)?;
    assert_eq!(serde_json::from_value::<Comparison>(value)?, comparison);
    let value = serde_json::to_value(&verdict)?;
    assert_eq!(serde_json::from_value::<Verdict>(value)?, verdict);
    Ok(())
}

/// The report schema repeats the result schema's definitions of what both contain (a schema cannot
/// `$ref` another file without a resolver); they must not drift apart.
#[test]
fn shared_definitions_are_identical() -> TestResult {
    let result = read_json(&repo_file("schemas/result.schema.json"))?;
    let report = read_json(&repo_file("schemas/report.schema.json"))?;
    for name in [
        "u32",
        "u64",
        "meta",
        "host",
        "load_settings",
        "error_counts",
        "latency_summary",
    ] {
        assert_eq!(
            result["$defs"][name], report["$defs"][name],
            "`$defs/{name}` differs between result.schema.json and report.schema.json"
        );
    }
    assert_eq!(
        result["$defs"]["request_stats"]["properties"]["status_codes"],
        report["$defs"]["stats"]["properties"]["status_codes"]
    );
    Ok(())
}

/// The histogram examples in the result schema are real encodings (of 3 latencies, and of none).
#[test]
fn histogram_examples_decode() -> TestResult {
    let result = read_json(&repo_file("schemas/result.schema.json"))?;
    let examples = result["$defs"]["histogram"]["examples"]
        .as_array()
        .ok_or("no histogram examples")?;
    let mut counts = Vec::new();
    for e in examples {
        let text = e.as_str().ok_or("a histogram example is not a string")?;
        counts.push(LatencyHistogram::from_base64(text)?.count());
    }
    assert_eq!(counts, [3, 0]);
    Ok(())
}

/// A change to a valid document, and whether the document stays valid.
type Mutation = (&'static str, fn(&mut Value), bool);

/// Removes `key` from the object at `pointer`; a missing key leaves the document valid, which the
/// tests then report.
fn remove(v: &mut Value, pointer: &str, key: &str) {
    if let Some(object) = v.pointer_mut(pointer).and_then(Value::as_object_mut) {
        object.remove(key);
    }
}

const RESULT_MUTATIONS: &[Mutation] = &[
    ("unchanged", |_| {}, true),
    (
        "no git commit",
        |v| v["meta"]["git_commit"] = Value::Null,
        true,
    ),
    (
        "no rate cap",
        |v| v["meta"]["load"]["rate_rps"] = Value::Null,
        true,
    ),
    (
        "unknown top-level field",
        |v| v["surprise"] = json!(1),
        false,
    ),
    (
        "unknown field in meta.host",
        |v| v["meta"]["host"]["gpu"] = json!("none"),
        false,
    ),
    (
        "unknown field in a window",
        |v| v["all"]["windows"][0]["p99_us"] = json!(1),
        false,
    ),
    (
        "a run stopped by abort_on_slo",
        |v| {
            v["meta"]["aborted"] = json!({
                "request": "products", "metric": "p95", "objective": 5000.0, "value": 21000.0,
                "lower_bound": 20500.0, "requests": 431, "after_ms": 2250
            })
        },
        true,
    ),
    (
        "an abort that does not say when",
        |v| {
            v["meta"]["aborted"] = json!({
                "metric": "p95", "objective": 5000.0, "value": 21000.0,
                "lower_bound": 20500.0, "requests": 431
            })
        },
        false,
    ),
    ("missing meta", |v| remove(v, "", "meta"), false),
    ("missing all", |v| remove(v, "", "all"), false),
    ("missing latency", |v| remove(v, "/all", "latency"), false),
    (
        "other schema version",
        |v| v["schema_version"] = json!(2),
        false,
    ),
    (
        "negative count",
        |v| v["all"]["requests"] = json!(-1),
        false,
    ),
    (
        "fractional count",
        |v| v["all"]["errors"]["timeout"] = json!(0.5),
        false,
    ),
    (
        "histogram not base64",
        |v| v["all"]["histogram"] = json!("not a histogram!"),
        false,
    ),
    (
        "latency with a unit",
        |v| v["all"]["latency"]["p95_us"] = json!("13ms"),
        false,
    ),
];

/// The schema rejects what loadgate's loader rejects (so it is not vacuous), and accepts what it
/// accepts: each mutation of the committed baseline gets the same answer from both.
#[test]
fn the_result_schema_and_the_loader_agree_on_broken_files() -> TestResult {
    let schema = result_schema()?;
    let original = read_json(&repo_file("baselines/demo.json"))?;
    for (name, mutate, valid) in RESULT_MUTATIONS {
        let mut v = original.clone();
        mutate(&mut v);
        let errors = violations(&schema, &v);
        assert_eq!(
            errors.is_empty(),
            *valid,
            "{name}: the schema says {errors:?}"
        );
        let bytes = serde_json::to_vec(&v)?;
        let loaded = loadgate::baseline::parse(Path::new("mutated.json"), &bytes);
        assert_eq!(loaded.is_ok(), *valid, "{name}: the loader says {loaded:?}");
    }
    Ok(())
}

const REPORT_MUTATIONS: &[Mutation] = &[
    ("unchanged", |_| {}, true),
    (
        "unknown field in a row",
        |v| v["rows"][0]["p_value"] = json!(0.5),
        false,
    ),
    (
        "unknown status",
        |v| v["rows"][0]["status"] = json!("regressed"),
        false,
    ),
    (
        "unknown metric",
        |v| v["rows"][0]["metric"] = json!("p42"),
        false,
    ),
    (
        "a verdict without reasons",
        |v| remove(v, "/verdict", "reasons"),
        false,
    ),
    (
        "an error rate above 1",
        |v| v["run"]["all"]["error_rate"] = json!(1.5),
        false,
    ),
    (
        "a baseline but no verdict",
        |v| v["verdict"] = Value::Null,
        false,
    ),
    ("missing run", |v| remove(v, "", "run"), false),
];

#[test]
fn the_report_schema_rejects_broken_reports() -> TestResult {
    let schema = report_schema()?;
    let original = fixture_report(true)?;
    for (name, mutate, valid) in REPORT_MUTATIONS {
        let mut v = original.clone();
        mutate(&mut v);
        let errors = violations(&schema, &v);
        assert_eq!(errors.is_empty(), *valid, "{name}: {errors:?}");
    }
    Ok(())
}

//! `loadgate import`: other tools' output (fixtures in tests/fixtures/import, no tool run here)
//! turned into results that `compare` and the reports work on. No load is sent.

use std::path::Path;

use crate::schema::{assert_valid, report_schema, result_schema};
use crate::support::Test;

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn every_format_imports_to_a_valid_result_and_a_slowed_benchmark_fails_compare() {
    let t = Test::new();
    let schema = result_schema().expect("result schema");
    for (format, file) in [
        ("criterion", "criterion"),
        ("hyperfine", "hyperfine.json"),
        ("k6", "k6.ndjson"),
        ("jmeter", "jmeter.jtl"),
        ("artillery", "artillery.json"),
    ] {
        let out = format!("{format}.json");
        t.run(&["import", format, &fixture(file), "--out", &out])
            .code(0)
            .stderr_has(&[&format!("imported from {format}")]);
        assert_valid(&schema, &t.json(&out), &out);
    }
    t.run(&[
        "import",
        "artillery",
        &fixture("artillery.json"),
        "--out",
        "x.json",
    ])
    .stdout_has(&["thresholds alone, without a noise guard"]);
    let slow = fixture("criterion-slow");
    t.run(&["import", "criterion", &slow, "--out", "slow.json"])
        .code(0);
    let out = t.run(&["compare", "criterion.json", "slow.json", "--format", "json"]);
    out.code(1);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON report");
    assert_valid(
        &report_schema().expect("report schema"),
        &report,
        "the report",
    );
    let push_mean = report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["request"] == "queue/push" && r["metric"] == "mean")
        .expect("a queue/push mean row");
    assert_eq!(push_mean["status"], "critical", "{push_mean}");
    assert_eq!(report["run"]["imported"]["value_unit"], "ns");
    // Results of another tool are not a baseline for this one.
    t.run(&["compare", "k6.json", "criterion.json"])
        .code(2)
        .stderr_has(&["k6 output", "criterion output"]);
}

#[test]
fn malformed_input_names_file_and_line_and_inputs_are_never_overwritten() {
    let t = Test::new().write(
        "broken.ndjson",
        "{\"type\":\"Point\",\"metric\":\"http_req_duration\",\"data\":{\"time\":\"2026-12-01T10:00:00Z\",\"value\":1,\"tags\":{\"name\":\"a\"}}}\n{\"type\":\"Po",
    );
    t.run(&["import", "k6", "broken.ndjson", "--out", "r.json"])
        .code(2)
        .stderr_has(&["broken.ndjson, line 2", "truncated"]);
    t.run(&["import", "k6", "broken.ndjson", "--out", "broken.ndjson"])
        .code(2)
        .stderr_has(&["it is also an input"]);
    assert!(t.read("broken.ndjson").starts_with(b"{\"type\""));
    t.run(&[
        "import",
        "criterion",
        t.dir().to_str().expect("utf-8 dir"),
        "--out",
        "r.json",
    ])
    .code(2)
    .stderr_has(&["no `new/sample.json`"]);
    t.run(&["import", "gatling", "x", "--out", "r.json"])
        .code(2)
        .stderr_has(&["unknown format `gatling`"]);
}

/// A `[suite]` whose command is a shell script copying prepared criterion output (no real
/// `cargo bench` here): `record` runs it three times, `gate` passes on unchanged code and fails,
/// confirmed by running the command again, on code slowed by a quarter.
#[test]
fn a_suite_is_recorded_and_gated_by_running_its_command() {
    let t = Test::new()
        .write(
            "suite.toml",
            "name = \"queue\"\n[suite]\ncommand = [\"sh\", \"bench.sh\"]\nformat = \"criterion\"\nresults = [\"target/criterion\"]\ntimeout = \"30s\"\n",
        )
        .write(
            "bench.sh",
            "set -e\necho \"Benchmarking queue\"\nrm -rf target/criterion\nmkdir -p target/criterion\ncp -R \"$(cat which)/.\" target/criterion/\n",
        );
    t.put("which", fixture("criterion"));
    t.run(&["record", "suite.toml"])
        .code(0)
        .stderr_has(&["baseline run 3 of 3", "Benchmarking queue"])
        .never_shows("lengthen `load.duration`");
    t.put("which", fixture("criterion-same"));
    t.run(&["gate", "suite.toml"]).code(0);
    t.put("which", fixture("criterion-slow"));
    t.run(&["gate", "suite.toml", "--history", "history"])
        .code(1)
        .stdout_has(&["queue/push", "CRITICAL"])
        .stderr_has(&["confirming with another run"]);
    t.put("bench.sh", "echo broken >&2; exit 4\n");
    t.run(&["gate", "suite.toml"])
        .code(2)
        .stderr_has(&["suite command `sh bench.sh` failed", "broken"]);
}

/// The real hyperfine (Debian's package; `.ci/run` installs it): its own `--export-json` imports,
/// an unchanged command passes and a 50% slower one is critical. Skips itself, loudly, where
/// hyperfine is not installed, unless CI requires it.
#[test]
fn real_hyperfine_output_gates_a_slower_command() {
    let installed = std::process::Command::new("hyperfine")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed && std::env::var_os("LOADGATE_REQUIRE_TOOLS").is_none() {
        eprintln!(
            "SKIPPED real_hyperfine_output_gates_a_slower_command: no `hyperfine` on PATH \
             (install the Debian package `hyperfine`; .ci/run does)"
        );
        return;
    }
    let t = Test::new();
    // Three exports of one named command: two of the same build, one 50% slower. Sleeps, so the
    // times are the command's own and not the machine's load.
    for (out, seconds) in [
        ("a.json", "0.05"),
        ("b.json", "0.05"),
        ("slow.json", "0.075"),
    ] {
        let status = std::process::Command::new("hyperfine")
            .current_dir(t.dir())
            .args(["--runs", "20", "--warmup", "2", "--style", "none"])
            .args(["--command-name", "work", "--export-json", out])
            .arg(format!("sleep {seconds}"))
            .output()
            .expect("run hyperfine");
        assert!(status.status.success(), "{status:?}");
        let imported = out.replace(".json", ".result.json");
        t.run(&["import", "hyperfine", out, "--out", &imported])
            .code(0)
            .stderr_has(&["imported from hyperfine"]);
    }
    t.run(&["compare", "a.result.json", "b.result.json"])
        .code(0);
    t.run(&["compare", "a.result.json", "slow.result.json"])
        .code(1)
        .stdout_has(&["work", "CRITICAL"]);
}

/// The real criterion, through the fixture crate tests/fixtures/criterion-bench (its own workspace
/// and lock file, criterion pinned to the main crate's dev-dependency, so no download beyond what
/// this crate's tests already need). As a `[suite]`: `record` runs `cargo bench` three times, `gate`
/// on the same code passes, and on code doing 25% more work per iteration is critical. The fixture
/// measures its thread's CPU time (a criterion custom measurement), so other builds on a shared
/// machine do not decide the verdict. Its own
/// target folder, so the nested cargo never waits for the lock of the build running this test.
/// Skips itself, loudly, where cargo cannot build the fixture, unless CI requires it.
#[test]
fn real_criterion_suite_gates_a_slower_build() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion-bench/Cargo.toml");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-criterion");
    // Compiled once here (criterion's build, about 1.5 CPU-minutes cold), not inside the timed runs.
    let built = std::process::Command::new(&cargo)
        .args([
            "bench",
            "--locked",
            "--quiet",
            "--no-run",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .output();
    let built = match built {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(why) = built {
        assert!(
            std::env::var_os("LOADGATE_REQUIRE_TOOLS").is_none(),
            "the criterion fixture does not build: {why}"
        );
        eprintln!(
            "SKIPPED real_criterion_suite_gates_a_slower_build: `{cargo} bench` cannot build \
             tests/fixtures/criterion-bench (no cargo, or criterion not downloadable): {why}"
        );
        return;
    }
    let suite = |factor: &str| {
        let line = [
            "env",
            &format!("CARGO_TARGET_DIR={}", target.display()),
            &format!("LOADGATE_FIXTURE_FACTOR={factor}"),
            &cargo,
            "bench",
            "--locked",
            "--quiet",
            "--manifest-path",
            &manifest.display().to_string(),
            "--bench",
            "work",
            "--",
            "--warm-up-time",
            "0.2",
            "--measurement-time",
            "0.5",
            "--nresamples",
            "1000",
            "--sample-size",
            "20",
            "--noplot",
        ]
        .map(|a| format!("{a:?}"))
        .join(", ");
        format!(
            "name = \"fixture\"\n[suite]\ncommand = [{line}]\nformat = \"criterion\"\nresults = [{:?}]\ntimeout = \"5m\"\n",
            target.join("criterion").display().to_string()
        )
    };
    let t = Test::new().exclusive().write("suite.toml", suite("1"));
    t.run(&["record", "suite.toml"])
        .code(0)
        .stderr_has(&["baseline run 3 of 3"])
        .stdout_has(&["fixture/mix"]);
    t.run(&["gate", "suite.toml"]).code(0);
    t.put("suite.toml", suite("1.25"));
    t.run(&["gate", "suite.toml"])
        .code(1)
        .stdout_has(&["fixture/mix", "CRITICAL"]);
}

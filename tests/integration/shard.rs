//! `loadgate run --shard i/N` and `loadgate merge`: two live shards against one loopback demo service
//! merge into their exact sum, which `compare` accepts; every way shards can fail to fit together is
//! refused with exit 2 and the files named (from edited copies of a recorded result: no load); the
//! examples that run shards parse; a piped run prints no progress line.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture step that fails must fail the calling test, saying which step"
)]

use std::time::Duration;

use loadgate::result::{LatencyHistogram, RunResult};
use serde_json::{json, Value};

use crate::support::{
    dead_url, scenario, shared_baseline, shared_load, wait_at_most, Demo, Reaped, Test, SCENARIO,
};

/// The error exit code (`loadgate::exit::ERROR`).
const ERROR: i32 = 2;

fn parse(t: &Test, rel: &str) -> RunResult {
    serde_json::from_slice(&t.read(rel)).unwrap_or_else(|e| panic!("{rel} is not a RunResult: {e}"))
}

#[test]
fn two_live_shards_merge_into_their_exact_sum_and_compare_accepts_it() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), ""));
    let children: Vec<Reaped> = {
        let _load = shared_load();
        let mut children: Vec<Reaped> = (1..=2)
            .map(|i| {
                let mut cmd = t.command();
                cmd.args(["run", SCENARIO, "--shard", &format!("{i}/2")])
                    .args(["--out", &format!("s{i}.json")])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                Reaped(cmd.spawn().expect("spawn loadgate run --shard"))
            })
            .collect();
        for c in &mut children {
            let status = wait_at_most(c, Duration::from_secs(60));
            assert!(status.success(), "a shard failed: {status}");
        }
        children
    };
    for mut c in children {
        let mut stderr = String::new();
        std::io::Read::read_to_string(c.stderr.as_mut().expect("piped"), &mut stderr)
            .expect("read stderr");
        assert!(stderr.contains("shard "), "{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "no escape codes in a pipe: {stderr}"
        );
    }
    let (s1, s2) = (parse(&t, "s1.json"), parse(&t, "s2.json"));
    assert_eq!(
        s1.meta.load.rate_rps,
        Some(125),
        "each shard sends rate/N (250/2)"
    );
    assert_eq!(s1.meta.load.users, 4, "and users/N (8/2)");
    assert_eq!(s1.meta.shard.map(|s| (s.index, s.count)), Some((1, 2)));
    assert!(
        s2.meta.measure_start_unix_ms.is_some(),
        "a shard records its start"
    );
    // Arguments in reverse order: merge sorts by shard.
    t.run(&["merge", "s2.json", "s1.json", "--out", "merged.json"])
        .code(0)
        .stderr_has(&["wrote merged.json"])
        .stdout_has(&["all"]);
    let m = parse(&t, "merged.json");
    assert_eq!(m.all.requests, s1.all.requests + s2.all.requests);
    assert_eq!(
        m.all.errors.total(),
        s1.all.errors.total() + s2.all.errors.total()
    );
    for (name, stats) in &m.requests {
        assert_eq!(
            stats.requests,
            s1.requests[name].requests + s2.requests[name].requests
        );
        assert_eq!(
            stats.status_codes["200"],
            s1.requests[name].status_codes["200"] + s2.requests[name].status_codes["200"]
        );
    }
    let mut h = LatencyHistogram::new();
    h.merge(&s1.all.histogram);
    h.merge(&s2.all.histogram);
    assert_eq!(m.all.histogram, h, "histograms add losslessly");
    let windowed: u64 = m.all.windows.iter().map(|w| w.requests).sum();
    assert_eq!(
        windowed, m.all.requests,
        "every request lands in one window"
    );
    assert_eq!(m.meta.load.rate_rps, Some(250), "the template's rate");
    assert_eq!(m.meta.load.users, 8, "the template's users");
    assert_eq!(m.meta.shard, None);
    assert_eq!(m.meta.merged.as_ref().map(|i| i.shards.len()), Some(2));
    assert_valid_result(&t.json("merged.json"));

    // A merged run is an ordinary result: compare judges it (PASS, or INCOMPLETE when this shared
    // machine made the windows too noisy to judge), never an error.
    let out = t.run(&[
        "compare",
        "merged.json",
        "merged.json",
        "--scenario",
        SCENARIO,
    ]);
    out.stdout_has(&["compared with the baseline of", "verdict: "]);
    assert!(out.code == 0 || out.code == 3, "{out}");
    out.never_shows("verdict: WARN")
        .never_shows("verdict: CRITICAL");
}

fn assert_valid_result(instance: &Value) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/result.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(path).expect("read the result schema"))
            .expect("the result schema is JSON");
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the result schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let mut m = format!("at `{}`: {e}", e.instance_path);
            m.truncate(300);
            m
        })
        .collect();
    assert!(
        errors.is_empty(),
        "merged.json breaks the result schema: {errors:?}"
    );
}

/// The shared recorded result as shard `index/count`, started at `start_ms`, saved as `rel`.
fn shard_file(t: &Test, rel: &str, index: u32, count: u32, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(shared_baseline()).expect("baseline JSON");
    v["meta"]["shard"] = json!({ "index": index, "count": count });
    v["meta"]["measure_start_unix_ms"] = json!(1_700_000_000_000i64);
    edit(&mut v);
    t.put(rel, serde_json::to_vec_pretty(&v).expect("encode"));
}

fn shards(specs: &[(&str, u32, u32)]) -> Test {
    let t = Test::new();
    for &(rel, i, n) in specs {
        shard_file(&t, rel, i, n, |_| {});
    }
    t
}

#[test]
fn shards_that_do_not_fit_together_are_refused_naming_the_files() {
    let t = shards(&[("a.json", 1, 2), ("b.json", 2, 2)]);
    shard_file(&t, "other.json", 2, 2, |v| {
        v["meta"]["scenario_name"] = json!("checkout");
        v["meta"]["scenario_hash"] = json!("f".repeat(64));
    });
    shard_file(&t, "dup.json", 1, 2, |_| {});
    shard_file(&t, "of3.json", 2, 3, |_| {});
    shard_file(&t, "stale.json", 2, 2, |v| {
        v["meta"]["measure_start_unix_ms"] = json!(1_700_000_000_000i64 - 86_400_000);
    });
    for (args, says) in [
        (
            &["other.json", "a.json"][..],
            "a.json is a run of scenario `t` but other.json is a run of `checkout`",
        ),
        (
            &["a.json", "dup.json"],
            "a.json and dup.json are both shard 1/2",
        ),
        (&["a.json"], "shard(s) 2 of 2 missing"),
        (
            &["a.json", "of3.json"],
            "of3.json is shard 2/3 but a.json is shard 1/2",
        ),
        (&["a.json", "baselines"], "cannot read baselines"),
        (
            &["a.json", "stale.json"],
            "a.json started measuring 86400000 ms after stale.json had",
        ),
    ] {
        let mut cmd = vec!["merge"];
        cmd.extend_from_slice(args);
        cmd.extend_from_slice(&["--out", "m.json"]);
        t.run(&cmd).code(ERROR).stderr_has(&[says]);
    }
    assert!(!t.path("m.json").exists(), "a refused merge writes nothing");
    t.run(&["merge", "a.json", "b.json", "--out", "m.json"])
        .code(0);
}

#[test]
fn a_corrupt_or_whole_run_file_is_named() {
    let t = shards(&[("a.json", 1, 2)]);
    let bytes = t.read("a.json");
    t.put("cut.json", &bytes[..bytes.len() / 2]);
    t.put("whole.json", shared_baseline());
    t.run(&["merge", "a.json", "cut.json", "--out", "m.json"])
        .code(ERROR)
        .stderr_has(&["cut.json is not a usable loadgate result", "truncated"]);
    t.run(&["merge", "a.json", "whole.json", "--out", "m.json"])
        .code(ERROR)
        .stderr_has(&["whole.json is not a shard"]);
}

#[test]
fn allow_partial_merges_what_is_there_and_says_what_is_missing() {
    let t = shards(&[("a.json", 1, 3), ("c.json", 3, 3)]);
    t.run(&[
        "merge",
        "a.json",
        "c.json",
        "--out",
        "m.json",
        "--allow-partial",
    ])
    .code(0)
    .stderr_has(&["merged 2 of 3 shards; missing: 2"]);
    let m = parse(&t, "m.json");
    assert_eq!(m.meta.merged.map(|i| i.missing), Some(vec![2]));
    let one: RunResult = serde_json::from_slice(shared_baseline()).expect("baseline");
    assert_eq!(m.all.requests, 2 * one.all.requests);
}

#[test]
fn impossible_shard_flags_are_refused_before_any_load() {
    let t = Test::new().scenario(&scenario(&dead_url(), ""));
    for (shard, says) in [
        ("0/3", "1-based"),
        (
            "4/3",
            "INDEX must be in 1..=3: the shards of a 3-way run are `1/3` to `3/3`",
        ),
        ("1/0", "COUNT must be in"),
        ("one/3", "INDEX is not a whole number"),
        ("2", "expected INDEX/COUNT"),
        ("1/401", "cannot be split over 401 shards"),
    ] {
        t.run(&["run", SCENARIO, "--shard", shard, "--out", "s.json"])
            .code(ERROR)
            .stderr_has(&["--shard", says]);
    }
    t.run(&["record", SCENARIO, "--shard", "1/2"])
        .code(ERROR)
        .stderr_has(&["a shard's result alone is not a baseline", "loadgate merge"]);
    assert_eq!(t.files("baselines"), Vec::<String>::new());
}

#[test]
fn a_piped_run_prints_no_progress_line() {
    let demo = Demo::start();
    let t = Test::new()
        .scenario(&scenario(demo.url(), "").replace("duration = \"3s\"", "duration = \"1s\""));
    let out = t.run(&["run", SCENARIO]);
    out.code(0);
    assert!(
        !out.stderr.contains('\u{1b}'),
        "escape codes on a pipe\n{out}"
    );
    out.never_shows("req/s ·").never_shows("ramp-up ");
}

fn yaml(rel: &str) -> serde_yaml::Value {
    let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

/// Every `run:` of a workflow job, one per line.
fn runs(job: &serde_yaml::Value) -> String {
    job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shell command of a Job's first container.
fn command(job: &serde_yaml::Value) -> &str {
    job["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .expect("a shell command")
}

#[test]
fn the_github_actions_example_runs_every_shard_then_merges() {
    let wf = yaml("examples/github-actions/sharded.yml");
    let n: u64 = wf["env"]["SHARDS"].as_u64().expect("env.SHARDS");
    let matrix = &wf["jobs"]["shard"]["strategy"]["matrix"]["shard"];
    let ids: Vec<u64> = matrix
        .as_sequence()
        .expect("a shard matrix")
        .iter()
        .filter_map(serde_yaml::Value::as_u64)
        .collect();
    assert_eq!(
        ids,
        (1..=n).collect::<Vec<_>>(),
        "the matrix lists 1..=SHARDS"
    );
    assert!(runs(&wf["jobs"]["shard"]).contains("--shard ${{ matrix.shard }}/${{ env.SHARDS }}"));
    assert!(
        runs(&wf["jobs"]["merge"]).contains("loadgate merge shards/shard-*.json --out merged.json")
    );
    // The merged run gets the whole gate: verdict, reports and actions.
    assert!(runs(&wf["jobs"]["merge"]).contains("loadgate gate \"$SCENARIO\" --result merged.json"));
    assert_eq!(wf["jobs"]["merge"]["needs"].as_str(), Some("shard"));
}

#[test]
fn the_kubernetes_example_is_an_indexed_job_of_n_shards_and_a_merge() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/kubernetes/indexed-job.yaml"
    );
    let text = std::fs::read_to_string(path).expect("read the example");
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("each document is YAML"))
        .collect();
    let job = |name: &str| {
        docs.iter()
            .find(|d| d["kind"] == "Job" && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no Job {name}"))
    };
    let shards = job("loadgate-shards");
    assert_eq!(shards["spec"]["completionMode"].as_str(), Some("Indexed"));
    let n = shards["spec"]["completions"].as_u64().expect("completions");
    assert_eq!(shards["spec"]["parallelism"].as_u64(), Some(n));
    let run = command(shards);
    assert!(
        run.contains(&format!("--shard $((JOB_COMPLETION_INDEX+1))/{n}")),
        "{run}"
    );
    let merge = command(job("loadgate-merge"));
    assert!(
        merge.contains("loadgate merge /results/shard-*.json --out /results/merged.json")
            && merge
                .contains("loadgate gate /scenario/checkout.toml --result /results/merged.json"),
        "{merge}"
    );

    // The scenario it ships is valid: loading it succeeds, so the run stops at the (bad) shard flag.
    let config = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("the scenario ConfigMap");
    let toml = config["data"]["checkout.toml"]
        .as_str()
        .expect("checkout.toml");
    let t = Test::new().write("checkout.toml", toml);
    t.run(&["run", "checkout.toml", "--shard", "5/4"])
        .code(ERROR)
        .stderr_has(&["--shard: `5/4`"]);
}

#[test]
fn comparing_a_single_shard_says_to_merge_first() {
    let t = shards(&[("a.json", 1, 2)]).write("base.json", shared_baseline());
    let out = t.run(&["compare", "base.json", "a.json"]);
    assert_ne!(out.code, ERROR, "{out}");
    out.stdout_has(&["a.json is shard 1/2 of a sharded run", "loadgate merge"]);
}

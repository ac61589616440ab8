//! `loadgate record` and `loadgate baselines`: a healthy run becomes `baselines/<name>.json`, written
//! whole; an unfit run never replaces the stored baseline.

use loadgate::demo::DemoKnobs;

use crate::support::{scenario, Demo, Test, BASELINE, SCENARIO};

/// Value of `${env:LOADGATE_TEST_TOKEN}`: must never reach a file or an output stream.
const SECRET: &str = "tok-7f3a9c-never-stored";

#[test]
fn record_writes_a_complete_baseline_and_lists_and_shows_it() {
    let demo = Demo::start();
    // A secret from the environment is sent, never stored or printed (scenarios/README.md).
    let with_secret = scenario(demo.url(), "").replace(
        "[target]\n",
        "[target]\nheaders = { Authorization = \"Bearer ${env:LOADGATE_TEST_TOKEN}\" }\n",
    );
    let t = Test::new()
        .scenario(&with_secret)
        .env("LOADGATE_TEST_TOKEN", SECRET);
    t.run(&["record", SCENARIO])
        .code(0)
        .stdout_has(&["scenario `t`", "fast", "products"])
        .stderr_has(&["recorded baseline baselines/t.json"])
        .never_shows(SECRET);
    assert!(
        !String::from_utf8_lossy(&t.read(BASELINE)).contains(SECRET),
        "the baseline stores the expanded secret"
    );
    // Atomic write: the final file only, no temp or probe file left behind, readable like any
    // committed file (not the temp file's 0600).
    assert_eq!(t.files("baselines"), ["t.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.path(BASELINE))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "baseline mode {mode:o}");
    }
    let b = t.json(BASELINE);
    assert_eq!(b["schema_version"], 1);
    assert_eq!(b["meta"]["scenario_name"], "t");
    assert_eq!(b["meta"]["target_url"], demo.url());
    assert!(
        b["meta"]["scenario_hash"]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "{b:#}"
    );
    let requests = b["all"]["requests"].as_u64().expect("all.requests");
    assert!(requests >= 200, "too few requests recorded: {requests}");
    let per_request: u64 = ["fast", "products"]
        .iter()
        .map(|n| {
            b["requests"][n]["requests"]
                .as_u64()
                .expect("per-request count")
        })
        .sum();
    assert_eq!(per_request, requests);
    assert_eq!(b["all"]["errors"]["status"], 0);

    t.run(&["baselines", "list"])
        .code(0)
        .stdout_has(&["baselines/t.json", &requests.to_string()]);
    t.run(&["baselines", "show", "t"]).code(0).stdout_has(&[
        "baseline baselines/t.json",
        "scenario: t",
        "fast",
        "products",
    ]);
}

#[test]
fn record_makes_the_default_folder_and_learns_the_noise_of_its_three_runs() {
    let demo = Demo::start();
    let t = Test::new().scenario(&scenario(demo.url(), ""));
    std::fs::remove_dir(t.path("baselines")).expect("remove the empty baselines/");
    t.run(&["record", SCENARIO]).code(0).stderr_has(&[
        "created baselines/",
        "baseline run 3 of 3",
        "run-to-run noise τ learned from 3 runs",
        "recorded baseline baselines/t.json",
    ]);
    let b = t.json(BASELINE);
    assert_eq!(b["learned"]["runs"], 3, "{:#}", b["learned"]);
    assert_eq!(b["meta"]["run_windows"].as_array().map(Vec::len), Some(3));
    for m in ["p50", "p95", "mean", "throughput"] {
        let tau = b["learned"]["tau"][m].as_f64();
        assert!(
            tau.is_some_and(|t| t > 0.0 && t < 1.0),
            "{m}: {:#}",
            b["learned"]
        );
    }
}

#[test]
fn record_refuses_an_unhealthy_run_and_keeps_the_old_baseline() {
    let failing = Demo::with(DemoKnobs {
        error_rate: 0.5,
        ..DemoKnobs::default()
    });
    let t = Test::new()
        .scenario(&scenario(failing.url(), ""))
        .with_baseline();
    let before = t.baselines();
    t.run(&["record", SCENARIO]).code(2).stderr_has(&[
        "not recording baselines/t.json",
        "gate.record_max_error_rate",
        "the existing baseline (if any) is unchanged",
    ]);
    assert_eq!(t.baselines(), before, "baselines/ changed");
}

#[test]
fn record_into_a_missing_folder_is_refused_before_any_load() {
    // A dead target: were the folder checked after the preflight, the error would be about the target.
    let t = Test::new().scenario(&scenario(&crate::support::dead_url(), ""));
    t.run(&["record", SCENARIO, "--baselines", "nowhere"])
        .code(2)
        .stderr_has(&["--baselines", "nowhere", "mkdir -p"]);
}

#[test]
fn baselines_list_skips_a_damaged_file_with_a_warning() {
    let t = Test::new()
        .with_baseline()
        .write("baselines/broken.json", "{\"schema_version\": 1,");
    t.run(&["baselines", "list"])
        .code(0)
        .stdout_has(&["baselines/t.json"])
        .stderr_has(&["skipping baselines/broken.json", "truncated"]);
}

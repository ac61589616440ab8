//! Quick starts: `loadgate run URL` (one short load of a loopback demo, ~3 s) and `loadgate init
//! URL` (no load), with the bad input a first try produces.

use crate::support::{Demo, Test};

#[test]
fn run_url_loads_the_url_at_the_rate_and_for_the_duration_given() {
    let demo = Demo::start();
    let t = Test::new();
    let url = format!("{}/fast", demo.url());
    let out = t.run(&[
        "run",
        &url,
        "--rate",
        "40",
        "--users",
        "4",
        "--duration",
        "2s",
        "--out",
        "r.json",
    ]);
    out.code(0)
        .stdout_has(&["scenario `quick`", "GET /fast", "of a 40.0 req/s target"])
        .stderr_has(&[
            "4 users at 40 req/s (open model)",
            "for 2s after a 1s ramp-up",
        ]);
    let r = t.json("r.json");
    assert_eq!(r["meta"]["load"]["users"], 4, "{r}");
    assert_eq!(r["meta"]["measured_duration_ms"], 2_000, "{r}");
}

#[test]
fn bad_quick_input_exits_2_with_the_fix() {
    let t = Test::new();
    t.run(&["run", "localhost:8080/health"])
        .code(2)
        .stderr_has(&["has no scheme", "http://localhost:8080/health"]);
    t.run(&["run", "http://127.0.0.1:9/", "--rate", "0"])
        .code(2)
        .stderr_has(&["a rate of 0 sends nothing", "--rate 100"]);
    t.run(&["run", "http://127.0.0.1:9/", "--duration", "10"])
        .code(2)
        .stderr_has(&["`10` is not a duration", "--duration 10s"]);
}

#[test]
fn init_writes_a_starter_once_and_never_overwrites() {
    let t = Test::new();
    std::fs::remove_dir(t.path("baselines")).expect("remove baselines/");
    t.run(&["init", "http://localhost:8080/health"])
        .code(0)
        .stdout_has(&["scenarios/localhost.toml"]);
    assert!(t.path("baselines").is_dir());
    let first = t.read("scenarios/localhost.toml");
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.contains("base_url = \"http://localhost:8080\""),
        "{text}"
    );
    // The user edits it; a second init must leave the edit as it is.
    t.put("scenarios/localhost.toml", text.replace("8080", "9"));
    let edited = t.read("scenarios/localhost.toml");
    t.run(&["init", "http://localhost:8080/health"])
        .code(2)
        .stderr_has(&["already exists", "never overwrites"]);
    assert_eq!(t.read("scenarios/localhost.toml"), edited, "left untouched");
    t.run(&["init", "localhost:8080"])
        .code(2)
        .stderr_has(&["has no scheme"]);
}

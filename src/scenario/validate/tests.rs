//! Validator tests: a full scenario, the defaults, every error case (key + fix in the message), the
//! scenario hash and the secrecy of expanded header values. The environment is injected, never read.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::result::metric::Metric;
use crate::scenario::{Method, Percent, Scenario, ScenarioError, Template};

/// Header values without per-user parts, for comparisons.
fn statics(h: &[(String, Template)]) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| (k.clone(), v.as_static().unwrap_or("<dynamic>").to_string()))
        .collect()
}

/// A value that must never appear in a hash, a `Debug` output or an error.
const SECRET: &str = "s3cret-t0ken";

/// Every key of the format, set to a non-default value.
const FULL: &str = r#"
schema_version = 1
name = "checkout-api"
description = "Browse and buy"

[target]
base_url = "http://127.0.0.1:8080"
headers = { Authorization = "Bearer ${env:TOKEN}", "X-Team" = "perf" }
health = { path = "/health", retries = 3, interval = "500ms", timeout = "1.5s" }

[load]
users = 32
rate = 200
ramp_up = "2s"
duration = "1m"
max_requests = 5000
request_timeout = "250ms"

[[request]]
name = "list products"
path = "/products?page=1"
weight = 3
expect_status = [200, 304]

[[request]]
name = "add to cart"
method = "post"
path = "/cart/${env:CART}"
headers = { "Content-Type" = "application/json" }
body = '{"sku": "A-1", "qty": 1}'

[gate]
warn = "5%"
critical = "15%"
metrics = ["p95", "p99", "error_rate", "p95"]
slo = { p95 = "350ms", error_rate = "1%", throughput = 150 }
latency_floor = "1ms"
record_max_error_rate = "0.5%"
overrides = { "add to cart" = { p99 = { warn = "15%", critical = "30%" }, mean = { critical = "25%" } } }
"#;

/// The smallest valid scenario.
const MINIMAL: &str = r#"
name = "t"

[[request]]
name = "home"
path = "/"
"#;

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some(SECRET.to_string()),
        "CART" => Some("42".to_string()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    from_toml(Path::new("s.toml"), text, &env)
}

#[track_caller]
fn ok(text: &str) -> Scenario {
    match parse(text) {
        Ok(s) => s,
        Err(e) => panic!("expected a valid scenario, got: {e}\n--- scenario ---\n{text}"),
    }
}

fn pct(p: f64) -> Percent {
    Percent::from_fraction(p / 100.0)
}

/// MINIMAL with `extra` appended (a `[table]` or more `[[request]]`s).
fn minimal_with(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}\n")
}

#[test]
fn a_request_has_its_own_objectives_beside_its_thresholds() {
    let s = ok(&minimal_with(
        "[gate.overrides.home]\nslo = { p95 = \"500ms\", error_rate = \"2%\" }\np99 = { critical = \"30%\" }",
    ));
    let g = &s.gate;
    assert!(g.slos.is_empty(), "the aggregate has none: {:?}", g.slos);
    let home = &g.request_slos["home"];
    assert_eq!(home.len(), 2);
    assert!(home.contains(&crate::scenario::Slo {
        metric: Metric::P95,
        limit: 500_000.0
    }));
    assert!(home.contains(&crate::scenario::Slo {
        metric: Metric::ErrorRate,
        limit: 0.02
    }));
    assert_eq!(g.overrides["home"].len(), 1);
    // An objective alone adds no thresholds: the request's rows still warn at most.
    let s = ok(&minimal_with(
        "[gate.overrides.home]\nslo = { p95 = \"500ms\" }",
    ));
    assert!(!s.gate.overrides.contains_key("home"));
}

#[test]
fn abort_on_slo_watches_the_objectives_after_its_grace() {
    let s = ok(&minimal_with(
        "[gate]\nabort_on_slo = true\n[gate.overrides.home]\nslo = { p95 = \"500ms\" }",
    ));
    assert_eq!(
        s.gate.abort,
        Some(crate::scenario::AbortOnSlo {
            grace: DEFAULT_ABORT_GRACE
        })
    );
    let s = ok(&minimal_with(
        "[gate]\nabort_on_slo = true\nabort_grace = \"2s\"\nslo = { error_rate = \"1%\" }",
    ));
    assert_eq!(s.gate.abort.map(|a| a.grace), Some(Duration::from_secs(2)));
    let s = ok(&minimal_with(
        "[gate]\nabort_on_slo = false\nslo = { p95 = \"1s\" }",
    ));
    assert_eq!(s.gate.abort, None);
}

#[test]
fn full_scenario_parses_with_its_values() {
    let s = ok(FULL);
    assert_eq!(s.path, Path::new("s.toml"));
    assert_eq!(s.name, "checkout-api");
    assert_eq!(s.description, "Browse and buy");

    assert_eq!(s.target.base_url.as_deref(), Some("http://127.0.0.1:8080"));
    assert_eq!(
        statics(&s.target.headers),
        vec![
            ("Authorization".to_string(), format!("Bearer {SECRET}")),
            ("X-Team".to_string(), "perf".to_string()),
        ]
    );
    assert_eq!(s.target.health.path.as_deref(), Some("/health"));
    assert_eq!(s.target.health.retries, 3);
    assert_eq!(s.target.health.interval, Duration::from_millis(500));
    assert_eq!(s.target.health.timeout, Duration::from_millis(1500));

    assert_eq!(s.load.users, 32);
    assert_eq!(s.load.rate, Some(200));
    assert_eq!(s.load.ramp_up, Duration::from_secs(2));
    assert_eq!(s.load.duration, Duration::from_secs(60));
    assert_eq!(s.load.max_requests, 5000);
    assert_eq!(s.load.request_timeout, Duration::from_millis(250));

    assert_eq!(s.requests.len(), 2);
    let list = &s.requests[0];
    assert_eq!(list.name, "list products");
    assert_eq!(list.method, Method::Get, "method defaults to GET");
    assert_eq!(list.path, "/products?page=1");
    assert_eq!(list.weight, 3);
    assert_eq!(list.expect_status, vec![200, 304]);
    assert!(list.headers.is_empty());
    assert_eq!(list.body, None);
    let cart = &s.requests[1];
    assert_eq!(cart.method, Method::Post, "method is case-insensitive");
    assert_eq!(cart.path, "/cart/42", "${{env:..}} is expanded in paths");
    assert_eq!(cart.weight, 1, "weight defaults to 1");
    assert!(
        cart.expect_status.is_empty(),
        "no expect_status means any 2xx"
    );
    assert_eq!(
        statics(&cart.headers),
        vec![("Content-Type".to_string(), "application/json".to_string())]
    );
    assert_eq!(
        cart.body.as_ref().and_then(Template::as_static),
        Some(r#"{"sku": "A-1", "qty": 1}"#)
    );

    let g = &s.gate;
    assert_eq!(
        g.thresholds,
        Thresholds {
            warn: pct(5.0),
            critical: pct(15.0)
        }
    );
    assert_eq!(
        g.metrics,
        vec![Metric::P95, Metric::P99, Metric::ErrorRate],
        "duplicates are dropped, order kept"
    );
    // slo is a table: validated in key order.
    assert_eq!(
        g.slos,
        vec![
            Slo {
                metric: Metric::ErrorRate,
                limit: 0.01
            },
            Slo {
                metric: Metric::P95,
                limit: 350_000.0
            },
            Slo {
                metric: Metric::Throughput,
                limit: 150.0
            },
        ]
    );
    assert_eq!(g.latency_floor, Duration::from_millis(1));
    assert_eq!(g.record_max_error_rate, pct(0.5));
    let cart_overrides = &g.overrides["add to cart"];
    assert_eq!(cart_overrides.len(), 2);
    assert_eq!(
        cart_overrides[&Metric::P99],
        Thresholds {
            warn: pct(15.0),
            critical: pct(30.0)
        }
    );
    assert_eq!(
        cart_overrides[&Metric::Mean],
        Thresholds {
            warn: pct(5.0),
            critical: pct(25.0)
        },
        "an override falls back to the scenario's [gate] warn, not the built-in default"
    );
    assert_eq!(s.hash.len(), 64);
    assert!(s.hash.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn minimal_scenario_gets_the_documented_defaults() {
    let s = ok(MINIMAL);
    assert_eq!(s.description, "");
    assert_eq!(s.target.base_url, None);
    assert!(s.target.headers.is_empty());
    assert_eq!(
        s.target.health,
        HealthSpec {
            path: None,
            retries: DEFAULT_HEALTH_RETRIES,
            interval: DEFAULT_HEALTH_INTERVAL,
            timeout: DEFAULT_HEALTH_TIMEOUT,
        }
    );
    assert_eq!(
        s.load,
        LoadSpec {
            users: DEFAULT_USERS,
            rate: None,
            ramp_up: DEFAULT_RAMP_UP,
            duration: DEFAULT_DURATION,
            max_requests: DEFAULT_MAX_REQUESTS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            window: DEFAULT_WINDOW,
            stages: Vec::new(),
        }
    );
    assert_eq!(s.requests.len(), 1);
    assert_eq!(s.requests[0].method, Method::Get);
    assert_eq!(s.requests[0].weight, 1);
    assert_eq!(
        s.gate,
        GateSpec {
            thresholds: Thresholds {
                warn: DEFAULT_WARN,
                critical: DEFAULT_CRITICAL
            },
            metrics: DEFAULT_METRICS.to_vec(),
            slos: Vec::new(),
            request_slos: BTreeMap::new(),
            latency_floor: DEFAULT_LATENCY_FLOOR,
            record_max_error_rate: DEFAULT_RECORD_MAX_ERROR_RATE,
            overrides: BTreeMap::new(),
            abort: None,
        }
    );
}

/// The values scenarios/README.md documents; a change here is a change of the documented format.
#[test]
fn defaults_match_the_documentation() {
    assert_eq!(DEFAULT_USERS, 8);
    assert_eq!(DEFAULT_RAMP_UP, Duration::from_secs(5));
    assert_eq!(DEFAULT_DURATION, Duration::from_secs(30));
    assert_eq!(DEFAULT_MAX_REQUESTS, 1_000_000);
    assert_eq!(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs(10));
    assert_eq!(DEFAULT_WARN, pct(10.0));
    assert_eq!(DEFAULT_CRITICAL, pct(20.0));
    assert_eq!(DEFAULT_LATENCY_FLOOR, Duration::from_micros(25));
    assert_eq!(DEFAULT_RECORD_MAX_ERROR_RATE, pct(1.0));
    assert_eq!(DEFAULT_HEALTH_RETRIES, 5);
    assert_eq!(DEFAULT_HEALTH_INTERVAL, Duration::from_secs(1));
    assert_eq!(DEFAULT_HEALTH_TIMEOUT, Duration::from_secs(2));
    let names: Vec<&str> = DEFAULT_METRICS.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "p5",
            "p50",
            "p95",
            "p99",
            "mean",
            "throughput",
            "error_rate"
        ]
    );
}

#[test]
fn env_expansion_in_every_expanded_field() {
    let text = r#"
name = "t"
[target]
base_url = "http://${env:CART}.example:80"
[[request]]
name = "a"
method = "PUT"
path = "/x/${env:CART}/y?k=${env:CART}"
body = "${env:CART}${env:CART}"
headers = { "X-Key" = "pre-${env:TOKEN}-post" }
"#;
    let s = ok(text);
    assert_eq!(s.target.base_url.as_deref(), Some("http://42.example:80"));
    let r = &s.requests[0];
    assert_eq!(r.path, "/x/42/y?k=42");
    assert_eq!(r.body.as_ref().and_then(Template::as_static), Some("4242"));
    assert_eq!(
        statics(&r.headers),
        vec![("X-Key".to_string(), format!("pre-{SECRET}-post"))]
    );
    // A lone `$` or `{` is literal.
    let s = ok(&MINIMAL.replace("path = \"/\"", "path = \"/price/$5/{id}\""));
    assert_eq!(s.requests[0].path, "/price/$5/{id}");
}

/// An error case: scenario text, then what the error must contain.
struct Case {
    what: &'static str,
    text: String,
    /// `Some(key)`: an `Invalid` error whose key contains this; `None`: a `Parse` error.
    key: Option<&'static str>,
    /// Substrings of the displayed message: the offending value and the fix.
    message: &'static [&'static str],
}

fn invalid(
    what: &'static str,
    text: String,
    key: &'static str,
    message: &'static [&'static str],
) -> Case {
    Case {
        what,
        text,
        key: Some(key),
        message,
    }
}

fn parse_error(what: &'static str, text: String, message: &'static [&'static str]) -> Case {
    Case {
        what,
        text,
        key: None,
        message,
    }
}

fn error_cases() -> Vec<Case> {
    let req = |extra: &str| {
        format!("name = \"t\"\n[[request]]\nname = \"home\"\npath = \"/\"\n{extra}\n")
    };
    vec![
        // Unknown keys and wrong types: the parser's message names the key.
        parse_error(
            "unknown top-level key",
            format!("colour = \"red\"\n{MINIMAL}"),
            &["colour"],
        ),
        parse_error(
            "unknown key in [load]",
            minimal_with("[load]\nusres = 3"),
            &["usres"],
        ),
        parse_error("unknown key in [[request]]", req("wieght = 2"), &["wieght"]),
        parse_error(
            "unknown key in [gate]",
            minimal_with("[gate]\nwarning = \"5%\""),
            &["warning"],
        ),
        parse_error(
            "unknown key in an override",
            minimal_with("[gate.overrides.home.p99]\nwarm = \"5%\""),
            &["warm"],
        ),
        parse_error(
            "unknown key in health",
            minimal_with("[target.health]\npath = \"/\"\nretry = 2"),
            &["retry"],
        ),
        parse_error(
            "bare number for a duration",
            minimal_with("[load]\nduration = 30"),
            &["duration"],
        ),
        parse_error(
            "missing name",
            "[[request]]\nname = \"a\"\npath = \"/\"\n".to_string(),
            &["name"],
        ),
        parse_error(
            "request without a path",
            "name = \"t\"\n[[request]]\nname = \"a\"\n".to_string(),
            &["path"],
        ),
        parse_error(
            "negative users",
            minimal_with("[load]\nusers = -1"),
            &["users"],
        ),
        parse_error("not TOML", "name = \n".to_string(), &["s.toml"]),
        // Top level.
        invalid(
            "schema_version 2",
            format!("schema_version = 2\n{MINIMAL}"),
            "schema_version",
            &["version 2", "schema_version = 1"],
        ),
        invalid(
            "name unusable as a file name",
            MINIMAL.replace("\"t\"", "\"../etc\""),
            "name",
            &["../etc", "letters, digits"],
        ),
        invalid(
            "empty name",
            MINIMAL.replace("\"t\"", "\"\""),
            "name",
            &["letters, digits"],
        ),
        // Units.
        invalid(
            "bad duration",
            minimal_with("[load]\nduration = \"30 parsecs\""),
            "load.duration",
            &["30 parsecs", "e.g. \"250ms\""],
        ),
        invalid(
            "duration without unit",
            minimal_with("[load]\nramp_up = \"5\""),
            "load.ramp_up",
            &["`5`", "e.g. \"250ms\""],
        ),
        invalid(
            "duration under 1s",
            minimal_with("[load]\nduration = \"500ms\""),
            "load.duration",
            &["at least \"1s\""],
        ),
        invalid(
            "request_timeout under 1ms",
            minimal_with("[load]\nrequest_timeout = \"10us\""),
            "load.request_timeout",
            &["request_timeout = \"5s\""],
        ),
        invalid(
            "bad health interval",
            minimal_with("[target.health]\npath = \"/h\"\ninterval = \"soon\""),
            "target.health.interval",
            &["soon", "e.g. \"250ms\""],
        ),
        invalid(
            "zero health timeout",
            minimal_with("[target.health]\npath = \"/h\"\ntimeout = \"0s\""),
            "target.health.timeout",
            &["above zero", "timeout = \"2s\""],
        ),
        invalid(
            "bad percent",
            minimal_with("[gate]\nwarn = \"10\""),
            "gate.warn",
            &["`10`", "e.g. \"10%\""],
        ),
        invalid(
            "negative percent",
            minimal_with("[gate]\ncritical = \"-5%\""),
            "gate.critical",
            &["-5%", "e.g. \"10%\""],
        ),
        invalid(
            "bad latency_floor",
            minimal_with("[gate]\nlatency_floor = \"tiny\""),
            "gate.latency_floor",
            &["tiny", "e.g. \"250ms\""],
        ),
        invalid(
            "bad record_max_error_rate",
            minimal_with("[gate]\nrecord_max_error_rate = \"1\""),
            "gate.record_max_error_rate",
            &["e.g. \"10%\""],
        ),
        // [load] ranges.
        invalid(
            "users 0",
            minimal_with("[load]\nusers = 0"),
            "load.users",
            &["0 users", "1 to 10000"],
        ),
        invalid(
            "users above 10000",
            minimal_with("[load]\nusers = 10001"),
            "load.users",
            &["10001 users", "1 to 10000"],
        ),
        invalid(
            "rate 0",
            minimal_with("[load]\nrate = 0"),
            "load.rate",
            &["rate of 0", "rate ≥ 1", "remove `rate`"],
        ),
        invalid(
            "max_requests 0",
            minimal_with("[load]\nmax_requests = 0"),
            "load.max_requests",
            &["bound ≥ 1"],
        ),
        // Requests.
        invalid(
            "no requests",
            "name = \"t\"\n".to_string(),
            "request",
            &["no requests", "add at least one `[[request]]`"],
        ),
        invalid(
            "weight 0",
            req("weight = 0"),
            "request[0].weight",
            &["weight 0", "1 to 10000"],
        ),
        invalid(
            "negative weight",
            req("weight = -2"),
            "request[0].weight",
            &["weight -2", "1 to 10000"],
        ),
        invalid(
            "weight above 10000",
            req("weight = 10001"),
            "request[0].weight",
            &["weight 10001", "1 to 10000"],
        ),
        invalid(
            "duplicate request name",
            minimal_with("[[request]]\nname = \"home\"\npath = \"/again\""),
            "request[1].name",
            &["duplicate", "rename one"],
        ),
        invalid(
            "blank request name",
            "name = \"t\"\n[[request]]\nname = \" \"\npath = \"/\"\n".to_string(),
            "request[0].name",
            &["unique name"],
        ),
        invalid(
            "path without a leading slash",
            "name = \"t\"\n[[request]]\nname = \"p\"\npath = \"products?page=1\"\n".to_string(),
            "request[0].path",
            &[
                "products?page=1",
                "write `/products?page=1`",
                "target.base_url",
            ],
        ),
        invalid(
            "full URL as a path",
            "name = \"t\"\n[[request]]\nname = \"p\"\npath = \"http://host/x\"\n".to_string(),
            "request[0].path",
            &["does not start with `/`"],
        ),
        invalid(
            "path with a space",
            "name = \"t\"\n[[request]]\nname = \"p\"\npath = \"/a b\"\n".to_string(),
            "request[0].path",
            &["%20"],
        ),
        invalid(
            "health path without a slash",
            minimal_with("[target.health]\npath = \"health\""),
            "target.health.path",
            &["write `/health`"],
        ),
        invalid(
            "unsupported method",
            req("method = \"OPTIONS\""),
            "request[0].method",
            &["OPTIONS", "GET, POST, PUT, PATCH, DELETE or HEAD"],
        ),
        invalid(
            "status out of range",
            req("expect_status = [200, 700]"),
            "request[0].expect_status",
            &["700", "100-599"],
        ),
        invalid(
            "bad header name",
            req("headers = { \"X Bad\" = \"v\" }"),
            "request[0].headers",
            &["X Bad", "header name"],
        ),
        // ${env:..} expansion.
        invalid(
            "unset env var in a header",
            req("headers = { Authorization = \"Bearer ${env:MISSING_TOKEN}\" }"),
            "request[0].headers",
            &[
                "Authorization",
                "MISSING_TOKEN",
                "is not set",
                "export MISSING_TOKEN=",
            ],
        ),
        invalid(
            "unset env var in base_url",
            minimal_with("[target]\nbase_url = \"${env:NO_URL}\""),
            "target.base_url",
            &["NO_URL", "export NO_URL="],
        ),
        invalid(
            "unset env var in a path",
            req("").replace("path = \"/\"", "path = \"/${env:NO_ID}\""),
            "request[0].path",
            &["NO_ID"],
        ),
        invalid(
            "unset env var in a body",
            req("body = \"${env:NO_BODY}\""),
            "request[0].body",
            &["NO_BODY"],
        ),
        invalid(
            "unknown ${foo} syntax",
            req("body = \"${foo}\""),
            "request[0].body",
            &["${foo}", "written `${env:NAME}`"],
        ),
        invalid(
            "${ENV:X} is not ${env:X}",
            req("body = \"${ENV:TOKEN}\""),
            "request[0].body",
            &["${ENV:TOKEN}", "${env:NAME}"],
        ),
        invalid(
            "unclosed ${",
            minimal_with("[target]\nheaders = { A = \"${env:TOKEN\" }"),
            "target.headers.A",
            &["closing `}`"],
        ),
        // [gate].
        invalid(
            "unknown metric in gate.metrics",
            minimal_with("[gate]\nmetrics = [\"p95\", \"p42\"]"),
            "gate.metrics",
            &["p42", "known metrics"],
        ),
        invalid(
            "warn above critical",
            minimal_with("[gate]\nwarn = \"30%\"\ncritical = \"20%\""),
            "gate",
            &["warn (30%) is above critical (20%)", "warn ≤ critical"],
        ),
        invalid(
            "warn above the default critical",
            minimal_with("[gate]\nwarn = \"25%\""),
            "gate",
            &["above critical (20%)"],
        ),
        invalid(
            "override for an unknown request",
            minimal_with("[gate.overrides.nope]\np99 = { warn = \"15%\" }"),
            "gate.overrides.\"nope\"",
            &["no request has this name", "`name` of a `[[request]]`"],
        ),
        invalid(
            "override of an unknown metric",
            minimal_with("[gate.overrides.home]\np42 = { warn = \"15%\" }"),
            "gate.overrides.\"home\".p42",
            &["p42", "known metrics"],
        ),
        invalid(
            "a request's latency objective that is not a duration",
            minimal_with("[gate.overrides.home]\nslo = { p95 = \"fast\" }"),
            "gate.overrides.\"home\".slo.p95",
            &["fast"],
        ),
        invalid(
            "a request's objective on an unknown metric",
            minimal_with("[gate.overrides.home]\nslo = { p42 = \"1s\" }"),
            "gate.overrides.\"home\".slo.p42",
            &["p42"],
        ),
        invalid(
            "override with warn above critical",
            minimal_with("[gate.overrides.home]\np99 = { warn = \"40%\", critical = \"30%\" }"),
            "gate.overrides.\"home\".p99",
            &["warn ≤ critical"],
        ),
        // abort_on_slo needs an objective it can watch while the load runs, and a valid grace.
        invalid(
            "abort_on_slo without an objective",
            minimal_with("[gate]\nabort_on_slo = true"),
            "gate.abort_on_slo",
            &["no objective to watch", "slo = { p95 = \"300ms\""],
        ),
        invalid(
            "abort_on_slo with objectives judged at the end only",
            minimal_with("[gate]\nabort_on_slo = true\nslo = { mean = \"1s\", throughput = 10 }"),
            "gate.abort_on_slo",
            &["judged at the end of the run only"],
        ),
        invalid(
            "abort_grace that is not a duration",
            minimal_with(
                "[gate]\nabort_on_slo = true\nabort_grace = \"soon\"\nslo = { p95 = \"1s\" }",
            ),
            "gate.abort_grace",
            &["soon"],
        ),
        invalid(
            "abort_grace without abort_on_slo",
            minimal_with("[gate]\nabort_grace = \"5s\"\nslo = { p95 = \"1s\" }"),
            "gate.abort_grace",
            &["abort_on_slo = true"],
        ),
        // SLO types: latency is a duration, error_rate a percent, throughput a positive number.
        invalid(
            "latency SLO as a number",
            minimal_with("[gate.slo]\np95 = 350"),
            "gate.slo.p95",
            &["not a duration", "p95 = \"350ms\""],
        ),
        invalid(
            "latency SLO not a duration",
            minimal_with("[gate.slo]\np99 = \"fast\""),
            "gate.slo.p99",
            &["fast", "e.g. \"250ms\""],
        ),
        invalid(
            "error_rate SLO as a number",
            minimal_with("[gate.slo]\nerror_rate = 0.01"),
            "gate.slo.error_rate",
            &["wrong type", "error_rate = \"1%\""],
        ),
        invalid(
            "error_rate SLO without %",
            minimal_with("[gate.slo]\nerror_rate = \"1\""),
            "gate.slo.error_rate",
            &["e.g. \"10%\""],
        ),
        invalid(
            "throughput SLO as a string",
            minimal_with("[gate.slo]\nthroughput = \"150\""),
            "gate.slo.throughput",
            &["wrong type", "throughput = 150"],
        ),
        invalid(
            "throughput SLO of 0",
            minimal_with("[gate.slo]\nthroughput = 0"),
            "gate.slo.throughput",
            &["positive", "throughput = 150"],
        ),
        invalid(
            "negative throughput SLO",
            minimal_with("[gate.slo]\nthroughput = -3.5"),
            "gate.slo.throughput",
            &["positive"],
        ),
        invalid(
            "SLO on an unknown metric",
            minimal_with("[gate.slo]\np42 = \"1s\""),
            "gate.slo.p42",
            &["p42", "known metrics"],
        ),
        invalid(
            "SLO as a table",
            minimal_with("[gate.slo]\np95 = { max = \"1s\" }"),
            "gate.slo.p95",
            &["p95 = \"350ms\""],
        ),
    ]
}

#[test]
fn every_error_names_the_key_and_the_fix() {
    let mut failures = Vec::new();
    for case in error_cases() {
        let err = match parse(&case.text) {
            Ok(_) => {
                failures.push(format!("{}: accepted, expected an error", case.what));
                continue;
            }
            Err(e) => e,
        };
        let message = err.to_string();
        match (&err, case.key) {
            (ScenarioError::Invalid { path, key, fix, .. }, Some(want)) => {
                if path != Path::new("s.toml") {
                    failures.push(format!("{}: path {}", case.what, path.display()));
                }
                if !key.contains(want) {
                    failures.push(format!(
                        "{}: key `{key}` does not contain `{want}`",
                        case.what
                    ));
                }
                if fix.trim().is_empty() {
                    failures.push(format!("{}: no fix", case.what));
                }
            }
            (ScenarioError::Parse { .. }, None) => {
                if !message.contains("scenarios/README.md") {
                    failures.push(format!(
                        "{}: parse error does not point to the reference: {message}",
                        case.what
                    ));
                }
            }
            _ => failures.push(format!("{}: wrong kind of error: {err:?}", case.what)),
        }
        if !message.contains("s.toml") {
            failures.push(format!(
                "{}: message does not name the file: {message}",
                case.what
            ));
        }
        for want in case.message {
            if !message.contains(want) {
                failures.push(format!("{}: message lacks `{want}`: {message}", case.what));
            }
        }
        if message.contains(SECRET) {
            failures.push(format!(
                "{}: message leaks the secret: {message}",
                case.what
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn parse_errors_give_the_line() {
    let err = parse(&format!("{MINIMAL}\n[load]\nusers = 4\ncolour = \"red\"\n")).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("colour"), "{message}");
    assert!(message.contains("line 10"), "no line number: {message}");
}

#[test]
fn boundary_values_are_accepted() {
    for extra in [
        "[load]\nusers = 1\nrate = 1\nmax_requests = 1\nduration = \"1s\"\nrequest_timeout = \"1ms\"\nramp_up = \"0s\"",
        "[load]\nusers = 10000",
        "[gate]\nwarn = \"20%\"\ncritical = \"20%\"",
        "[gate]\nmetrics = [\"p90\", \"max\"]\nslo = { throughput = 0.5, max = \"2s\", mean = \"250us\" }",
    ] {
        if let Err(e) = parse(&minimal_with(extra)) {
            panic!("rejected {extra:?}: {e}");
        }
    }
    let s = ok(&MINIMAL.replace(
        "path = \"/\"",
        "path = \"/\"\nweight = 10000\nexpect_status = [100, 599]",
    ));
    assert_eq!(s.requests[0].weight, 10_000);
    assert_eq!(s.requests[0].expect_status, vec![100, 599]);
}

#[test]
fn hash_ignores_gate_description_and_target() {
    let base = ok(FULL).hash;
    let changed = [
        FULL.replace(
            "description = \"Browse and buy\"",
            "description = \"something else\"",
        ),
        FULL.replace("warn = \"5%\"", "warn = \"8%\""),
        FULL.replace("metrics = [\"p95\", \"p99\", \"error_rate\", \"p95\"]", ""),
        FULL.replace("slo = { p95 = \"350ms\"", "slo = { p95 = \"500ms\""),
        FULL.replace("latency_floor = \"1ms\"", "latency_floor = \"2ms\""),
        FULL.replace("127.0.0.1:8080", "staging.internal:9000"),
        FULL.replace("retries = 3", "retries = 9"),
        FULL.replace("\"X-Team\" = \"perf\"", "\"X-Team\" = \"other\""),
        format!("# a comment\n{FULL}"),
    ];
    for text in &changed {
        assert_ne!(text, FULL, "the replacement did not apply");
        assert_eq!(ok(text).hash, base, "hash changed for:\n{text}");
    }
}

#[test]
fn hash_changes_with_load_and_requests() {
    let base = ok(FULL).hash;
    let changed = [
        FULL.replace("/products?page=1", "/products?page=2"),
        FULL.replace("users = 32", "users = 33"),
        FULL.replace("rate = 200", "rate = 100"),
        FULL.replace("duration = \"1m\"", "duration = \"2m\""),
        FULL.replace("weight = 3", "weight = 4"),
        FULL.replace("\"qty\": 1", "\"qty\": 2"),
        FULL.replace("name = \"list products\"", "name = \"list items\""),
        FULL.replace("[200, 304]", "[200]"),
        FULL.replace("application/json", "text/plain"),
    ];
    for text in &changed {
        assert_ne!(text, FULL, "the replacement did not apply");
        assert_ne!(ok(text).hash, base, "hash unchanged for:\n{text}");
    }
}

#[test]
fn hash_does_not_depend_on_env_values() {
    let text = minimal_with("").replace(
        "path = \"/\"",
        "path = \"/\"\nheaders = { Authorization = \"Bearer ${env:TOKEN}\" }",
    );
    let one = from_toml(Path::new("s.toml"), &text, &|_: &str| {
        Some("first".to_string())
    })
    .unwrap();
    let two = from_toml(Path::new("s.toml"), &text, &|_: &str| {
        Some("second".to_string())
    })
    .unwrap();
    assert_ne!(
        one.requests[0].headers, two.requests[0].headers,
        "the values were expanded"
    );
    assert_eq!(one.hash, two.hash);
    assert_eq!(one.hash, parse(&text).unwrap().hash);
}

#[test]
fn debug_never_shows_header_values() {
    let text = format!(
        "{MINIMAL}headers = {{ Authorization = \"Bearer ${{env:TOKEN}}\" }}\nbody = \"${{env:TOKEN}}\"\n[target]\nheaders = {{ \"X-Api-Key\" = \"${{env:TOKEN}}\" }}\n"
    );
    let s = ok(&text);
    assert_eq!(
        s.requests[0].headers[0].1,
        format!("Bearer {SECRET}").as_str()
    );
    assert_eq!(s.target.headers[0].1, SECRET);

    let request = format!("{:?}", s.requests[0]);
    assert!(!request.contains(SECRET), "{request}");
    assert!(request.contains("home"), "{request}");
    let target = format!("{:?}", s.target);
    assert!(!target.contains(SECRET), "{target}");
    assert!(
        target.contains("X-Api-Key"),
        "header names are shown: {target}"
    );
    let whole = format!("{s:?} {s:#?}");
    assert!(!whole.contains(SECRET), "{whole}");
}

/// The complete examples in scenarios/README.md (those that start with `schema_version` or
/// `name`) are valid scenarios; fragments are skipped.
#[test]
fn readme_examples_are_valid() {
    let readme = include_str!("../../../scenarios/README.md");
    let examples: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter(|block| block.starts_with("schema_version") || block.starts_with("name = "))
        .collect();
    assert_eq!(examples.len(), 2, "the complete and the smallest example");
    let env = |name: &str| (name == "STAGING_TOKEN").then(|| SECRET.to_string());
    for text in &examples {
        if let Err(e) = from_toml(Path::new("README.md"), text, &env) {
            panic!("README example rejected: {e}\n{text}");
        }
    }
    let full = from_toml(Path::new("README.md"), examples[0], &env).unwrap();
    assert_eq!(full.name, "checkout");
    assert_eq!(full.requests[0].weight, 3);
    assert_eq!(full.gate.slos.len(), 3);
    assert_eq!(full.gate.overrides["add to cart"].len(), 1);
}

#[test]
fn a_toml_error_on_a_huge_line_quotes_only_around_the_error() {
    let long = format!(
        "name = \"t\"\ndescription = \"{}\" oops\n",
        "x".repeat(200_000)
    );
    let e = from_toml(Path::new("s.toml"), &long, &|_| None)
        .unwrap_err()
        .to_string();
    assert!(e.len() < 2_000, "{} characters", e.len());
    assert!(
        e.contains("line 2") && e.contains("200021 characters long"),
        "{e}"
    );
    assert!(e.contains("| …x") && e.contains("xxxx\" oops"), "{e}");
    // A short line is quoted whole, as the parser does.
    let e = from_toml(Path::new("s.toml"), "name = \"t\" oops\n", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("name = \"t\" oops"), "{e}");
    // `${env:}` names nothing: no `export =...` advice.
    let e = from_toml(
        Path::new("s.toml"),
        &format!("{MINIMAL}\n[target]\nbase_url = \"${{env:}}\"\n"),
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("names no environment variable") && !e.contains("export ="),
        "{e}"
    );
}

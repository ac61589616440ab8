//! Property test of the validator over arbitrary and edge values: whatever a scenario file holds,
//! `from_toml` never panics, and it either returns a scenario whose invariants hold or an error that
//! names the file and the key (or, for a parse error, the line).

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;

use super::from_toml;
use crate::scenario::{Scenario, ScenarioError, Thresholds};

const FILE: &str = "scenarios/prop.toml";

/// Only `SET` is in the environment, so `${env:SET}` expands and every other name is unset.
fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_string())
}

/// A TOML value: a basic string is written as JSON writes it (its escapes are valid TOML).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Mostly ordinary counts (so that many generated scenarios are valid and their invariants are
/// checked), else values around every bound the validator checks and beyond what a `u32` holds.
fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        30 => 1i64..200,
        1 => prop::sample::select(vec![0, -1, 10_000, 10_001, i64::from(u32::MAX) + 1]),
        1 => any::<i64>(),
    ]
}

/// A value with a unit as a user might (mis)type it: mostly `valid`, else a number with any unit
/// (or none), or arbitrary text.
fn with_unit(
    valid: impl Strategy<Value = String>,
    units: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop_oneof![
        30 => valid,
        2 => (
            prop_oneof![Just(0.0), Just(0.05), Just(1.0), -10.0f64..1e4, any::<f64>()],
            prop::sample::select(units)
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        1 => any::<String>(),
        1 => "[0-9 .%a-z-]{0,8}",
    ]
}

fn duration() -> impl Strategy<Value = String> {
    with_unit(
        (1u32..90, prop::sample::select(&["s", "m"][..])).prop_map(|(n, u)| format!("{n}{u}")),
        &["us", "ms", "s", "m", "h", "", " s", "sec", "%"],
    )
}

/// A window must also fit in 100ms..=60s and in the duration: mostly one that does.
fn window() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(vec!["250ms", "500ms", "1s"]).prop_map(str::to_string),
        1 => duration(),
    ]
}

fn percent() -> impl Strategy<Value = String> {
    with_unit(
        (0u32..60).prop_map(|n| format!("{n}%")),
        &["%", "", " %", "ms", "%%"],
    )
}

/// Mostly plain names (some repeat across requests), else empty ones and odd unicode.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("a".to_string()),
        24 => "[a-z]{1,6}",
        1 => prop::sample::select(vec!["", "  ", "naïve café ☕ 名前 \u{202e}rtl", "a.b", ".hidden"])
            .prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

/// A request path, with or without `${...}` parts (closed, unclosed, env, unknown).
fn path() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        30 => "[a-z0-9/?=&]{0,6}",
        6 => prop::sample::select(vec!["${env:SET}", "${user.id}", "$${literal}"]).prop_map(str::to_string),
        2 => prop::sample::select(vec!["${env:UNSET}", "${nope}", "${unclosed", " "]).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    (
        prop::bool::weighted(0.97),
        prop::collection::vec(part, 0..4),
    )
        .prop_map(|(slash, parts)| format!("{}{}", if slash { "/" } else { "" }, parts.concat()))
}

fn metric() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "p50",
            "p90",
            "p95",
            "p99",
            "mean",
            "max",
            "throughput",
            "error_rate",
            "peak_rss",
        ])
        .prop_map(str::to_string),
        "[a-z_0-9]{1,8}",
    ]
}

/// One optional `key = value` line.
fn line(key: &'static str, value: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop::option::of(value)
        .prop_map(move |v| v.map(|v| format!("{key} = {v}\n")).unwrap_or_default())
}

fn request() -> impl Strategy<Value = String> {
    (
        name(),
        path(),
        line("weight", int().prop_map(|w| w.to_string())),
        line(
            "method",
            prop_oneof![
                16 => prop::sample::select(vec!["\"GET\"", "\"post\"", "\"Delete\""]),
                1 => prop::sample::select(vec!["\"FETCH\"", "\"\"", "\"G ET\""]),
            ]
            .prop_map(str::to_string),
        ),
        line(
            "expect_status",
            prop::collection::vec(prop_oneof![16 => 200u16..300, 1 => any::<u16>()], 0..3)
                .prop_map(|v| format!("{v:?}")),
        ),
    )
        .prop_map(|(name, path, weight, method, status)| {
            format!(
                "[[request]]\nname = {}\npath = {}\n{weight}{method}{status}\n",
                quoted(&name),
                quoted(&path)
            )
        })
}

fn load() -> impl Strategy<Value = String> {
    (
        line("users", int().prop_map(|v| v.to_string())),
        line("rate", int().prop_map(|v| v.to_string())),
        line("duration", duration().prop_map(|d| quoted(&d))),
        line("ramp_up", duration().prop_map(|d| quoted(&d))),
        line("window", window().prop_map(|d| quoted(&d))),
        line("request_timeout", duration().prop_map(|d| quoted(&d))),
        line("max_requests", int().prop_map(|v| v.to_string())),
    )
        .prop_map(|(a, b, c, d, e, f, g)| format!("[load]\n{a}{b}{c}{d}{e}{f}{g}\n"))
}

fn gate() -> impl Strategy<Value = String> {
    (
        line("warn", percent().prop_map(|p| quoted(&p))),
        line("critical", percent().prop_map(|p| quoted(&p))),
        line("latency_floor", duration().prop_map(|d| quoted(&d))),
        line("record_max_error_rate", percent().prop_map(|p| quoted(&p))),
        line(
            "metrics",
            prop::collection::vec(metric(), 1..4).prop_map(|m| {
                format!(
                    "[{}]",
                    m.iter().map(|x| quoted(x)).collect::<Vec<_>>().join(", ")
                )
            }),
        ),
        prop::option::of((metric(), percent(), percent())),
        prop::option::of((metric(), duration())),
    )
        .prop_map(|(warn, critical, floor, record, metrics, over, slo)| {
            let mut s = format!("[gate]\n{warn}{critical}{floor}{record}{metrics}\n");
            if let Some((m, w, c)) = over {
                s.push_str(&format!(
                    "[gate.overrides.a.{m}]\nwarn = {}\ncritical = {}\n\n",
                    quoted(&w),
                    quoted(&c)
                ));
            }
            if let Some((m, d)) = slo {
                s.push_str(&format!("[gate.slo]\n{m} = {}\n\n", quoted(&d)));
            }
            s
        })
}

fn scenario_text() -> impl Strategy<Value = String> {
    (
        name(),
        prop::option::of(prop_oneof![19 => Just(1i64), 1 => any::<i64>()]),
        load(),
        prop_oneof![
            12 => prop::collection::vec(request(), 1..4),
            1 => Just(Vec::new()),
        ],
        gate(),
    )
        .prop_map(|(name, version, load, requests, gate)| {
            let version = version
                .map(|v| format!("schema_version = {v}\n"))
                .unwrap_or_default();
            format!(
                "{version}name = {}\n\n{load}{}{gate}",
                quoted(&name),
                requests.concat()
            )
        })
}

fn thresholds_ordered(t: &Thresholds) -> bool {
    t.warn.fraction() <= t.critical.fraction()
}

/// What a valid scenario promises everything downstream.
fn check_invariants(s: &Scenario) -> Result<(), String> {
    let l = &s.load;
    let checks = [
        ((1..=10_000).contains(&l.users), "users in 1..=10000"),
        (l.rate != Some(0), "no rate of 0"),
        (l.duration >= Duration::from_secs(1), "duration ≥ 1s"),
        (
            l.request_timeout >= Duration::from_millis(1),
            "request_timeout ≥ 1ms",
        ),
        (
            l.window >= Duration::from_millis(100)
                && l.window <= Duration::from_secs(60)
                && l.window <= l.duration,
            "window in 100ms..=60s and ≤ duration",
        ),
        (l.max_requests >= 1, "max_requests ≥ 1"),
        (!s.requests.is_empty(), "at least one request"),
        (
            s.requests
                .iter()
                .all(|r| (1..=10_000).contains(&r.weight) && !r.name.trim().is_empty()),
            "weights in 1..=10000 and names not blank",
        ),
        (
            s.requests
                .iter()
                .enumerate()
                .all(|(i, r)| s.requests[..i].iter().all(|o| o.name != r.name)),
            "unique request names",
        ),
        (
            thresholds_ordered(&s.gate.thresholds),
            "gate warn ≤ critical",
        ),
        (
            s.gate
                .overrides
                .values()
                .flat_map(|m| m.values())
                .all(thresholds_ordered),
            "override warn ≤ critical",
        ),
        (!s.gate.metrics.is_empty(), "at least one gated metric"),
        (
            s.hash.len() == 64 && s.hash.chars().all(|c| c.is_ascii_hexdigit()),
            "a SHA-256 hex hash",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(format!("invariant broken: {what}")),
        None => Ok(()),
    }
}

/// What every error promises the user: the file, and the key (or the line of a parse error).
fn check_error(e: &ScenarioError) -> Result<(), String> {
    let shown = e.to_string();
    if !shown.contains(FILE) {
        return Err(format!("the message does not name {FILE}: {shown}"));
    }
    match e {
        ScenarioError::Invalid { key, fix, .. } if key.is_empty() || fix.is_empty() => {
            Err(format!("no key or no fix: {shown}"))
        }
        ScenarioError::Invalid { key, .. } if !shown.contains(&format!("`{key}`")) => {
            Err(format!("the message does not name `{key}`: {shown}"))
        }
        ScenarioError::Parse { message, .. }
            if !(message.contains("line ") || message.contains('`')) =>
        {
            Err(format!("a parse error without a line or a key: {shown}"))
        }
        _ => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn from_toml_never_panics_and_is_valid_or_names_the_key(text in scenario_text()) {
        match from_toml(Path::new(FILE), &text, &env) {
            Ok(s) => {
                if let Err(why) = check_invariants(&s) {
                    prop_assert!(false, "{why}\n--- scenario ---\n{text}");
                }
            }
            Err(e) => {
                if let Err(why) = check_error(&e) {
                    prop_assert!(false, "{why}\n--- scenario ---\n{text}");
                }
            }
        }
    }

    /// Arbitrary bytes (as text) never panic the parser either.
    #[test]
    fn from_toml_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = from_toml(Path::new(FILE), &text, &env);
    }
}

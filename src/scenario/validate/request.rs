//! `[[request]]`: what each request sends (method, path, headers, body), how often (weight, phase),
//! which feeders it draws rows from, and the headers and paths `[target]` shares with it.

use std::collections::{BTreeMap, BTreeSet};

use super::context::Ctx;
use super::flow::{captures, checks};
use crate::scenario::file::RequestFile;
use crate::scenario::template::{self, Template, Var};
use crate::scenario::{Method, Phase, RequestSpec, ScenarioError};

pub(super) fn requests(
    cx: &Ctx<'_>,
    list: &[RequestFile],
) -> Result<Vec<RequestSpec>, ScenarioError> {
    check_mix(cx, list)?;
    let mut seen = BTreeSet::new();
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            check_name(cx, i, r, &mut seen)?;
            let mut spec = request(cx, i, r)?;
            feed_implicitly(cx, list, &mut spec);
            Ok(spec)
        })
        .collect()
}

/// At least one request, and at least one that repeats under load.
fn check_mix(cx: &Ctx<'_>, list: &[RequestFile]) -> Result<(), ScenarioError> {
    if list.is_empty() {
        return Err(cx.invalid(
            "request",
            "the scenario sends no requests",
            "add at least one `[[request]]` with a `name` and a `path`",
        ));
    }
    if list
        .iter()
        .all(|r| r.on_start == Some(true) || r.on_stop == Some(true))
    {
        return Err(cx.invalid(
            "request",
            "every request is `on_start` or `on_stop`, so nothing repeats under load",
            "add at least one request without `on_start`/`on_stop` (the weighted mix)",
        ));
    }
    Ok(())
}

/// `request[i].k ("name")`: the index finds the table, the name the request in reports.
fn key(i: usize, r: &RequestFile, k: &str) -> String {
    format!("request[{i}].{k} (\"{}\")", r.name)
}

fn check_name<'r>(
    cx: &Ctx<'_>,
    i: usize,
    r: &'r RequestFile,
    seen: &mut BTreeSet<&'r str>,
) -> Result<(), ScenarioError> {
    if r.name.trim().is_empty() {
        return Err(cx.invalid(
            format!("request[{i}].name"),
            "empty name",
            "give every request a unique name",
        ));
    }
    if !seen.insert(r.name.as_str()) {
        return Err(cx.invalid(
            key(i, r, "name"),
            "duplicate request name",
            "request names must be unique: rename one",
        ));
    }
    Ok(())
}

/// One request, its feeds as written (see [`feed_implicitly`] for the rest).
fn request(cx: &Ctx<'_>, i: usize, r: &RequestFile) -> Result<RequestSpec, ScenarioError> {
    let key = |k: &str| key(i, r, k);
    let method = method(cx, &key("method"), &r.method)?;
    let path = request_path(cx, &key("path"), &r.path)?;
    let weight = r.weight.unwrap_or(1);
    if !(1..=10_000).contains(&weight) {
        return Err(cx.invalid(
            key("weight"),
            format!("weight {weight} is out of range"),
            "use a whole number from 1 to 10000 (remove the request to stop sending it)",
        ));
    }
    let expect_status = r.expect_status.clone().unwrap_or_default();
    if let Some(bad) = expect_status.iter().find(|s| !(100..=599).contains(*s)) {
        return Err(cx.invalid(
            key("expect_status"),
            format!("{bad} is not an HTTP status"),
            "use codes 100-599",
        ));
    }
    let prefix = format!("request[{i}]");
    let headers = headers(cx, &format!("{prefix}.headers"), &r.headers)?;
    let body = r
        .body
        .as_ref()
        .map(|b| cx.template(&key("body"), b))
        .transpose()?;
    let phase = phase(cx, i, r)?;
    let feed = feed(cx, &key("feed"), r)?;
    Ok(RequestSpec {
        name: r.name.clone(),
        method,
        path,
        headers,
        body,
        weight: weight as u32,
        expect_status,
        checks: checks(cx, &prefix, &r.check)?,
        captures: captures(cx, &prefix, &r.capture)?,
        phase,
        feed,
    })
}

fn method(cx: &Ctx<'_>, key: &str, method: &str) -> Result<Method, ScenarioError> {
    match method.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::Get),
        "POST" => Ok(Method::Post),
        "PUT" => Ok(Method::Put),
        "PATCH" => Ok(Method::Patch),
        "DELETE" => Ok(Method::Delete),
        "HEAD" => Ok(Method::Head),
        other => Err(cx.invalid(
            key,
            format!("method `{other}` is not supported"),
            "use GET, POST, PUT, PATCH, DELETE or HEAD",
        )),
    }
}

fn request_path(cx: &Ctx<'_>, key: &str, text: &str) -> Result<Template, ScenarioError> {
    let path = cx.template(key, text)?;
    // The literal text must make a path: a leading `/`, no whitespace. Rendered values are
    // the user's data and are sent as they are.
    let literal: String = path
        .parts()
        .iter()
        .map(|p| match p {
            template::Part::Text(t) => t.as_str(),
            template::Part::Var(_) => "x",
        })
        .collect();
    check_path(cx, key, &literal)?;
    Ok(path)
}

/// The main mix, or once per user on start or on stop (then a weight means nothing).
fn phase(cx: &Ctx<'_>, i: usize, r: &RequestFile) -> Result<Phase, ScenarioError> {
    let phase = match (r.on_start.unwrap_or(false), r.on_stop.unwrap_or(false)) {
        (false, false) => Phase::Main,
        (true, false) => Phase::OnStart,
        (false, true) => Phase::OnStop,
        (true, true) => {
            return Err(cx.invalid(
                key(i, r, "on_start"),
                "a request cannot run both on start and on stop",
                "write two requests",
            ))
        }
    };
    if phase != Phase::Main && r.weight.is_some() {
        return Err(cx.invalid(
            key(i, r, "weight"),
            "on_start/on_stop requests run once per user; a weight means nothing",
            "remove `weight`",
        ));
    }
    Ok(phase)
}

/// `feed = [...]`: the feeders that advance a row when this request is sent, each once.
fn feed(cx: &Ctx<'_>, key: &str, r: &RequestFile) -> Result<Vec<usize>, ScenarioError> {
    let mut feed = Vec::new();
    for name in r.feed.iter().flatten() {
        let f = cx
            .feeders
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| {
                cx.invalid(
                    key,
                    format!("no `[[feeder]]` is named `{name}`"),
                    format!("use one of: {}", feeder_names(cx)),
                )
            })?;
        if !feed.contains(&f) {
            feed.push(f);
        }
    }
    Ok(feed)
}

fn feeder_names(cx: &Ctx<'_>) -> String {
    if cx.feeders.is_empty() {
        return "(no feeders defined)".to_string();
    }
    cx.feeders
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Without an explicit `feed` for a feeder anywhere, every request using it takes a fresh row (the
/// common case: one row per request).
fn feed_implicitly(cx: &Ctx<'_>, list: &[RequestFile], spec: &mut RequestSpec) {
    for f in used_feeders(spec) {
        let explicit = list.iter().any(|o| {
            o.feed
                .iter()
                .flatten()
                .any(|n| Some(n) == cx.feeders.get(f).map(|x| &x.0))
        });
        if !explicit && !spec.feed.contains(&f) {
            spec.feed.push(f);
        }
    }
}

/// Feeders whose columns a request reads.
fn used_feeders(spec: &RequestSpec) -> Vec<usize> {
    let mut out = Vec::new();
    let templates = std::iter::once(&spec.path)
        .chain(spec.headers.iter().map(|(_, v)| v))
        .chain(spec.body.iter());
    for t in templates {
        for v in t.vars() {
            if let Var::Feeder { feeder, .. } = v {
                if !out.contains(&feeder) {
                    out.push(feeder);
                }
            }
        }
    }
    out
}

/// Header names as HTTP allows them, values as templates without a line break in their literal
/// text.
pub(super) fn headers(
    cx: &Ctx<'_>,
    key: &str,
    h: &BTreeMap<String, String>,
) -> Result<Vec<(String, Template)>, ScenarioError> {
    h.iter()
        .map(|(name, value)| {
            let k = format!("{key}.{name}");
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                return Err(cx.invalid(
                    &k,
                    "not a valid HTTP header name",
                    "use letters, digits and `-`",
                ));
            }
            let value = cx.template(&k, value)?;
            let broken = value.parts().iter().any(|p| {
                matches!(p, template::Part::Text(t) if t.chars().any(|c| c == '\r' || c == '\n' || c == '\0'))
            });
            if broken {
                return Err(cx.invalid(&k, "header value contains a line break", "remove it"));
            }
            Ok((name.clone(), value))
        })
        .collect()
}

pub(super) fn check_path(cx: &Ctx<'_>, key: &str, path: &str) -> Result<(), ScenarioError> {
    if !path.starts_with('/') {
        return Err(cx.invalid(
            key,
            format!("path `{path}` does not start with `/`"),
            format!(
                "write `/{}`; the host belongs in `target.base_url`",
                path.trim_start_matches('/')
            ),
        ));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(cx.invalid(
            key,
            "path contains whitespace",
            "percent-encode it (space is %20)",
        ));
    }
    Ok(())
}

//! The flow between requests: `[vars]` constants, `[[feeder]]` CSV rows, `[[request.capture]]`
//! variables and `[[request.check]]` conditions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::context::Ctx;
use crate::scenario::check::{valid_pointer, Capture, CaptureFrom, Check, CheckKind, Pattern};
use crate::scenario::feeder::{read_csv, FeedOrder, FeederSpec, OnEnd, Table};
use crate::scenario::file::{CaptureFile, CheckFile, FeederFile, RequestFile, ScenarioFile};
use crate::scenario::ScenarioError;

/// Reads the names a request template may use (`[vars]`, feeders and their columns, captures) into
/// `cx`, and returns the feeders.
pub(super) fn declare(
    cx: &mut Ctx<'_>,
    file: &ScenarioFile,
) -> Result<Vec<FeederSpec>, ScenarioError> {
    cx.constants = constants(cx, &file.vars)?;
    let feeders = feeders(cx, &file.feeder)?;
    cx.feeders = feeders
        .iter()
        .map(|f| (f.name.clone(), f.columns.clone()))
        .collect();
    cx.captures = capture_names(cx, &file.request)?;
    Ok(feeders)
}

/// A name usable as `${name}`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn constants(
    cx: &Ctx<'_>,
    vars: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ScenarioError> {
    vars.iter()
        .map(|(name, value)| {
            let key = format!("vars.{name}");
            if !plain_name(name) || name == "user" || name == "env" {
                return Err(cx.invalid(
                    &key,
                    format!("`{name}` cannot name a variable"),
                    "use letters, digits, `_` and `-` (not `user` or `env`)",
                ));
            }
            Ok((name.clone(), cx.expand(&key, value)?))
        })
        .collect()
}

fn feeders(cx: &Ctx<'_>, list: &[FeederFile]) -> Result<Vec<FeederSpec>, ScenarioError> {
    let mut out: Vec<FeederSpec> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let key = |k: &str| format!("feeder[{i}].{k}");
        if !plain_name(&f.name) || f.name == "user" || f.name == "env" {
            return Err(cx.invalid(
                key("name"),
                format!("`{}` cannot name a feeder", f.name),
                "use letters, digits, `_` and `-` (not `user` or `env`)",
            ));
        }
        if out.iter().any(|o| o.name == f.name) || cx.constants.contains_key(&f.name) {
            return Err(cx.invalid(
                key("name"),
                format!("`{}` is already a feeder or a `[vars]` name", f.name),
                "give every feeder its own name",
            ));
        }
        let order = feed_order(cx, &key("order"), f.order.as_deref())?;
        let on_end = on_end(cx, &key("on_end"), f.on_end.as_deref())?;
        let (path, (columns, rows)) = feeder_rows(cx, &key("file"), f)?;
        out.push(FeederSpec {
            name: f.name.clone(),
            path,
            columns,
            rows: std::sync::Arc::new(rows),
            order,
            on_end,
        });
    }
    Ok(out)
}

fn feed_order(cx: &Ctx<'_>, key: &str, order: Option<&str>) -> Result<FeedOrder, ScenarioError> {
    match order.unwrap_or("sequential") {
        "sequential" => Ok(FeedOrder::Sequential),
        "random" => Ok(FeedOrder::Random),
        "unique" => Ok(FeedOrder::Unique),
        other => Err(cx.invalid(
            key,
            format!("unknown order `{other}`"),
            "use \"sequential\", \"random\" or \"unique\" (each user its own rows)",
        )),
    }
}

fn on_end(cx: &Ctx<'_>, key: &str, on_end: Option<&str>) -> Result<OnEnd, ScenarioError> {
    match on_end.unwrap_or("recycle") {
        "recycle" => Ok(OnEnd::Recycle),
        "stop" => Ok(OnEnd::Stop),
        other => Err(cx.invalid(
            key,
            format!("unknown value `{other}`"),
            "use \"recycle\" (start again) or \"stop\" (end the run)",
        )),
    }
}

/// The feeder's CSV file, relative to the scenario file and read now (a bad file fails before any
/// load), with columns usable as `${feeder.column}`.
fn feeder_rows(cx: &Ctx<'_>, key: &str, f: &FeederFile) -> Result<(PathBuf, Table), ScenarioError> {
    let file = cx.expand(key, &f.file)?;
    let path = cx
        .path
        .parent()
        .map(|dir| dir.join(&file))
        .unwrap_or_else(|| file.clone().into());
    let (columns, rows) =
        read_csv(&path).map_err(|(problem, fix)| cx.invalid(key, problem, fix))?;
    if let Some(bad) = columns.iter().find(|c| !plain_name(c)) {
        return Err(cx.invalid(
            key,
            format!("column `{bad}` cannot be used as `${{{}.{bad}}}`", f.name),
            "rename the column in the header row: letters, digits, `_` and `-`",
        ));
    }
    Ok((path, (columns, rows)))
}

/// Every variable some request captures, in first-capture order (its slot).
fn capture_names(cx: &Ctx<'_>, list: &[RequestFile]) -> Result<Vec<String>, ScenarioError> {
    let mut names: Vec<String> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        for (j, c) in r.capture.iter().enumerate() {
            let key = format!("request[{i}].capture[{j}].var (\"{}\")", r.name);
            if !plain_name(&c.var) || c.var == "user" || c.var == "env" {
                return Err(cx.invalid(
                    key,
                    format!("`{}` cannot name a variable", c.var),
                    "use letters, digits, `_` and `-` (not `user` or `env`)",
                ));
            }
            if cx.constants.contains_key(&c.var) {
                return Err(cx.invalid(
                    key,
                    format!("`{}` is also a constant in `[vars]`", c.var),
                    "rename the capture or the constant",
                ));
            }
            if !names.contains(&c.var) {
                names.push(c.var.clone());
            }
        }
    }
    Ok(names)
}

pub(super) fn checks(
    cx: &Ctx<'_>,
    prefix: &str,
    list: &[CheckFile],
) -> Result<Vec<Check>, ScenarioError> {
    let mut out: Vec<Check> = Vec::new();
    for (j, c) in list.iter().enumerate() {
        let key = format!("{prefix}.check[{j}]");
        check_shape(cx, &key, c)?;
        let (kind, default_name) = check_kind(cx, &key, c)?;
        let name = c.name.clone().unwrap_or(default_name);
        if name.trim().is_empty() || out.iter().any(|o| o.name == name) {
            return Err(cx.invalid(
                format!("{key}.name"),
                "empty or repeated check name",
                "give each check of a request its own `name`",
            ));
        }
        out.push(Check { name, kind });
    }
    Ok(out)
}

/// Exactly one kind of check, and `equals`/`contains` only where they mean something.
fn check_shape(cx: &Ctx<'_>, key: &str, c: &CheckFile) -> Result<(), ScenarioError> {
    let kinds = [
        c.status.is_some(),
        c.header.is_some(),
        c.body_contains.is_some(),
        c.body_not_contains.is_some(),
        c.json.is_some(),
        c.max_body_bytes.is_some(),
    ];
    let fix = "a check has exactly one of `status`, `header`, `body_contains`, `body_not_contains`, `json`, `max_body_bytes`";
    match kinds.iter().filter(|k| **k).count() {
        0 => return Err(cx.invalid(key, "checks nothing", fix)),
        1 => {}
        _ => {
            return Err(cx.invalid(
                key,
                "more than one kind of check",
                format!("{fix}; write one `[[request.check]]` per condition"),
            ))
        }
    }
    let modifiers_ok = match (&c.header, &c.json) {
        (Some(_), _) => true,
        (None, Some(_)) => c.contains.is_none(),
        (None, None) => c.equals.is_none() && c.contains.is_none(),
    };
    if !modifiers_ok {
        return Err(cx.invalid(
            key,
            "`equals`/`contains` do not apply to this check",
            "use `equals`/`contains` with `header`, and `equals` with `json`",
        ));
    }
    Ok(())
}

/// The check [`check_shape`] let through, and the name it gets when the user gives none.
fn check_kind(
    cx: &Ctx<'_>,
    key: &str,
    c: &CheckFile,
) -> Result<(CheckKind, String), ScenarioError> {
    if let Some(codes) = &c.status {
        status_check(cx, key, codes)
    } else if let Some(h) = &c.header {
        header_check(cx, key, h, c)
    } else if let Some(t) = &c.body_contains {
        Ok((
            CheckKind::BodyContains(t.clone()),
            format!("body contains {t:?}"),
        ))
    } else if let Some(t) = &c.body_not_contains {
        Ok((
            CheckKind::BodyNotContains(t.clone()),
            format!("body lacks {t:?}"),
        ))
    } else if let Some(p) = &c.json {
        json_check(cx, key, p, c)
    } else {
        let n = c.max_body_bytes.unwrap_or_default();
        Ok((CheckKind::MaxBodyBytes(n), format!("body ≤ {n} bytes")))
    }
}

fn status_check(
    cx: &Ctx<'_>,
    key: &str,
    codes: &[u16],
) -> Result<(CheckKind, String), ScenarioError> {
    if codes.is_empty() || codes.iter().any(|s| !(100..=599).contains(s)) {
        return Err(cx.invalid(
            format!("{key}.status"),
            "not a list of HTTP statuses",
            "e.g. `status = [200, 201]`",
        ));
    }
    let list = codes
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join("|");
    Ok((CheckKind::Status(codes.to_vec()), format!("status {list}")))
}

fn header_check(
    cx: &Ctx<'_>,
    key: &str,
    h: &str,
    c: &CheckFile,
) -> Result<(CheckKind, String), ScenarioError> {
    let equals = match &c.equals {
        None => None,
        Some(toml::Value::String(v)) => Some(v.clone()),
        Some(_) => {
            return Err(cx.invalid(
                format!("{key}.equals"),
                "a header value is text",
                "quote it: `equals = \"...\"`",
            ))
        }
    };
    let name = match (&equals, &c.contains) {
        (Some(v), _) => format!("header {h} = {v}"),
        (None, Some(v)) => format!("header {h} contains {v}"),
        (None, None) => format!("header {h} present"),
    };
    let kind = CheckKind::Header {
        name: h.to_ascii_lowercase(),
        equals,
        contains: c.contains.clone(),
    };
    Ok((kind, name))
}

fn json_check(
    cx: &Ctx<'_>,
    key: &str,
    p: &str,
    c: &CheckFile,
) -> Result<(CheckKind, String), ScenarioError> {
    if !valid_pointer(p) {
        return Err(cx.invalid(
            format!("{key}.json"),
            format!("`{p}` is not a JSON pointer"),
            "write it as in RFC 6901, e.g. \"/items/0/id\" (`~1` for `/`, `~0` for `~`)",
        ));
    }
    let equals = c
        .equals
        .as_ref()
        .map(|v| {
            serde_json::to_value(v).map_err(|e| {
                cx.invalid(
                    format!("{key}.equals"),
                    e.to_string(),
                    "use a string, number or boolean",
                )
            })
        })
        .transpose()?;
    let name = match &equals {
        Some(v) => format!("json {p} = {v}"),
        None => format!("json {p} exists"),
    };
    let kind = CheckKind::Json {
        pointer: p.to_string(),
        equals,
    };
    Ok((kind, name))
}

pub(super) fn captures(
    cx: &Ctx<'_>,
    prefix: &str,
    list: &[CaptureFile],
) -> Result<Vec<Capture>, ScenarioError> {
    list.iter()
        .enumerate()
        .map(|(j, c)| {
            let key = format!("{prefix}.capture[{j}]");
            let slot = cx.captures.iter().position(|n| n == &c.var).unwrap_or_default();
            let pattern = c
                .regex
                .as_ref()
                .map(|r| {
                    Pattern::new(r).map_err(|e| {
                        cx.invalid(format!("{key}.regex"), format!("not a valid regular expression: {e}"), "fix the pattern (Rust regex syntax); the first group `( )` is captured")
                    })
                })
                .transpose()?;
            let from = match (&c.json, &c.header, pattern) {
                (Some(p), None, None) => {
                    if !valid_pointer(p) {
                        return Err(cx.invalid(format!("{key}.json"), format!("`{p}` is not a JSON pointer"), "write it as in RFC 6901, e.g. \"/token\""));
                    }
                    CaptureFrom::Json(p.clone())
                }
                (None, Some(h), pattern) => CaptureFrom::Header(h.to_ascii_lowercase(), pattern),
                (None, None, Some(pattern)) => CaptureFrom::Body(pattern),
                _ => {
                    return Err(cx.invalid(
                        &key,
                        "no single source to capture from",
                        "set `json` (a pointer), `header` (optionally with `regex`), or `regex` alone (over the body)",
                    ))
                }
            };
            Ok(Capture { slot, from })
        })
        .collect()
}

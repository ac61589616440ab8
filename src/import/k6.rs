//! k6 `--out json`: one JSON object per line. `http_req_duration` points (ms) become requests in
//! per-second windows by their timestamps, rows come from the `name` tag (k6 sets it to the URL
//! unless the script names the request), and `http_req_failed` points mark the failed ones.

use std::collections::HashMap;

use serde::Deserialize;

use crate::import::build::{self, Event, Origin};
use crate::import::{Context, ImportError, Input};
use crate::result::imported::Format;
use crate::result::RunResult;

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    metric: String,
    data: serde_json::Value,
}

#[derive(Deserialize)]
struct Point {
    time: String,
    value: f64,
    #[serde(default)]
    tags: Option<HashMap<String, serde_json::Value>>,
}

/// Parses one or more k6 JSON outputs (their points together).
pub fn parse(inputs: &[Input], ctx: &Context) -> Result<RunResult, ImportError> {
    let mut events: Vec<Event> = Vec::new();
    // Requests by (name, exact timestamp): k6 stamps a request's duration and failed points alike.
    let mut by_key: HashMap<(String, String), Vec<usize>> = HashMap::new();
    let mut failed: Vec<(String, String, usize, &Input)> = Vec::new();
    for input in inputs {
        let text = std::str::from_utf8(&input.bytes).map_err(|e| {
            ImportError::file(
                &input.path,
                format!("not UTF-8 text ({e}): not a k6 JSON output"),
            )
        })?;
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        for (k, raw) in lines.iter().enumerate() {
            let at = format!("line {}", k + 1);
            if raw.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(raw).map_err(|e| {
                let last = k + 1 == lines.len() && !complete;
                let problem = if last || e.is_eof() {
                    format!("the line is cut short: the file is truncated ({e})")
                } else {
                    format!(
                        "not a k6 JSON output line ({e}); write one with `k6 run --out json=FILE`"
                    )
                };
                ImportError::at(&input.path, at.clone(), problem)
            })?;
            if line.kind != "Point" {
                continue;
            }
            if line.metric != "http_req_duration" && line.metric != "http_req_failed" {
                continue;
            }
            let p: Point = serde_json::from_value(line.data).map_err(|e| {
                ImportError::at(
                    &input.path,
                    at.clone(),
                    format!(
                        "a {} point without its time, value or tags ({e})",
                        line.metric
                    ),
                )
            })?;
            let tag = |t: &str| {
                p.tags
                    .as_ref()
                    .and_then(|tags| tags.get(t))
                    .and_then(|v| match v {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Null => None,
                        other => Some(other.to_string()),
                    })
            };
            let name = tag("name").or_else(|| tag("url")).ok_or_else(|| {
                ImportError::at(&input.path, at.clone(), "the point has neither a `name` nor a `url` tag, so its request cannot be named")
            })?;
            if line.metric == "http_req_failed" {
                if p.value != 0.0 {
                    failed.push((name, p.time, k + 1, input));
                }
                continue;
            }
            let t = chrono::DateTime::parse_from_rfc3339(&p.time).map_err(|e| {
                ImportError::at(
                    &input.path,
                    format!("{at}, field \"time\""),
                    format!("`{}` is not an RFC 3339 time ({e})", p.time),
                )
            })?;
            if !(p.value.is_finite() && p.value >= 0.0) {
                return Err(ImportError::at(
                    &input.path,
                    format!("{at}, field \"value\""),
                    format!("{} is not a duration in milliseconds", p.value),
                ));
            }
            by_key
                .entry((name.clone(), p.time.clone()))
                .or_default()
                .push(events.len());
            events.push(Event {
                t_ms: t.timestamp_millis(),
                name,
                latency_us: (p.value * 1e3).round() as u64,
                failed: false,
                status: tag("status"),
            });
        }
    }
    for (name, time, line, input) in failed {
        let slot = by_key.get_mut(&(name.clone(), time)).and_then(|v| {
            v.iter()
                .position(|&i| !events[i].failed)
                .map(|p| v.remove(p))
        });
        let Some(i) = slot else {
            return Err(ImportError::at(
                &input.path,
                format!("line {line}"),
                format!("an http_req_failed point for `{name}` has no http_req_duration point with the same time and name: the file is incomplete or was edited"),
            ));
        };
        events[i].failed = true;
    }
    let origin = Origin {
        format: Format::K6,
        tool_version: None,
        sources: inputs
            .iter()
            .map(|i| i.path.display().to_string())
            .collect(),
        ctx,
    };
    build::from_events(&events, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testing::{ctx, fixture, text};

    #[test]
    fn points_become_named_rows_in_per_second_windows() {
        let r = parse(&[fixture("k6.ndjson")], &ctx()).unwrap();
        assert_eq!(
            r.requests.keys().collect::<Vec<_>>(),
            ["GET /api/items", "POST /api/orders"]
        );
        let items = &r.requests["GET /api/items"];
        assert_eq!(items.requests, 24);
        assert_eq!(r.all.windows.len(), 12);
        assert_eq!(items.status_codes.get("200"), Some(&23));
        let orders = &r.requests["POST /api/orders"];
        assert_eq!(orders.errors.total(), 2);
        assert_eq!(orders.errors.status, 2);
        assert_eq!(r.meta.started_at, "2026-12-01T10:00:00.235Z");
        assert!(r.all.latency.p50_us > 10_000, "{:?}", r.all.latency);
        crate::baseline::consistency::check(&r).unwrap();
    }

    #[test]
    fn broken_lines_are_named() {
        let dur = r#"{"type":"Point","metric":"http_req_duration","data":{"time":"2026-12-01T10:00:00Z","value":12.5,"tags":{"name":"a","status":"200"}}}"#;
        let cases = [
            (format!("{dur}\n{{\"type\":\"Point\",\"metric\":\"http_req_dur"), "line 2", "truncated"),
            (format!("{dur}\nhello\n{dur}\n"), "line 2", "not a k6 JSON output line"),
            (
                r#"{"type":"Point","metric":"http_req_duration","data":{"time":"yesterday","value":1,"tags":{"name":"a"}}}"#.to_string() + "\n",
                "line 1, field \"time\"",
                "not an RFC 3339 time",
            ),
            (
                r#"{"type":"Point","metric":"http_req_duration","data":{"time":"2026-12-01T10:00:00Z","value":1,"tags":{}}}"#.to_string() + "\n",
                "line 1",
                "neither a `name` nor a `url` tag",
            ),
            (
                format!("{dur}\n{}\n", r#"{"type":"Point","metric":"http_req_failed","data":{"time":"2026-12-01T10:00:09Z","value":1,"tags":{"name":"a"}}}"#),
                "line 2",
                "no http_req_duration point",
            ),
        ];
        for (body, at, want) in cases {
            let e = parse(&[text("out.json", &body)], &ctx())
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("out.json, {at}")) && e.contains(want),
                "{body}: {e}"
            );
        }
    }

    #[test]
    fn a_file_without_request_points_is_empty() {
        let body = r#"{"type":"Metric","data":{"name":"vus","type":"gauge","contains":"default","thresholds":[],"submetrics":null},"metric":"vus"}"#;
        let e = parse(&[text("out.json", body)], &ctx())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing to import"), "{e}");
    }
}

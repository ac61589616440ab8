//! Apache JMeter JTL in CSV (with its header line): `timeStamp` (ms since the epoch), `elapsed`
//! (ms), `label` (the row) and `success`; `responseCode` when present. Samples become requests
//! in per-second windows by their timestamps.

use crate::import::build::{self, Event, Origin};
use crate::import::{Context, ImportError, Input};
use crate::result::imported::Format;
use crate::result::RunResult;

/// Parses one or more JTL files (their samples together).
pub fn parse(inputs: &[Input], ctx: &Context) -> Result<RunResult, ImportError> {
    let mut events = Vec::new();
    for input in inputs {
        read(input, &mut events)?;
    }
    let origin = Origin {
        format: Format::Jmeter,
        tool_version: None,
        sources: inputs
            .iter()
            .map(|i| i.path.display().to_string())
            .collect(),
        ctx,
    };
    build::from_events(&events, &origin)
}

fn read(input: &Input, events: &mut Vec<Event>) -> Result<(), ImportError> {
    let path = &input.path;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(input.bytes.as_slice());
    let header = reader
        .headers()
        .map_err(|e| ImportError::at(path, "line 1", format!("not a CSV header ({e})")))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let need = |name: &str| {
        column(name).ok_or_else(|| {
            ImportError::at(
                path,
                "line 1",
                format!("the header has no `{name}` column: not a JMeter JTL in CSV with its header (set `jmeter.save.saveservice.print_field_names=true`)"),
            )
        })
    };
    let (ts, elapsed, label, success) = (
        need("timeStamp")?,
        need("elapsed")?,
        need("label")?,
        need("success")?,
    );
    let code = column("responseCode");
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            ImportError::at(
                path,
                format!("line {line}"),
                format!("a malformed CSV record ({e}): the file is truncated or not a JTL"),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize, name: &str| {
            record.get(i).ok_or_else(|| {
                ImportError::at(path, format!("line {line}, field `{name}`"), "missing")
            })
        };
        let t_ms: i64 = field(ts, "timeStamp")?.trim().parse().map_err(|_| {
            ImportError::at(
                path,
                format!("line {line}, field `timeStamp`"),
                format!("`{}` is not milliseconds since the epoch; write JTLs with `jmeter.save.saveservice.timestamp_format=ms`", record.get(ts).unwrap_or_default()),
            )
        })?;
        let ms: u64 = field(elapsed, "elapsed")?.trim().parse().map_err(|_| {
            ImportError::at(
                path,
                format!("line {line}, field `elapsed`"),
                format!(
                    "`{}` is not a whole number of milliseconds",
                    record.get(elapsed).unwrap_or_default()
                ),
            )
        })?;
        let ok = match field(success, "success")?.trim() {
            "true" => true,
            "false" => false,
            other => {
                return Err(ImportError::at(
                    path,
                    format!("line {line}, field `success`"),
                    format!("`{other}` is neither `true` nor `false`"),
                ))
            }
        };
        let status = code
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string);
        events.push(Event {
            t_ms,
            name: field(label, "label")?.to_string(),
            latency_us: ms.saturating_mul(1000),
            failed: !ok,
            status,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testing::{ctx, fixture, text};

    #[test]
    fn samples_become_labelled_rows() {
        let r = parse(&[fixture("jmeter.jtl")], &ctx()).unwrap();
        assert_eq!(
            r.requests.keys().collect::<Vec<_>>(),
            ["Home", "Login", "Search"]
        );
        assert_eq!(r.all.requests, 36);
        assert_eq!(r.requests["Login"].errors.total(), 1);
        // A connection refused has no HTTP status: an error of another kind.
        assert_eq!(r.requests["Search"].errors.other, 1);
        assert_eq!(r.all.windows.len(), 12);
        crate::baseline::consistency::check(&r).unwrap();
    }

    #[test]
    fn broken_records_are_named() {
        let head = "timeStamp,elapsed,label,responseCode,success\n";
        let cases = [
            (
                "elapsed,label\n1,a\n".to_string(),
                "line 1",
                "no `timeStamp` column",
            ),
            (
                format!("{head}1764583200000,12,Home,200,true\n1764583200100,12,Home\n"),
                "line 3",
                "malformed CSV record",
            ),
            (
                format!("{head}2026/12/01 10:00:00,12,Home,200,true\n"),
                "line 2, field `timeStamp`",
                "timestamp_format=ms",
            ),
            (
                format!("{head}1764583200000,1.5,Home,200,true\n"),
                "line 2, field `elapsed`",
                "whole number",
            ),
            (
                format!("{head}1764583200000,12,Home,200,yes\n"),
                "line 2, field `success`",
                "neither",
            ),
        ];
        for (body, at, want) in cases {
            let e = parse(&[text("r.jtl", &body)], &ctx())
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("r.jtl, {at}")) && e.contains(want),
                "{body}: {e}"
            );
        }
        let e = parse(&[text("r.jtl", head)], &ctx())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing to import"), "{e}");
    }
}

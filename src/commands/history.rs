//! `loadgate history`: its flags, validated, then [`crate::pipeline::history::show`].

use std::time::Duration;

use crate::cli::HistoryArgs;
use crate::error::Error;
use crate::history::{self, retention::Retention};
use crate::pipeline::history::Shown;
use crate::scenario::units::parse_duration;

/// The validated flags.
fn options(a: HistoryArgs) -> Result<Shown, Error> {
    let HistoryArgs {
        scenarios,
        dir,
        metrics,
        last,
        format,
        keep,
        max_age,
    } = a;
    let max_age: Option<Duration> = max_age
        .map(|text| {
            parse_duration(&text).map_err(|e| Error::Flag {
                flag: "--max-age",
                problem: format!("{e}; e.g. --max-age 90d or --max-age 2w"),
            })
        })
        .transpose()?;
    let mut metrics = if metrics.is_empty() {
        history::DEFAULT_METRICS.to_vec()
    } else {
        metrics
    };
    let mut seen = std::collections::BTreeSet::new();
    metrics.retain(|m| seen.insert(*m));
    Ok(Shown {
        dir,
        scenarios,
        metrics,
        last: last.map(|n| n as usize),
        format: format.format(),
        retention: Retention {
            keep: keep.map(|n| n as usize),
            max_age,
        },
    })
}

pub fn run(args: HistoryArgs) -> Result<u8, Error> {
    crate::pipeline::history::show(options(args)?)
}

//! Values with units as users write them: durations (`"250ms"`), percentages (`"10%"`).
//!
//! Pure parsing shared by scenario files and command-line flags. A bare number is refused on purpose:
//! `timeout = 5` is ambiguous, `timeout = "5s"` is not.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A value with a unit could not be parsed; the message says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// Not a duration.
    #[error("`{0}` is not a duration; write a number and a unit, e.g. \"250ms\", \"5s\", \"2m\" (units: us, ms, s, m, h)")]
    Duration(String),
    /// Not a percentage.
    #[error("`{0}` is not a percentage; write a number and %, e.g. \"10%\" or \"0.5%\"")]
    Percent(String),
}

/// Parses `"250us"`, `"5ms"`, `"1.5s"`, `"2m"`, `"1h"`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let err = || UnitError::Duration(text.to_string());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(err)?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| err())?;
    let micros_per_unit = match unit.trim() {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        _ => return Err(err()),
    };
    let micros = value * micros_per_unit;
    if !micros.is_finite() || !(0.0..=1e15).contains(&micros) {
        return Err(err());
    }
    Ok(Duration::from_micros(micros.round() as u64))
}

/// Formats a duration the way users write one: `1.5s`, `250ms`, `80us`.
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 60_000_000 && us % 60_000_000 == 0 {
        format!("{}m", us / 60_000_000)
    } else if us >= 1_000_000 {
        trim_float(us as f64 / 1e6, "s")
    } else if us >= 1_000 {
        trim_float(us as f64 / 1e3, "ms")
    } else {
        format!("{us}us")
    }
}

/// Formats µs for a report: `850us`, `12.3ms`, `1.20s`.
pub fn format_micros(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2}s", us / 1e6)
    } else if us >= 1e4 {
        format!("{:.1}ms", us / 1e3)
    } else if us >= 1e3 {
        format!("{:.2}ms", us / 1e3)
    } else if us >= 10.0 || us.fract() == 0.0 {
        format!("{us:.0}us")
    } else if us >= 1.0 {
        // Micro-benchmarks: a few µs per iteration needs its decimals.
        format!("{us:.2}us")
    } else {
        format!("{:.1}ns", us * 1e3)
    }
}

fn trim_float(v: f64, unit: &str) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

/// A percentage, kept as a fraction (`"10%"` is 0.10).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Percent(f64);

impl Percent {
    /// From a fraction (0.1 for 10%).
    pub const fn from_fraction(f: f64) -> Self {
        Self(f)
    }

    /// As a fraction (0.1 for 10%).
    pub const fn fraction(self) -> f64 {
        self.0
    }
}

impl FromStr for Percent {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::Percent(text.to_string());
        let num = text.trim().strip_suffix('%').ok_or_else(err)?;
        let v: f64 = num.trim().parse().map_err(|_| err())?;
        if !v.is_finite() || v < 0.0 {
            return Err(err());
        }
        Ok(Self(v / 100.0))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{:.2}", self.0 * 100.0);
        write!(f, "{}%", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("250us", 250),
            ("5ms", 5_000),
            ("1.5s", 1_500_000),
            ("2m", 120_000_000),
            ("1h", 3_600_000_000),
            (" 3s ", 3_000_000),
        ];
        for (text, us) in ok {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_micros(us),
                "{text}"
            );
        }
        for bad in ["5", "s", "5 parsecs", "-1s", "1e400s", "", "15mins"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_format_back() {
        for text in ["250us", "5ms", "1.5s", "2m", "30s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn percents() {
        assert_eq!("10%".parse::<Percent>().unwrap().fraction(), 0.10);
        assert_eq!("0.5%".parse::<Percent>().unwrap().fraction(), 0.005);
        assert_eq!("12.5%".parse::<Percent>().unwrap().to_string(), "12.5%");
        for bad in ["10", "-5%", "abc%", "%"] {
            assert!(bad.parse::<Percent>().is_err(), "{bad}");
        }
    }
}

//! Values with units as users write them: durations (`"250ms"`, `"90d"`), percentages (`"10%"`).
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
    #[error("`{0}` is not a duration; write a number and a unit, e.g. \"250ms\", \"5s\", \"2m\" (units: us, ms, s, m, h, d, w)")]
    Duration(String),
    /// Not a percentage.
    #[error("`{0}` is not a percentage; write a number and %, e.g. \"10%\" or \"0.5%\"")]
    Percent(String),
}

const MINUTE_US: u64 = 60_000_000;
const DAY_US: u64 = 86_400_000_000;

/// Microseconds in one of each unit a duration may be written in.
const UNITS: [(&str, u64); 9] = [
    ("us", 1),
    ("µs", 1),
    ("ms", 1_000),
    ("s", 1_000_000),
    ("m", MINUTE_US),
    ("min", MINUTE_US),
    ("h", 3_600_000_000),
    ("d", DAY_US),
    ("w", 7 * DAY_US),
];

/// The longest duration accepted: a million days, far beyond any load or history bound, well
/// within what a [`Duration`] and a date can hold.
pub const MAX_DURATION: Duration = Duration::from_secs(1_000_000 * 86_400);

/// Decimals read; more cannot move the result by a microsecond (a week is 6.048e11 µs).
const MAX_DECIMALS: usize = 20;

/// Parses a duration as users write it, the one parser of every duration a scenario, a watch
/// file, a suite or a flag holds: a non-negative number (decimals allowed, `1.5s`) and one unit,
/// `us` (or `µs`), `ms`, `s`, `m` (or `min`), `h`, `d` (days) or `w` (weeks), up to
/// [`MAX_DURATION`], rounded to the microsecond.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let err = || UnitError::Duration(text.to_string());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(err)?;
    let (num, unit) = t.split_at(split);
    let per_unit = UNITS
        .iter()
        .find(|(name, _)| *name == unit.trim())
        .map(|(_, us)| *us)
        .ok_or_else(err)?;
    let micros = scaled(num, per_unit)
        .filter(|us| *us <= MAX_DURATION.as_micros())
        .ok_or_else(err)?;
    Ok(Duration::from_micros(micros as u64))
}

/// `num` (digits with at most one `.`) times `per_unit`, rounded half up, in integers so that what
/// [`format_duration`] writes reads back exactly.
fn scaled(num: &str, per_unit: u64) -> Option<u128> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let frac = &frac[..frac.len().min(MAX_DECIMALS)];
    let mut n: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        n = n.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
    }
    let scale = 10u128.pow(frac.len() as u32);
    Some(
        n.checked_mul(u128::from(per_unit))?
            .checked_add(scale / 2)?
            / scale,
    )
}

/// Formats a duration the way users write one, exactly to the microsecond: `90d`, `2m`, `1.5s`,
/// `250ms`, `80us`. [`parse_duration`] reads it back to the same value.
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    let (day, minute) = (u128::from(DAY_US), u128::from(MINUTE_US));
    if us >= day && us % day == 0 {
        format!("{}d", us / day)
    } else if us >= minute && us % minute == 0 {
        format!("{}m", us / minute)
    } else if us >= 1_000_000 {
        decimal(us, 1_000_000, "s")
    } else if us >= 1_000 {
        decimal(us, 1_000, "ms")
    } else {
        format!("{us}us")
    }
}

/// `us` in units of `per` µs (a power of ten), with as many decimals as it needs.
fn decimal(us: u128, per: u128, unit: &str) -> String {
    let (whole, frac) = (us / per, us % per);
    if frac == 0 {
        return format!("{whole}{unit}");
    }
    let width = per.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}{unit}", digits.trim_end_matches('0'))
}

pub use crate::result::metric::format_micros;

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
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("250us", 250),
            ("250µs", 250),
            ("5ms", 5_000),
            ("1.5s", 1_500_000),
            ("2m", 120_000_000),
            ("2min", 120_000_000),
            ("1h", 3_600_000_000),
            ("90d", 90 * 86_400_000_000),
            ("1.5d", 36 * 3_600_000_000),
            ("2w", 14 * 86_400_000_000),
            (" 3s ", 3_000_000),
            ("3 s", 3_000_000),
            ("5.s", 5_000_000),
            (".5s", 500_000),
            ("0s", 0),
        ];
        for (text, us) in ok {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_micros(us),
                "{text}"
            );
        }
        let bad = [
            "5",
            "s",
            ".s",
            "5 parsecs",
            "-1s",
            "-1d",
            "1e400s",
            "",
            "15mins",
            "1y",
            "1.2.3s",
            "nand",
            "d",
        ];
        for bad in bad {
            assert_eq!(
                parse_duration(bad),
                Err(UnitError::Duration(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_are_exact_to_the_microsecond() {
        let us = |text| parse_duration(text).unwrap().as_micros();
        assert_eq!(us("1.000001s"), 1_000_001);
        assert_eq!(us("123456789.123456s"), 123_456_789_123_456);
        // Below a microsecond, half rounds up.
        assert_eq!(us("0.0000005s"), 1);
        assert_eq!(us("0.00000049999s"), 0);
        // Leading zeros and long decimals are read, not overflowed.
        assert_eq!(us("0000000000000000000000000000000000000000001ms"), 1_000);
        assert_eq!(us("0.333333333333333333333333333333h"), 1_200_000_000);
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(parse_duration("1000000d").unwrap(), MAX_DURATION);
        for bad in [
            "1000001d",
            "142858w",
            "99999999999999999999999999999999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_error_names_every_unit_and_an_example() {
        let message = parse_duration("10").unwrap_err().to_string();
        assert!(message.starts_with("`10` is not a duration"), "{message}");
        assert!(message.contains("e.g. \"250ms\""), "{message}");
        assert!(
            message.contains("units: us, ms, s, m, h, d, w"),
            "{message}"
        );
    }

    #[test]
    fn durations_format_back() {
        for text in [
            "250us", "5ms", "1.5s", "2m", "30s", "90d", "1.2345s", "1.001ms",
        ] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        // Whole hours stay in minutes and whole weeks in days, as reports have always shown them.
        assert_eq!(format_duration(Duration::from_secs(3_600)), "60m");
        assert_eq!(format_duration(Duration::from_secs(14 * 86_400)), "14d");
    }

    /// Round values in every unit, else any microsecond count up to the bound.
    fn duration() -> impl Strategy<Value = Duration> {
        let max_us = MAX_DURATION.as_micros() as u64;
        let round = (0u64..100_000, prop::sample::select(UNITS.to_vec()))
            .prop_map(move |(n, (_, per))| (n * per).min(max_us));
        prop_oneof![round, 0..=max_us, 0u64..10_000_000].prop_map(Duration::from_micros)
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_the_same_duration(d in duration()) {
            let text = format_duration(d);
            prop_assert_eq!(parse_duration(&text), Ok(d), "{}", text);
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

//! Sharded runs: which part of a distributed run a result is (`run --shard i/N`), and where the parts
//! of a merged result came from. Plain data of stage 3; `load` splits the load, `merge` adds results.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::result::Host;

/// One worker of N: `index` is 1-based (`1/3`, `2/3`, `3/3`), like a CI matrix; a Kubernetes Indexed
/// Job's 0-based `JOB_COMPLETION_INDEX` becomes `$((JOB_COMPLETION_INDEX+1))/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// This worker, in 1..=count.
    pub index: u32,
    /// Workers in the whole run.
    pub count: u32,
}

/// The most workers one run may be split into: far more than any CI matrix (GitHub caps a matrix at
/// 256 jobs), and small enough that a typo such as `1/30000` is caught.
pub const MAX_SHARDS: u32 = 1_000;

impl Shard {
    /// `value / count` with the remainder spread over the first shards, so the shares add up to
    /// `value` exactly.
    pub fn share(&self, value: u64) -> u64 {
        let n = u64::from(self.count.max(1));
        value / n + u64::from(u64::from(self.index) <= value % n)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |problem: &str| ShardParseError {
            value: s.to_string(),
            problem: problem.to_string(),
        };
        let (i, n) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| bad("expected INDEX/COUNT, e.g. `2/4`"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| bad("INDEX is not a whole number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| bad("COUNT is not a whole number"))?;
        if count == 0 || count > MAX_SHARDS {
            return Err(bad(&format!("COUNT must be in 1..={MAX_SHARDS}")));
        }
        if index == 0 {
            return Err(bad(
                "INDEX is 1-based (1..=COUNT); from a Kubernetes Indexed Job use `$((JOB_COMPLETION_INDEX+1))/COUNT`",
            ));
        }
        if index > count {
            return Err(bad(&format!(
                "INDEX must be in 1..={count}: the shards of a {count}-way run are `1/{count}` to `{count}/{count}`"
            )));
        }
        Ok(Shard { index, count })
    }
}

/// `--shard` is not `INDEX/COUNT` with 1 ≤ INDEX ≤ COUNT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}`: {problem}")]
pub struct ShardParseError {
    /// What was given.
    pub value: String,
    /// What is wrong and the fix.
    pub problem: String,
}

/// How a merged result was put together (`loadgate merge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeInfo {
    /// Workers the run was split into.
    pub shard_count: u32,
    /// The shards merged, in shard order.
    pub shards: Vec<ShardSource>,
    /// Shards absent from the merge (only with `--allow-partial`): the load was lower than planned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<u32>,
}

/// Where one merged shard came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardSource {
    /// Shard index (1-based).
    pub index: u32,
    /// The machine that ran it.
    pub host: Host,
    /// Start of its measured window, ms since the Unix epoch.
    pub measure_start_unix_ms: i64,
    /// Offset of its first window in the merged series, in windows.
    pub window_offset: u32,
    /// Measured requests it contributed.
    pub requests: u64,
    /// Git commit it measured, when known.
    pub git_commit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_based_shards() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(" 3 / 3 ".parse(), Ok(Shard { index: 3, count: 3 }));
        assert_eq!(Shard { index: 2, count: 5 }.to_string(), "2/5");
    }

    #[test]
    fn rejects_impossible_shards_with_the_fix() {
        for (input, says) in [
            ("0/3", "1-based"),
            ("4/3", "1..=3: the shards of a 3-way run are `1/3` to `3/3`"),
            ("1/0", "COUNT must be"),
            ("1/1001", "COUNT must be"),
            ("two/3", "INDEX is not"),
            ("1/x", "COUNT is not"),
            ("3", "INDEX/COUNT"),
            ("", "INDEX/COUNT"),
            ("-1/3", "INDEX is not"),
        ] {
            let e = input.parse::<Shard>().expect_err(input);
            assert!(e.to_string().contains(says), "{input}: {e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn shares_add_up_exactly(value in 0u64..1_000_000, count in 1u32..50) {
            let total: u64 = (1..=count).map(|index| Shard { index, count }.share(value)).sum();
            proptest::prop_assert_eq!(total, value);
            let shares: Vec<u64> = (1..=count).map(|index| Shard { index, count }.share(value)).collect();
            let (lo, hi) = (shares.iter().min().copied(), shares.iter().max().copied());
            proptest::prop_assert!(hi.unwrap_or(0) - lo.unwrap_or(0) <= 1, "shares differ by at most one");
        }
    }
}

//! Retention of the history, only when the user asks (`--keep N`, `--max-age 90d`): the default
//! keeps every run. Pruning deletes only well-formed history files beyond the bound; a file that
//! was skipped as unreadable is never deleted (it may be the only copy of something worth saving).

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::history::store::Loaded;
use crate::history::HistoryError;
use crate::scenario::units::format_duration;

/// How much history to keep per scenario; `None` bounds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Keep at most this many most recent runs.
    pub keep: Option<usize>,
    /// Keep only runs that started less than this long ago.
    pub max_age: Option<Duration>,
}

/// A file pruned from the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The file.
    pub path: PathBuf,
    /// Which bound it was beyond.
    pub why: String,
}

/// Deletes the runs of `loaded` beyond `retention` (as of `now`) and drops them from it. Returns what
/// was removed, oldest first.
pub fn prune(
    loaded: &mut Loaded,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<Vec<Removed>, HistoryError> {
    let n = loaded.entries.len();
    let beyond_count = retention.keep.map_or(0, |k| n.saturating_sub(k));
    let cutoff = retention
        .max_age
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .and_then(|age| now.checked_sub_signed(age));
    let mut removed = Vec::new();
    let mut kept = Vec::with_capacity(n);
    for (i, entry) in std::mem::take(&mut loaded.entries).into_iter().enumerate() {
        let why = if i < beyond_count {
            retention
                .keep
                .map(|k| format!("beyond the {k} most recent runs"))
        } else {
            None
        }
        .or_else(|| {
            cutoff.filter(|c| entry.started < *c).map(|_| {
                format!(
                    "older than {}",
                    retention.max_age.map_or_else(String::new, format_duration)
                )
            })
        });
        match why {
            Some(why) => removed.push((entry, why)),
            None => kept.push(entry),
        }
    }
    loaded.entries = kept;
    let mut out = Vec::with_capacity(removed.len());
    for (entry, why) in removed {
        std::fs::remove_file(&entry.path).map_err(|source| HistoryError::Remove {
            path: entry.path.clone(),
            source,
        })?;
        out.push(Removed {
            path: entry.path,
            why,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::Entry;
    use crate::result::testing;

    fn entry(dir: &std::path::Path, day: u32) -> Entry {
        let path = dir.join(format!("{day:02}.json"));
        std::fs::write(&path, b"{}").unwrap();
        let started_at = format!("2026-11-{day:02}T00:00:00Z");
        Entry {
            path,
            started: DateTime::parse_from_rfc3339(&started_at)
                .unwrap()
                .with_timezone(&Utc),
            result: testing::result(),
        }
    }

    fn history(dir: &std::path::Path, days: &[u32]) -> Loaded {
        Loaded {
            entries: days.iter().map(|d| entry(dir, *d)).collect(),
            skipped: Vec::new(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn default_retention_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = history(dir.path(), &[1, 2, 3]);
        let removed = prune(&mut h, &Retention::default(), now()).unwrap();
        assert!(removed.is_empty());
        assert_eq!(h.entries.len(), 3);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn keep_removes_the_oldest_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = history(dir.path(), &[1, 2, 3, 4, 5]);
        let keep = Retention {
            keep: Some(2),
            max_age: None,
        };
        let removed = prune(&mut h, &keep, now()).unwrap();
        let names: Vec<_> = removed
            .iter()
            .map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["01.json", "02.json", "03.json"]);
        assert!(removed[0].why.contains("2 most recent"));
        assert_eq!(h.entries.len(), 2);
        assert!(dir.path().join("04.json").exists() && !dir.path().join("03.json").exists());
    }

    #[test]
    fn max_age_removes_runs_started_before_the_cutoff() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = history(dir.path(), &[1, 25, 29]);
        let age = Retention {
            keep: Some(10),
            max_age: Some(crate::scenario::units::parse_duration("10d").unwrap()),
        };
        let removed = prune(&mut h, &age, now()).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].why, "older than 10d");
        assert_eq!(h.entries.len(), 2);
    }
}

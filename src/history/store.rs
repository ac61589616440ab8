//! The history folder: `DIR/<scenario>/<YYYYMMDDTHHMMSSZ>-<commit>.json`, one plain RunResult file
//! per run (the format of `loadgate run --out`, so any stored result can be dropped in by hand).
//!
//! Files are created, never rewritten: a new run goes to a temp file in the same folder, is synced,
//! then linked to its name only if that name is free (else `-2`, `-3`, ...). Reading skips a file
//! it cannot use and says why, and never deletes or modifies it.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::HistoryError;
use crate::result::RunResult;

/// Name suffixes tried when runs share a second and a commit; far more than any schedule makes.
const MAX_SUFFIX: u32 = 1_000;

/// A run read back from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its file.
    pub path: PathBuf,
    /// When its measured window started.
    pub started: DateTime<Utc>,
    /// The run.
    pub result: RunResult,
}

/// A file of the history that was not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file.
    pub file: PathBuf,
    /// Why, and what to do about it.
    pub problem: String,
}

/// A scenario's history: its runs, oldest first, and the files skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Loaded {
    /// Runs in time order (ties by file name).
    pub entries: Vec<Entry>,
    /// Files not read.
    pub skipped: Vec<Skipped>,
}

/// Whether `name` can be a folder name (the scenario-name rule of `scenario::validate`).
fn check_name(name: &str) -> Result<(), HistoryError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    match ok {
        true => Ok(()),
        false => Err(HistoryError::BadName {
            name: name.to_string(),
        }),
    }
}

/// The folder of `scenario` in `dir`.
pub fn folder(dir: &Path, scenario: &str) -> Result<PathBuf, HistoryError> {
    check_name(scenario)?;
    Ok(dir.join(scenario))
}

/// Creates the scenario's folder and checks it accepts a new file: the preflight of `--history`,
/// before any load. Nothing is left behind but the (empty) folders.
pub fn prepare(dir: &Path, scenario: &str) -> Result<PathBuf, HistoryError> {
    let folder = folder(dir, scenario)?;
    let write = |source| HistoryError::Write {
        path: folder.clone(),
        source,
    };
    std::fs::create_dir_all(&folder).map_err(write)?;
    tempfile::Builder::new()
        .prefix(".loadgate-probe-")
        .tempfile_in(&folder)
        .map(drop)
        .map_err(|e| write(std::io::Error::from(e.kind())))?;
    Ok(folder)
}

/// File name (without `.json`) of a run: its start time, filesystem-safe, and its short commit.
pub fn file_stem(result: &RunResult) -> String {
    let meta = &result.meta;
    let time = match DateTime::parse_from_rfc3339(&meta.started_at) {
        Ok(t) => t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string(),
        // A hand-made result with an odd time is still stored: its time, made safe.
        Err(_) => {
            let safe: String = meta
                .started_at
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(32)
                .collect();
            if safe.is_empty() {
                "unknown-time".to_string()
            } else {
                safe
            }
        }
    };
    let commit: String = meta
        .git_commit
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(7)
        .collect();
    let commit = if commit.is_empty() {
        "nocommit".to_string()
    } else {
        commit
    };
    format!("{time}-{commit}")
}

/// Appends `result` to the history in `dir`: writes `DIR/<scenario>/<time>-<commit>.json` (or
/// `-2`, `-3`, ... when taken) and returns its path. Never replaces an existing file.
pub fn append(dir: &Path, result: &RunResult) -> Result<PathBuf, HistoryError> {
    let folder = folder(dir, &result.meta.scenario_name)?;
    let write = |path: &Path, source| HistoryError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&folder).map_err(|e| write(&folder, e))?;
    let mut json =
        serde_json::to_vec_pretty(result).map_err(|e| HistoryError::Encode(e.to_string()))?;
    json.push(b'\n');
    // Errors name the file this run would become: the temp file's name means nothing to the user.
    let stem = file_stem(result);
    let in_folder = folder.join(format!("{stem}.json"));
    let mut tmp = tempfile::Builder::new()
        .prefix(".loadgate-")
        .suffix(".tmp")
        .tempfile_in(&folder)
        .map_err(|e| write(&in_folder, e))?;
    tmp.as_file_mut()
        .write_all(&json)
        .map_err(|e| write(&in_folder, e))?;
    #[cfg(unix)]
    {
        // tempfile creates 0600 files; a history file is as readable as a baseline.
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| write(&in_folder, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| write(&in_folder, e))?;
    for n in 1..=MAX_SUFFIX {
        let name = match n {
            1 => format!("{stem}.json"),
            _ => format!("{stem}-{n}.json"),
        };
        let path = folder.join(name);
        match tmp.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => return Err(write(&path, e.error)),
        }
    }
    Err(write(
        &folder.join(format!("{stem}-{MAX_SUFFIX}.json")),
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "every name for this run's time and commit is taken",
        ),
    ))
}

/// Scenarios with a folder in `dir`, sorted. The folder must exist.
pub fn scenarios(dir: &Path) -> Result<Vec<String>, HistoryError> {
    if !dir.exists() {
        return Err(HistoryError::MissingDir {
            path: dir.to_path_buf(),
        });
    }
    let read = |source| HistoryError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && check_name(&name).is_ok() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Reads every `*.json` in the folder of `scenario`, oldest run first. A file that is not a usable
/// result of this scenario is skipped (and reported in [`Loaded::skipped`]), never touched.
pub fn load(dir: &Path, scenario: &str) -> Result<Loaded, HistoryError> {
    let folder = folder(dir, scenario)?;
    if !folder.is_dir() {
        return Err(HistoryError::NoScenario {
            dir: dir.to_path_buf(),
            name: scenario.to_string(),
            known: scenarios(dir)?,
        });
    }
    let read = |source| HistoryError::Read {
        path: folder.clone(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(read)? {
        let path = entry.map_err(read)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_some_and(|n| n.ends_with(".json") && !n.starts_with('.')) && !path.is_dir() {
            files.push(path);
        }
    }
    files.sort_by_key(|p| order_key(p));
    let mut loaded = Loaded::default();
    for path in files {
        match read_entry(&path, scenario) {
            Ok(e) => loaded.entries.push(e),
            Err(problem) => loaded.skipped.push(Skipped {
                file: path,
                problem,
            }),
        }
    }
    // Stable: files of the same second stay in name order (`-2` after the first).
    loaded.entries.sort_by_key(|e| e.started);
    Ok(loaded)
}

/// Name order of history files: `<stem>.json` < `<stem>-2.json` < ... < `<stem>-10.json`.
fn order_key(path: &Path) -> (String, u32) {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    // A suffix has at most 4 digits; a commit part is 7 characters or `nocommit`.
    match stem.rsplit_once('-') {
        Some((base, n)) if (1..=4).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) => {
            (base.to_string(), n.parse().unwrap_or(0))
        }
        _ => (stem.to_string(), 1),
    }
}

fn read_entry(path: &Path, scenario: &str) -> Result<Entry, String> {
    let bytes = crate::fsutil::read_limited(path, crate::fsutil::limits::RESULT)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let result = crate::baseline::parse(path, &bytes).map_err(|e| e.to_string())?;
    if result.meta.scenario_name != scenario {
        return Err(format!(
            "it holds a run of scenario `{}`, not `{scenario}`; move it to that scenario's folder",
            result.meta.scenario_name
        ));
    }
    let started = DateTime::parse_from_rfc3339(&result.meta.started_at)
        .map_err(|e| {
            format!(
                "its meta.started_at `{}` is not an RFC 3339 time ({e}); fix the field",
                result.meta.started_at
            )
        })?
        .with_timezone(&Utc);
    Ok(Entry {
        path: path.to_path_buf(),
        started,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::testing;
    use crate::result::{RequestStats, Window};

    /// A result that passes the loader's completeness checks.
    fn complete(started_at: &str, commit: Option<&str>) -> RunResult {
        let mut r = testing::result();
        r.meta.started_at = started_at.to_string();
        r.meta.git_commit = commit.map(str::to_string);
        // One window of the fixture's 1 s: the loader checks the duration against the windows.
        r.meta.measured_duration_ms = 1_000;
        let mut s = RequestStats {
            requests: 10,
            ..Default::default()
        };
        s.windows.push(Window {
            requests: 10,
            ..Default::default()
        });
        r.all = s.clone();
        r.requests.insert("a".into(), s);
        r
    }

    #[test]
    fn file_names_are_safe_and_sortable() {
        let r = complete("2026-12-01T05:12:00Z", Some("abcdef0123456789"));
        assert_eq!(file_stem(&r), "20261201T051200Z-abcdef0");
        let r = complete("2026-12-01T06:12:00+01:00", None);
        assert_eq!(file_stem(&r), "20261201T051200Z-nocommit");
        let r = complete("yesterday/../x", Some("../.."));
        assert_eq!(file_stem(&r), "yesterdayx-nocommit");
    }

    #[test]
    fn append_never_overwrites_and_load_reads_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let late = complete("2026-12-02T00:00:00Z", Some("bbbbbbb"));
        let early = complete("2026-12-01T00:00:00Z", Some("aaaaaaa"));
        let p1 = append(dir.path(), &late).unwrap();
        let p2 = append(dir.path(), &late).unwrap();
        let p3 = append(dir.path(), &early).unwrap();
        assert_ne!(p1, p2);
        assert!(p2
            .to_string_lossy()
            .ends_with("20261202T000000Z-bbbbbbb-2.json"));
        let loaded = load(dir.path(), "test").unwrap();
        let paths: Vec<_> = loaded.entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, [p3, p1, p2]);
        assert!(loaded.skipped.is_empty());
        // No temp file is left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("test")).unwrap().count(),
            3
        );
    }

    #[test]
    fn bad_files_are_skipped_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &complete("2026-12-01T00:00:00Z", None)).unwrap();
        let folder = dir.path().join("test");
        let mut other = complete("2026-12-01T00:00:00Z", None);
        other.meta.scenario_name = "other".into();
        let cases: [(&str, Vec<u8>); 4] = [
            (
                "truncated.json",
                b"{\"schema_version\": 1, \"meta\"".to_vec(),
            ),
            ("future.json", br#"{"schema_version": 99}"#.to_vec()),
            ("other.json", serde_json::to_vec(&other).unwrap()),
            ("notes.txt", b"not json, not read".to_vec()),
        ];
        for (name, bytes) in &cases {
            std::fs::write(folder.join(name), bytes).unwrap();
        }
        let loaded = load(dir.path(), "test").unwrap();
        assert_eq!(loaded.entries.len(), 1);
        let skipped: Vec<String> = loaded
            .skipped
            .iter()
            .map(|s| s.file.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(skipped, ["future.json", "other.json", "truncated.json"]);
        assert!(loaded.skipped[1].problem.contains("scenario `other`"));
        for (name, bytes) in &cases {
            assert_eq!(&std::fs::read(folder.join(name)).unwrap(), bytes);
        }
    }

    #[test]
    fn missing_folders_and_bad_names_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nope");
        assert!(matches!(
            scenarios(&gone),
            Err(HistoryError::MissingDir { .. })
        ));
        let e = load(dir.path(), "absent").unwrap_err();
        assert!(
            e.to_string().contains("no history for scenario `absent`"),
            "{e}"
        );
        let mut r = complete("2026-12-01T00:00:00Z", None);
        r.meta.scenario_name = "../escape".into();
        assert!(matches!(
            append(dir.path(), &r),
            Err(HistoryError::BadName { .. })
        ));
        assert!(prepare(dir.path(), "fine").is_ok());
        assert_eq!(scenarios(dir.path()).unwrap(), ["fine"]);
    }
}

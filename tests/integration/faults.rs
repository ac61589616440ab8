//! Faults (issue 8): what loadgate does when the target, the disk or the operator misbehaves. Each
//! test produces one fault itself — a [`server::FaultServer`] on `127.0.0.1:0` that dies, hangs, fails or
//! trickles, a read-only mount, a file size limit, a signal — then checks the documented verdict or
//! error, the exit code, and with [`Stored`] that every stored baseline and history file kept its
//! bytes. docs/guide.md, "What happens when things go wrong" is the table these tests prove.
//!
//! Faults tested elsewhere, with the same check that nothing stored changed: a target refusing
//! connections (`errors::target_refusing_connections`), Ctrl-C during `record`
//! (`errors::interrupted_record_keeps_the_old_baseline`), the GitHub API answering 403 / 500 / too
//! slowly (`actions::github`), a webhook that is down (`actions::notify`), a hanging rollback hook
//! (`actions::hook`); the last three use [`Stored`].

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures: a fixture step that fails must fail the calling test, with a message \
              saying which step; clippy's allow-*-in-tests covers #[test] fns, not their helpers"
)]

mod disk;
mod server;
mod signals;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{scenario, shared_baseline, Output, Test, SCENARIO};

use self::server::FaultServer;

/// Folders whose files a fault must never touch.
const STORED_DIRS: [&str; 2] = ["baselines", "history"];

/// The bytes of every file under `baselines/` and `history/` of a test directory, sub-folders
/// walked and hidden temp files included: taken before a fault, compared after it.
#[derive(Debug, PartialEq)]
pub struct Stored(BTreeMap<PathBuf, Vec<u8>>);

impl Stored {
    /// Snapshots `t`'s stored files; there must be at least one to protect.
    pub fn of(t: &Test) -> Self {
        let mut files = BTreeMap::new();
        for dir in STORED_DIRS {
            walk(t.dir(), Path::new(dir), &mut files);
        }
        assert!(!files.is_empty(), "the test must store a file first");
        Self(files)
    }

    /// Asserts that the same files hold the same bytes: nothing rewritten, added or left behind.
    #[track_caller]
    pub fn unchanged(&self, t: &Test, out: &Output) {
        let now = Self::of(t);
        assert_eq!(
            now.names(),
            self.names(),
            "stored files added or removed\n{out}"
        );
        for (path, bytes) in &self.0 {
            assert!(
                now.0.get(path) == Some(bytes),
                "{} changed\n{out}",
                path.display()
            );
        }
    }

    /// Asserts that every file stored before still holds its bytes, and returns the files added
    /// since (a complete run appends itself to the history).
    #[track_caller]
    pub fn kept(&self, t: &Test, out: &Output) -> Vec<PathBuf> {
        let now = Self::of(t);
        for (path, bytes) in &self.0 {
            assert!(
                now.0.get(path) == Some(bytes),
                "{} changed or vanished\n{out}",
                path.display()
            );
        }
        now.0
            .into_keys()
            .filter(|p| !self.0.contains_key(p))
            .collect()
    }

    fn names(&self) -> Vec<&PathBuf> {
        self.0.keys().collect()
    }
}

fn walk(root: &Path, rel: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return; // a folder that does not exist holds nothing to protect
    };
    for entry in entries {
        let entry = entry.expect("folder entry");
        let rel = rel.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            walk(root, &rel, files);
        } else {
            let bytes = std::fs::read(root.join(&rel)).expect("read a stored file");
            files.insert(rel, bytes);
        }
    }
}

/// A past run in `history/t/`, as `gate --history history` appends them (a result file).
const PAST_RUN: &str = "history/t/20260101T000000Z-nocommit.json";

/// The template scenario against `base_url` (with `edit` applied), the shared baseline and one past
/// run in the history.
fn stored(base_url: &str, edit: impl Fn(String) -> String) -> Test {
    let t = Test::new()
        .scenario(&edit(scenario(base_url, "")))
        .with_baseline();
    std::fs::create_dir_all(t.path("history/t")).expect("create history/t");
    t.write(PAST_RUN, shared_baseline())
}

/// The template scenario against `server` (with `edit` applied), recorded against it as it is now
/// (healthy), and one past run in the history.
/// With `exclusive`, no other test's load runs beside this test's (see [`Test::exclusive`]).
fn recorded(server: &FaultServer, edit: impl Fn(String) -> String, exclusive: bool) -> Test {
    // Before the exclusive lock: the shared baseline, recorded on first use, takes the lock shared.
    let past_run = shared_baseline();
    let t = Test::new().scenario(&edit(scenario(server.url(), "")));
    let t = if exclusive { t.exclusive() } else { t };
    t.run(&["record", SCENARIO]).code(0);
    std::fs::create_dir_all(t.path("history/t")).expect("create history/t");
    t.write(PAST_RUN, past_run)
}

/// `gate` appending to `history/`, writing the run to `result.json`.
const GATE: &[&str] = &[
    "gate",
    SCENARIO,
    "--history",
    "history",
    "--out",
    "result.json",
];

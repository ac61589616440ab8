//! loadgate: load a service, measure it, compare the run with a stored baseline, decide, act.
//!
//! The pipeline flows one way; each stage is a module and imports only the stages to its left,
//! plus `result` (the plain data), `fsutil`, `secret`, `http`, `terminal`, `error` and `exit`:
//!
//! ```text
//! scenario ──► load (goose) ──► result ──► compare ──► verdict ──► report
//!                                 ▲
//!                              baseline (store)
//! ```
//!
//! | module | may import |
//! | --- | --- |
//! | `stats` | nothing (leaf maths: distributions, intervals, Theil–Sen, the bootstrap core, the change-point tests) |
//! | `result` | `stats` (the memory floor's slope in `result::service`) |
//! | `scenario` | `result` (metric names, a suite's format) |
//! | `load` | `scenario`, `result`, `logging` |
//! | `sample` | `result` |
//! | `baseline` | `result`, `scenario` (to check a baseline matches its scenario) |
//! | `import` | `result`, `scenario` (a suite run), `baseline` (the consistency check) |
//! | `compare` | `scenario`, `result`, `baseline`, `stats` |
//! | `verdict` | `compare`, `result` |
//! | `history` | `result`, `baseline` (the result-file loader), `stats`, `scenario` (units) |
//! | `report` | `result`, `scenario`, `compare`, `verdict`, `history` (the data types of the stages above) |
//! | `action` | `result`, `compare`, `verdict`, `report` |
//! | `watch` | `verdict`, `sample` (the Prometheus text parser), `scenario` (units), `load` (URL redaction), `action` |
//! | `demo` | `scenario` (duration units): the built-in target, loaded like any other service |
//! | `cli` | `scenario`, `result`, `baseline`, `history`, `report`, `action` (flag types and defaults) |
//! | `error` | every stage (it gathers their errors for the commands) |
//! | `pipeline` | everything but `commands` (each command's flow, in the stages' order) |
//! | `commands` | everything; no command imports another |
//!
//! Every module may also import the utilities `fsutil`, `secret`, `http`, `terminal` and `exit`
//! (`logging` is the load stage's). The test `layering` below reads the sources and holds the code to
//! this table, test code aside.
//!
//! goose appears only in `load/goose.rs`, comfy-table only in `report/table.rs`, sysinfo only in
//! `sample/`, octocrab only in `action/github.rs`, statrs only in `stats/`, plotters only in `report/charts.rs`, indicatif only
//! in `load/progress.rs`, anstream and anstyle only in `terminal.rs`, clap_complete and
//! clap_mangen only in `commands/docs.rs`, regex only in `scenario/check.rs`.

pub mod action;
pub mod baseline;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod demo;
pub mod error;
pub mod exit;
pub mod fsutil;
pub mod history;
pub mod http;
pub mod import;
pub mod load;
pub mod logging;
pub mod pipeline;
pub mod report;
pub mod result;
pub mod sample;
pub mod scenario;
pub mod secret;
pub mod stats;
pub mod terminal;
pub mod verdict;
pub mod watch;

#[cfg(test)]
mod layering {
    //! The table at the top of this file, checked against the code: a `crate::x` path in a module
    //! whose row does not allow `x` fails the build, so the layering cannot drift silently.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    const UTILITIES: &[&str] = &["fsutil", "secret", "http", "terminal", "exit"];

    /// Each module, and the modules it may import besides the utilities.
    fn allowed() -> BTreeMap<&'static str, Vec<&'static str>> {
        let stages = [
            "stats", "result", "scenario", "load", "sample", "baseline", "import", "compare",
            "verdict", "history", "report", "action", "watch", "logging",
        ];
        let mut everything: Vec<&str> = stages.to_vec();
        everything.extend(["cli", "error", "demo"]);
        BTreeMap::from([
            ("stats", vec![]),
            ("result", vec!["stats"]),
            ("scenario", vec!["result"]),
            ("load", vec!["scenario", "result", "logging"]),
            ("logging", vec![]),
            ("sample", vec!["result"]),
            ("baseline", vec!["result", "scenario"]),
            ("import", vec!["result", "scenario", "baseline"]),
            ("compare", vec!["scenario", "result", "baseline", "stats"]),
            ("verdict", vec!["compare", "result"]),
            ("history", vec!["result", "baseline", "stats", "scenario"]),
            (
                "report",
                vec!["result", "scenario", "compare", "verdict", "history"],
            ),
            ("action", vec!["result", "compare", "verdict", "report"]),
            (
                "watch",
                vec!["verdict", "sample", "scenario", "load", "action"],
            ),
            (
                "cli",
                vec![
                    "scenario", "result", "baseline", "history", "report", "action",
                ],
            ),
            ("demo", vec!["scenario"]),
            ("error", {
                let mut v = stages.to_vec();
                v.push("demo");
                v
            }),
            ("pipeline", everything.clone()),
            ("commands", {
                let mut v = everything.clone();
                v.push("pipeline");
                v
            }),
        ])
    }

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The code of a file without its tests (test code may reach across layers to build fixtures)
    /// and without comments (a doc link is not an import).
    fn production_code(path: &Path, text: &str) -> Option<String> {
        let name = path.file_stem()?.to_str()?;
        if name.ends_with("tests") || name == "testing" || name == "fixture" {
            return None;
        }
        let code: Vec<&str> = text
            .lines()
            .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect();
        Some(code.join("\n"))
    }

    /// The crate's modules a piece of code names: `crate::x` paths and `use crate::{x, y}` lists.
    fn imports(code: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(list) = rest.strip_prefix('{') {
                let end = list.find('}').unwrap_or(list.len());
                for item in list[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
        found
    }

    #[test]
    fn every_module_imports_only_what_the_table_allows() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let allowed = allowed();
        let mut broken = Vec::new();
        for path in &files {
            let rel = path.strip_prefix(&src).expect("under src/");
            let first = rel.components().next().expect("a path");
            let module = first.as_os_str().to_str().expect("UTF-8 name");
            let module = module.strip_suffix(".rs").unwrap_or(module);
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(path).expect("a readable source");
            let Some(code) = production_code(path, &text) else {
                continue;
            };
            let Some(may) = allowed.get(module) else {
                if !UTILITIES.contains(&module) {
                    broken.push(format!(
                        "{}: module `{module}` has no row in the table",
                        rel.display()
                    ));
                }
                continue;
            };
            for used in imports(&code) {
                let ok = used == module
                    || UTILITIES.contains(&used.as_str())
                    || may.contains(&used.as_str());
                if !ok {
                    broken.push(format!("{}: `{module}` imports `{used}`", rel.display()));
                }
                if module == "commands" && used == "commands" && !rel.ends_with("mod.rs") {
                    broken.push(format!(
                        "{}: a command imports another command",
                        rel.display()
                    ));
                }
            }
        }
        assert!(
            broken.is_empty(),
            "imports outside the layering table in src/lib.rs (move the code to a module allowed to import it, or, if the new import is by design, add it to the table and to `allowed()`):\n{}",
            broken.join("\n")
        );
    }

    #[test]
    fn the_check_sees_paths_and_use_lists() {
        let found =
            imports("use crate::{compare::Policy, verdict};\nlet x = crate::report::render;");
        let names: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(names, ["compare", "report", "verdict"]);
    }
}

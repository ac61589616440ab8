//! Writing what a command produces: the reports (one `--format`/`--output` plus any `--report`
//! files), the result file, and the checks before any load that they can all be written.

use std::path::Path;

use crate::cli::{OutputArgs, ReportsArgs};
use crate::error::Error;
use crate::fsutil::write_atomic;
use crate::report::{self, Format, Report, ReportFile};
use crate::result::RunResult;

/// Checks before any load that every output file can be written.
pub fn preflight_outputs(paths: &[Option<&Path>]) -> Result<(), Error> {
    for p in paths.iter().flatten() {
        crate::fsutil::check_writable(p)?;
    }
    Ok(())
}

/// Refuses, before any load, an output that is one of the command's inputs or another output
/// (`gate --output baselines/t.json` would replace the baseline it compares against,
/// `compare a.json b.json --output a.json` its own input). Outputs to stdout or a device are
/// exempt: they replace nothing.
pub fn refuse_overlaps(outputs: &[Option<&Path>], inputs: &[Option<&Path>]) -> Result<(), Error> {
    use crate::fsutil::{destination, Destination};
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        // A file that does not exist yet is none of the inputs; two outputs not yet written
        // collide when they are written the same way.
        _ => a == b,
    };
    let outputs: Vec<&Path> = outputs
        .iter()
        .flatten()
        .copied()
        .filter(|p| matches!(destination(p), Destination::Atomic(_)))
        .collect();
    for (i, out) in outputs.iter().enumerate() {
        let overlap = inputs
            .iter()
            .flatten()
            .find(|input| same(out, input))
            .map(|input| format!("it is also an input of this command ({})", input.display()))
            .or_else(|| {
                outputs[..i]
                    .iter()
                    .find(|other| same(out, other))
                    .map(|other| format!("another output goes to it too ({})", other.display()))
            });
        if let Some(why) = overlap {
            return Err(Error::Flag {
                flag: "output",
                problem: format!(
                    "refusing to write {}: {why}, which the write would replace; write it to another file",
                    out.display()
                ),
            });
        }
    }
    Ok(())
}

/// Refuses `--out -` (the result on stdout) when the report goes to stdout too: the two would be
/// printed one after the other, and neither could be read back.
pub fn one_on_stdout(out: Option<&Path>, report: Option<&Path>) -> Result<(), Error> {
    use crate::fsutil::{destination, Destination};
    let on_stdout = |p: &Path| destination(p) == Destination::Stdout;
    if out.is_some_and(on_stdout) && report.is_none_or(on_stdout) {
        return Err(Error::Flag {
            flag: "--out",
            problem: "it puts the result on stdout, where the report goes too; send the report elsewhere with --output FILE (or --output /dev/null)".to_string(),
        });
    }
    Ok(())
}

/// Writes a result file (`--out`).
pub fn write_result(path: &Path, result: &RunResult) -> Result<(), Error> {
    crate::baseline::save(path, result)?;
    eprintln!("loadgate: wrote {}", path.display());
    Ok(())
}

/// Prints `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) -> Result<(), Error> {
    match crate::terminal::write_stdout(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Stdout(e)),
        _ => Ok(()),
    }
}

/// Every report file a command writes (`--output`, `--report`), for [`refuse_overlaps`] and
/// [`preflight_outputs`].
pub fn report_paths<'a>(output: &'a OutputArgs, reports: &'a ReportsArgs) -> Vec<Option<&'a Path>> {
    std::iter::once(output.output.as_deref())
        .chain(reports.files.iter().map(|f| Some(f.path.as_path())))
        .collect()
}

/// Checks `--report` and `--report-url` before any load: stdout holds the `--format` report alone
/// (two reports there could not be told apart), and the URL is one a reader can open.
pub fn check_reports(reports: &ReportsArgs) -> Result<(), Error> {
    use crate::fsutil::{destination, Destination};
    if let Some(f) = reports
        .files
        .iter()
        .find(|f| destination(&f.path) == Destination::Stdout)
    {
        return Err(Error::Flag {
            flag: "--report",
            problem: format!(
                "`{}={}` puts a report on stdout, where the --format report goes; use `--format {}` for stdout, or give --report a file",
                f.format.name(),
                f.path.display(),
                f.format.name()
            ),
        });
    }
    if let Some(u) = &reports.report_url {
        let ok = url::Url::parse(u)
            .ok()
            .is_some_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
        if !ok {
            return Err(Error::Flag {
                flag: "--report-url",
                problem: format!(
                    "`{u}` is not an http(s) URL; give the address where the HTML report is published, e.g. https://ci.example.com/run/42/perf.html"
                ),
            });
        }
    }
    Ok(())
}

/// The rendering options of a command's reports.
pub fn options(reports: &ReportsArgs, warn_fails: bool) -> report::Options {
    report::Options {
        warn_fails,
        report_url: reports.report_url.clone(),
    }
}

/// What [`emit`] wrote, and what it could not.
#[derive(Debug, Default)]
pub struct Emitted {
    /// Report files written (not stdout).
    pub written: Vec<ReportFile>,
    /// Failures, each naming its file.
    pub failed: Vec<Error>,
}

impl Emitted {
    /// The first failure as the error (the others printed now), or `Ok`.
    pub fn result(self) -> Result<(), Error> {
        let mut failed = self.failed.into_iter();
        let first = failed.next();
        for e in failed {
            eprintln!("error: {e}");
        }
        first.map_or(Ok(()), Err)
    }

    /// The JSON reports written to stored files, which can be read back and handed on
    /// (`/dev/null` or a pipe cannot).
    pub fn json_files(&self) -> Vec<&Path> {
        self.written
            .iter()
            .filter(|f| f.format == Format::Json)
            .map(|f| f.path.as_path())
            .filter(|p| {
                matches!(
                    crate::fsutil::destination(p),
                    crate::fsutil::Destination::Atomic(_)
                )
            })
            .collect()
    }
}

/// Emits the reports: the `--format` report to `--output` or stdout (with `--output FILE`, the
/// table also goes to stdout so a human sees the result), then every `--report` file, each written
/// atomically. Every report that can be written is; the failures are returned, not fatal to the
/// others.
pub fn emit(
    report: &Report<'_>,
    output: &OutputArgs,
    reports: &[ReportFile],
    options: &report::Options,
) -> Emitted {
    let mut done = Emitted::default();
    let to_stdout = |p: &Path| crate::fsutil::destination(p) == crate::fsutil::Destination::Stdout;
    let main = output
        .output
        .as_ref()
        .filter(|p| !to_stdout(p))
        .map(|p| ReportFile {
            format: output.format,
            path: p.clone(),
        });
    // The table reaches stdout even when a file cannot be written: the human reading the log
    // still sees the result.
    let stdout_format = match main {
        Some(_) => Format::Table,
        None => output.format,
    };
    for file in main.iter().chain(reports) {
        let written = report::export(&report::View::Run(report), file.format, options)
            .map_err(Error::from)
            .and_then(|text| Ok(write_atomic(&file.path, text.as_bytes())?));
        match written {
            Ok(()) => {
                eprintln!(
                    "loadgate: wrote {} report to {}",
                    format_name(file.format),
                    file.path.display()
                );
                done.written.push(file.clone());
            }
            Err(e) => done.failed.push(e),
        }
    }
    // Colour only on stdout: a file keeps the plain table.
    let printed = match stdout_format {
        Format::Table => print(&report::table::render_colored(report)),
        _ => report::export(&report::View::Run(report), stdout_format, options)
            .map_err(Error::from)
            .and_then(|text| print(&text)),
    };
    if let Err(e) = printed {
        done.failed.push(e);
    }
    done
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Table => "table",
        Format::Json => "JSON",
        Format::Markdown => "Markdown",
        Format::Html => "HTML",
        Format::Junit => "JUnit",
    }
}

/// The baselines folder a baseline is about to be written to: the default one (`baselines/`) is
/// created, as `git init` would; a folder the user named and that does not exist is more likely a
/// typo, and is refused with the fix.
pub fn baselines_folder(dir: &Path) -> Result<(), Error> {
    if !dir.is_dir() && dir == std::path::Path::new(crate::baseline::DEFAULT_DIR) {
        // The default folder is the project's: make it, as `git init` would. A folder the user
        // named and that does not exist is more likely a typo, and stays an error.
        std::fs::create_dir_all(dir).map_err(|e| Error::Flag {
            flag: "--baselines",
            problem: format!(
                "cannot create the folder {}: {e}; create it yourself or pass another --baselines DIR",
                dir.display()
            ),
        })?;
        eprintln!("loadgate: created {}/", dir.display());
    }
    if !dir.is_dir() {
        return Err(Error::Flag {
            flag: "--baselines",
            problem: format!(
                "folder {} does not exist; create it (mkdir -p) or pass another --baselines DIR",
                dir.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports(files: &[&str], url: Option<&str>) -> ReportsArgs {
        ReportsArgs {
            files: files.iter().map(|f| f.parse().unwrap()).collect(),
            report_url: url.map(str::to_string),
        }
    }

    #[test]
    fn every_report_that_can_be_written_is_and_each_failure_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (md, bad, xml) = (
            dir.path().join("a.md"),
            dir.path().join("missing/b.html"),
            dir.path().join("c.xml"),
        );
        let specs: Vec<String> = [("markdown", &md), ("html", &bad), ("junit", &xml)]
            .iter()
            .map(|(f, p)| format!("{f}={}", p.display()))
            .collect();
        let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
        let r = reports(&specs, Some("https://ci.example.com/r.html"));
        let (base, run, c, v) = crate::report::fixture::judged();
        let report = Report {
            run: &run,
            judged: Some(crate::report::Judged {
                baseline: &base,
                comparison: &c,
                verdict: &v,
            }),
        };
        let output = OutputArgs {
            format: Format::Table,
            output: None,
        };
        let done = emit(&report, &output, &r.files, &options(&r, false));
        assert_eq!(done.written.len(), 2);
        assert_eq!(done.failed.len(), 1);
        assert!(done.failed[0].to_string().contains("missing/b.html"));
        let text = std::fs::read_to_string(&md).unwrap();
        assert!(text.contains("[full HTML report](https://ci.example.com/r.html)"));
        assert!(std::fs::read_to_string(&xml).unwrap().starts_with("<?xml"));
        assert!(done.json_files().is_empty());
    }

    #[test]
    fn a_report_on_stdout_or_a_url_no_one_can_open_is_refused() {
        assert!(check_reports(&reports(&["json=r.json"], Some("https://x.test/r.html"))).is_ok());
        let e = check_reports(&reports(&["json=-"], None)).unwrap_err();
        assert!(e.to_string().contains("use `--format json`"), "{e}");
        for url in ["perf.html", "file:///tmp/perf.html", "javascript:alert(1)"] {
            let e = check_reports(&reports(&[], Some(url))).unwrap_err();
            assert!(e.to_string().contains("is not an http(s) URL"), "{e}");
        }
    }
}

//! `--format html` and `loadgate report`: the self-contained HTML page from a live `run --demo`, and
//! stored results re-rendered (alone, and compared with a baseline as `compare` does). SVG is too
//! volatile for a snapshot: these tests assert the page's structure instead.

use crate::support::{scenario, shared_baseline, Test, SCENARIO};

/// `<svg` elements in `html`.
fn charts(html: &str) -> usize {
    html.matches("<svg").count()
}

/// Parses the whole page as XML: the HTML report is well-formed by design.
fn well_formed(html: &str) -> Result<(), roxmltree::Error> {
    let opt = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(html, opt).map(|_| ())
}

/// No resource the browser would fetch: the SVG namespace and the target URL are text.
fn self_contained(html: &str) -> bool {
    !["src=", "href=", "url(", "@import", "<link", "<script"]
        .iter()
        .any(|n| html.contains(n))
}

#[test]
fn run_demo_writes_a_self_contained_html_report() -> Result<(), Box<dyn std::error::Error>> {
    // The target URL is overridden by --demo.
    let t = Test::new().scenario(&scenario("http://127.0.0.1:9", ""));
    let out = t.run(&[
        "run", SCENARIO, "--demo", "--out", "a.json", "--format", "html", "--output", "a.html",
    ]);
    out.code(0).stderr_has(&["wrote HTML report to a.html"]);
    // The table still goes to stdout for the human watching.
    out.stdout_has(&["fast", "products"]);
    let html = String::from_utf8(t.read("a.html"))?;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html:.200}");
    well_formed(&html)?;
    assert!(self_contained(&html));
    assert!(html.contains("<td>fast</td>") && html.contains("<td>products</td>"));
    // Latency, percentile distribution, throughput, errors, and the embedded demo's RSS and CPU.
    assert_eq!(charts(&html), 6, "{html}");
    assert!(html.contains("Service memory (RSS)") && !html.contains("baseline"));
    Ok(())
}

#[test]
fn report_re_renders_a_stored_comparison_as_html() -> Result<(), Box<dyn std::error::Error>> {
    let t = Test::new()
        .write("base.json", shared_baseline())
        .write("run.json", shared_baseline());
    let out = t.run(&[
        "report",
        "run.json",
        "--baseline",
        "base.json",
        "--format",
        "html",
        "--output",
        "r.html",
    ]);
    // `report` renders; the verdict's exit code is `compare`'s job.
    out.code(0)
        .stderr_has(&["wrote HTML report to r.html"])
        .stdout_has(&["verdict: "]);
    let html = String::from_utf8(t.read("r.html"))?;
    well_formed(&html)?;
    assert!(self_contained(&html));
    assert!(html.contains("Comparison with the baseline") && html.contains("<th>why</th>"));
    assert!(html.contains("baseline p95") && html.contains("run p95"));
    assert!(charts(&html) >= 4, "{html}");
    // The same stored result, alone, in another format on stdout.
    t.run(&["report", "run.json", "--format", "markdown"])
        .code(0)
        .stdout_has(&["### loadgate run — `t`", "| fast |"]);
    Ok(())
}

#[test]
fn report_mistakes_exit_2() {
    let t = Test::new().write("run.json", shared_baseline());
    t.run(&["report", "missing.json"])
        .code(2)
        .stderr_has(&["missing.json"]);
    // Policy flags mean nothing without a baseline to compare with.
    t.run(&["report", "run.json", "--scenario", "s.toml"])
        .code(2)
        .stderr_has(&["--baseline"]);
}

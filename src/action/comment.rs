//! The sticky PR comment's body: a hidden marker that finds it again on the next run, then the
//! Markdown report (verdict and worst rows, the table of gated metrics, the per-request rows
//! folded), capped below GitHub's limit. Pure text; `github.rs` sends it.

/// GitHub refuses a comment body longer than this many characters.
pub const GITHUB_LIMIT: usize = 65_536;

/// Our cap, in Rust `char`s. Below [`GITHUB_LIMIT`] with room to spare because GitHub may count
/// UTF-16 code units, and the badges and arrows of the report take two of those each.
pub const BODY_CAP: usize = 60_000;

/// The hidden marker of a scenario's comment. One comment per scenario, so several gates in one
/// pull request (checkout, search) each keep their own.
pub fn marker(scenario: &str) -> String {
    format!("<!-- loadgate:{scenario} -->")
}

/// The comment body: marker, then `markdown`, with table rows dropped from the end (the least severe:
/// rows are sorted worst first) until it fits under [`BODY_CAP`], and a note saying so.
pub fn body(scenario: &str, markdown: &str) -> String {
    let head = format!("{}\n", marker(scenario));
    let full = format!("{head}{markdown}");
    if full.chars().count() <= BODY_CAP {
        return full;
    }
    let lines: Vec<&str> = markdown.lines().collect();
    let rows = data_rows(&lines);
    let len = |l: &str| l.chars().count() + 1;
    let total: usize = head.chars().count() + lines.iter().map(|l| len(l)).sum::<usize>();
    // Leave room for the note, whose row count has at most 20 digits.
    let budget = BODY_CAP - note(usize::MAX).chars().count();
    let mut dropped = vec![false; lines.len()];
    let mut dropped_count = 0;
    let mut size = total;
    for &i in rows.iter().rev() {
        if size <= budget {
            break;
        }
        size -= len(lines[i]);
        dropped[i] = true;
        dropped_count += 1;
    }
    let mut out = head;
    for (i, l) in lines.iter().enumerate() {
        if !dropped[i] {
            out.push_str(l);
            out.push('\n');
        }
    }
    if out.chars().count() > budget {
        // Even without its table the report is too long (thousands of reasons): cut at a line end.
        let mut cut = String::new();
        for l in out.lines() {
            if cut.chars().count() + len(l) > budget {
                break;
            }
            cut.push_str(l);
            cut.push('\n');
        }
        out = cut;
    }
    out.push_str(&note(dropped_count));
    out
}

fn note(rows: usize) -> String {
    format!(
        "\n> **Note:** this comment was shortened to stay under GitHub's {GITHUB_LIMIT}-character limit \
         ({rows} table rows left out, the least severe); the job summary and `--format json` have everything.\n"
    )
}

/// Indices of table data rows: lines starting with `|` after a table's header and separator.
fn data_rows(lines: &[&str]) -> Vec<usize> {
    let mut rows = Vec::new();
    let mut in_table = 0;
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with('|') {
            in_table += 1;
            if in_table > 2 {
                rows.push(i);
            }
        } else {
            in_table = 0;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rows: usize) -> String {
        let mut md =
            "### loadgate: ❌ critical — `t`\n\n- **❌ critical** `all` p95: +50%\n\n".to_string();
        md.push_str("| request | metric | status |\n|---|---|---|\n");
        for i in 0..rows {
            md.push_str(&format!("| r{i} | p95 | ❌ critical |\n"));
        }
        md.push_str("\n<sub>1 baseline run</sub>\n");
        md
    }

    #[test]
    fn a_short_report_is_sent_whole_behind_the_marker() {
        let md = report(3);
        assert_eq!(body("t", &md), format!("<!-- loadgate:t -->\n{md}"));
    }

    #[test]
    fn a_long_report_loses_its_last_rows_and_says_so() {
        let md = report(5_000);
        let b = body("t", &md);
        let n = b.chars().count();
        assert!(n <= BODY_CAP, "{n}");
        assert!(n > BODY_CAP - 200, "no more was cut than needed: {n}");
        assert!(b.starts_with("<!-- loadgate:t -->\n### loadgate"));
        assert!(b.contains("| r0 |") && !b.contains("| r4999 |"));
        assert!(b.contains("<sub>1 baseline run</sub>"), "the footer stays");
        assert!(b.contains("table rows left out"));
    }

    #[test]
    fn a_report_too_long_even_without_its_table_is_cut_at_a_line() {
        let md = "- reason\n".repeat(20_000);
        let b = body("t", &md);
        assert!(b.chars().count() <= BODY_CAP);
        assert!(b.ends_with("have everything.\n"));
    }
}

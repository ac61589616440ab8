//! What the terminal sees: colour only where it is asked for or a terminal shows it, and the
//! completion scripts and man page. No load: `compare` judges the shared stored result against
//! itself (its verdict depends on how steady that recording was; the colour does not).

use crate::support::{scenario, shared_baseline, Test, SCENARIO};

const ESC: &str = "\u{1b}[";

fn compare(t: &Test, extra: &[&str]) -> crate::support::Output {
    let mut args = vec!["compare", "base.json", "base.json", "--scenario", SCENARIO];
    args.extend_from_slice(extra);
    t.run(&args)
}

fn with_result() -> Test {
    Test::new()
        .scenario(&scenario("http://127.0.0.1:9", ""))
        .write("base.json", shared_baseline())
}

/// `text` without its SGR (colour) sequences.
fn strip(text: &str) -> String {
    regex::Regex::new("\u{1b}\\[[0-9;]*m")
        .map(|r| r.replace_all(text, "").into_owned())
        .unwrap_or_default()
}

#[test]
fn a_pipe_gets_no_colour_unless_asked_for() {
    let t = with_result();
    let plain = compare(&t, &[]);
    plain.stdout_has(&["verdict: "]);
    assert!(!plain.stdout.contains(ESC), "{plain}");
    let always = compare(&t, &["--color", "always"]);
    always.stdout_has(&["verdict: \u{1b}["]);
    // The colour marks only: the text without them is the plain output.
    assert_eq!(strip(&always.stdout), plain.stdout);
    assert_eq!(always.code, plain.code);
}

#[test]
fn clicolor_force_colours_a_pipe_and_no_color_or_never_wins() {
    let forced = with_result().env("CLICOLOR_FORCE", "1");
    let out = compare(&forced, &[]);
    assert!(out.stdout.contains(ESC), "{out}");
    let never = compare(&forced, &["--color", "never"]);
    assert!(!never.stdout.contains(ESC), "{never}");
    let no_color = with_result()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1");
    let out = compare(&no_color, &[]);
    out.stdout_has(&["verdict: "]);
    assert!(!out.stdout.contains(ESC), "{out}");
}

#[test]
fn completions_and_the_man_page_print_to_stdout() {
    let t = Test::new();
    t.run(&["completions", "bash"])
        .code(0)
        .stdout_has(&["_loadgate()", "--baselines"]);
    t.run(&["completions", "zsh"])
        .code(0)
        .stdout_has(&["#compdef loadgate"]);
    t.run(&["man"]).code(0).stdout_has(&[
        ".TH loadgate 1",
        ".TH loadgate-gate 1",
        "\\-\\-slowdown",
    ]);
    t.run(&["completions", "tcsh"]).code(2);
}

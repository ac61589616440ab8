//! The terminal, shared by every stage that talks to a human: whether colour is used and whether
//! the progress line shows. The only module that knows anstream and anstyle (the stack clap uses).
//!
//! Renderers mark what deserves colour with [`paint`]; text reaches stdout and stderr through
//! anstream, which drops the marks where colour is off: `--color never`, `NO_COLOR`, `TERM=dumb`, or
//! a stream that is not a terminal (a pipe, a file, a CI log) unless `CLICOLOR_FORCE` or
//! `--color always` asks for it. Files written with `--output` never get colour.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

/// When to colour (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE colours a pipe too).
    #[default]
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// What a piece of text says, which picks its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Passed, improved.
    Good,
    /// A warning.
    Warn,
    /// Could not be judged.
    Unknown,
    /// Failed: a critical regression, an error.
    Bad,
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// Applies `--color` and `-q` for the whole process; called once, first thing in `main`.
pub fn install(color: ColorWhen, quiet: bool) {
    match color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    }
    .write_global();
    QUIET.store(quiet, Ordering::Relaxed);
}

/// `-q`: no progress line, on a terminal or in a log.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

fn style(tone: Tone) -> Style {
    let color = match tone {
        Tone::Good => AnsiColor::Green,
        Tone::Warn => AnsiColor::Yellow,
        Tone::Unknown => AnsiColor::Magenta,
        Tone::Bad => AnsiColor::Red,
    };
    let style = Style::new().fg_color(Some(color.into()));
    match tone {
        Tone::Good => style,
        _ => style.bold(),
    }
}

/// `text` marked with `tone`'s colour; the marks are dropped on the way out where colour is off.
pub fn paint(tone: Tone, text: &str) -> String {
    let s = style(tone);
    format!("{s}{text}{s:#}")
}

/// Writes `text` to stdout, with its colour marks where colour is on.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = anstream::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes one line to stderr, with its colour marks where colour is on.
pub fn eprintln(line: &str) {
    let _ = writeln!(anstream::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_the_text_in_one_style_and_a_reset() {
        let red = paint(Tone::Bad, "CRITICAL");
        assert_eq!(red, "\u{1b}[1m\u{1b}[31mCRITICAL\u{1b}[0m");
        assert_eq!(paint(Tone::Good, "pass"), "\u{1b}[32mpass\u{1b}[0m");
    }

    #[test]
    fn stripping_the_marks_gives_back_the_plain_text() {
        for tone in [Tone::Good, Tone::Warn, Tone::Unknown, Tone::Bad] {
            let painted = paint(tone, "WARN");
            assert_eq!(anstream::adapter::strip_str(&painted).to_string(), "WARN");
        }
    }
}

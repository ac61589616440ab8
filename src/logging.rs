//! loadgate's `log` logger: everything to stderr, goose muted unless asked for.
//!
//! Installed before any goose code runs: goose's own logger writes every failed request to stdout,
//! and its `init` fails quietly once a logger exists (docs/goose.md §2).
//!
//! Other crates' messages are redacted: goose names every failed request by its path and URL, and
//! a scenario may put a `${env:SECRET}` there (issue 8), so only `scheme://host:port/…` is shown.

use std::borrow::Cow;
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// `message` with every URL cut to its origin (`scheme://host:port/…`) and every quoted request
/// path hidden (`"/…"`, the way goose names a request). Written by hand: the `regex` crate is the
/// scenario checks' (`scenario::check`), and this needs two fixed patterns only.
fn redact(message: &str) -> Cow<'_, str> {
    let cut = cut_urls(message);
    match hide_quoted_paths(&cut) {
        Cow::Borrowed(_) => cut,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// Whether `c` ends a URL or an origin in running text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | '<' | '>')
}

/// The length of the URL with a path, query or fragment starting at `text`'s first byte, and the
/// length of its origin, if one starts there.
fn url_at(text: &str) -> Option<(usize, usize)> {
    let first = text.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let scheme = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
        .unwrap_or(text.len());
    let rest = text[scheme..].strip_prefix("://")?;
    let host = rest
        .find(|c: char| ends_url(c) || matches!(c, '/' | '?' | '#'))
        .unwrap_or(rest.len());
    if host == 0 || !rest[host..].starts_with(['/', '?', '#']) {
        return None;
    }
    let origin = scheme + "://".len() + host;
    let tail = text[origin..].find(ends_url).unwrap_or(text.len() - origin);
    Some((origin + tail, origin))
}

fn cut_urls(message: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < message.len() {
        // A URL starts at a scheme's first letter, not inside a word that only ends like one.
        let starts = message[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')));
        match url_at(&message[i..]).filter(|_| starts) {
            Some((len, origin)) => {
                out.push_str(&message[copied..i + origin]);
                out.push_str("/…");
                i += len;
                copied = i;
            }
            None => i += message[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if copied == 0 {
        return Cow::Borrowed(message);
    }
    out.push_str(&message[copied..]);
    Cow::Owned(out)
}

fn hide_quoted_paths(message: &str) -> Cow<'_, str> {
    if !message.contains("\"/") {
        return Cow::Borrowed(message);
    }
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find("\"/") {
        let Some(len) = rest[start + 1..].find('"') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str("\"/…\"");
        rest = &rest[start + 1 + len + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

struct StderrLogger {
    own: LevelFilter,
    goose: LevelFilter,
}

impl StderrLogger {
    fn level_for(&self, target: &str) -> LevelFilter {
        if target.starts_with("loadgate") {
            self.own
        } else {
            self.goose
        }
    }
}

impl Log for StderrLogger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= self.level_for(m.target())
    }

    fn log(&self, r: &Record<'_>) {
        if self.enabled(r.metadata()) {
            let tag = match r.level() {
                Level::Error => crate::terminal::paint(crate::terminal::Tone::Bad, "error"),
                Level::Warn => crate::terminal::paint(crate::terminal::Tone::Warn, "warning"),
                Level::Info => "info".to_string(),
                _ => "debug".to_string(),
            };
            let text = r.args().to_string();
            let text = if r.target().starts_with("loadgate") {
                Cow::Borrowed(text.as_str())
            } else {
                redact(&text)
            };
            crate::terminal::eprintln(&format!("{tag}: [{}] {text}", r.target()));
        }
    }

    fn flush(&self) {}
}

/// Installs the logger: `verbose` 0 shows loadgate's warnings, 1 its progress, 2 also every failed
/// request and the load generator's warnings (noisy).
pub fn install(verbose: u8) {
    let own = if verbose >= 2 {
        LevelFilter::Debug
    } else if verbose >= 1 {
        LevelFilter::Info
    } else {
        LevelFilter::Warn
    };
    let goose = if verbose >= 2 {
        LevelFilter::Warn
    } else {
        LevelFilter::Off
    };
    if log::set_boxed_logger(Box::new(StderrLogger { own, goose })).is_ok() {
        let _ = MAX_LEVEL.set(own.max(goose));
        reassert();
    }
}

/// The level `install` chose.
static MAX_LEVEL: OnceLock<LevelFilter> = OnceLock::new();

/// Restores the level `install` chose. Goose's configuration step tries to install its own logger
/// (which fails: ours is first) but sets the global maximum level for it before trying, which would
/// hide loadgate's `-vv` lines for the rest of the run.
pub fn reassert() {
    if let Some(level) = MAX_LEVEL.get() {
        log::set_max_level(*level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goose_request_errors_show_no_path_or_query() {
        // What goose logs at -vv for a failed request (issue 8: a secret in the path leaked).
        let line = r#""/users/s3cret": error sending request for url (http://127.0.0.1:8080/users/s3cret?key=t0ken)"#;
        assert_eq!(
            redact(line),
            r#""/…": error sending request for url (http://127.0.0.1:8080/…)"#
        );
    }

    #[test]
    fn origins_and_plain_text_are_kept() {
        for kept in [
            "connection refused",
            "url (https://staging.example.com:8443)",
            "pool idle timeout at http://[::1]:9000",
        ] {
            assert_eq!(redact(kept), kept);
        }
        assert_eq!(
            redact("https://staging.example.com#frag and ws://h/x?y"),
            "https://staging.example.com/… and ws://h/…"
        );
    }

    #[test]
    fn every_url_and_quoted_path_in_a_line_is_cut() {
        assert_eq!(
            redact(r#"GET "/a?k=1" then "/b" via http://x:1/p?q#f and https://y/z"#),
            r#"GET "/…" then "/…" via http://x:1/… and https://y/…"#
        );
        // Not URLs: no scheme, an empty host, a scheme that is the end of a longer word.
        for kept in [
            "://host/path",
            "http:///path",
            "a/b/c",
            r#"an "unclosed /quote"#,
        ] {
            assert_eq!(redact(kept), kept);
        }
        assert_eq!(redact("é http://h/p é"), "é http://h/… é");
    }
}

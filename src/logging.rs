//! loadgate's `log` logger: everything to stderr, goose muted unless asked for.
//!
//! Installed before any goose code runs: goose's own logger writes every failed request to stdout,
//! and its `init` fails quietly once a logger exists (docs/goose.md §2).
//!
//! Other crates' messages are redacted: goose names every failed request by its path and URL, and
//! a scenario may put a `${env:SECRET}` there (issue 8), so only `scheme://host:port/…` is shown.

use std::borrow::Cow;
use std::sync::{LazyLock, OnceLock};

use log::{Level, LevelFilter, Log, Metadata, Record};
use regex::Regex;

/// A URL: the origin is kept (group 1), the path, query and fragment after it are not.
static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z][A-Za-z0-9+.-]*://[^/?#\s"'()<>]+)[/?#][^\s"'()<>]*"#).ok()
});
/// A quoted request path, the way goose names a request: `"/items/42?key=…"`.
static QUOTED_PATH: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r#""/[^"]*""#).ok());

/// `message` with every URL cut to its origin and every quoted path hidden. Should a pattern ever
/// fail to compile, nothing of the message is shown rather than all of it.
fn redact(message: &str) -> Cow<'_, str> {
    let (Some(url), Some(quoted)) = (URL.as_ref(), QUOTED_PATH.as_ref()) else {
        return Cow::Borrowed("(message hidden: it may hold a request path)");
    };
    match url.replace_all(message, "$1/…") {
        Cow::Borrowed(m) => quoted.replace_all(m, "\"/…\""),
        Cow::Owned(m) => Cow::Owned(quoted.replace_all(&m, "\"/…\"").into_owned()),
    }
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
}

//! loadgate's `log` logger: everything to stderr, goose muted unless asked for.
//!
//! Installed before any goose code runs: goose's own logger writes every failed request to stdout,
//! and its `init` fails quietly once a logger exists (GOOSE.md §2).

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

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
                Level::Error => "error",
                Level::Warn => "warning",
                _ => "info",
            };
            let _ = writeln!(
                std::io::stderr().lock(),
                "{tag}: [{}] {}",
                r.target(),
                r.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the logger: `verbose` 0 shows loadgate's warnings, 1 its progress, 2 also the load
/// generator's warnings (one per failed request: noisy).
pub fn install(verbose: u8) {
    let own = if verbose >= 1 {
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
        log::set_max_level(own.max(goose));
    }
}

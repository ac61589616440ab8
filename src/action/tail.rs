//! The bounded tail of a child process's output: the last [`TAIL_LINES`] lines, each cut at
//! [`MAX_LINE_BYTES`], so memory stays bounded whatever the rollback hook prints.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Mutex, PoisonError};

/// Lines of the hook's output kept for the report: enough to see why a rollback failed.
pub const TAIL_LINES: usize = 20;
/// Longest line kept; the rest of a longer line is dropped (a hook printing a minified JSON blob
/// must not fill the report).
pub const MAX_LINE_BYTES: usize = 500;

/// The last [`TAIL_LINES`] lines of the hook's output (stdout and stderr as they arrive).
#[derive(Debug, Default)]
pub struct Tail {
    lines: VecDeque<String>,
}

impl Tail {
    /// Adds a line, dropping the oldest beyond [`TAIL_LINES`].
    pub fn push(&mut self, bytes: &[u8]) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        let line = String::from_utf8_lossy(bytes);
        self.lines
            .push_back(line.trim_end_matches('\r').to_string());
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}

/// Reads `stream` to its end into `tail`, line by line, keeping at most [`MAX_LINE_BYTES`] of each
/// line: memory stays bounded whatever the hook prints.
pub fn collect(mut stream: Box<dyn Read + Send>, tail: &Mutex<Tail>) {
    let mut buf = [0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                tail.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(&line);
                line.clear();
            } else if line.len() < MAX_LINE_BYTES {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        tail.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(&line);
    }
}

//! Reading a response body as it streams in: every byte is counted (the latency runs to the last
//! one), only what a check or capture reads is kept, up to [`MAX_KEPT_BYTES`], and a body past the
//! smallest `max_body_bytes` check stops being read at once. A 256 MiB response costs a count, not
//! 256 MiB per user in flight.

use crate::scenario::{CaptureFrom, CheckKind, RequestSpec};

/// The most of a body kept for the checks and captures that read it (scenarios/README.md): past
/// it they see the first 1 MiB, and what needs the whole body (JSON, `body_not_contains`) fails.
pub const MAX_KEPT_BYTES: usize = 1 << 20;

/// What the checks and captures of one request need from its bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// Some check or capture reads the body's content.
    pub keep: bool,
    /// The smallest `max_body_bytes`: past it, reading stops.
    pub limit: Option<u64>,
}

impl Needs {
    /// What `spec`'s checks and captures read.
    pub fn of(spec: &RequestSpec) -> Self {
        let keep = spec.checks.iter().any(|c| {
            matches!(
                c.kind,
                CheckKind::BodyContains(_) | CheckKind::BodyNotContains(_) | CheckKind::Json { .. }
            )
        }) || spec
            .captures
            .iter()
            .any(|c| matches!(c.from, CaptureFrom::Json(_) | CaptureFrom::Body(_)));
        let limit = spec
            .checks
            .iter()
            .filter_map(|c| match c.kind {
                CheckKind::MaxBodyBytes(n) => Some(n),
                _ => None,
            })
            .min();
        Self { keep, limit }
    }
}

/// A body as read so far.
#[derive(Debug, Default)]
pub struct Body {
    /// Its first bytes, when something reads them (at most [`MAX_KEPT_BYTES`]).
    pub kept: Vec<u8>,
    /// Bytes counted (all of them, unless reading stopped at the limit).
    pub len: u64,
}

impl Body {
    /// Adds a chunk; `false` once the body is past the limit and reading should stop.
    pub fn push(&mut self, chunk: &[u8], needs: Needs) -> bool {
        self.len += chunk.len() as u64;
        if needs.keep {
            let room = MAX_KEPT_BYTES.saturating_sub(self.kept.len());
            self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        needs.limit.is_none_or(|l| self.len <= l)
    }
}

/// Reads `response`'s body under `needs`. A declared length past the limit is not read at all.
pub async fn read(mut response: reqwest::Response, needs: Needs) -> Result<Body, reqwest::Error> {
    let mut body = Body::default();
    if let (Some(declared), Some(limit)) = (response.content_length(), needs.limit) {
        if declared > limit {
            body.len = declared;
            return Ok(body);
        }
    }
    while let Some(chunk) = response.chunk().await? {
        if !body.push(&chunk, needs) {
            break;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_read_is_kept_and_the_limit_stops_reading() {
        let chunk = vec![b'a'; 300_000];
        let mut counted = Body::default();
        let count_only = Needs::default();
        for _ in 0..10 {
            assert!(counted.push(&chunk, count_only));
        }
        assert_eq!((counted.len, counted.kept.len()), (3_000_000, 0));
        let mut kept = Body::default();
        let keep = Needs {
            keep: true,
            limit: None,
        };
        for _ in 0..10 {
            kept.push(&chunk, keep);
        }
        assert_eq!((kept.len, kept.kept.len()), (3_000_000, MAX_KEPT_BYTES));
        let mut limited = Body::default();
        let limit = Needs {
            keep: false,
            limit: Some(500_000),
        };
        assert!(limited.push(&chunk, limit));
        assert!(!limited.push(&chunk, limit));
    }
}

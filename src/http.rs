//! The redirect rule every HTTP client of loadgate shares (the load, the preflight probe, the
//! webhooks, the Prometheus sampler): a redirect to another host is not followed unless asked for.
//! Following one would send the load, and every header of the scenario (API keys from
//! `${env:NAME}` included), to a host nobody chose.

use reqwest::redirect::{Attempt, Policy};
use url::Url;

/// Redirects followed at most in a row, as reqwest's own default.
pub const MAX_REDIRECTS: usize = 10;

/// The policy: redirects within the same host are followed (an `https` to `http` downgrade is not);
/// one to another host is followed only with `any_host`. A redirect that is not followed is
/// returned as the 3xx response itself, for the caller to count.
pub fn redirect_policy(any_host: bool) -> Policy {
    Policy::custom(move |attempt: Attempt<'_>| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error("too many redirects");
        }
        let stays = attempt
            .previous()
            .first()
            .is_some_and(|first| same_host(first, attempt.url()));
        if stays || any_host {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Whether `to` is on the host of `from`, without leaving TLS.
pub fn same_host(from: &Url, to: &Url) -> bool {
    let host = |u: &Url| u.host_str().map(str::to_ascii_lowercase);
    host(from) == host(to) && !(from.scheme() == "https" && to.scheme() == "http")
}

/// Whether a `status` response to `from` with `location` redirects to another host (a redirect the
/// same-host policy stopped).
pub fn leaves_host(from: &Url, status: u16, location: Option<&str>) -> bool {
    if !(300..400).contains(&status) {
        return false;
    }
    location
        .and_then(|l| from.join(l).ok())
        .is_some_and(|to| !same_host(from, &to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_host_or_a_downgrade_leaves() {
        let from = Url::parse("https://api.example.com/a").unwrap();
        assert!(!leaves_host(&from, 302, Some("/b")));
        assert!(!leaves_host(&from, 301, Some("https://API.example.com/b")));
        assert!(leaves_host(&from, 302, Some("https://evil.example.net/b")));
        assert!(leaves_host(&from, 307, Some("http://api.example.com/b")));
        assert!(!leaves_host(&from, 200, Some("https://evil.example.net/b")));
        assert!(!leaves_host(&from, 302, None));
    }
}

//! The HTTP client settings a target needs beyond goose's default client: HTTP version, extra
//! trusted roots, the loudly named `--danger-accept-invalid-certs`, and a cookie jar. Used by both
//! the preflight probe and every load user, so the probe proves what the load will do.

use std::path::PathBuf;
use std::time::Duration;

use crate::load::LoadError;
use crate::scenario::{HttpVersion, TargetSpec};

/// How to build a client for the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// HTTP version policy.
    pub http: HttpVersion,
    /// PEM file of extra trusted roots.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (`--danger-accept-invalid-certs`).
    pub accept_invalid_certs: bool,
    /// Keep cookies per user (`[target] cookies = true`).
    pub cookies: bool,
    /// Follow redirects to another host (`[target] cross_host_redirects = true`).
    pub cross_host_redirects: bool,
}

impl ClientOptions {
    /// The scenario's settings plus the command line's.
    pub fn new(spec: &TargetSpec, accept_invalid_certs: bool) -> Self {
        Self {
            http: spec.http,
            ca_file: spec.ca_file.clone(),
            accept_invalid_certs,
            cookies: spec.cookies,
            cross_host_redirects: spec.cross_host_redirects,
        }
    }

    /// A client builder with these settings, `timeout` per request and loadgate's user agent.
    pub fn builder(&self, timeout: Duration) -> Result<reqwest::ClientBuilder, LoadError> {
        let mut b = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("loadgate/", env!("CARGO_PKG_VERSION")))
            .redirect(crate::http::redirect_policy(self.cross_host_redirects));
        b = match self.http {
            HttpVersion::Auto => b,
            HttpVersion::Http1 => b.http1_only(),
            HttpVersion::Http2 => b.http2_prior_knowledge(),
        };
        if let Some(path) = &self.ca_file {
            let pem =
                crate::fsutil::read_limited(path, crate::fsutil::limits::CA_FILE).map_err(|e| {
                    LoadError::Client(format!(
                        "cannot read `target.ca_file` {}: {e}",
                        path.display()
                    ))
                })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                LoadError::Client(format!(
                    "`target.ca_file` {} holds no usable PEM certificate ({e}); export the CA as PEM",
                    path.display()
                ))
            })?;
            b = b.tls_certs_merge(certs);
        }
        if self.accept_invalid_certs {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if self.cookies {
            b = b.cookie_store(true);
        }
        Ok(b)
    }

    /// A built client (for the preflight probe).
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, LoadError> {
        self.builder(timeout)?
            .build()
            .map_err(|e| LoadError::Client(e.to_string()))
    }
}

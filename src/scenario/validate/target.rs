//! `[target]`: where the load goes (base URL, default headers, health check, HTTP version, CA file).

use std::path::PathBuf;

use super::context::Ctx;
use super::defaults::{DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT};
use super::request::{check_path, headers};
use crate::scenario::file::TargetFile;
use crate::scenario::{HealthSpec, HttpVersion, ScenarioError, TargetSpec};

pub(super) fn target(cx: &Ctx<'_>, t: &TargetFile) -> Result<TargetSpec, ScenarioError> {
    let base_url = t
        .base_url
        .as_ref()
        .map(|u| cx.expand("target.base_url", u))
        .transpose()?;
    let headers = headers(cx, "target.headers", &t.headers)?;
    let health = health(cx, t)?;
    let http = http_version(cx, t.http.as_deref())?;
    let ca_file = t.ca_file.as_ref().map(|f| ca_file(cx, f)).transpose()?;
    Ok(TargetSpec {
        base_url,
        headers,
        health,
        http,
        ca_file,
        cookies: t.cookies.unwrap_or(false),
        cross_host_redirects: t.cross_host_redirects.unwrap_or(false),
    })
}

/// `target.health`: no path probes nothing, but the retry defaults still describe the target.
fn health(cx: &Ctx<'_>, t: &TargetFile) -> Result<HealthSpec, ScenarioError> {
    let health = match &t.health {
        None => HealthSpec {
            path: None,
            retries: DEFAULT_HEALTH_RETRIES,
            interval: DEFAULT_HEALTH_INTERVAL,
            timeout: DEFAULT_HEALTH_TIMEOUT,
        },
        Some(h) => {
            check_path(cx, "target.health.path", &h.path)?;
            HealthSpec {
                path: Some(h.path.clone()),
                retries: h.retries.unwrap_or(DEFAULT_HEALTH_RETRIES),
                interval: cx.duration(
                    "target.health.interval",
                    h.interval.as_ref(),
                    DEFAULT_HEALTH_INTERVAL,
                )?,
                timeout: cx.duration(
                    "target.health.timeout",
                    h.timeout.as_ref(),
                    DEFAULT_HEALTH_TIMEOUT,
                )?,
            }
        }
    };
    if health.timeout.is_zero() {
        return Err(cx.invalid(
            "target.health.timeout",
            "must be above zero",
            "e.g. `timeout = \"2s\"`",
        ));
    }
    Ok(health)
}

fn http_version(cx: &Ctx<'_>, http: Option<&str>) -> Result<HttpVersion, ScenarioError> {
    match http {
        None | Some("auto") => Ok(HttpVersion::Auto),
        Some("1.1") | Some("1") => Ok(HttpVersion::Http1),
        Some("2") => Ok(HttpVersion::Http2),
        Some(other) => Err(cx.invalid(
            "target.http",
            format!("unknown HTTP version `{other}`"),
            "use \"auto\" (HTTP/2 when a TLS server offers it), \"1.1\" or \"2\" (prior knowledge, also cleartext)",
        )),
    }
}

/// `target.ca_file`, relative to the scenario file: read now, so a missing or wrong file is an
/// error before any load.
fn ca_file(cx: &Ctx<'_>, f: &str) -> Result<PathBuf, ScenarioError> {
    let f = cx.expand("target.ca_file", f)?;
    let path = cx
        .path
        .parent()
        .map(|dir| dir.join(&f))
        .unwrap_or_else(|| f.clone().into());
    let text = crate::fsutil::read_text_limited(&path, crate::fsutil::limits::CA_FILE).map_err(|e| {
        cx.invalid(
            "target.ca_file",
            format!("cannot read `{}`: {e}", path.display()),
            "point it at a PEM file of CA certificates; a relative path is relative to the scenario file",
        )
    })?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(cx.invalid(
            "target.ca_file",
            format!("`{}` holds no PEM certificate", path.display()),
            "use a PEM file (-----BEGIN CERTIFICATE-----); convert DER with `openssl x509 -inform der -in ca.der -out ca.pem`",
        ));
    }
    Ok(path)
}

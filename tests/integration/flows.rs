//! Scenarios for real APIs (issue 9): a loopback "shop" that requires a login token, serves items
//! whose ids come from a CSV feeder, and returns wrong bodies on purpose. The server itself asserts
//! what loadgate sent (the token it issued, an id from the file), so a test fails if values do not
//! flow. Also: HTTP/2 with prior knowledge, and every bad-input case at validation time (exit 2).

#![expect(
    clippy::expect_used,
    reason = "test fixture: a server that cannot start must fail the test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::support::Test;

/// What the shop saw and how it behaves.
#[derive(Default)]
struct Shop {
    /// Tokens issued by `/login`.
    tokens: Mutex<BTreeSet<String>>,
    /// Item ids requested with a valid token.
    ids: Mutex<BTreeMap<String, u64>>,
    /// Requests to `/items/..` with a missing or unknown token.
    bad_token: AtomicU64,
    /// Requests to `/items/..`.
    items: AtomicU64,
    /// Requests whose `X-Token` (a target header) is missing or is not their bearer token, and
    /// logins that carried one.
    x_token_wrong: AtomicU64,
    /// `/login` answers without a token.
    login_broken: AtomicBool,
    /// Every n-th `/items` answer is a 200 error page (0: never).
    broken_every: AtomicU64,
    /// HTTP versions seen.
    versions: Mutex<BTreeSet<String>>,
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn serve(
    shop: Arc<Shop>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    shop.versions
        .lock()
        .expect("lock")
        .insert(format!("{:?}", req.version()));
    let path = req.uri().path().to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let x_token = req
        .headers()
        .get("x-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path == "/health" {
        return Ok(reply(StatusCode::OK, "{}".into()));
    }
    if path == "/login" {
        if x_token.is_some() {
            shop.x_token_wrong.fetch_add(1, Ordering::Relaxed);
        }
        if shop.login_broken.load(Ordering::Relaxed) {
            return Ok(reply(StatusCode::OK, "<html>maintenance</html>".into()));
        }
        let user: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let token = format!("tok-{}", user["user"].as_str().unwrap_or("?"));
        shop.tokens.lock().expect("lock").insert(token.clone());
        return Ok(reply(StatusCode::OK, format!(r#"{{"token":"{token}"}}"#)));
    }
    if let Some(id) = path.strip_prefix("/items/") {
        let n = shop.items.fetch_add(1, Ordering::Relaxed) + 1;
        let token = auth.and_then(|a| a.strip_prefix("Bearer ").map(str::to_string));
        if token.is_none() || token != x_token {
            shop.x_token_wrong.fetch_add(1, Ordering::Relaxed);
        }
        let known = token.is_some_and(|t| shop.tokens.lock().expect("lock").contains(&t));
        if !known {
            shop.bad_token.fetch_add(1, Ordering::Relaxed);
            return Ok(reply(StatusCode::UNAUTHORIZED, "{}".into()));
        }
        *shop
            .ids
            .lock()
            .expect("lock")
            .entry(id.to_string())
            .or_default() += 1;
        let every = shop.broken_every.load(Ordering::Relaxed);
        if every > 0 && n % every == 0 {
            return Ok(reply(StatusCode::OK, "<html>error</html>".into()));
        }
        return Ok(reply(
            StatusCode::OK,
            format!(r#"{{"id":"{id}","ok":true}}"#),
        ));
    }
    Ok(reply(StatusCode::NOT_FOUND, "{}".into()))
}

/// The shop on `127.0.0.1:0`, on its own runtime; HTTP/1.1, or HTTP/2 only (prior knowledge).
struct Server {
    shop: Arc<Shop>,
    url: String,
    _runtime: tokio::runtime::Runtime,
}

/// How the shop talks.
#[derive(Clone)]
enum Wire {
    Http1,
    /// HTTP/2 only, cleartext (prior knowledge).
    H2c,
    /// TLS with this certificate chain and key (PEM); ALPN offers h2 and http/1.1.
    Tls(Arc<tokio_rustls::TlsAcceptor>),
}

impl Server {
    fn start(http2: bool) -> Self {
        Self::start_on(if http2 { Wire::H2c } else { Wire::Http1 })
    }

    fn start_on(wire: Wire) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let shop = Arc::new(Shop::default());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("address");
        let url = match wire {
            Wire::Tls(_) => format!("https://localhost:{}", address.port()),
            _ => format!("http://{address}"),
        };
        let s = shop.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s, wire) = (s.clone(), wire.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| serve(s.clone(), req));
                    match wire {
                        Wire::Http1 => {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        Wire::H2c => {
                            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        Wire::Tls(acceptor) => {
                            let Ok(tls) = acceptor.accept(stream).await else {
                                return; // a client that does not trust us: its handshake fails
                            };
                            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                            let io = TokioIo::new(tls);
                            if h2 {
                                let _ =
                                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                        .serve_connection(io, service)
                                        .await;
                            } else {
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(io, service)
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        Self {
            shop,
            url,
            _runtime: runtime,
        }
    }
}

/// 3 users at 150 req/s for 2 s; each logs in once, then fetches items by id from `items.csv`
/// with the captured token.
fn shop_scenario(url: &str, extra_target: &str, item_checks: &str) -> String {
    format!(
        r#"name = "shop"

[target]
base_url = "{url}"
headers = {{ "X-Token" = "${{token}}" }}   # left out until there is a token (the login)
health = {{ path = "/health", retries = 1, interval = "100ms", timeout = "1s" }}
{extra_target}

[load]
users = 3
rate = 150
ramp_up = "500ms"
duration = "2s"
max_requests = 2000
request_timeout = "2s"
window = "250ms"

[[feeder]]
name = "items"
file = "items.csv"

[[request]]
name = "login"
method = "POST"
path = "/login"
body = '{{"user": "u${{user.id}}"}}'
on_start = true

[[request.capture]]
var = "token"
json = "/token"

[[request]]
name = "item"
path = "/items/${{items.id}}"
headers = {{ Authorization = "Bearer ${{token}}" }}   # not sent without a token
{item_checks}
"#
    )
}

const ITEMS: &str = "id,name\nA-1,apple\nB-2,bread\nC-3,cheese\n";

fn setup(server: &Server, extra_target: &str, item_checks: &str) -> Test {
    Test::new().write("scenarios/items.csv", ITEMS).write(
        "scenarios/shop.toml",
        shop_scenario(&server.url, extra_target, item_checks),
    )
}

#[test]
fn a_captured_token_and_feeder_ids_reach_the_server() {
    let server = Server::start(false);
    let t = setup(&server, "", "");
    let out = t.run(&["run", "scenarios/shop.toml", "--format", "json"]);
    out.code(0);
    let shop = &server.shop;
    assert_eq!(
        shop.bad_token.load(Ordering::Relaxed),
        0,
        "every item request carried an issued token"
    );
    assert!(shop.items.load(Ordering::Relaxed) > 50, "the mix ran");
    assert_eq!(
        shop.x_token_wrong.load(Ordering::Relaxed),
        0,
        "target header: absent on login, the token after"
    );
    let ids = shop.ids.lock().expect("lock").clone();
    assert_eq!(
        ids.keys().cloned().collect::<Vec<_>>(),
        ["A-1", "B-2", "C-3"],
        "ids come from the file, every row used (sequential, recycled)"
    );
    let counts: Vec<u64> = ids.values().copied().collect();
    let (lo, hi) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    assert!(
        hi - lo <= 1,
        "a shared sequential cursor spreads rows evenly: {counts:?}"
    );
    let tokens = shop.tokens.lock().expect("lock").clone();
    assert_eq!(
        tokens,
        BTreeSet::from(["tok-u0".into(), "tok-u1".into(), "tok-u2".into()]),
        "one login per user"
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON report");
    let text = report.to_string();
    assert!(text.contains("\"item\""), "{text}");
}

#[test]
fn a_200_with_a_wrong_body_fails_its_check_and_the_gate() {
    let server = Server::start(false);
    let checks = "[[request.check]]\nname = \"item is json\"\njson = \"/ok\"\nequals = true\n\n[gate]\nmetrics = [\"p50\", \"error_rate\"]\n";
    let t = setup(&server, "", checks);
    t.run(&["record", "scenarios/shop.toml"]).code(0);
    // Now one answer in four is an error page with status 200.
    server.shop.broken_every.store(4, Ordering::Relaxed);
    let out = t.run(&[
        "gate",
        "scenarios/shop.toml",
        "--confirm",
        "0",
        "--out",
        "run.json",
    ]);
    out.code(1).stdout_has(&["error_rate", "item is json"]);
    let run = t.json("run.json");
    let item = &run["requests"]["item"];
    let failed = item["failed_checks"]["item is json"].as_u64().unwrap_or(0);
    assert!(failed > 10, "{item}");
    assert_eq!(item["errors"]["check"].as_u64(), Some(failed));
    assert_eq!(
        run["all"]["failed_checks"]["item: item is json"].as_u64(),
        Some(failed)
    );
    let requests = item["requests"].as_u64().unwrap_or(0);
    assert!(
        failed * 6 > requests && failed * 3 < requests,
        "about one in four: {failed} of {requests}"
    );
}

#[test]
fn a_capture_that_matches_nothing_is_an_error_and_its_dependents_are_not_sent() {
    let server = Server::start(false);
    server.shop.login_broken.store(true, Ordering::Relaxed);
    // Logins happen during the ramp-up; a short ramp keeps some in the measured window too.
    let t = setup(&server, "", "");
    let out = t.run(&["run", "scenarios/shop.toml", "--out", "run.json"]);
    assert_eq!(
        server.shop.items.load(Ordering::Relaxed),
        0,
        "no item request without a token"
    );
    let run = t.json("run.json");
    assert!(
        run["requests"]["item"]["not_sent"].as_u64().unwrap_or(0) > 0,
        "{}",
        run["requests"]["item"]
    );
    assert_eq!(run["requests"]["item"]["requests"].as_u64(), Some(0));
    out.stdout_has(&["not sent", "token"]);
}

#[test]
fn http2_with_prior_knowledge_speaks_h2() {
    let server = Server::start(true);
    let t = setup(&server, "http = \"2\"", "");
    t.run(&["run", "scenarios/shop.toml"]).code(0);
    let versions = server.shop.versions.lock().expect("lock").clone();
    assert_eq!(versions, BTreeSet::from(["HTTP/2.0".to_string()]));
    assert!(server.shop.ids.lock().expect("lock").len() == 3);
}

#[test]
fn a_feeder_that_stops_ends_the_run_early_and_says_so() {
    let server = Server::start(false);
    let t = setup(&server, "", "").write(
        "scenarios/shop.toml",
        shop_scenario(&server.url, "", "").replace(
            "file = \"items.csv\"",
            "file = \"items.csv\"\non_end = \"stop\"\norder = \"unique\"",
        ),
    );
    let out = t.run(&["run", "scenarios/shop.toml"]);
    out.stdout_has(&["feeder `items` ran out of rows"]);
    // 3 rows, 3 users, unique: each user fetches its own row once.
    let ids = server.shop.ids.lock().expect("lock").clone();
    assert!(ids.values().all(|n| *n == 1), "no row twice: {ids:?}");
}

/// A private CA: its PEM, and a TLS acceptor for `localhost` / `127.0.0.1` signed by it.
fn private_ca() -> (String, Arc<tokio_rustls::TlsAcceptor>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use tokio_rustls::rustls;
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "loadgate test CA");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("leaf params");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    let chain = vec![leaf_cert.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server certificate");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (
        ca_cert.pem(),
        Arc::new(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
    )
}

#[test]
fn tls_needs_the_private_ca_or_the_loud_flag_and_auto_negotiates_h2() {
    let (ca_pem, acceptor) = private_ca();
    let server = Server::start_on(Wire::Tls(acceptor));
    // Trusted through `ca_file`: HTTP/2 by ALPN with the default `http = "auto"`.
    let t = setup(&server, "ca_file = \"ca.pem\"", "").write("scenarios/ca.pem", &ca_pem);
    t.run(&["run", "scenarios/shop.toml"]).code(0);
    assert_eq!(
        server.shop.versions.lock().expect("lock").clone(),
        BTreeSet::from(["HTTP/2.0".to_string()])
    );
    assert_eq!(server.shop.bad_token.load(Ordering::Relaxed), 0);
    // Not trusted: refused in preflight, before any load.
    let before = server.shop.items.load(Ordering::Relaxed);
    let untrusted = setup(&server, "", "");
    untrusted
        .run(&["run", "scenarios/shop.toml"])
        .code(2)
        .stderr_has(&["not healthy", "certificate is not trusted", "ca_file"]);
    // The loud flag: accepted, with a warning; `http = "1.1"` is honoured.
    let insecure = setup(&server, "http = \"1.1\"", "");
    insecure
        .run(&[
            "run",
            "scenarios/shop.toml",
            "--danger-accept-invalid-certs",
        ])
        .code(0)
        .stderr_has(&["NOT verified"]);
    assert!(server.shop.items.load(Ordering::Relaxed) > before);
    assert!(server
        .shop
        .versions
        .lock()
        .expect("lock")
        .contains("HTTP/1.1"));
}

/// Bad input is refused when the scenario is read: exit 2, naming the file, the key and the fix.
#[test]
fn bad_variables_feeders_checks_and_captures_are_refused_before_any_load() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "path = \"/items/${items.id}\"",
            "path = \"/items/${itme}\"",
            &["request[1].path", "unknown variable `${itme}`", "items.id"],
        ),
        (
            "path = \"/items/${items.id}\"",
            "path = \"/items/${items.sku}\"",
            &["feeder `items` has no column `sku`", "`id`, `name`"],
        ),
        (
            "file = \"items.csv\"",
            "file = \"nope.csv\"",
            &["feeder[0].file", "nope.csv", "relative to the scenario"],
        ),
        (
            "json = \"/token\"",
            "json = \"token\"",
            &["capture[0].json", "not a JSON pointer"],
        ),
        (
            "json = \"/token\"",
            "regex = \"(unclosed\"",
            &["capture[0].regex", "not a valid regular expression"],
        ),
        (
            "on_start = true",
            "on_start = true\nweight = 2",
            &["weight", "once per user"],
        ),
        (
            "name = \"item\"",
            "name = \"item\"\nfeed = [\"prices\"]",
            &["feed", "no `[[feeder]]` is named `prices`", "items"],
        ),
        ("[load]", "[target.x]\n[load]", &["unknown field"]),
    ];
    let server_url = "http://127.0.0.1:9";
    for (from, to, needles) in cases {
        let text = shop_scenario(server_url, "", "");
        assert!(text.contains(from), "fixture has {from}");
        let t = Test::new()
            .write("scenarios/items.csv", ITEMS)
            .write("scenarios/shop.toml", text.replacen(from, to, 1));
        let out = t.run(&["run", "scenarios/shop.toml"]);
        out.code(2).stderr_has(&["shop.toml"]).stderr_has(needles);
    }
    let missing_column = Test::new()
        .write("scenarios/items.csv", "id,name\nA-1\n")
        .write("scenarios/shop.toml", shop_scenario(server_url, "", ""));
    missing_column
        .run(&["run", "scenarios/shop.toml"])
        .code(2)
        .stderr_has(&["not valid CSV"]);
    let check = "[[request.check]]\njson = \"/ok\"\nbody_contains = \"x\"\n";
    Test::new()
        .write("scenarios/items.csv", ITEMS)
        .write("scenarios/shop.toml", shop_scenario(server_url, "", check))
        .run(&["run", "scenarios/shop.toml"])
        .code(2)
        .stderr_has(&["check[0]", "more than one kind of check"]);
    Test::new()
        .write("scenarios/items.csv", ITEMS)
        .write(
            "scenarios/shop.toml",
            shop_scenario(server_url, "ca_file = \"items.csv\"", ""),
        )
        .run(&["run", "scenarios/shop.toml"])
        .code(2)
        .stderr_has(&["target.ca_file", "no PEM certificate"]);
}

/// The scenario schema accepts every committed scenario and this file's shop scenario with all
/// the new keys, and the result and report of a run with failed checks match theirs.
#[test]
fn scenarios_results_and_reports_with_checks_match_their_schemas() {
    use crate::schema::{assert_valid, report_schema, result_schema, validator};
    let scenario_schema = validator("scenario.schema.json").expect("scenario schema");
    let mut texts: Vec<(String, String)> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .expect("scenarios/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).expect("read"),
                )
            })
            .collect();
    let checks = "[[request.check]]\nname = \"json\"\njson = \"/ok\"\nequals = true\n[[request.check]]\nheader = \"content-type\"\ncontains = \"json\"\n[[request.check]]\nstatus = [200]\n[[request.check]]\nmax_body_bytes = 100\n";
    texts.push((
        "shop".into(),
        shop_scenario("http://127.0.0.1:1", "http = \"2\"\ncookies = true", checks),
    ));
    texts.push((
        "a request's own objectives".into(),
        "name = \"t\"\n[[request]]\nname = \"search\"\npath = \"/\"\n[gate.overrides.search]\nslo = { p95 = \"500ms\", error_rate = \"1%\" }\np99 = { critical = \"30%\" }\n".into(),
    ));
    texts.push((
        "a [suite] file".into(),
        "name = \"queue\"\n[suite]\ncommand = [\"cargo\", \"bench\"]\nformat = \"criterion\"\nresults = [\"target/criterion\"]\ntimeout = \"10m\"\n[gate]\ncritical = \"20%\"\n".into(),
    ));
    for (name, text) in &texts {
        let value: serde_json::Value = toml::from_str(text).expect("TOML");
        assert_valid(&scenario_schema, &value, name);
    }
    let server = Server::start(false);
    server.shop.broken_every.store(3, Ordering::Relaxed);
    let t = setup(&server, "", "[[request.check]]\njson = \"/ok\"\n");
    t.run(&[
        "run",
        "scenarios/shop.toml",
        "--out",
        "run.json",
        "--format",
        "json",
        "--output",
        "report.json",
    ])
    .code(0);
    let run = t.json("run.json");
    assert!(
        run["requests"]["item"]["errors"]["check"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{}",
        run["requests"]["item"]
    );
    assert_valid(&result_schema().expect("result schema"), &run, "run.json");
    assert_valid(
        &report_schema().expect("report schema"),
        &t.json("report.json"),
        "report.json",
    );
}

/// A login whose capture finds nothing in `on_start`: the failure counts as an error of the login
/// (it ran during the ramp-up, where it used to vanish as warm-up), and a run whose every item
/// request then went unsent fails (exit 2, saying why) instead of passing with 0.00% errors.
#[test]
fn a_login_whose_capture_fails_is_an_error_and_a_run_that_sent_nothing_fails() {
    let server = Server::start(false);
    let t = setup(&server, "", "");
    let text = String::from_utf8(t.read("scenarios/shop.toml")).expect("UTF-8");
    let t = t.write(
        "scenarios/shop.toml",
        text.replace("json = \"/token\"", "json = \"/no-such-field\""),
    );
    let out = t.run(&["run", "scenarios/shop.toml", "--out", "result.json"]);
    out.code(2)
        .stderr_has(&["nothing of the load was sent", "had no value"]);
    let login = t.json("result.json")["requests"]["login"].clone();
    assert_eq!(login["requests"], 3, "one login per user: {login}");
    assert_eq!(login["errors"]["capture"], 3, "{login}");
    assert_eq!(t.json("result.json")["requests"]["item"]["requests"], 0);
}

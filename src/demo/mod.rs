//! The built-in demo target, beside the pipeline rather than in it (it is what the load stage
//! loads, not part of loading): a small HTTP/1.1 service (hyper) that loadgate can
//! load without any other software, so a newcomer can watch the gate pass, then catch a regression.
//!
//! `loadgate demo` runs it standalone; `--demo` starts it inside the load generator's process on
//! `127.0.0.1:0`; integration tests start it with [`DemoKnobs`] set to inject slowdowns, latency
//! spikes, errors and memory growth. It consumes a validated `DemoKnobs` and produces a running
//! [`DemoServer`]. It imports nothing else from the crate but its capacity limiter (`limiter.rs`).
//!
//! What it must not do: listen on anything but loopback (it is a deliberately misbehaving service),
//! burn CPU (service time is a `tokio::time::sleep`, so latencies depend on the knobs and not on
//! the host; a baseline committed on one machine must compare cleanly on another), or use a random
//! number generator (injected faults follow a deterministic, evenly spread sequence, so two runs
//! with the same knobs and request count fail exactly the same number of requests).

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod limiter;

use limiter::{Admission, Limiter, MAX_QUEUE_WAIT};

/// Endpoints, for docs and `--help`: (method, path, description). Keep in sync with `route`
/// (a test checks that every entry is routable).
pub const ENDPOINTS: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/health",
        "liveness probe: 200 \"ok\"; the knobs never apply",
    ),
    ("GET", "/fast", "small JSON object; base service time 2 ms"),
    (
        "GET",
        "/products",
        "JSON array of 20 products (any query, e.g. ?page=2); base 5 ms",
    ),
    ("GET", "/search", "search results for ?q=...; base 12 ms"),
    (
        "POST",
        "/cart",
        "201 with the received body length; base 3 ms",
    ),
];

// Base service times. Distinct (2/3/5/12 ms) so the endpoints are easy to tell apart in a
// report, and all at least 2 ms so tokio's 1 ms timer granularity is a small, stable part of them.
const FAST_BASE: Duration = Duration::from_millis(2);
const CART_BASE: Duration = Duration::from_millis(3);
const PRODUCTS_BASE: Duration = Duration::from_millis(5);
const SEARCH_BASE: Duration = Duration::from_millis(12);

/// Products per `/products` page: a realistic list page, still a small response (~1.5 KB).
const PAGE_SIZE: u64 = 20;
/// Largest `/cart` body read; a cart update is tiny, and an unbounded read would let one client
/// grow the demo's memory, muddying the memory metric the `--leak-bytes` knob exists to move.
const MAX_CART_BODY_BYTES: usize = 64 * 1024;
/// `--slowdown` ceiling: 100x turns 12 ms into 1.2 s, far beyond any regression worth simulating;
/// larger values are typos.
const MAX_SLOWDOWN: f64 = 100.0;
/// `--delay` / `--spike-delay` ceiling: longer would outlast the load generator's request timeout
/// and show up as errors rather than as latency.
const MAX_DELAY: Duration = Duration::from_secs(30);
/// `--leak-bytes` ceiling per request (1 MiB).
const MAX_LEAK_BYTES: u64 = 1024 * 1024;
/// Total leak after which the demo stops leaking: the growth is obvious long before, and a
/// forgotten `--leak-bytes` must not push the developer's machine into swap or the OOM killer.
const LEAK_CAP_BYTES: u64 = 512 * 1024 * 1024;
/// Pause after a failed `accept` (e.g. EMFILE): the cause persists until a connection closes, so
/// retrying at once would spin a core; 100 ms recovers quickly and stays invisible in a run.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Weyl-sequence step: 2^64 / φ (the constant of Fibonacci hashing and splitmix64). The sequence
/// `frac(n / φ)` is the most evenly spread one-dimensional sequence, so every window of requests
/// gets close to the configured fraction without a random number generator. Computing it in 64-bit
/// fixed point keeps it exact for any request count, where an `f64` would lose fractional bits.
const WEYL_STEP: u64 = 0x9E37_79B9_7F4A_7C15;
/// Spikes select `frac(n / φ) < spike_fraction`.
const SPIKE_OFFSET: u64 = 0;
/// Errors select `frac(n / φ + 0.5) < error_rate`: for fractions up to 0.5 the two sets are
/// disjoint, so a spiked request is never also a failed one and each knob moves its own metric.
const ERROR_OFFSET: u64 = 1 << 63;

/// Behaviour knobs: how badly the demo should behave. The default is a healthy service.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoKnobs {
    /// Multiplies every endpoint's base service time (1.0 = normal, 1.5 = +50% latency).
    pub slowdown: f64,
    /// Fixed extra latency added to every request.
    pub delay: Duration,
    /// Fraction of requests (0..=1) that get `spike_delay` extra.
    pub spike_fraction: f64,
    /// Extra latency of a spiked request.
    pub spike_delay: Duration,
    /// Fraction of requests (0..=1) answered 500.
    pub error_rate: f64,
    /// Bytes leaked (allocated, touched, never freed) per request, to make RSS grow.
    pub leak_bytes: u64,
    /// Requests per second the service can serve: beyond it requests queue (latency climbs), and
    /// past a full queue they get 503. `None`: unlimited.
    pub capacity_rps: Option<u32>,
}

impl Default for DemoKnobs {
    fn default() -> Self {
        Self {
            slowdown: 1.0,
            delay: Duration::ZERO,
            spike_fraction: 0.0,
            spike_delay: Duration::ZERO,
            error_rate: 0.0,
            leak_bytes: 0,
            capacity_rps: None,
        }
    }
}

impl DemoKnobs {
    /// The knobs in words, for `loadgate demo`'s banner: `no injected regression`, or e.g.
    /// `latency ×1.5, 5% of requests answered 500`.
    pub fn describe(&self) -> String {
        use crate::scenario::units::format_duration;
        let percent = |f: f64| format!("{}%", (f * 1000.0).round() / 10.0);
        let mut parts = Vec::new();
        if self.slowdown != 1.0 {
            parts.push(format!("latency ×{}", self.slowdown));
        }
        if !self.delay.is_zero() {
            parts.push(format!("+{} on every request", format_duration(self.delay)));
        }
        if self.spike_fraction > 0.0 && !self.spike_delay.is_zero() {
            parts.push(format!(
                "+{} on {} of requests",
                format_duration(self.spike_delay),
                percent(self.spike_fraction)
            ));
        }
        if self.error_rate > 0.0 {
            parts.push(format!(
                "{} of requests answered 500",
                percent(self.error_rate)
            ));
        }
        if self.leak_bytes > 0 {
            parts.push(format!("{} bytes leaked per request", self.leak_bytes));
        }
        if let Some(c) = self.capacity_rps {
            parts.push(format!("capacity {c} req/s"));
        }
        match parts.is_empty() {
            true => "no injected regression".to_string(),
            false => parts.join(", "),
        }
    }

    /// Checks every knob's range; the error names the flag and the valid range.
    pub fn validate(&self) -> Result<(), DemoError> {
        let knob = |flag, problem: String| Err(DemoError::Knob { flag, problem });
        // Written as `!(in range)` so NaN is rejected too.
        if !(self.slowdown > 0.0 && self.slowdown <= MAX_SLOWDOWN) {
            let got = self.slowdown;
            return knob(
                "--slowdown",
                format!("got {got}; use a factor in (0, 100], e.g. 1.5 for +50% latency"),
            );
        }
        for (flag, delay) in [("--delay", self.delay), ("--spike-delay", self.spike_delay)] {
            if delay > MAX_DELAY {
                return knob(
                    flag,
                    format!("got {delay:?}; use at most {MAX_DELAY:?}, e.g. 20ms"),
                );
            }
        }
        for (flag, fraction) in [
            ("--spike-fraction", self.spike_fraction),
            ("--error-rate", self.error_rate),
        ] {
            if !(0.0..=1.0).contains(&fraction) {
                return knob(
                    flag,
                    format!("got {fraction}; use a fraction between 0 and 1, e.g. 0.05 for 5%"),
                );
            }
        }
        if self.capacity_rps == Some(0) {
            return knob(
                "--capacity",
                "got 0; use at least 1 request per second, e.g. 200".to_string(),
            );
        }
        if self.leak_bytes > MAX_LEAK_BYTES {
            let got = self.leak_bytes;
            return knob(
                "--leak-bytes",
                format!("got {got}; use at most {MAX_LEAK_BYTES} (1 MiB) per request"),
            );
        }
        Ok(())
    }

    /// How long request `n` to an endpoint with service time `base` sleeps.
    fn service_time(&self, base: Duration, n: u64) -> Duration {
        // Validation bounds `slowdown`, so the fallback is unreachable; it only keeps this panic-free.
        let scaled =
            Duration::try_from_secs_f64(base.as_secs_f64() * self.slowdown).unwrap_or(base);
        let spike = if selected(n, SPIKE_OFFSET, self.spike_fraction) {
            self.spike_delay
        } else {
            Duration::ZERO
        };
        scaled.saturating_add(self.delay).saturating_add(spike)
    }
}

/// Whether request `n` falls into the first `fraction` of the Weyl sequence shifted by `offset`.
fn selected(n: u64, offset: u64, fraction: f64) -> bool {
    let position = n.wrapping_mul(WEYL_STEP).wrapping_add(offset);
    // The top 53 bits fit an f64 mantissa exactly: a uniform value in [0, 1).
    let unit = (position >> 11) as f64 / (1u64 << 53) as f64;
    unit < fraction
}

/// The demo service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The listening socket cannot be opened.
    #[error("cannot bind the demo service to {addr}: {source}; the port may be in use, try --port 0 to let the OS pick a free one")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The address is not loopback.
    #[error("--bind: refusing to bind the demo service to {addr}: it injects faults and must never be reachable from the network; use 127.0.0.1 or ::1")]
    NotLoopback {
        /// Requested address.
        addr: SocketAddr,
    },
    /// A knob is out of range.
    #[error("invalid {flag}: {problem}")]
    Knob {
        /// The command-line flag, e.g. `--error-rate`.
        flag: &'static str,
        /// What is wrong, with the valid range.
        problem: String,
    },
}

/// A running demo service. Dropping it also stops accepting (the shutdown channel closes), but
/// [`DemoServer::stop`] waits for the accept task to end.
#[must_use = "dropping the DemoServer stops the demo service"]
pub struct DemoServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// Read by `Debug` (and tests) to show requests served and bytes leaked.
    state: Arc<State>,
}

impl fmt::Debug for DemoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counters rather than the leaked chunks: enough to see what the knobs have done so far.
        let leaked_bytes = self.state.leak.lock().map_or(0, |leak| leak.total_bytes);
        f.debug_struct("DemoServer")
            .field("addr", &self.addr)
            .field("requests", &self.state.requests.load(Ordering::Relaxed))
            .field("leaked_bytes", &leaked_bytes)
            .finish_non_exhaustive()
    }
}

impl DemoServer {
    /// The bound address (with the OS-chosen port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:40123` (IPv6 as `http://[::1]:40123`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the accept task to end. Open connections finish
    /// their in-flight request, then close (hyper's graceful shutdown).
    pub async fn stop(self) {
        // An error only means the accept task has already ended; nothing is left to signal.
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            log::warn!(
                "demo service accept task on {} ended abnormally: {e}",
                self.addr
            );
        }
    }
}

/// Binds and starts serving on the current tokio runtime. Refuses any non-loopback address.
pub async fn start(bind: SocketAddr, knobs: DemoKnobs) -> Result<DemoServer, DemoError> {
    if !bind.ip().is_loopback() {
        return Err(DemoError::NotLoopback { addr: bind });
    }
    knobs.validate()?;
    let bind_error = |source| DemoError::Bind { addr: bind, source };
    let listener = TcpListener::bind(bind).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let (stop, stop_rx) = watch::channel(false);
    let state = Arc::new(State::new(knobs));
    let task = tokio::spawn(accept_loop(listener, Arc::clone(&state), stop_rx));
    log::info!("demo service listening on http://{addr}");
    Ok(DemoServer {
        addr,
        stop,
        task,
        state,
    })
}

/// Shared by every connection of one server.
struct State {
    knobs: DemoKnobs,
    /// Requests seen by knob-affected endpoints; the index into the fault sequence.
    requests: AtomicU64,
    leak: Mutex<Leak>,
    /// `--capacity`: the limiter and the origin of its clock.
    capacity: Option<Mutex<(std::time::Instant, Limiter)>>,
}

#[derive(Default)]
struct Leak {
    chunks: Vec<Vec<u8>>,
    total_bytes: u64,
    capped: bool,
}

impl State {
    fn new(knobs: DemoKnobs) -> Self {
        Self {
            requests: AtomicU64::new(0),
            leak: Mutex::new(Leak::default()),
            capacity: knobs.capacity_rps.map(|rps| {
                Mutex::new((std::time::Instant::now(), Limiter::new(rps, MAX_QUEUE_WAIT)))
            }),
            knobs,
        }
    }

    fn admit(&self) -> Admission {
        let Some(capacity) = &self.capacity else {
            return Admission::Wait(Duration::ZERO);
        };
        let mut guard = capacity.lock().unwrap_or_else(PoisonError::into_inner);
        let now = guard.0.elapsed().as_secs_f64();
        guard.1.admit(now)
    }

    fn leak_once(&self) {
        let bytes = self.knobs.leak_bytes;
        if bytes == 0 {
            return;
        }
        // A poisoned lock only means another request panicked mid-push; the Vec is still valid.
        let mut leak = self.leak.lock().unwrap_or_else(PoisonError::into_inner);
        if leak.total_bytes.saturating_add(bytes) > LEAK_CAP_BYTES {
            if !leak.capped {
                leak.capped = true;
                log::warn!("demo service stopped leaking at {LEAK_CAP_BYTES} bytes (--leak-bytes safety cap)");
            }
            return;
        }
        // Non-zero fill: a zeroed allocation may be lazily mapped and never count towards RSS.
        // `bytes` <= 1 MiB (validated), so the cast cannot truncate.
        leak.chunks.push(vec![0xA5; bytes as usize]);
        leak.total_bytes += bytes;
    }
}

/// Resolves once shutdown is requested or the `DemoServer` is dropped (the sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        match accepted {
            Ok((stream, _peer)) => {
                tokio::spawn(serve_connection(stream, Arc::clone(&state), stop.clone()));
            }
            Err(e) => {
                log::warn!(
                    "demo service cannot accept a connection: {e}; retrying in {ACCEPT_BACKOFF:?}"
                );
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    // Without TCP_NODELAY, Nagle's algorithm plus delayed ACKs can hold small keep-alive responses
    // for ~40 ms, which would swamp the 2 ms service times.
    if let Err(e) = stream.set_nodelay(true) {
        log::debug!("demo service cannot set TCP_NODELAY: {e}");
    }
    let service = service_fn(move |req| handle(Arc::clone(&state), req));
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    // Clients resetting connections at the end of a run is normal, hence debug, not warn.
    if let Err(e) = result {
        log::debug!("demo connection ended with an error: {e}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Endpoint {
    Health,
    Fast,
    Products,
    Search,
    Cart,
}

impl Endpoint {
    fn base(self) -> Duration {
        match self {
            Self::Health => Duration::ZERO,
            Self::Fast => FAST_BASE,
            Self::Products => PRODUCTS_BASE,
            Self::Search => SEARCH_BASE,
            Self::Cart => CART_BASE,
        }
    }
}

type DemoResponse = Response<Full<Bytes>>;

/// Why a request matches no endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NoRoute {
    NotFound,
    WrongMethod { allowed: &'static str },
}

fn route(method: &Method, path: &str) -> Result<Endpoint, NoRoute> {
    let (endpoint, allowed) = match path {
        "/health" => (Endpoint::Health, "GET"),
        "/fast" => (Endpoint::Fast, "GET"),
        "/products" => (Endpoint::Products, "GET"),
        "/search" => (Endpoint::Search, "GET"),
        "/cart" => (Endpoint::Cart, "POST"),
        _ => return Err(NoRoute::NotFound),
    };
    if method.as_str() != allowed {
        return Err(NoRoute::WrongMethod { allowed });
    }
    Ok(endpoint)
}

impl NoRoute {
    fn response(self, path: &str) -> DemoResponse {
        match self {
            Self::NotFound => {
                let known: Vec<String> = ENDPOINTS
                    .iter()
                    .map(|(m, p, _)| format!("{m} {p}"))
                    .collect();
                let text = format!(
                    "no such endpoint {path}; the demo serves {}\n",
                    known.join(", ")
                );
                respond(StatusCode::NOT_FOUND, "text/plain", text)
            }
            Self::WrongMethod { allowed } => {
                let text = format!("use {allowed} {path}\n");
                let mut response = respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", text);
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allowed));
                response
            }
        }
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<DemoResponse, Infallible> {
    let endpoint = match route(req.method(), req.uri().path()) {
        Ok(Endpoint::Health) => return Ok(respond(StatusCode::OK, "text/plain", "ok")),
        Ok(endpoint) => endpoint,
        Err(no_route) => return Ok(no_route.response(req.uri().path())),
    };
    let queued = match state.admit() {
        Admission::Wait(d) => d,
        Admission::Reject => {
            return Ok(respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "over capacity: queue full (--capacity)\n",
            ))
        }
    };
    let n = state.requests.fetch_add(1, Ordering::Relaxed);
    let query = req.uri().query().unwrap_or_default().to_owned();
    let body_bytes = if endpoint == Endpoint::Cart {
        match read_body(req.into_body()).await {
            Ok(len) => len,
            Err(response) => return Ok(response),
        }
    } else {
        0
    };
    state.leak_once();
    tokio::time::sleep(queued + state.knobs.service_time(endpoint.base(), n)).await;
    if selected(n, ERROR_OFFSET, state.knobs.error_rate) {
        return Ok(respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "injected error (--error-rate)\n",
        ));
    }
    Ok(endpoint_response(endpoint, n, &query, body_bytes))
}

/// Reads the whole body (bounded), returning its length or the error response to send.
async fn read_body(body: Incoming) -> Result<usize, DemoResponse> {
    match Limited::new(body, MAX_CART_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes().len()),
        Err(e) if e.is::<LengthLimitError>() => Err(respond(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain",
            format!("cart body too large; send at most {MAX_CART_BODY_BYTES} bytes\n"),
        )),
        Err(e) => Err(respond(
            StatusCode::BAD_REQUEST,
            "text/plain",
            format!("cannot read the request body: {e}\n"),
        )),
    }
}

fn endpoint_response(endpoint: Endpoint, n: u64, query: &str, body_bytes: usize) -> DemoResponse {
    let (status, body) = match endpoint {
        Endpoint::Health => (StatusCode::OK, json!("ok")),
        Endpoint::Fast => (StatusCode::OK, json!({ "status": "ok", "request": n })),
        Endpoint::Products => {
            let page: u64 = query_param(query, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let first = page.saturating_sub(1).saturating_mul(PAGE_SIZE);
            let products: Vec<_> = (first..first.saturating_add(PAGE_SIZE))
                .map(product)
                .collect();
            (StatusCode::OK, json!(products))
        }
        Endpoint::Search => {
            // Echo a bounded prefix only, so a long query cannot inflate response sizes.
            let q: String = query_param(query, "q")
                .unwrap_or_default()
                .chars()
                .take(64)
                .collect();
            let results: Vec<_> = (0..3).map(|i| product(q.len() as u64 * 7 + i)).collect();
            (
                StatusCode::OK,
                json!({ "query": q, "total": results.len(), "results": results }),
            )
        }
        Endpoint::Cart => (
            StatusCode::CREATED,
            json!({ "status": "added", "received_bytes": body_bytes }),
        ),
    };
    respond(status, "application/json", body.to_string())
}

fn product(id: u64) -> serde_json::Value {
    json!({
        "id": id,
        "name": format!("Product {id}"),
        "price_cents": 199 + (id % 50) * 100,
        "in_stock": id % 7 != 0,
    })
}

fn query_param<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> DemoResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::time::Instant;

    use super::*;

    type TestResult = Result<(), Box<dyn Error>>;

    #[test]
    fn knobs_read_as_words() {
        assert_eq!(DemoKnobs::default().describe(), "no injected regression");
        let k = DemoKnobs {
            slowdown: 1.5,
            delay: Duration::from_millis(5),
            spike_fraction: 0.05,
            spike_delay: Duration::from_millis(100),
            error_rate: 0.125,
            leak_bytes: 1024,
            capacity_rps: Some(300),
        };
        assert_eq!(
            k.describe(),
            "latency ×1.5, +5ms on every request, +100ms on 5% of requests, 12.5% of requests \
answered 500, 1024 bytes leaked per request, capacity 300 req/s"
        );
    }

    const LOOPBACK: &str = "127.0.0.1:0";

    async fn demo(knobs: DemoKnobs) -> Result<DemoServer, Box<dyn Error>> {
        Ok(start(LOOPBACK.parse()?, knobs).await?)
    }

    /// Sends raw bytes and reads until the server closes. A blocking std socket on the blocking
    /// pool, because the crate does not enable tokio's `io-util` (and tests add no dev-deps).
    async fn exchange(addr: SocketAddr, raw: &str) -> Result<String, Box<dyn Error>> {
        let raw = raw.to_owned();
        let text = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(addr)?;
            // Bounded, so a server bug fails the test instead of hanging it.
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            stream.write_all(raw.as_bytes())?;
            let mut text = String::new();
            stream.read_to_string(&mut text)?;
            Ok(text)
        })
        .await??;
        Ok(text)
    }

    /// Sends one request, returns (status, body).
    async fn send(addr: SocketAddr, raw: &str) -> Result<(u16, String), Box<dyn Error>> {
        let text = exchange(addr, raw).await?;
        let status = text.get(9..12).ok_or("short response")?.parse()?;
        let body = text
            .split_once("\r\n\r\n")
            .ok_or("no header end")?
            .1
            .to_owned();
        Ok((status, body))
    }

    async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), Box<dyn Error>> {
        send(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
        )
        .await
    }

    #[tokio::test]
    async fn health_is_ok() -> TestResult {
        let server = demo(DemoKnobs::default()).await?;
        assert_eq!(get(server.addr(), "/health").await?, (200, "ok".to_owned()));
        assert!(server.url().starts_with("http://127.0.0.1:"));
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn products_returns_twenty_items() -> TestResult {
        let server = demo(DemoKnobs::default()).await?;
        let (status, body) = get(server.addr(), "/products?page=2").await?;
        assert_eq!(status, 200);
        let products: Vec<serde_json::Value> = serde_json::from_str(&body)?;
        assert_eq!(products.len(), 20);
        assert_eq!(products[0]["id"], 20);
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn search_echoes_query() -> TestResult {
        let server = demo(DemoKnobs::default()).await?;
        let (status, body) = get(server.addr(), "/search?q=shoes").await?;
        assert_eq!(status, 200);
        let result: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(result["query"], "shoes");
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn cart_is_created_with_body_length() -> TestResult {
        let server = demo(DemoKnobs::default()).await?;
        let body = r#"{"sku":"a1"}"#;
        let raw = format!("POST /cart HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        let (status, reply) = send(server.addr(), &raw).await?;
        assert_eq!(status, 201);
        let reply: serde_json::Value = serde_json::from_str(&reply)?;
        assert_eq!(reply["received_bytes"], body.len());
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn unknown_path_is_404_and_wrong_method_is_405() -> TestResult {
        let server = demo(DemoKnobs::default()).await?;
        let (status, body) = get(server.addr(), "/nope").await?;
        assert_eq!(status, 404);
        assert!(body.contains("GET /products"), "{body}");
        let (status, _) = get(server.addr(), "/cart").await?;
        assert_eq!(status, 405);
        server.stop().await;
        Ok(())
    }

    #[test]
    fn every_listed_endpoint_is_routable() {
        for (method, path, _) in ENDPOINTS {
            let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::OPTIONS);
            assert!(route(&method, path).is_ok(), "{method} {path}");
        }
    }

    #[tokio::test]
    async fn keep_alive_serves_several_requests_on_one_connection() -> TestResult {
        let server = demo(DemoKnobs::default()).await?;
        let raw = "GET /fast HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        let text = exchange(server.addr(), raw).await?;
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn full_error_rate_fails_endpoints_but_not_health() -> TestResult {
        let server = demo(DemoKnobs {
            error_rate: 1.0,
            ..DemoKnobs::default()
        })
        .await?;
        assert_eq!(get(server.addr(), "/fast").await?.0, 500);
        assert_eq!(get(server.addr(), "/health").await?.0, 200);
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn error_rate_is_exact_over_many_requests() -> TestResult {
        const REQUESTS: usize = 400;
        // Tiny slowdown keeps the test quick; the fault sequence does not depend on timing.
        let server = demo(DemoKnobs {
            error_rate: 0.25,
            slowdown: 0.01,
            ..DemoKnobs::default()
        })
        .await?;
        let mut errors = 0;
        for _ in 0..REQUESTS {
            if get(server.addr(), "/fast").await?.0 == 500 {
                errors += 1;
            }
        }
        assert!(
            (98..=102).contains(&errors),
            "{errors} errors in {REQUESTS}"
        );
        server.stop().await;
        Ok(())
    }

    #[test]
    fn spikes_and_errors_do_not_coincide() {
        let both = (0..10_000)
            .filter(|&n| selected(n, SPIKE_OFFSET, 0.5) && selected(n, ERROR_OFFSET, 0.5))
            .count();
        assert_eq!(both, 0);
        let spikes = (0..10_000)
            .filter(|&n| selected(n, SPIKE_OFFSET, 0.1))
            .count();
        assert!((995..=1005).contains(&spikes), "{spikes}");
    }

    #[tokio::test]
    async fn slowdown_lengthens_service_time() -> TestResult {
        let server = demo(DemoKnobs {
            slowdown: 2.0,
            ..DemoKnobs::default()
        })
        .await?;
        let started = Instant::now();
        assert_eq!(get(server.addr(), "/fast").await?.0, 200);
        assert!(started.elapsed() >= Duration::from_millis(4));
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn leak_grows_per_request_but_not_for_health() -> TestResult {
        let server = demo(DemoKnobs {
            leak_bytes: 1000,
            slowdown: 0.01,
            ..DemoKnobs::default()
        })
        .await?;
        for path in ["/fast", "/fast", "/health", "/products"] {
            get(server.addr(), path).await?;
        }
        let total = server
            .state
            .leak
            .lock()
            .map_err(|e| e.to_string())?
            .total_bytes;
        assert_eq!(total, 3000);
        server.stop().await;
        Ok(())
    }

    #[tokio::test]
    async fn stop_closes_the_listener() -> TestResult {
        let server = demo(DemoKnobs::default()).await?;
        let addr = server.addr();
        server.stop().await;
        assert!(TcpStream::connect(addr).await.is_err());
        Ok(())
    }

    #[tokio::test]
    async fn non_loopback_is_refused() -> TestResult {
        let err = start("0.0.0.0:0".parse()?, DemoKnobs::default())
            .await
            .err()
            .ok_or("0.0.0.0 accepted")?;
        assert!(matches!(err, DemoError::NotLoopback { .. }));
        assert!(err.to_string().contains("127.0.0.1 or ::1"), "{err}");
        Ok(())
    }

    #[tokio::test]
    async fn port_in_use_suggests_port_zero() -> TestResult {
        let first = demo(DemoKnobs::default()).await?;
        let err = start(first.addr(), DemoKnobs::default())
            .await
            .err()
            .ok_or("bound twice")?;
        assert!(matches!(err, DemoError::Bind { .. }));
        assert!(err.to_string().contains("--port 0"), "{err}");
        first.stop().await;
        Ok(())
    }

    #[test]
    fn knob_validation_names_the_flag() {
        let ok = DemoKnobs::default();
        let second = Duration::from_secs(1);
        let cases = [
            (
                "--slowdown",
                DemoKnobs {
                    slowdown: 0.0,
                    ..ok.clone()
                },
            ),
            (
                "--slowdown",
                DemoKnobs {
                    slowdown: f64::NAN,
                    ..ok.clone()
                },
            ),
            (
                "--slowdown",
                DemoKnobs {
                    slowdown: 101.0,
                    ..ok.clone()
                },
            ),
            (
                "--delay",
                DemoKnobs {
                    delay: 31 * second,
                    ..ok.clone()
                },
            ),
            (
                "--spike-delay",
                DemoKnobs {
                    spike_delay: 31 * second,
                    ..ok.clone()
                },
            ),
            (
                "--spike-fraction",
                DemoKnobs {
                    spike_fraction: 1.5,
                    ..ok.clone()
                },
            ),
            (
                "--error-rate",
                DemoKnobs {
                    error_rate: -0.1,
                    ..ok.clone()
                },
            ),
            (
                "--leak-bytes",
                DemoKnobs {
                    leak_bytes: MAX_LEAK_BYTES + 1,
                    ..ok.clone()
                },
            ),
        ];
        for (expected, knobs) in cases {
            let result = knobs.validate();
            assert!(
                matches!(result, Err(DemoError::Knob { flag, .. }) if flag == expected),
                "{expected}: got {result:?}"
            );
        }
        assert!(ok.validate().is_ok());
        let extreme = DemoKnobs {
            slowdown: 100.0,
            error_rate: 1.0,
            leak_bytes: MAX_LEAK_BYTES,
            ..ok
        };
        assert!(extreme.validate().is_ok());
    }
}

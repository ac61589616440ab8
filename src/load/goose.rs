//! The only module that knows goose: turns a [`Plan`] into a `GooseAttack`, runs it, and stops it.
//!
//! Goose's traps (docs/goose.md) handled here: configuration without argv (`initialize_with_config`),
//! no telnet, quiet, explicit users and increase rate, a request timeout, run-time mode with a
//! watchdog that triggers the killswitch at the end of the measured window, on `max_requests`, or
//! on Ctrl-C. Nothing from goose reaches stdout: `main` installs loadgate's logger first. Failures
//! are judged by loadgate's recorder, never by goose's success flag.

use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::load::arrival::{Pacer, Turn};
use crate::load::client::ClientOptions;
use crate::load::flow::{self, Feeds, UserState};
use crate::load::recorder::{ErrorKind, Outcome, Recorder};
use crate::load::LoadError;
use crate::scenario::check::Response;
use crate::scenario::{Method, Phase, RequestSpec, Template};

/// Everything goose needs for one run.
pub(crate) struct Plan {
    pub base_url: String,
    pub requests: Vec<RequestSpec>,
    pub target_headers: Vec<(String, Template)>,
    /// Captured variable names (slots).
    pub captures: Vec<String>,
    /// Shared feeders.
    pub feeds: Arc<Feeds>,
    /// HTTP client settings beyond goose's default.
    pub client: ClientOptions,
    pub users: u32,
    /// When each user sends (open-model arrivals, closed-model user stages, or at once).
    pub pacer: Arc<Pacer>,
    pub ramp_up: Duration,
    pub request_timeout: Duration,
    /// Hard deadline for the end of the load (end of the measured window).
    pub stop_at: Instant,
    /// Fired by the abort watch (`[gate] abort_on_slo`): an objective is breached beyond doubt.
    pub abort: Arc<crate::load::abort::Tripwire>,
}

struct Prepared {
    index: usize,
    spec: RequestSpec,
    method: GooseMethod,
    /// Headers with fixed values, built once.
    headers: HeaderMap,
    /// The target's headers rendered per request (the request's own are in `spec`).
    target_dynamic: Vec<(String, Template)>,
    /// Whether anything is rendered per request.
    dynamic: bool,
    /// Whether checks or captures read response headers.
    reads_headers: bool,
    /// What checks and captures read of the body.
    body: crate::load::body::Needs,
}

/// What every transaction of a run shares.
struct Shared {
    recorder: Arc<Recorder>,
    feeds: Arc<Feeds>,
    captures: Vec<String>,
    feeders: usize,
    /// Per-user state is needed (variables, feeders, captures, or a custom client).
    stateful: bool,
    /// The open model's arrival schedule (or none).
    pacer: Arc<Pacer>,
    /// A slot this late has timed out before it is sent.
    request_timeout_us: u64,
    client: UserClient,
}

/// The HTTP client each user sends with: always loadgate's (goose's own follows redirects to any
/// host, carrying the scenario's headers there).
enum UserClient {
    /// One client for every user (cloning it shares its connection pool): building a client
    /// loads the TLS roots, tens of milliseconds of CPU per user in every run otherwise.
    Shared(reqwest::Client),
    /// A client per user, built on first use: a cookie jar is per user, and over TLS (where ALPN
    /// may pick HTTP/2) or with HTTP/2 each user keeps its own connection, as goose's users do.
    PerUser(ClientOptions, Duration),
}

fn goose_method(m: Method) -> GooseMethod {
    match m {
        Method::Get => GooseMethod::Get,
        Method::Post => GooseMethod::Post,
        Method::Put => GooseMethod::Put,
        Method::Patch => GooseMethod::Patch,
        Method::Delete => GooseMethod::Delete,
        Method::Head => GooseMethod::Head,
    }
}

fn header_map<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    request: &str,
) -> Result<HeaderMap, LoadError> {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        let bad = || LoadError::Header {
            request: request.to_string(),
            header: k.to_string(),
        };
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(v).map_err(|_| bad())?;
        // Secrets come through headers: keep them out of any debug output reqwest may produce.
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}

fn classify(e: &reqwest::Error) -> ErrorKind {
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Other
    }
}

/// A request that failed in transport: its kind, logged at -vv without its URL (the path or query
/// may hold a `${env:…}` secret).
fn failed(name: &str, e: reqwest::Error) -> ErrorKind {
    let kind = classify(&e);
    if log::log_enabled!(log::Level::Debug) {
        // reqwest's own message is "error sending request"; the cause is further down the chain.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        log::debug!("request \"{name}\" failed ({kind:?}): {message}");
    }
    kind
}

/// Installs the user's custom client once, and creates its state on first use.
async fn prepare_user(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    if !shared.stateful {
        return Ok(());
    }
    if user.get_session_data::<UserState>().is_none() {
        let state = UserState::new(
            user.weighted_users_index,
            shared.captures.len(),
            shared.feeders,
        );
        user.set_session_data(state);
    }
    let ready = user
        .get_session_data::<UserState>()
        .is_some_and(|s| s.client_ready);
    if !ready {
        match &shared.client {
            UserClient::Shared(client) => user.client = client.clone(),
            UserClient::PerUser(options, timeout) => {
                // Off the runtime's workers: tens of milliseconds of CPU there would stall every
                // other user's requests. Checked before the run (`execute`), so a failure here
                // is not expected.
                let (options, timeout) = (options.clone(), *timeout);
                if let Ok(Ok(client)) =
                    tokio::task::spawn_blocking(move || options.client(timeout)).await
                {
                    user.client = client;
                }
            }
        }
        if let Some(s) = user.get_session_data_mut::<UserState>() {
            s.client_ready = true;
        }
    }
    Ok(())
}

fn transaction(req: Arc<Prepared>, shared: Arc<Shared>) -> Result<Transaction, LoadError> {
    let weight = req.spec.weight as usize;
    let name = req.spec.name.clone();
    let phase = req.spec.phase;
    let sequence = req.index + 1;
    let f: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        // The future may borrow only `user`: clone the Arcs into it on every call.
        let (req, shared) = (req.clone(), shared.clone());
        Box::pin(async move {
            prepare_user(user, &shared).await?;
            // Open model: wait for this request's slot; a late start is charged to its latency.
            // A user's once-only requests (login, logout) are not part of the arrival schedule.
            let late_us = if phase == Phase::Main {
                let Turn::Send { late_us } = shared.pacer.turn(user.weighted_users_index).await
                else {
                    return Ok(());
                };
                late_us
            } else {
                0
            };
            if late_us >= shared.request_timeout_us {
                // Its intended send time is a whole request timeout ago: measured from then, as
                // every open-model latency is, it has timed out before it could be sent. Counted
                // as the timeout it is, not sent late: a target that hangs every request then
                // shows its error rate instead of a handful of completed requests.
                shared.recorder.record(
                    user.weighted_users_index,
                    req.index,
                    Outcome {
                        latency_us: late_us,
                        status: None,
                        error: Some(ErrorKind::Timeout),
                        check: None,
                    },
                    Instant::now(),
                );
                return Ok(());
            }
            let rendered = if req.dynamic {
                let Some(state) = user.get_session_data_mut::<UserState>() else {
                    return Ok(());
                };
                match flow::render(
                    &req.spec,
                    &req.target_dynamic,
                    state,
                    &shared.feeds,
                    &shared.captures,
                ) {
                    Ok(r) => Some(r),
                    Err(_) => {
                        // Not sent: a capture found nothing earlier, or a feeder ran out. Pause
                        // briefly so a user without its token does not spin.
                        shared.recorder.not_sent(req.index, Instant::now());
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        return Ok(());
                    }
                }
            } else {
                None
            };
            let path = match &rendered {
                Some(r) => r.path.as_str(),
                None => req.spec.path.as_static().unwrap_or("/"),
            };
            let mut rb = user.get_request_builder(&req.method, path)?;
            let mut headers = req.headers.clone();
            if let Some(r) = &rendered {
                if let Ok(extra) =
                    header_map(r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), "")
                {
                    headers.extend(extra);
                }
            }
            rb = rb.headers(headers);
            if late_us > 0 {
                // The timeout runs from the intended send time, as the latency does: a request sent
                // late has only what is left of it.
                rb = rb.timeout(Duration::from_micros(
                    shared.request_timeout_us.saturating_sub(late_us),
                ));
            }
            match (&rendered, &req.spec.body) {
                (Some(r), _) => {
                    if let Some(body) = &r.body {
                        rb = rb.body(body.clone());
                    }
                }
                (None, Some(body)) => {
                    rb = rb.body(body.as_static().unwrap_or_default().to_string())
                }
                (None, None) => {}
            }
            // Sent with the user's client directly, timed by us: goose's `request` builds its
            // metric record (URL and name strings, transaction details) inside its clock, which
            // put ~50 µs of goose on every latency at 1000 req/s (benches/peers.sh, fidelity).
            // Goose's metrics are off (`NoMetrics`); loadgate records every request itself.
            // Err here means the request could not be built: not a measured request.
            let built = rb
                .build()
                .map_err(|e| Box::new(TransactionError::from(e)))?;
            let started = Instant::now();
            let response = user.client.execute(built).await;
            let outcome = match response {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let left_host = crate::http::leaves_host(
                        response.url(),
                        status,
                        response
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok()),
                    );
                    let response_headers = req.reads_headers.then(|| response.headers().clone());
                    let body = crate::load::body::read(response, req.body).await;
                    let latency_us = late_us + started.elapsed().as_micros() as u64;
                    let (mut error, check) = match body {
                        Err(e) => (Some(failed(&req.spec.name, e)), None),
                        Ok(body) => {
                            let lookup = |name: &str| {
                                response_headers
                                    .as_ref()?
                                    .get(name)?
                                    .to_str()
                                    .ok()
                                    .map(str::to_string)
                            };
                            let seen = Response {
                                status,
                                header: &lookup,
                                body: &body.kept,
                                len: body.len,
                            };
                            flow::check_response(
                                &req.spec,
                                &seen,
                                user.get_session_data_mut::<UserState>(),
                            )
                        }
                    };
                    if left_host && error == Some(ErrorKind::Status) {
                        error = Some(ErrorKind::Redirect);
                    }
                    if let Some(kind) = error {
                        // docs/guide.md ("Commands"): -vv logs every failed request, an answer that failed too (a 500, a
                        // failed check), not only transport failures. Never the URL: it may hold a
                        // secret.
                        log::debug!(
                            "request \"{}\" failed ({kind:?}): answered {status}",
                            req.spec.name
                        );
                    }
                    Outcome {
                        latency_us,
                        status: Some(status),
                        error,
                        check,
                    }
                }
                Err(e) => Outcome {
                    latency_us: late_us + started.elapsed().as_micros() as u64,
                    status: None,
                    error: Some(failed(&req.spec.name, e)),
                    check: None,
                },
            };
            shared.recorder.record(
                user.weighted_users_index,
                req.index,
                outcome,
                Instant::now(),
            );
            Ok(())
        })
    });
    let t = Transaction::new(f).set_name(&name);
    let t = match phase {
        // Once per user, in file order.
        Phase::OnStart => t.set_on_start().set_sequence(sequence),
        Phase::OnStop => t.set_on_stop().set_sequence(sequence),
        Phase::Main => t,
    };
    t.set_weight(weight)
        .map_err(|e| LoadError::Goose(Box::new(e)))
}

fn configure(
    plan: &Plan,
    scenario: goose::goose::Scenario,
) -> Result<Box<GooseAttack>, GooseError> {
    let ramp_s = plan.ramp_up.as_secs_f64();
    // Users per second; with no ramp-up, start everyone at once. A paced load starts every user at
    // once too: the pacer, not the number of users, sets the load during the ramp-up.
    let increase_rate = if ramp_s > 0.0 && matches!(*plan.pacer, Pacer::Unpaced) {
        format!("{:.3}", (plan.users as f64 / ramp_s).max(0.001))
    } else {
        format!("{}", plan.users.max(1) * 1000)
    };
    // Goose's run time counts from the last user's start; the watchdog stops the run at the end of
    // the measured window, so this is only a backstop.
    let run_time = (plan
        .stop_at
        .saturating_duration_since(Instant::now())
        .as_secs()
        + 5) as usize;
    let timeout = format!("{:.3}", plan.request_timeout.as_secs_f64().max(0.001));
    let attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, plan.base_url.as_str())?
        .set_default(GooseDefault::Users, plan.users as usize)?
        .set_default(GooseDefault::IncreaseRate, increase_rate.as_str())?
        .set_default(GooseDefault::RunTime, run_time)?
        .set_default(GooseDefault::Timeout, timeout.as_str())?
        .set_default(GooseDefault::Quiet, 1)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoTelnet, true)?
        // loadgate records every request itself: goose's own metrics would cost a message to its
        // parent thread and an aggregation per request, for numbers nobody reads.
        .set_default(GooseDefault::NoMetrics, true)?;
    Ok(attack)
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A feeder with `on_end = "stop"` ran out of rows.
    FeederExhausted(String),
    /// The measured window elapsed.
    Duration,
    /// `max_requests` completed first.
    MaxRequests,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// An objective was breached beyond doubt (`[gate] abort_on_slo`).
    Aborted,
}

/// Runs the plan to its end. Returns how it ended and when the load stopped.
pub(crate) async fn execute(
    plan: Plan,
    recorder: Arc<Recorder>,
) -> Result<(Ending, Instant), LoadError> {
    // Built here to fail before the run, with the reason, rather than in every user.
    let built = plan.client.client(plan.request_timeout)?;
    let per_user = plan.client.cookies
        || plan.client.http == crate::scenario::HttpVersion::Http2
        || !plan.base_url.starts_with("http://");
    let client = match per_user {
        true => UserClient::PerUser(plan.client.clone(), plan.request_timeout),
        false => UserClient::Shared(built),
    };
    let shared = Arc::new(Shared {
        recorder: recorder.clone(),
        feeds: plan.feeds.clone(),
        captures: plan.captures.clone(),
        feeders: plan.feeds.len(),
        // Every user installs loadgate's client, which needs its state.
        stateful: true,
        pacer: plan.pacer.clone(),
        request_timeout_us: plan.request_timeout.as_micros() as u64,
        client,
    });
    let mut scenario = goose::goose::Scenario::new("loadgate");
    for (index, spec) in plan.requests.iter().enumerate() {
        let all: Vec<&(String, Template)> = plan
            .target_headers
            .iter()
            .chain(spec.headers.iter())
            .collect();
        let fixed = all
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_static()?)));
        let target_dynamic: Vec<(String, Template)> = plan
            .target_headers
            .iter()
            .filter(|(_, v)| v.as_static().is_none())
            .cloned()
            .collect();
        let reads_headers = spec
            .checks
            .iter()
            .any(|c| matches!(c.kind, crate::scenario::CheckKind::Header { .. }))
            || spec
                .captures
                .iter()
                .any(|c| matches!(c.from, crate::scenario::CaptureFrom::Header(..)));
        let prepared = Prepared {
            index,
            method: goose_method(spec.method),
            headers: header_map(fixed, &spec.name)?,
            dynamic: spec.is_dynamic() || !target_dynamic.is_empty(),
            target_dynamic,
            reads_headers,
            body: crate::load::body::Needs::of(spec),
            spec: spec.clone(),
        };
        scenario = scenario.register_transaction(transaction(Arc::new(prepared), shared.clone())?);
    }
    let attack = configure(&plan, scenario).map_err(|e| LoadError::Goose(Box::new(e)))?;

    let watchdog_recorder = recorder.clone();
    let watchdog_feeds = plan.feeds.clone();
    let stop_at = plan.stop_at;
    let abort = plan.abort.clone();
    let watchdog = tokio::spawn(async move {
        loop {
            // Goose's `execute` resets the global log level as it starts (see `logging::reassert`).
            crate::logging::reassert();
            let ending = if crate::load::interrupted() {
                Some(Ending::Interrupted)
            } else if let Some(name) = watchdog_feeds.exhausted() {
                Some(Ending::FeederExhausted(name))
            } else if watchdog_recorder.limit_reached() {
                Some(Ending::MaxRequests)
            } else if abort.fired() {
                Some(Ending::Aborted)
            } else if Instant::now() >= stop_at {
                Some(Ending::Duration)
            } else {
                None
            };
            if let Some(ending) = ending {
                goose::trigger_killswitch("loadgate: end of run");
                return (ending, Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    // Users finish their current request before goose returns: allow one request timeout plus slack.
    let limit = plan.stop_at.saturating_duration_since(Instant::now())
        + plan.request_timeout
        + Duration::from_secs(30);
    let result = tokio::time::timeout(limit, attack.execute()).await;
    let stopped = if watchdog.is_finished() {
        watchdog.await.ok()
    } else {
        watchdog.abort();
        None
    };
    match result {
        Err(_) => Err(LoadError::DidNotStop { after: limit }),
        Ok(Err(e)) => Err(LoadError::Goose(Box::new(e))),
        Ok(Ok(_metrics)) => Ok(stopped.unwrap_or((Ending::Duration, Instant::now()))),
    }
}

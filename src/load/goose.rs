//! The only module that knows goose: turns a [`Plan`] into a `GooseAttack`, runs it, and stops it.
//!
//! Goose's traps (DESIGN.md §11) handled here: configuration without argv (`initialize_with_config`),
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
use crate::load::recorder::{ErrorKind, Outcome, Recorder};
use crate::load::LoadError;
use crate::scenario::{Method, RequestSpec};

/// Everything goose needs for one run.
pub(crate) struct Plan {
    pub base_url: String,
    pub requests: Vec<RequestSpec>,
    pub target_headers: Vec<(String, String)>,
    pub users: u32,
    /// When each user sends (open-model arrivals, closed-model user stages, or at once).
    pub pacer: Arc<Pacer>,
    pub ramp_up: Duration,
    pub request_timeout: Duration,
    /// Hard deadline for the end of the load (end of the measured window).
    pub stop_at: Instant,
}

struct Prepared {
    index: usize,
    spec: RequestSpec,
    method: GooseMethod,
    headers: HeaderMap,
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

fn header_map(pairs: &[(String, String)], request: &str) -> Result<HeaderMap, LoadError> {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        let bad = || LoadError::Header {
            request: request.to_string(),
            header: k.clone(),
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

fn transaction(
    req: Arc<Prepared>,
    recorder: Arc<Recorder>,
    pacer: Arc<Pacer>,
) -> Result<Transaction, LoadError> {
    let weight = req.spec.weight as usize;
    let name = req.spec.name.clone();
    let f: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        // The future may borrow only `user`: clone the Arcs into it on every call.
        let (req, recorder, pacer) = (req.clone(), recorder.clone(), pacer.clone());
        Box::pin(async move {
            // Open model: wait for this request's slot; a late start is charged to its latency.
            let Turn::Send { late_us } = pacer.turn(user.weighted_users_index).await else {
                return Ok(());
            };
            let mut rb = user.get_request_builder(&req.method, &req.spec.path)?;
            rb = rb.headers(req.headers.clone());
            if let Some(body) = &req.spec.body {
                rb = rb.body(body.clone());
            }
            let request = GooseRequest::builder()
                .set_request_builder(rb)
                .name(req.spec.name.as_str())
                .build();
            // Err here means the run is stopping (throttle cancelled) or the request could not be
            // built: neither is a measured request.
            let goose = user.request(request).await?;
            // goose's time stops at the response headers; the pacer's wait is not in it (a late
            // start is `late_us`).
            let headers_us = goose.request.response_time_micros();
            let body_start = Instant::now();
            let outcome = match goose.response {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.bytes().await;
                    let latency_us = late_us + headers_us + body_start.elapsed().as_micros() as u64;
                    let error = match body {
                        Err(e) => Some(classify(&e)),
                        Ok(_) if !req.spec.accepts(status) => Some(ErrorKind::Status),
                        Ok(_) => None,
                    };
                    Outcome {
                        latency_us,
                        status: Some(status),
                        error,
                    }
                }
                Err(e) => Outcome {
                    latency_us: late_us + headers_us,
                    status: None,
                    error: Some(classify(&e)),
                },
            };
            recorder.record(
                user.weighted_users_index,
                req.index,
                outcome,
                Instant::now(),
            );
            Ok(())
        })
    });
    Transaction::new(f)
        .set_name(&name)
        .set_weight(weight)
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
        .set_default(GooseDefault::NoTelnet, true)?;
    Ok(attack)
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The measured window elapsed.
    Duration,
    /// `max_requests` completed first.
    MaxRequests,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// Runs the plan to its end. Returns how it ended and when the load stopped.
pub(crate) async fn execute(
    plan: Plan,
    recorder: Arc<Recorder>,
) -> Result<(Ending, Instant), LoadError> {
    let mut scenario = goose::goose::Scenario::new("loadgate");
    for (index, spec) in plan.requests.iter().enumerate() {
        let mut pairs = plan.target_headers.clone();
        pairs.extend(spec.headers.iter().cloned());
        let prepared = Prepared {
            index,
            method: goose_method(spec.method),
            headers: header_map(&pairs, &spec.name)?,
            spec: spec.clone(),
        };
        scenario = scenario.register_transaction(transaction(
            Arc::new(prepared),
            recorder.clone(),
            plan.pacer.clone(),
        )?);
    }
    let attack = configure(&plan, scenario).map_err(|e| LoadError::Goose(Box::new(e)))?;

    let watchdog_recorder = recorder.clone();
    let stop_at = plan.stop_at;
    let watchdog = tokio::spawn(async move {
        loop {
            let ending = if crate::load::interrupted() {
                Some(Ending::Interrupted)
            } else if watchdog_recorder.limit_reached() {
                Some(Ending::MaxRequests)
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

//! Bare goose, for the recording-overhead benchmark: the same load loop loadgate runs (one GET,
//! body drained) with no loadgate recording, printing completed requests per second.
//!
//! `cargo run --release --example bare_goose -- URL USERS SECONDS` against a loopback server; compare
//! with `loadgate run` of a scenario with the same users, no rate and one request
//! (docs/performance.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use goose::config::GooseConfiguration;
use goose::prelude::*;

static COMPLETED: AtomicU64 = AtomicU64::new(0);

async fn get(user: &mut GooseUser) -> TransactionResult {
    let goose = user.get_named("/", "index").await?;
    if let Ok(r) = goose.response {
        let _ = r.bytes().await;
    }
    COMPLETED.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_string());
    let users: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);
    let seconds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    // Silence goose's stdout logger as loadgate does.
    loadgate::logging::install(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = rt.block_on(async {
        let attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?
            .register_scenario(
                scenario!("bare")
                    .register_transaction(Transaction::new(Arc::new(|u| Box::pin(get(u))))),
            )
            .set_default(GooseDefault::Host, url.as_str())?
            .set_default(GooseDefault::Users, users)?
            .set_default(GooseDefault::IncreaseRate, "1000")?
            .set_default(GooseDefault::RunTime, seconds)?
            .set_default(GooseDefault::Timeout, "5")?
            .set_default(GooseDefault::Quiet, 1)?
            .set_default(GooseDefault::NoPrintMetrics, true)?
            .set_default(GooseDefault::NoTelnet, true)?;
        let start = Instant::now();
        let metrics = attack.execute().await?;
        Ok::<_, GooseError>((start, metrics.duration))
    })?;
    let (start, measured) = started;
    let n = COMPLETED.load(Ordering::Relaxed);
    println!(
        "bare goose: {n} requests in {:.1}s wall ({measured}s measured by goose): {:.0} req/s",
        start.elapsed().as_secs_f64(),
        n as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}

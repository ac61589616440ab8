//! `loadgate demo`: serve the built-in demo service on loopback until Ctrl-C.

use std::time::Duration;

use crate::cli::DemoArgs;
use crate::demo;
use crate::error::Error;
use crate::exit;
use crate::load;

pub async fn run(args: DemoArgs) -> Result<u8, Error> {
    let knobs = crate::pipeline::measure::knobs(&args.knobs)?;
    let server = demo::start((args.bind, args.port).into(), knobs.clone()).await?;
    // The first stdout line is the URL, so scripts and tests can start the demo on port 0 and read it.
    crate::pipeline::outputs::print(&format!("{}\n", server.url()))?;
    eprintln!(
        "loadgate demo: serving {} (Ctrl-C to stop): {}",
        server.url(),
        knobs.describe()
    );
    for (method, path, what) in demo::ENDPOINTS {
        eprintln!("  {method:<5} {path:<10} {what}");
    }
    while !load::interrupted() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
    eprintln!("loadgate demo: stopped");
    Ok(exit::PASS)
}

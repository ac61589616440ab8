//! The `loadgate` binary: parse flags, install the logger and signal handler, run the command,
//! print the error chain, exit with a documented code. The only user of `anyhow`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use loadgate::cli::Cli;
use loadgate::{exit, load, logging, terminal};

static SIGNALLED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    terminal::install(cli.color, cli.quiet);
    logging::install(cli.verbose);
    // Registered before goose's own handler (which then fails quietly): the first Ctrl-C/SIGTERM
    // ends the run gracefully and nothing is recorded; a second one exits at once.
    let _ = ctrlc::set_handler(|| {
        if SIGNALLED.swap(true, Ordering::SeqCst) {
            if loadgate::action::rollback::kill_running() {
                eprintln!("loadgate: second signal: killed the rollback hook with its process group; the rollback may be incomplete");
            }
            eprintln!("loadgate: second signal: exiting at once");
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
        eprintln!("loadgate: stopping (press Ctrl-C again to exit at once)");
        load::request_stop();
    });
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Every loadgate message already embeds its cause and its fix; printing the source chain
            // again would repeat it.
            terminal::eprintln(&format!(
                "{} {e}",
                terminal::paint(terminal::Tone::Bad, "error:")
            ));
            // Whatever the signal cut short (the load, usually) failed because it was asked to stop.
            ExitCode::from(if load::interrupted() {
                exit::INTERRUPTED
            } else {
                exit::ERROR
            })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(loadgate::error::Error::Runtime)?;
    Ok(runtime.block_on(loadgate::commands::dispatch(cli.command))?)
}

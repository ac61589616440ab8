//! Wiring: each subcommand turns its flags into one call of the pipeline (`crate::pipeline`) or a
//! stage. No business logic here, and no command imports another.

mod baselines;
mod calibrate;
mod compare;
mod demo;
mod docs;
mod gate;
mod history;
mod import;
mod init;
mod merge;
mod record;
mod report;
mod run;
mod stress;
mod watch;

use crate::cli::Command;
use crate::error::Error;

/// Runs a command; returns the process exit code (see [`crate::exit`]).
pub async fn dispatch(command: Command) -> Result<u8, Error> {
    match command {
        Command::Init(a) => init::run(a),
        Command::Run(a) => run::run(a).await,
        Command::Record(a) => record::run(a).await,
        Command::Compare(a) => compare::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Import(a) => import::run(a),
        Command::Gate(a) => gate::run(a).await,
        Command::Calibrate(a) => calibrate::run(a).await,
        Command::Baselines(c) => baselines::run(c),
        Command::Report(a) => report::run(a),
        Command::Demo(a) => demo::run(a).await,
        Command::History(a) => history::run(a),
        Command::Stress(a) => stress::run(a).await,
        Command::Completions(a) => docs::completions(a),
        Command::Man => docs::man(),
        Command::Watch(a) => watch::run(a).await,
    }
}

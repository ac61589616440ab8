//! `loadgate run`: one measured run, reported, optionally stored. The flow is [`crate::pipeline::run`].

use crate::cli::RunArgs;
use crate::error::Error;

pub async fn run(args: RunArgs) -> Result<u8, Error> {
    crate::pipeline::run::run(args).await
}

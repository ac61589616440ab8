//! `loadgate stress`: step the load up to find capacity, or hold it to find leaks. The flow is [`crate::pipeline::stress`].

use crate::cli::StressArgs;
use crate::error::Error;

pub async fn run(args: StressArgs) -> Result<u8, Error> {
    crate::pipeline::stress::run(args).await
}

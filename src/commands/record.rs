//! `loadgate record`: measure the baseline's runs and store it. The flow is [`crate::pipeline::record`].

use crate::cli::RecordArgs;
use crate::error::Error;

pub async fn run(args: RecordArgs) -> Result<u8, Error> {
    crate::pipeline::record::run(args).await
}

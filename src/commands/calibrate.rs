//! `loadgate calibrate`: measure A/A pairs and store the run-to-run noise beside the baseline. The flow is [`crate::pipeline::calibrate`].

use crate::cli::CalibrateArgs;
use crate::error::Error;

pub async fn run(args: CalibrateArgs) -> Result<u8, Error> {
    crate::pipeline::calibrate::run(args).await
}

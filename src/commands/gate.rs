//! `loadgate gate`: judge a run (live, or stored with `--result`) against the baseline, report, act. The flow is [`crate::pipeline::gate`].

use crate::cli::GateArgs;
use crate::error::Error;

pub async fn run(args: GateArgs) -> Result<u8, Error> {
    crate::pipeline::gate::run(args).await
}

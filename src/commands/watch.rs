//! `loadgate watch`: judge live metrics over a window after a deploy, and act on a breach. The flow
//! is [`crate::pipeline::watch`].

use crate::cli::WatchArgs;
use crate::error::Error;

pub async fn run(args: WatchArgs) -> Result<u8, Error> {
    crate::pipeline::watch::run(args).await
}

//! `loadgate compare`: judge a stored result against a stored baseline. The flow is [`crate::pipeline::compare`].

use crate::cli::CompareArgs;
use crate::error::Error;

pub fn run(args: CompareArgs) -> Result<u8, Error> {
    crate::pipeline::compare::run(args)
}

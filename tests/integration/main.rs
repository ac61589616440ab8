//! The single integration test binary: runs the real `loadgate` binary against loopback servers
//! that the tests start on port 0, bounded in requests and time.

mod actions;
mod bad_input;
mod calibrate;
mod compare;
mod demo;
mod errors;
mod faults;
mod flows;
mod gate;
mod history;
mod html;
mod import;
mod monitor;
mod quick;
mod record;
mod run;
mod schema;
mod security;
mod shard;
mod snapshots;
mod stored;
mod stress;
mod support;
mod terminal;
mod watch;

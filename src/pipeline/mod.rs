//! The pipeline layer, between the commands (which parse flags) and the stages (scenario, load,
//! compare, verdict, report, action): each command's algorithm, in the stages' order. `measure`
//! resolves the target and loads it; `judge` is the gate's loop (rerun an unstable run, confirm a
//! suspect regression) over any source of runs ([`Runs`]), so `gate`, the accuracy benchmark and the
//! unit tests run the very same decisions; `record`, `calibrate`, `paired`, `stress`, `suite`,
//! `compare` and `gate` are the commands' whole flows; `outputs`, `noise`, `history` and `actions`
//! are the steps they share.

pub mod actions;
pub mod calibrate;
pub mod compare;
pub mod gate;
pub mod history;
pub mod judge;
pub mod measure;
pub mod noise;
pub mod outputs;
pub mod paired;
pub mod record;
pub mod run;
pub mod stress;
pub mod suite;
pub mod watch;

pub use judge::{
    judge_runs, judge_stored, Effort, Judge, NoMoreRuns, Runs, Stored, UNSTABLE_RERUNS,
};

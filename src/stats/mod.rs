//! Pure statistics under the compare and history stages: distributions, intervals for rates,
//! robust summaries, a seeded generator, the block bootstrap's core, Theil–Sen slopes, Student's
//! t-test and the permutation test of a change point.
//!
//! A leaf: it imports nothing from the crate, works on plain numbers, and knows no metric or run.
//! Each function has its source in a comment and a test against known values.

pub mod bootstrap;
pub mod distribution;
pub mod proportion;
pub mod rng;
pub mod robust;
pub mod shift;
pub mod student;
pub mod theil_sen;

pub use distribution::{chi_square_quantile, normal_quantile};
pub use proportion::{newcombe, wilson};
pub use rng::{seed_of, SplitMix64};
pub use robust::{median, modified_z};
pub use theil_sen::{theil_sen, Slope};

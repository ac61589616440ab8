//! Stage 2b — watch the machine and the service. For now: the load generator's host fingerprint,
//! part of every run's provenance. sysinfo appears only in this module.

pub mod host;

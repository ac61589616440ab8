//! The load generator's host fingerprint: absolute latencies rarely transfer between machines, so
//! every result says where it was measured and reports flag comparisons across hosts.

use sha2::{Digest, Sha256};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use crate::result::Host;

/// Describes this machine.
pub fn current() -> Host {
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let cpu_model = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_string())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let cpus = sys.cpus().len() as u32;
    let memory_bytes = sys.total_memory();
    let os = System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_string());
    fingerprinted(cpu_model, cpus, memory_bytes, os)
}

/// A [`Host`] with its fingerprint computed from the other fields. Memory is rounded to GiB so a
/// kernel reserving a few MB more does not make the same machine look different.
pub fn fingerprinted(cpu_model: String, cpus: u32, memory_bytes: u64, os: String) -> Host {
    let gib = (memory_bytes as f64 / (1u64 << 30) as f64).round() as u64;
    let digest = Sha256::digest(format!(
        "{cpu_model}|{cpus}|{gib}GiB|{}",
        std::env::consts::ARCH
    ));
    let fingerprint = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Host {
        cpu_model,
        cpus,
        memory_bytes,
        os,
        fingerprint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_small_memory_differences_and_os_patch() {
        let a = fingerprinted("X".into(), 2, 24 << 30, "Linux 12".into());
        let b = fingerprinted("X".into(), 2, (24 << 30) - (50 << 20), "Linux 12.1".into());
        let c = fingerprinted("X".into(), 4, 24 << 30, "Linux 12".into());
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert!(current().cpus >= 1);
    }
}

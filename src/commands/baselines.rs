//! `loadgate baselines list|show`: what is stored, where it was measured, from which commit.

use std::path::{Path, PathBuf};

use crate::baseline;
use crate::cli::BaselinesCommand;
use crate::error::Error;
use crate::exit;
use crate::report::{self, Format, Report};

pub fn run(command: BaselinesCommand) -> Result<u8, Error> {
    match command {
        BaselinesCommand::List { dir } => {
            let entries = baseline::list(&dir)?;
            if entries.is_empty() {
                eprintln!(
                    "loadgate: no baselines in {}; record one with `loadgate record SCENARIO`",
                    dir.display()
                );
            }
            for (path, r) in &entries {
                if let Err(e) = r {
                    eprintln!("warning: skipping {}: {e}", path.display());
                }
            }
            let ok: Vec<_> = entries
                .iter()
                .filter_map(|(p, r)| r.as_ref().ok().map(|r| (p.as_path(), r)))
                .collect();
            crate::pipeline::outputs::print(&report::table::baselines(&ok))?;
            Ok(exit::PASS)
        }
        BaselinesCommand::Show { name, dir } => {
            let path = if name.ends_with(".json") || name.contains('/') {
                PathBuf::from(&name)
            } else {
                baseline::path_for(&dir, &name)
            };
            let r = baseline::load(&path)?;
            crate::pipeline::outputs::print(&provenance(&path, &r))?;
            crate::pipeline::outputs::print(&report::render(
                &Report {
                    run: &r,
                    judged: None,
                },
                Format::Table,
            ))?;
            Ok(exit::PASS)
        }
    }
}

fn provenance(path: &Path, r: &crate::result::RunResult) -> String {
    let mut text = header(path, r);
    match &r.learned {
        Some(l) => {
            text.push_str(&format!(
                "  runs:     {} (run-to-run noise τ: {})\n",
                l.runs,
                l.tau_text()
            ));
            for line in l.not_gated_lines() {
                text.push_str(&format!("  not gated: {line}\n"));
            }
        }
        None => text.push_str(&format!(
            "  runs:     {} (no learned run-to-run noise: recorded by an older loadgate or merged; re-record to learn it)\n",
            r.runs()
        )),
    }
    text
}

fn header(path: &Path, r: &crate::result::RunResult) -> String {
    let m = &r.meta;
    format!(
        "baseline {}\n  scenario: {} (hash {})\n  recorded: {} with loadgate {}\n  commit:   {}\n  host:     {} ({} CPUs, {:.1} GiB, {}; fingerprint {})\n",
        path.display(),
        m.scenario_name,
        &m.scenario_hash[..m.scenario_hash.len().min(12)],
        m.started_at,
        m.tool_version,
        m.git_commit.as_deref().unwrap_or("unknown"),
        m.host.cpu_model,
        m.host.cpus,
        m.host.memory_bytes as f64 / (1u64 << 30) as f64,
        m.host.os,
        m.host.fingerprint,
    )
}

//! Confirmation (docs/statistics.md §4.5): whether a comparison calls for a confirmation run, and
//! the rule that keeps a pooled critical row critical only when both runs flagged it.

use crate::compare::{Comparison, Row, Status};

/// Applies the confirmation rule to a pooled comparison: a non-decisive critical row stays critical
/// only if the same row was suspect (or critical) in the first run *and* in the confirmation run on
/// its own (docs/statistics.md §4.5; react_on_rails' "the same benchmark must alert again"). The second
/// condition matters for tail quantiles: the p99 of two pooled runs is nearly the slower run's, so
/// one slow run would otherwise carry the pooled row over the line by itself.
pub fn confirm(first: &Comparison, second: &Comparison, mut pooled: Comparison) -> Comparison {
    let flagged_in = |c: &Comparison, row: &Row| {
        c.rows
            .iter()
            .find(|r| r.request == row.request && r.metric == row.metric)
            .is_some_and(|b| b.suspect || b.status == Status::Critical)
    };
    for row in &mut pooled.rows {
        if row.status != Status::Critical || row.decisive {
            continue;
        }
        if !flagged_in(first, row) {
            row.status = Status::Warn;
            row.reason
                .push_str(" (not confirmed: the first run did not flag it)");
        } else if !flagged_in(second, row) {
            row.status = Status::Warn;
            row.reason
                .push_str(" (not confirmed: the confirmation run on its own did not flag it)");
        }
    }
    let flagged: Vec<String> = first
        .rows
        .iter()
        .filter(|r| r.suspect || (r.status == Status::Critical && !r.decisive))
        .map(label)
        .collect();
    let confirmed: Vec<String> = pooled
        .rows
        .iter()
        .filter(|r| r.status == Status::Critical)
        .map(label)
        .collect();
    pooled.notes.push(if confirmed.is_empty() {
        format!(
            "a confirmation run did not confirm the suspect regression in {}",
            flagged.join(", ")
        )
    } else {
        format!("a confirmation run confirmed: {}", confirmed.join(", "))
    });
    pooled.confirmed = true;
    pooled
}

/// Whether a comparison calls for a confirmation run: something is suspect and nothing is decisive.
pub fn needs_confirmation(c: &Comparison) -> bool {
    !c.rows
        .iter()
        .any(|r| r.decisive && r.status == Status::Critical)
        && c.rows.iter().any(|r| r.gated && r.suspect)
}

fn label(r: &Row) -> String {
    format!("{} {}", r.request.as_deref().unwrap_or("all"), r.metric)
}

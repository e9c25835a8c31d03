//! Applying a batch of events: coalesce, plan, apply, and report employee by employee.

use super::SyncService;
use super::session::{ApplyError, Session};
use std::collections::BTreeMap;

use crate::domain::{EventBatch, Rejection, Summary, Warning};
use crate::plan::plan;

/// How a batch ended.
#[derive(Debug)]
pub enum BatchOutcome {
    /// No valid event was left: nothing was sent.
    NothingValid,
    /// Every call was made; `summary` says what Wazzup did and refused.
    Applied,
    /// A call failed; `summary.not_applied` lists what is still to do.
    Failed(ApplyError),
}

/// What a batch did.
#[derive(Debug)]
pub struct BatchReport {
    pub summary: Summary,
    pub outcome: BatchOutcome,
}

impl SyncService {
    /// Applies the valid events of `batch` in `session`: the last event per id wins (the
    /// earlier ones are reported `SUPERSEDED`), deletions go first.
    pub async fn apply_batch(&self, batch: EventBatch, session: &mut Session<'_>) -> BatchReport {
        let mut summary = Summary {
            rejected: batch.rejected,
            warnings: batch.warnings,
            ..Summary::default()
        };
        log_rejections(&summary.rejected);
        let mut plan = plan(batch.events);
        session.confine(&mut plan, &mut summary);
        summary
            .warnings
            .extend(plan.superseded.iter().map(|s| Warning {
                index: Some(s.index),
                id: Some(s.id.to_string()),
                code: "SUPERSEDED".into(),
                message: format!(
                    "a later event for the same id (index {}) replaced this one",
                    s.by_index
                ),
            }));
        if plan.is_empty() {
            return BatchReport {
                summary,
                outcome: BatchOutcome::NothingValid,
            };
        }
        let result = session.apply(&plan, &mut summary).await;
        tracing::info!(
            upserted = summary.upserted.len(),
            deleted = summary.deleted.len(),
            already_absent = summary.already_absent.len(),
            rejected = summary.rejected.len(),
            not_applied = summary.not_applied.len(),
            "batch applied"
        );
        let outcome = match result {
            Ok(()) => BatchOutcome::Applied,
            Err(error) => BatchOutcome::Failed(error),
        };
        BatchReport { summary, outcome }
    }
}

/// One log line for a batch's rejections, however many: the count and the count of each
/// reason (each rejection is in the answer).
fn log_rejections(rejected: &[Rejection]) {
    if rejected.is_empty() {
        return;
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for rejection in rejected {
        *reasons.entry(rejection.reason.as_str()).or_default() += 1;
    }
    tracing::warn!(rejected = rejected.len(), reasons = ?reasons, "events rejected");
}

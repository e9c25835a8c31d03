//! Applying a batch of events: coalesce, plan, apply, and report employee by employee.

use super::SyncService;
use super::session::{ApplyError, Session};
use crate::domain::{EventBatch, Summary, Warning};
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
        for rejection in &summary.rejected {
            tracing::warn!(index = rejection.index, user_id = rejection.id.as_deref().unwrap_or("-"), reason = %rejection.reason, "event rejected");
        }
        let plan = plan(batch.events);
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

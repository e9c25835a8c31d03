//! The ordering rule, for every path that writes to Wazzup (a webhook's batch, the queue's
//! worker, SCIM, the full sync): of one employee's events the newest wins; an event older than
//! the newest change already applied to its employee is dropped (`STALE`); the rest is applied
//! (deletions first); and what was applied is recorded with its time. So no late or replayed
//! event undoes a newer one, whichever path brought either. Without a state store, only the
//! batch's own order is kept.

use std::collections::{HashMap, HashSet};

use super::ports::{Applied, StoreError};
use super::report::{BatchOutcome, BatchReport};
use super::session::{Progress, Session};
use crate::domain::{IndexedEvent, SourceTime, Summary, SyncEvent, UserId, Warning};
use crate::plan::plan;

impl Session<'_> {
    /// Applies `events` (each with its time) in order, reporting into `summary` and telling
    /// `progress` of every call.
    pub async fn apply_in_order(
        &mut self,
        events: Vec<IndexedEvent>,
        mut summary: Summary,
        progress: &mut (dyn Progress + Send),
    ) -> BatchReport {
        let ids: Vec<UserId> = events
            .iter()
            .map(|e| e.event.id().clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let recorded = match self.state {
            Some(state) if !ids.is_empty() => match state.last_applied(&ids).await {
                Ok(recorded) => recorded,
                Err(error) => {
                    summary.not_applied = ids.iter().map(ToString::to_string).collect();
                    return BatchReport {
                        summary,
                        stale: 0,
                        outcome: BatchOutcome::Failed(error.into()),
                    };
                }
            },
            _ => HashMap::new(),
        };
        let (events, stale) = drop_stale(events, &recorded, &mut summary);
        // The time of the newest event per id: what is recorded once it is applied.
        let mut newest: HashMap<UserId, SourceTime> = HashMap::new();
        for event in &events {
            if let Some(at) = event.at {
                let slot = newest.entry(event.event.id().clone()).or_insert(at);
                *slot = (*slot).max(at);
            }
        }
        let mut plan = plan(events);
        self.confine(&mut plan, &mut summary);
        summary
            .warnings
            .extend(plan.superseded.iter().map(|s| Warning {
                index: Some(s.index),
                id: Some(s.id.to_string()),
                code: "SUPERSEDED".into(),
                message: format!(
                    "a newer event for the same id (index {}) replaced this one",
                    s.by_index
                ),
            }));
        if plan.is_empty() {
            let outcome = if stale > 0 {
                BatchOutcome::Applied
            } else {
                BatchOutcome::NothingValid
            };
            return BatchReport {
                summary,
                stale,
                outcome,
            };
        }
        let result = self.apply_with(&plan, &mut summary, progress).await;
        let recorded = self.record_applied(&summary, &newest).await;
        tracing::info!(
            upserted = summary.upserted.len(),
            deleted = summary.deleted.len(),
            already_absent = summary.already_absent.len(),
            rejected = summary.rejected.len(),
            stale,
            not_applied = summary.not_applied.len(),
            "batch applied"
        );
        let outcome = match (result, recorded) {
            (Err(error), _) => BatchOutcome::Failed(error),
            (Ok(()), Err(error)) => {
                // Applied but not recorded: do it again (the writes are idempotent).
                summary
                    .not_applied
                    .extend(newest.keys().map(ToString::to_string));
                BatchOutcome::Failed(error.into())
            }
            (Ok(()), Ok(())) => BatchOutcome::Applied,
        };
        BatchReport {
            summary,
            stale,
            outcome,
        }
    }

    /// Records what `summary` says reached Wazzup, each id at the time of its newest event.
    async fn record_applied(
        &self,
        summary: &Summary,
        newest: &HashMap<UserId, SourceTime>,
    ) -> Result<(), StoreError> {
        let Some(state) = self.state else {
            return Ok(());
        };
        let kept = summary.upserted.iter().map(|id| (id, false));
        let gone = summary
            .deleted
            .iter()
            .chain(&summary.already_absent)
            .map(|id| (id, true));
        for (id, deleted) in kept.chain(gone) {
            let Ok(id) = UserId::parse(id) else { continue };
            if let Some(at) = newest.get(&id) {
                state.record(&id, Applied { at: *at, deleted }).await?;
            }
        }
        Ok(())
    }
}

/// Drops the events older than the newest change applied to their employee, with a `STALE`
/// warning each; returns the rest and how many were dropped.
fn drop_stale(
    events: Vec<IndexedEvent>,
    recorded: &HashMap<UserId, Applied>,
    summary: &mut Summary,
) -> (Vec<IndexedEvent>, usize) {
    let mut stale = 0;
    let kept = events
        .into_iter()
        .filter(|event| {
            let newer = recorded
                .get(event.event.id())
                .filter(|applied| event.at.is_some_and(|at| at < applied.at));
            let Some(applied) = newer else {
                return true;
            };
            stale += 1;
            let what = match &event.event {
                SyncEvent::Upsert(_) => "update",
                SyncEvent::Delete(_) => "deletion",
            };
            summary.warnings.push(Warning {
                index: Some(event.index),
                id: Some(event.event.id().to_string()),
                code: "STALE".into(),
                message: format!(
                    "a newer change of this employee (made {}{}) was applied already; this {what} \
                     was dropped",
                    applied.at,
                    if applied.deleted { ", a deletion" } else { "" }
                ),
            });
            false
        })
        .collect();
    if stale > 0 {
        tracing::info!(stale, "stale events dropped");
    }
    (kept, stale)
}

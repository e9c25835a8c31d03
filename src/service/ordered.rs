//! The ordering rule, for every path that writes to Wazzup (a webhook's batch, the queue's
//! worker, SCIM, the full sync): of one employee's events the newest wins; an event older than
//! the newest change already applied to its employee is dropped (`STALE`); the rest is applied
//! (deletions first) to each employee's Wazzup user; and what was applied is recorded with its
//! time, and whose user it is, under the employee's lease. So no late, replayed or concurrent event undoes a newer one, whichever path brought
//! either. Without a state store, only the batch's own order is kept.

use std::collections::{HashMap, HashSet};

use super::error::ApplyError;
use super::ownership::Mark;
use super::ports::Applied;
use super::report::{BatchOutcome, BatchReport};
use super::session::{Progress, Session, step_ids};
use crate::domain::{IndexedEvent, SourceTime, Summary, SyncEvent, UserId, Warning};
use crate::plan::plan;

impl Session<'_> {
    /// Applies `events` (each with its time) in order, reporting into `summary` and telling
    /// `progress` of every call. With a state store, each employee's lease is held from before
    /// its record is read until what was applied is recorded (see `lease`).
    pub async fn apply_in_order(
        &mut self,
        events: Vec<IndexedEvent>,
        mut summary: Summary,
        progress: &mut (dyn Progress + Send),
    ) -> BatchReport {
        let mut ids: Vec<UserId> = events
            .iter()
            .map(|e| e.event.id().clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        ids.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        let Some(state) = self.state.filter(|_| !ids.is_empty()) else {
            return self
                .apply_leased(events, HashMap::new(), summary, progress)
                .await;
        };
        let leases = match self.lease(state, &ids).await {
            Ok(leases) => leases,
            Err(error) => return failed(summary, &ids, error.into()),
        };
        // What was read of them before their leases (a full sync's plan) is read again, with
        // their newest changes, in one read.
        self.view.forget(&leases.held);
        let read = match state.records(&leases.held).await {
            Ok(records) => {
                let recorded = records.applied.clone();
                self.take_in(&leases.held, records).await.map(|()| recorded)
            }
            Err(error) => Err(error),
        };
        let recorded = match read {
            Ok(recorded) => recorded,
            Err(error) => {
                self.release(state, &leases.held).await;
                return failed(summary, &ids, error.into());
            }
        };
        let busy: HashSet<&UserId> = leases.busy.iter().collect();
        let (events, waiting): (Vec<IndexedEvent>, Vec<IndexedEvent>) = events
            .into_iter()
            .partition(|event| !busy.contains(event.event.id()));
        summary
            .not_applied
            .extend(leases.busy.iter().map(ToString::to_string));
        let newest = newest_times(&events);
        let mut report = self.apply_leased(events, recorded, summary, progress).await;
        if let Err((unrecorded, error)) = self
            .settle(state, &leases.held, &report.summary, &newest)
            .await
        {
            // Applied but not recorded: do it again (the writes are idempotent).
            report
                .summary
                .not_applied
                .extend(unrecorded.iter().map(ToString::to_string));
            if !matches!(report.outcome, BatchOutcome::Failed(_)) {
                report.outcome = BatchOutcome::Failed(error.into());
            }
        }
        if !waiting.is_empty() && !matches!(report.outcome, BatchOutcome::Failed(_)) {
            report.outcome = BatchOutcome::Failed(ApplyError::Busy {
                count: leases.busy.len(),
            });
        }
        report
    }

    /// Applies `events` of employees this session may write now, given what is `recorded`:
    /// each employee's change goes to its Wazzup user (see `ownership`).
    async fn apply_leased(
        &mut self,
        events: Vec<IndexedEvent>,
        recorded: HashMap<UserId, Applied>,
        mut summary: Summary,
        progress: &mut (dyn Progress + Send),
    ) -> BatchReport {
        let (events, stale) = drop_stale(events, &recorded, &mut summary);
        let mut plan = plan(events);
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
        let ids: Vec<UserId> = (plan.deletes.iter().cloned())
            .chain(plan.upserts.iter().map(|user| user.id.clone()))
            .collect();
        if let Err(error) = self.learn(&ids, &recorded).await {
            return failed(summary, &ids, error.into());
        }
        let unowned = self.resolve(&mut plan, &mut summary);
        if plan.is_empty() && unowned.is_empty() {
            // Nothing refused (hires outside the seat rules only): done, with their warnings.
            let outcome = if stale > 0
                || !summary.not_applied.is_empty()
                || !ids.is_empty()
                || summary.rejected.is_empty()
            {
                BatchOutcome::Applied
            } else {
                BatchOutcome::NothingValid
            };
            return BatchReport {
                summary,
                stale,
                outcome,
                seats_left: self.seats_left,
            };
        }
        let mark = Mark::of(&summary, &self.uncertain);
        let result = match self.check_seats(&mut plan, &mut summary).await {
            Ok(()) => self.apply_with(&plan, &mut summary, progress).await,
            Err(error) => {
                summary
                    .not_applied
                    .extend(plan.steps().iter().flat_map(step_ids));
                Err(error)
            }
        };
        self.restore(&mut summary, &mark);
        let result = match result {
            Ok(()) => self.dismiss_unowned(unowned, &mut summary).await,
            Err(error) => {
                (summary.not_applied).extend(unowned.iter().map(ToString::to_string));
                Err(error)
            }
        };
        let result = match self.record_ownership(&summary, &mark).await {
            Ok(()) => result,
            Err(error) => {
                // Written, but whose it is was not recorded: written again later (idempotent),
                // and recorded then.
                let written = mark.written(&summary);
                summary.not_applied.extend(written);
                result.and(Err(error.into()))
            }
        };
        tracing::debug!(
            upserted = summary.upserted.len(),
            deleted = summary.deleted.len(),
            already_absent = summary.already_absent.len(),
            rejected = summary.rejected.len(),
            stale,
            not_applied = summary.not_applied.len(),
            "batch applied"
        );
        let outcome = match result {
            Err(error) => BatchOutcome::Failed(error),
            Ok(()) => BatchOutcome::Applied,
        };
        BatchReport {
            summary,
            stale,
            outcome,
            seats_left: self.seats_left,
        }
    }
}

/// The report of a batch none of which was applied, because of `error`.
fn failed(mut summary: Summary, ids: &[UserId], error: ApplyError) -> BatchReport {
    summary
        .not_applied
        .extend(ids.iter().map(ToString::to_string));
    BatchReport {
        summary,
        stale: 0,
        outcome: BatchOutcome::Failed(error),
        seats_left: None,
    }
}

/// The time of the newest event per id: what is recorded once it is applied.
fn newest_times(events: &[IndexedEvent]) -> HashMap<UserId, SourceTime> {
    let mut newest: HashMap<UserId, SourceTime> = HashMap::new();
    for event in events {
        if let Some(at) = event.at {
            let slot = newest.entry(event.event.id().clone()).or_insert(at);
            *slot = (*slot).max(at);
        }
    }
    newest
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
                SyncEvent::Delete(_) | SyncEvent::Unseat(_) => "deletion",
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

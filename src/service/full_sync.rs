//! Running a full sync: check the complete employee list, read Wazzup's users, plan within the
//! deployment's fences, and apply (deletions first), or stop at the plan for a dry run.

use serde::{Serialize, Serializer};

use super::SyncService;
use super::enqueue::change_key;
use super::error::ApplyError;
use super::ports::QueueError;
use super::report::BatchOutcome;
use super::session::{Progress, Session};
use crate::domain::{
    Change, EmployeeRow, IndexedEvent, InvalidRoster, Roster, SourceTime, Summary, SyncEvent,
    Warning,
};
use crate::plan::{FullPlan, PlanError, Policy, plan_full_sync};
use crate::wazzup::ListedUser;

/// What the caller asks of one full sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FullSyncRequest {
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// Delete beyond the deployment's largest deletion share.
    pub force_deletes: bool,
    /// Re-send unchanged employees too (Wazzup's list has no phones, so a changed phone alone
    /// is not seen otherwise).
    pub resend: bool,
    /// When the employee list was read from its source (else: when the plan is made). The
    /// plan's changes carry this time, so that a change the source made later (a hire after
    /// the snapshot) is never undone by them.
    pub as_of: Option<SourceTime>,
}

/// What a full sync planned and did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FullSyncReport {
    pub dry_run: bool,
    #[serde(serialize_with = "plan_ids")]
    pub plan: FullPlan,
    /// What was applied (nothing for a dry run, a plan with nothing to do, or a queued one).
    pub applied: Summary,
    /// How many changes were queued for the worker (queued mode).
    pub queued: usize,
    /// Phones of the roster left out because they are not valid numbers.
    pub warnings: Vec<Warning>,
}

/// The plan as ids: `{"create": [...], "update": [...], "delete": [...], "unchanged": n,
/// "unmanaged": n}`.
fn plan_ids<S: Serializer>(plan: &FullPlan, serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Ids<'a> {
        create: Vec<&'a str>,
        update: Vec<&'a str>,
        delete: Vec<&'a str>,
        unchanged: usize,
        unmanaged: usize,
    }
    Ids {
        create: plan.create.iter().map(|u| u.id.as_str()).collect(),
        update: plan.update.iter().map(|u| u.id.as_str()).collect(),
        delete: plan.delete.iter().map(|id| id.as_str()).collect(),
        unchanged: plan.unchanged.len(),
        unmanaged: plan.unmanaged,
    }
    .serialize(serializer)
}

/// Why a full sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum FullSyncError {
    /// No scope is configured: the full sync is off.
    #[error("the full sync is off: set SYNC_ID_PREFIX or SYNC_MANAGE_ALL=true")]
    NotEnabled,
    /// The list is not a complete, valid roster: nothing was read or applied.
    #[error("the employee list has {} invalid employees; nothing was applied", .0.problems.len())]
    InvalidEmployees(InvalidRoster),
    /// Wazzup's list could not be read: nothing was planned or applied.
    #[error("could not read Wazzup's users: {0}")]
    List(ApplyError),
    /// The plan broke a rule: nothing was applied.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The plan could not be queued: nothing was applied.
    #[error("the full sync's changes could not be queued: {0}")]
    Queue(QueueError),
    /// Applying stopped part-way; the report says what was done. Running again is safe.
    #[error("applying the plan stopped: {error}")]
    Apply {
        report: Box<FullSyncReport>,
        error: ApplyError,
    },
}

impl SyncService {
    /// Checks a complete employee list against the deployment's scope.
    pub fn roster(
        &self,
        rows: impl IntoIterator<Item = (usize, EmployeeRow)>,
    ) -> Result<Roster, FullSyncError> {
        let sync = self
            .settings
            .sync
            .as_ref()
            .ok_or(FullSyncError::NotEnabled)?;
        Roster::parse(rows, &sync.scope, self.settings.phone_region)
            .map_err(FullSyncError::InvalidEmployees)
    }

    /// The rules a full sync asked for with `request` must respect here.
    fn policy(&self, request: FullSyncRequest) -> Result<Policy, FullSyncError> {
        let sync = self
            .settings
            .sync
            .as_ref()
            .ok_or(FullSyncError::NotEnabled)?;
        let mut policy = Policy::new(sync.scope.clone());
        policy.max_delete_share = sync.max_delete_share;
        policy.force_deletes = request.force_deletes;
        policy.force_resend = request.resend;
        Ok(policy)
    }

    /// Reads Wazzup's users and plans the full sync of `roster`; returns the plan and the
    /// users it was planned against.
    pub async fn plan_full_sync(
        &self,
        session: &mut Session<'_>,
        roster: &Roster,
        request: FullSyncRequest,
    ) -> Result<(FullPlan, Vec<ListedUser>), FullSyncError> {
        let policy = self.policy(request)?;
        let current = session.list_users().await.map_err(FullSyncError::List)?;
        let mut plan = plan_full_sync(roster, &current, &policy)?;
        // Wazzup lists its users by name; ids in order read (and diff) better.
        plan.delete.sort();
        tracing::info!(
            create = plan.create.len(),
            update = plan.update.len(),
            delete = plan.delete.len(),
            unchanged = plan.unchanged.len(),
            unmanaged = plan.unmanaged,
            dry_run = request.dry_run,
            "full sync planned"
        );
        Ok((plan, current))
    }

    /// Applies a planned full sync made `as_of`: deletions first, then creations and updates,
    /// 100 a call, each change in order with the others (see `Session::apply_in_order`).
    pub async fn apply_full_plan(
        &self,
        session: &mut Session<'_>,
        plan: &FullPlan,
        as_of: SourceTime,
        progress: &mut (dyn Progress + Send),
    ) -> Result<Summary, (Summary, ApplyError)> {
        let events = plan_events(plan, as_of)
            .into_iter()
            .enumerate()
            .map(|(index, (event, at))| IndexedEvent {
                index,
                event,
                at: Some(at),
            })
            .collect();
        let report = session
            .apply_in_order(events, Summary::default(), progress)
            .await;
        match report.outcome {
            BatchOutcome::Failed(error) => Err((report.summary, error)),
            _ => Ok(report.summary),
        }
    }

    /// Queues a planned full sync made `as_of`, for the worker to apply with the webhooks'
    /// changes in one lane.
    pub async fn enqueue_full_plan(
        &self,
        plan: &FullPlan,
        as_of: SourceTime,
    ) -> Result<usize, QueueError> {
        let changes: Vec<Change> = plan_events(plan, as_of)
            .into_iter()
            .map(|(event, at)| Change {
                // Named by what it does and the list's time: a second run of the same list
                // within the queue's five minutes is dropped, another list's changes are not
                // (its time may be the same: the caller gives it).
                key: change_key(
                    &format!(
                        "full-sync@{}:{}",
                        as_of.millis(),
                        serde_json::to_string(&event).unwrap_or_else(|_| event.id().to_string())
                    ),
                    0,
                ),
                at,
                event,
            })
            .collect();
        match &self.queue {
            None => Err(QueueError("no queue is configured".into())),
            Some(_) if changes.is_empty() => Ok(0),
            Some(queue) => queue.send(&changes).await.map(|()| changes.len()),
        }
    }

    /// Plans the full sync of `roster` and applies it (or, in queued mode, queues it), unless
    /// it is a dry run.
    pub async fn full_sync(
        &self,
        session: &mut Session<'_>,
        roster: &Roster,
        request: FullSyncRequest,
    ) -> Result<FullSyncReport, FullSyncError> {
        let as_of = request.as_of.unwrap_or_else(SourceTime::now);
        let (plan, _) = self.plan_full_sync(session, roster, request).await?;
        let mut report = FullSyncReport {
            dry_run: request.dry_run,
            plan,
            applied: Summary::default(),
            queued: 0,
            warnings: roster.warnings().to_vec(),
        };
        if request.dry_run || report.plan.is_noop() {
            return Ok(report);
        }
        if self.is_queued() {
            report.queued = self
                .enqueue_full_plan(&report.plan, as_of)
                .await
                .map_err(FullSyncError::Queue)?;
            return Ok(report);
        }
        match self
            .apply_full_plan(session, &report.plan, as_of, &mut super::Quiet)
            .await
        {
            Ok(summary) => {
                report.applied = summary;
                Ok(report)
            }
            Err((summary, error)) => {
                report.applied = summary;
                Err(FullSyncError::Apply {
                    report: Box::new(report),
                    error,
                })
            }
        }
    }
}

/// The plan's changes in the order they are applied (deletions, then creations and updates),
/// each made `as_of`.
fn plan_events(plan: &FullPlan, as_of: SourceTime) -> Vec<(SyncEvent, SourceTime)> {
    plan.delete
        .iter()
        .map(|id| SyncEvent::Delete(id.clone()))
        .chain(
            plan.create
                .iter()
                .chain(&plan.update)
                .cloned()
                .map(SyncEvent::Upsert),
        )
        .map(|event| (event, as_of))
        .collect()
}

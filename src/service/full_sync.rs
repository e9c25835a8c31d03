//! Running a full sync: check the complete employee list, read the account as it is (Wazzup's
//! users, the records of whose they are, the phones that decide a match), plan within the
//! deployment's fences, take over the matched users when asked, and apply (deletions first),
//! or stop at the plan for a dry run.

use serde::{Serialize, Serializer};
use serde_json::json;

use super::SyncService;
use super::enqueue::change_key;
use super::error::ApplyError;
use super::ports::{QueueError, StoreError};
use super::report::BatchOutcome;
use super::session::{Progress, Session};
use crate::domain::{
    Change, EmployeeRow, IndexedEvent, InvalidRoster, Owner, Rejection, Roster, Scope, SourceTime,
    Summary, SyncEvent, User, UserId, Warning,
};
use crate::metrics::{Outcome, Ownership};
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
    /// Take over the existing users the plan matches to employees (else they are only shown).
    pub adopt: bool,
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
    /// Users whose phones could not be read in the time there was: a match by phone among them
    /// is not seen (the scheduled run and the CLI have the time).
    #[serde(skip_serializing_if = "is_zero")]
    pub phones_unread: usize,
    /// The employees whose matched users were taken over (with `adopt`).
    pub adopted: Vec<String>,
    /// What was applied (nothing for a dry run, a plan with nothing to do, or a queued one).
    pub applied: Summary,
    /// How many changes were queued for the worker (queued mode).
    pub queued: usize,
    /// Phones of the roster left out because they are not valid numbers.
    pub warnings: Vec<Warning>,
}

impl FullSyncReport {
    /// What the run came to, for the metrics.
    pub fn metrics(&self) -> Outcome {
        Outcome {
            applied: self.applied.applied(),
            refused: self.applied.rejected.len(),
            stale: 0,
            ownership: Ownership {
                adopted: self.adopted.len(),
                unowned_dismissals: 0,
                seats_left: Some(self.plan.seats_left),
            },
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The plan as ids: `{"create": [...], "update": [...], "delete": [...], "unchanged": n,
/// "unmanaged": n, "matches": [...], "ambiguous": [...], "conflicts": [...], "unowned": [...],
/// "seatsLeft": n}`.
fn plan_ids<S: Serializer>(plan: &FullPlan, serializer: S) -> Result<S::Ok, S::Error> {
    let user = |user: &ListedUser| json!({"id": user.id, "name": user.name});
    json!({
        "create": plan.create.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        "update": plan.update.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        "delete": plan.delete.iter().map(UserId::as_str).collect::<Vec<_>>(),
        "unchanged": plan.unchanged.len(),
        "unmanaged": plan.unowned.len(),
        "matches": plan.matches.iter().map(|m| json!({
            "employee": m.employee.id.as_str(),
            "name": m.employee.name.as_str(),
            "wazzupId": m.user.id,
            "wazzupName": m.user.name,
            "by": m.by.as_str(),
        })).collect::<Vec<_>>(),
        "ambiguous": plan.ambiguous.iter().map(|a| json!({
            "employee": a.employee.id.as_str(),
            "name": a.employee.name.as_str(),
            "candidates": a.candidates.iter().map(user).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "conflicts": plan.conflicts.iter().map(|c| json!({
            "employee": c.employee.id.as_str(),
            "reason": c.reason,
            "message": c.message,
        })).collect::<Vec<_>>(),
        "unowned": plan.unowned.iter().map(user).collect::<Vec<_>>(),
        "seatsLeft": plan.seats_left,
    })
    .serialize(serializer)
}

/// Why a full sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum FullSyncError {
    /// Neither a state table (to know which users the deployment owns) nor a scope.
    #[error(
        "the full sync is off: it needs the state table (STATE_TABLE), which records the users \
         this deployment owns, or a scope (SYNC_ID_PREFIX, or SYNC_MANAGE_ALL=true)"
    )]
    NotEnabled,
    /// The list is not a complete, valid roster: nothing was read or applied.
    #[error("the employee list has {} invalid employees; nothing was applied", .0.problems.len())]
    InvalidEmployees(InvalidRoster),
    /// Wazzup's list, or the records, could not be read: nothing was planned or applied.
    #[error("could not read Wazzup's users: {0}")]
    List(ApplyError),
    /// The plan broke a rule: nothing was applied.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Taking over asks for the records of whose users are whose.
    #[error(
        "taking existing users over needs the state table (STATE_TABLE), where the takeover is \
         recorded; nothing was applied"
    )]
    AdoptNeedsState,
    /// The takeover could not be recorded: nothing was applied after it.
    #[error("the takeover could not be recorded: {0}")]
    Record(StoreError),
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
        if !self.full_sync_enabled() {
            return Err(FullSyncError::NotEnabled);
        }
        Roster::parse(rows, &self.settings.sync.scope, self.settings.phone_region)
            .map_err(FullSyncError::InvalidEmployees)
    }

    /// Whether a full sync can tell which users to delete: the records say which users the
    /// deployment owns, or a scope is configured.
    pub fn full_sync_enabled(&self) -> bool {
        self.state.is_some() || self.settings.sync.scope != Scope::Owned
    }

    /// The rules a full sync asked for with `request` must respect here.
    fn policy(&self, request: FullSyncRequest) -> Result<Policy, FullSyncError> {
        if !self.full_sync_enabled() {
            return Err(FullSyncError::NotEnabled);
        }
        let sync = &self.settings.sync;
        let mut policy = Policy::new(sync.scope.clone());
        policy.max_delete_share = sync.max_delete_share;
        policy.force_deletes = request.force_deletes;
        policy.force_resend = request.resend;
        Ok(policy)
    }

    /// Reads the account (Wazzup's users, the records of whose they are, the phones a match
    /// needs, as time allows) and plans the full sync of `roster`; returns the plan, the users
    /// it was planned against, and how many phones were left unread.
    pub async fn plan_full_sync(
        &self,
        session: &mut Session<'_>,
        roster: &Roster,
        request: FullSyncRequest,
    ) -> Result<(FullPlan, Vec<ListedUser>, usize), FullSyncError> {
        let policy = self.policy(request)?;
        let (known, unread) = session
            .known(roster, &policy.scope)
            .await
            .map_err(FullSyncError::List)?;
        let mut plan = plan_full_sync(roster, &known, &policy)?;
        // Wazzup lists its users by name; ids in order read (and diff) better.
        plan.delete.sort();
        tracing::info!(
            create = plan.create.len(),
            update = plan.update.len(),
            delete = plan.delete.len(),
            unchanged = plan.unchanged.len(),
            matches = plan.matches.len(),
            ambiguous = plan.ambiguous.len(),
            unowned = plan.unowned.len(),
            seats_left = plan.seats_left,
            phones_unread = unread,
            dry_run = request.dry_run,
            "full sync planned"
        );
        Ok((plan, known.users, unread))
    }

    /// Takes over the users `plan` matched to employees: records each as its employee's (one
    /// that another request took meanwhile is refused), and returns the employees taken over,
    /// whose writes now go to those users.
    pub async fn take_over(
        &self,
        session: &mut Session<'_>,
        plan: &FullPlan,
    ) -> Result<(Vec<User>, Vec<Rejection>), FullSyncError> {
        let state = self
            .state
            .as_deref()
            .ok_or(FullSyncError::AdoptNeedsState)?;
        let matched: Vec<(&User, UserId, Owner)> = (plan.matches.iter())
            .filter_map(|found| {
                let wazzup = UserId::parse(&found.user.id).ok()?;
                let owner = Owner::new(found.employee.id.clone(), session.source, found.by);
                Some((&found.employee, wazzup, owner))
            })
            .collect();
        let takes: Vec<(UserId, Owner)> = (matched.iter())
            .map(|(_, wazzup, owner)| (wazzup.clone(), owner.clone()))
            .collect();
        let answers = state
            .take_all(&takes)
            .await
            .map_err(FullSyncError::Record)?;
        let mut taken = Vec::new();
        let mut refused = Vec::new();
        for ((employee, wazzup, owner), answer) in matched.into_iter().zip(answers) {
            match answer {
                None => {
                    tracing::info!(
                        action = "adopt",
                        user_id = %crate::domain::LoggedId(employee.id.as_str()),
                        wazzup_id = %crate::domain::LoggedId(wazzup.as_str()),
                        basis = owner.basis.as_str(),
                        "existing Wazzup user taken over"
                    );
                    session.view.taken(&wazzup, owner);
                    taken.push(employee.clone());
                }
                Some(other) => refused.push(Rejection {
                    index: None,
                    id: Some(employee.id.to_string()),
                    reason: "OWNED_BY_ANOTHER".into(),
                    message: format!(
                        "the Wazzup user {wazzup} was taken over for employee {} meanwhile",
                        other.employee
                    ),
                }),
            }
        }
        Ok((taken, refused))
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
        source: &str,
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
                source: Some(source.to_owned()),
            })
            .collect();
        match &self.queue {
            None => Err(QueueError("no queue is configured".into())),
            Some(_) if changes.is_empty() => Ok(0),
            Some(queue) => queue.send(&changes).await.map(|()| changes.len()),
        }
    }

    /// Plans the full sync of `roster`, takes over the matched users when asked, and applies
    /// the plan (or, in queued mode, queues it), unless it is a dry run.
    pub async fn full_sync(
        &self,
        session: &mut Session<'_>,
        roster: &Roster,
        request: FullSyncRequest,
    ) -> Result<FullSyncReport, FullSyncError> {
        let as_of = request.as_of.unwrap_or_else(SourceTime::now);
        let (plan, _, phones_unread) = self.plan_full_sync(session, roster, request).await?;
        let mut report = FullSyncReport {
            dry_run: request.dry_run,
            plan,
            phones_unread,
            adopted: Vec::new(),
            applied: Summary::default(),
            queued: 0,
            warnings: roster.warnings().to_vec(),
        };
        if request.dry_run {
            return Ok(report);
        }
        // What is applied: the plan, and with `adopt` the employees whose users were taken over.
        let mut apply = report.plan.clone();
        if request.adopt && !report.plan.matches.is_empty() {
            let (taken, refused) = self.take_over(session, &report.plan).await?;
            report.adopted = taken.iter().map(|u| u.id.to_string()).collect();
            report.applied.rejected.extend(refused);
            apply.update.extend(taken);
        }
        if apply.is_noop() {
            return Ok(report);
        }
        if self.is_queued() {
            report.queued = self
                .enqueue_full_plan(&apply, session.source, as_of)
                .await
                .map_err(FullSyncError::Queue)?;
            return Ok(report);
        }
        let refused = std::mem::take(&mut report.applied.rejected);
        match self
            .apply_full_plan(session, &apply, as_of, &mut super::Quiet)
            .await
        {
            Ok(summary) => {
                report.applied = summary;
                report.applied.rejected.extend(refused);
                Ok(report)
            }
            Err((summary, error)) => {
                report.applied = summary;
                report.applied.rejected.extend(refused);
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

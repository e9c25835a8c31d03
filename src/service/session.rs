//! One request's conversation with Wazzup: the plan's calls in order, one refresh of the secret
//! when Wazzup refuses the key; a call Wazzup refuses for its data refuses its users and the
//! following calls go on (the per-user refusals of an upsert are in `upsert`).

use std::collections::HashSet;
use std::sync::Arc;

use tokio::time::Instant;

use super::error::ApplyError;
use super::ports::StateStore;
use super::report::BatchOutcome;
use crate::credentials::{CredentialProvider, Credentials};
use crate::domain::{
    IndexedEvent, LoggedId, Rejection, Scope, SourceTime, Summary, SyncEvent, UserId,
};
use crate::plan::{Plan, Step};
use crate::wazzup::{DeleteOutcome, ListedUser, RemoteUser, WazzupClient, WazzupError};

/// The rejection of deleting `id` (the event at `index`) when the deployment does not manage
/// it: the ownership rule of every deletion, whichever path asks for it.
pub fn deletion_refused(
    managed: Option<&Scope>,
    id: &UserId,
    index: Option<usize>,
) -> Option<Rejection> {
    if managed.is_some_and(|scope| scope.manages(id.as_str())) {
        return None;
    }
    let message = match managed {
        Some(Scope::Prefix(prefix)) => format!(
            "the id does not start with \"{prefix}\", the prefix of the Wazzup users this \
             deployment manages; users outside it are never deleted"
        ),
        _ => "this deployment manages no Wazzup users, so it deletes none: set \
              SYNC_ID_PREFIX (the ids it manages) or SYNC_MANAGE_ALL=true"
            .to_owned(),
    };
    tracing::warn!(action = "delete", user_id = %LoggedId(id.as_str()), "refused: outside the managed scope");
    Some(Rejection {
        index,
        id: Some(id.to_string()),
        reason: "OUT_OF_SCOPE".into(),
        message,
    })
}

/// Follows a plan's progress, step by step (the CLI's progress bar).
pub trait Progress: Send {
    /// A call is about to be sent.
    fn starting(&mut self, _step: &Step<'_>) {}
    /// A call is done (its users applied or refused).
    fn finished(&mut self, _step: &Step<'_>) {}
}

/// No one follows.
pub struct Quiet;

impl Progress for Quiet {}

/// Applies plans and reads users for one request, with the credentials of that request. On an
/// error, the ids not yet applied are in `summary.not_applied`.
pub struct Session<'a> {
    pub(super) wazzup: &'a WazzupClient,
    provider: &'a dyn CredentialProvider,
    /// The Wazzup users this deployment manages, and so may delete; `None`: none.
    managed: Option<&'a Scope>,
    /// The newest change applied per employee, when a record is kept.
    pub(super) state: Option<&'a dyn StateStore>,
    pub(super) deadline: Option<Instant>,
    /// This session's token in the state store's leases.
    pub(super) owner: String,
    /// Ids whose call failed with an outcome that cannot be told: the write may still land.
    pub(super) uncertain: Vec<String>,
    /// The first failure of a call that did not stop the following ones (see
    /// [`ApplyError::concerns_the_call`]): the outcome of the plan once it is applied.
    pub(super) deferred: Option<ApplyError>,
    pub(super) credentials: Arc<Credentials>,
    refreshed: bool,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        wazzup: &'a WazzupClient,
        provider: &'a dyn CredentialProvider,
        managed: Option<&'a Scope>,
        state: Option<&'a dyn StateStore>,
        credentials: Arc<Credentials>,
        deadline: Option<Instant>,
    ) -> Self {
        Self {
            wazzup,
            provider,
            managed,
            state,
            deadline,
            owner: format!("{:016x}", fastrand::u64(..)),
            uncertain: Vec::new(),
            deferred: None,
            credentials,
            refreshed: false,
        }
    }

    /// The credentials this session uses now.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// After a 401, fetch the secret again once per request and say whether to try again.
    pub(super) async fn after_unauthorized(&mut self) -> Result<(), ApplyError> {
        if self.refreshed {
            return Err(WazzupError::Unauthorized.into());
        }
        self.refreshed = true;
        self.credentials = self.provider.refresh(Arc::clone(&self.credentials)).await?;
        Ok(())
    }

    /// Applies `plan`, recording each outcome in `summary`.
    pub async fn apply(&mut self, plan: &Plan, summary: &mut Summary) -> Result<(), ApplyError> {
        self.apply_with(plan, summary, &mut Quiet).await
    }

    /// Moves the deletions of users this deployment does not manage out of `plan`, into
    /// `summary` as `OUT_OF_SCOPE` rejections: whatever a caller asks, only managed users are
    /// ever deleted (the same ownership rule as the full sync's). Without a configured scope
    /// nothing is deleted.
    pub fn confine(&self, plan: &mut Plan, summary: &mut Summary) {
        let managed = self.managed;
        let (kept, outside): (Vec<UserId>, Vec<UserId>) = std::mem::take(&mut plan.deletes)
            .into_iter()
            .partition(|id| deletion_refused(managed, id, None).is_none());
        plan.deletes = kept;
        summary.rejected.extend(
            outside
                .iter()
                .filter_map(|id| deletion_refused(managed, id, None)),
        );
    }

    /// Applies `plan`, telling `progress` of every call.
    pub async fn apply_with(
        &mut self,
        plan: &Plan,
        summary: &mut Summary,
        progress: &mut (dyn Progress + Send),
    ) -> Result<(), ApplyError> {
        let mut confined;
        let plan = if plan
            .deletes
            .iter()
            .all(|id| self.managed.is_some_and(|scope| scope.manages(id.as_str())))
        {
            plan
        } else {
            confined = plan.clone();
            self.confine(&mut confined, summary);
            &confined
        };
        let steps = plan.steps();
        for (position, step) in steps.iter().enumerate() {
            progress.starting(step);
            let before = (
                summary.upserted.len(),
                summary.deleted.len(),
                summary.already_absent.len(),
                summary.rejected.len(),
            );
            if let Err(error) = self.apply_step(*step, summary).await {
                // What the failed step itself applied or refused is accounted for.
                let done: HashSet<&str> = (summary.upserted.iter().skip(before.0))
                    .chain(summary.deleted.iter().skip(before.1))
                    .chain(summary.already_absent.iter().skip(before.2))
                    .map(String::as_str)
                    .chain((summary.rejected.iter().skip(before.3)).filter_map(|r| r.id.as_deref()))
                    .collect();
                let rest: Vec<String> = step_ids(step)
                    .into_iter()
                    .filter(|id| !done.contains(id.as_str()))
                    .collect();
                if error.refuses_the_data() {
                    // Wazzup refused this call's users for good: they are refused, the
                    // following calls go on.
                    tracing::warn!(code = error.code(), users = rest.len(), "refused by Wazzup");
                    summary
                        .rejected
                        .extend(rest.into_iter().map(|id| Rejection {
                            index: None,
                            id: Some(id),
                            reason: error.code().into(),
                            message: error.to_string(),
                        }));
                    progress.finished(step);
                    continue;
                }
                // The rest of the step was not applied (though its writes may still land).
                if error.may_still_land() {
                    self.uncertain.extend(rest.iter().cloned());
                }
                summary.not_applied.extend(rest);
                if error.concerns_the_call() {
                    // An answer about this call only: the following calls go on; the error is
                    // the request's outcome once they are made.
                    self.deferred.get_or_insert(error);
                    progress.finished(step);
                    continue;
                }
                // Wazzup or AWS is failing: no later step is tried.
                summary
                    .not_applied
                    .extend(steps.iter().skip(position + 1).flat_map(step_ids));
                return Err(error);
            }
            progress.finished(step);
        }
        match self.deferred.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    async fn apply_step(
        &mut self,
        step: Step<'_>,
        summary: &mut Summary,
    ) -> Result<(), ApplyError> {
        match step {
            Step::DeleteOne(id) => loop {
                let key = &self.credentials.api_key;
                match self
                    .wazzup
                    .delete_user(key, id.as_str(), self.deadline)
                    .await
                {
                    Ok(DeleteOutcome::Deleted) => {
                        tracing::info!(action = "delete", user_id = %LoggedId(id.as_str()), "user deleted");
                        summary.deleted.push(id.to_string());
                        return Ok(());
                    }
                    Ok(DeleteOutcome::AlreadyAbsent) => {
                        tracing::info!(action = "delete", user_id = %LoggedId(id.as_str()), "user already absent");
                        summary.already_absent.push(id.to_string());
                        return Ok(());
                    }
                    Err(WazzupError::Unauthorized) => self.after_unauthorized().await?,
                    Err(error) => return Err(error.into()),
                }
            },
            Step::BulkDelete(ids) => {
                let wire: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
                let absent = loop {
                    let key = &self.credentials.api_key;
                    match self.wazzup.bulk_delete(key, &wire, self.deadline).await {
                        Ok(absent) => break absent,
                        Err(WazzupError::Unauthorized) => self.after_unauthorized().await?,
                        Err(error) => return Err(error.into()),
                    }
                };
                for id in ids {
                    if absent.iter().any(|a| a == id.as_str()) {
                        tracing::info!(action = "delete", user_id = %LoggedId(id.as_str()), "user already absent");
                        summary.already_absent.push(id.to_string());
                    } else {
                        tracing::info!(action = "delete", user_id = %LoggedId(id.as_str()), "user deleted");
                        summary.deleted.push(id.to_string());
                    }
                }
                Ok(())
            }
            Step::Upsert(users) => self.upsert(users.to_vec(), summary).await,
        }
    }
}

fn step_ids(step: &Step<'_>) -> Vec<String> {
    match step {
        Step::DeleteOne(id) => vec![id.to_string()],
        Step::BulkDelete(ids) => ids.iter().map(|id| id.to_string()).collect(),
        Step::Upsert(users) => users.iter().map(|u| u.id.to_string()).collect(),
    }
}

impl Session<'_> {
    /// One user from Wazzup, with the same single secret refresh on 401 as writes.
    pub async fn get_user(&mut self, id: &str) -> Result<Option<RemoteUser>, ApplyError> {
        loop {
            let key = &self.credentials.api_key;
            match self.wazzup.get_user(key, id, self.deadline).await {
                Err(WazzupError::Unauthorized) => self.after_unauthorized().await?,
                other => return other.map_err(ApplyError::from),
            }
        }
    }

    /// Every user in Wazzup, with the same single secret refresh on 401 as writes.
    pub async fn list_users(&mut self) -> Result<Vec<ListedUser>, ApplyError> {
        loop {
            let key = &self.credentials.api_key;
            match self.wazzup.list_users(key, self.deadline).await {
                Err(WazzupError::Unauthorized) => self.after_unauthorized().await?,
                other => return other.map_err(ApplyError::from),
            }
        }
    }

    /// Applies a list of events made now, in order (see [`Session::apply_in_order`]); the
    /// outcome of each is in the returned summary.
    pub async fn apply_events(
        &mut self,
        events: Vec<SyncEvent>,
    ) -> (Summary, Result<(), ApplyError>) {
        let now = SourceTime::now();
        let indexed = events
            .into_iter()
            .enumerate()
            .map(|(index, event)| IndexedEvent {
                index,
                event,
                at: Some(now),
            })
            .collect();
        let report = self
            .apply_in_order(indexed, Summary::default(), &mut Quiet)
            .await;
        let result = match report.outcome {
            BatchOutcome::Failed(error) => Err(error),
            _ => Ok(()),
        };
        (report.summary, result)
    }
}

//! One request's conversation with Wazzup: the plan's calls in order, one refresh of the secret
//! when Wazzup refuses the key; a call Wazzup refuses for its data refuses its users and the
//! following calls go on (the per-user refusals of an upsert are in `upsert`; whose users the
//! calls write and delete is in `ownership`, what the session learns of the account in
//! `account`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::time::Instant;

use super::error::ApplyError;
use super::ports::StateStore;
use super::report::BatchReport;
use super::seen::{Account, View};
use crate::credentials::{CredentialProvider, Credentials};
use crate::domain::{
    Basis, IndexedEvent, LoggedId, Rejection, Scope, SourceTime, Summary, SyncEvent, UserId,
};
use crate::plan::{Plan, Step};
use crate::wazzup::{DeleteOutcome, ListedUser, RemoteUser, WazzupClient, WazzupError};

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
    /// How far deletions reach beyond the users the records say this deployment owns.
    pub(super) scope: &'a Scope,
    /// Whether a hire refused for a phone that a user nobody owns has takes that user over.
    pub(super) adopt_on_conflict: bool,
    /// Who brought the changes, as ownership records name it (a source's name, `scim`, `sync`).
    pub(super) source: &'static str,
    /// The source of each employee's change, where the changes came from several.
    pub(super) sources: HashMap<UserId, String>,
    /// What the records say of the employees and users this session has looked at.
    pub(super) view: View,
    /// The plan being applied: each Wazzup id it writes, and the employee it is for.
    pub(super) targets: HashMap<String, UserId>,
    /// The users the plan writes that existed before and nobody owned: on what grounds they
    /// become their employees'.
    pub(super) bases: HashMap<String, Basis>,
    /// Wazzup's users and the phones read, once per session.
    pub(super) account: Option<Account>,
    /// Seats left in the account after this session's creations, when it counted them.
    pub(super) seats_left: Option<usize>,
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
        (scope, adopt_on_conflict): (&'a Scope, bool),
        state: Option<&'a dyn StateStore>,
        credentials: Arc<Credentials>,
        deadline: Option<Instant>,
    ) -> Self {
        Self {
            wazzup,
            provider,
            scope,
            adopt_on_conflict,
            source: "-",
            sources: HashMap::new(),
            view: View::default(),
            targets: HashMap::new(),
            bases: HashMap::new(),
            account: None,
            seats_left: None,
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

    /// Names who brings this session's changes, for the ownership records (a source's name,
    /// `scim`, `sync`).
    pub fn for_source(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }

    /// Takes over a Wazzup user whose phone a hire has (unless it is another employee's) for
    /// this session's requests, whatever the deployment's `ADOPT_ON_CONFLICT` says: a full sync
    /// takes over only what its caller asked it to.
    pub fn adopting_on_conflict(mut self, adopt: bool) -> Self {
        self.adopt_on_conflict = adopt;
        self
    }

    /// Applies `plan` (its ids are Wazzup's), telling `progress` of every call.
    pub(super) async fn apply_with(
        &mut self,
        plan: &Plan,
        summary: &mut Summary,
        progress: &mut (dyn Progress + Send),
    ) -> Result<(), ApplyError> {
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

pub(super) fn step_ids(step: &Step<'_>) -> Vec<String> {
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
    /// outcome of each is in the report's summary.
    pub async fn apply_events(&mut self, events: Vec<SyncEvent>) -> BatchReport {
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
        self.apply_in_order(indexed, Summary::default(), &mut Quiet)
            .await
    }
}

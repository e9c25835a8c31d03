//! Full sync: the plan that makes Wazzup hold exactly the employees that should be there.
//!
//! The input is the complete list of employees that should exist; the other side is Wazzup's
//! current list (`GET /v3/users`, which gives ids and names). The plan says which ids are
//! created, updated (the name differs), deleted and left alone. Deleting real staff is the
//! worst thing this product can do, so deletions are fenced three ways:
//! - only users in the sync's [`Scope`] are ever deleted: those whose id starts with a prefix,
//!   or, only when said explicitly, every user;
//! - a plan that would delete more than a share of the managed users (default 10 %) is refused
//!   unless forced;
//! - the caller can always ask for the plan alone (a dry run) and apply nothing.
//!
//! Wazzup's list carries no phones, so a phone change is not seen here: an employee whose name
//! is unchanged is left alone. Re-sending everyone is always safe (upserts are idempotent) and
//! is what `force_resend` does.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::{PhoneRegion, SyncEvent, User, UserId};
use crate::inbound::upsert_event;
use crate::outcome::{Rejection, Summary, Warning};
use crate::plan::Plan;
use crate::sync::{Applier, ApplyError};
use crate::wazzup::ListedUser;

/// Which Wazzup users this sync manages, and so may delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Users whose id starts with this prefix.
    Prefix(String),
    /// Every user of the account: only when said explicitly.
    All,
}

impl Scope {
    pub fn manages(&self, id: &str) -> bool {
        match self {
            Scope::Prefix(prefix) => id.starts_with(prefix.as_str()),
            Scope::All => true,
        }
    }
}

/// The rules a plan must respect.
#[derive(Debug, Clone)]
pub struct Policy {
    pub scope: Scope,
    /// The largest share of managed users one run may delete (0.10 = 10 %).
    pub max_delete_share: f64,
    /// Delete beyond `max_delete_share` all the same.
    pub force_deletes: bool,
    /// Re-send unchanged employees too.
    pub force_resend: bool,
    /// The account's limit of users (1,000 for Wazzup).
    pub user_limit: usize,
}

impl Policy {
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            max_delete_share: 0.10,
            force_deletes: false,
            force_resend: false,
            user_limit: 1000,
        }
    }
}

/// What a full sync will do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullPlan {
    /// Employees Wazzup does not have yet.
    pub create: Vec<User>,
    /// Employees whose name in Wazzup differs (or all present ones, with `force_resend`).
    pub update: Vec<User>,
    /// Managed Wazzup users no longer in the list.
    pub delete: Vec<UserId>,
    /// Employees already as they should be.
    pub unchanged: Vec<UserId>,
    /// Wazzup users outside the scope, left alone.
    pub unmanaged: usize,
}

impl FullPlan {
    pub fn is_noop(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// Why a plan is refused; nothing is applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the employee list names id {0} more than once")]
    DuplicateId(String),
    #[error(
        "employee {0} is outside the sync's scope: its id does not start with the configured prefix, \
         so the sync could never delete it"
    )]
    OutOfScope(String),
    #[error(
        "refusing to delete {deletes} of {managed} managed users ({share:.0} %, the limit is {limit:.0} %); \
         check the employee list, or force the deletions explicitly"
    )]
    TooManyDeletions {
        deletes: usize,
        managed: usize,
        share: f64,
        limit: f64,
    },
    #[error(
        "the plan would leave {total} users in Wazzup, over the account's limit of {limit}; nothing was applied"
    )]
    UserLimit { total: usize, limit: usize },
}

/// Plans a full sync of `desired` against Wazzup's `current` users.
pub fn plan_full_sync(
    desired: &[User],
    current: &[ListedUser],
    policy: &Policy,
) -> Result<FullPlan, PlanError> {
    let mut seen = HashSet::new();
    for user in desired {
        if !seen.insert(user.id.as_str()) {
            return Err(PlanError::DuplicateId(user.id.to_string()));
        }
        if !policy.scope.manages(user.id.as_str()) {
            return Err(PlanError::OutOfScope(user.id.to_string()));
        }
    }
    let existing: HashMap<&str, &str> = current
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();

    let mut plan = FullPlan::default();
    for user in desired {
        match existing.get(user.id.as_str()) {
            None => plan.create.push(user.clone()),
            Some(name) if *name != user.name.as_str() || policy.force_resend => {
                plan.update.push(user.clone())
            }
            Some(_) => plan.unchanged.push(user.id.clone()),
        }
    }
    let mut managed = 0;
    for user in current {
        if !policy.scope.manages(&user.id) {
            plan.unmanaged += 1;
            continue;
        }
        managed += 1;
        if !seen.contains(user.id.as_str())
            && let Ok(id) = UserId::parse(&user.id)
        {
            plan.delete.push(id);
        }
    }

    if !plan.delete.is_empty() && !policy.force_deletes {
        let share = plan.delete.len() as f64 / managed.max(1) as f64;
        if share > policy.max_delete_share {
            return Err(PlanError::TooManyDeletions {
                deletes: plan.delete.len(),
                managed,
                share: share * 100.0,
                limit: policy.max_delete_share * 100.0,
            });
        }
    }
    let total = current.len() - plan.delete.len() + plan.create.len();
    if total > policy.user_limit {
        return Err(PlanError::UserLimit {
            total,
            limit: policy.user_limit,
        });
    }
    Ok(plan)
}

impl FullPlan {
    /// The Wazzup calls of this plan (deletions first, chunks of 100).
    pub fn to_plan(&self) -> Plan {
        Plan {
            deletes: self.delete.clone(),
            upserts: self.create.iter().chain(&self.update).cloned().collect(),
            superseded: Vec::new(),
        }
    }
}

/// One employee as a file or a request gives it (CSV columns or JSON fields `id`, `name`,
/// `phone`). The id may be JSON text or an integer. CSV readers must read fields as text and
/// build rows themselves: the csv crate's type guessing would turn `00042` into `42` here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EmployeeRow {
    #[serde(deserialize_with = "string_or_integer")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// Reads an id given as text or as an integer (CRMs use both).
fn string_or_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    })
}

/// Validates a complete employee list, all or nothing: one invalid employee refuses the whole
/// list, because an employee left out of a full sync would be deleted from Wazzup. A phone that
/// is not a valid number is only a warning (the employee is kept, without it).
pub fn parse_employees(
    rows: impl IntoIterator<Item = EmployeeRow>,
    region: PhoneRegion,
) -> Result<(Vec<User>, Vec<Warning>), Vec<Rejection>> {
    let mut users = Vec::new();
    let mut warnings = Vec::new();
    let mut rejected = Vec::new();
    for (index, row) in rows.into_iter().enumerate() {
        match upsert_event(
            index,
            &row.id,
            row.name.as_deref(),
            row.phone.as_deref(),
            region,
        ) {
            Ok((SyncEvent::Upsert(user), warning)) => {
                users.push(user);
                warnings.extend(warning);
            }
            Ok((SyncEvent::Delete(_), _)) => {}
            Err(rejection) => rejected.push(rejection),
        }
    }
    if rejected.is_empty() {
        Ok((users, warnings))
    } else {
        Err(rejected)
    }
}

/// What a full sync did.
#[derive(Debug, Clone)]
pub struct FullSyncOutcome {
    pub plan: FullPlan,
    /// What was applied (empty for a dry run).
    pub summary: Summary,
    pub dry_run: bool,
}

/// Why a full sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum FullSyncError {
    /// Wazzup's list could not be read: nothing was planned or applied.
    #[error("could not read Wazzup's users: {0}")]
    List(ApplyError),
    /// The plan broke a rule: nothing was applied.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Applying stopped part-way; `summary` says what was done. Running again is safe.
    #[error("applying the plan stopped: {error}")]
    Apply {
        plan: Box<FullPlan>,
        summary: Box<Summary>,
        error: ApplyError,
    },
}

/// Reads Wazzup's users, plans the full sync of `desired`, and applies it unless `dry_run`.
pub async fn run_full_sync(
    applier: &mut Applier<'_>,
    desired: &[User],
    policy: &Policy,
    dry_run: bool,
) -> Result<FullSyncOutcome, FullSyncError> {
    let current = applier.list_users().await.map_err(FullSyncError::List)?;
    let plan = plan_full_sync(desired, &current, policy)?;
    tracing::info!(
        create = plan.create.len(),
        update = plan.update.len(),
        delete = plan.delete.len(),
        unchanged = plan.unchanged.len(),
        unmanaged = plan.unmanaged,
        dry_run,
        "full sync planned"
    );
    let mut summary = Summary::default();
    if dry_run || plan.is_noop() {
        return Ok(FullSyncOutcome {
            plan,
            summary,
            dry_run,
        });
    }
    match applier.apply(&plan.to_plan(), &mut summary).await {
        Ok(()) => Ok(FullSyncOutcome {
            plan,
            summary,
            dry_run,
        }),
        Err(error) => Err(FullSyncError::Apply {
            plan: Box::new(plan),
            summary: Box::new(summary),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserName;

    fn user(id: &str, name: &str) -> User {
        User {
            id: UserId::parse(id).unwrap(),
            name: UserName::parse(name).unwrap(),
            phone: None,
        }
    }

    fn listed(id: &str, name: &str) -> ListedUser {
        ListedUser {
            id: id.into(),
            name: name.into(),
        }
    }

    fn crm_scope() -> Policy {
        Policy::new(Scope::Prefix("crm-".into()))
    }

    #[test]
    fn an_empty_wazzup_gets_everyone_created() {
        let desired: Vec<User> = (0..1000).map(|i| user(&format!("crm-{i}"), "N")).collect();
        let plan = plan_full_sync(&desired, &[], &crm_scope()).unwrap();
        assert_eq!(plan.create.len(), 1000);
        assert!(plan.update.is_empty() && plan.delete.is_empty());
    }

    #[test]
    fn a_second_run_is_a_noop_and_renames_are_updates() {
        let desired = [user("crm-1", "Alex"), user("crm-2", "Kate")];
        let current = [listed("crm-1", "Alex"), listed("crm-2", "Kate")];
        let plan = plan_full_sync(&desired, &current, &crm_scope()).unwrap();
        assert!(plan.is_noop());
        assert_eq!(plan.unchanged.len(), 2);

        let renamed = [user("crm-1", "Alex (Lead)"), user("crm-2", "Kate")];
        let plan = plan_full_sync(&renamed, &current, &crm_scope()).unwrap();
        assert_eq!(plan.update, [user("crm-1", "Alex (Lead)")]);

        let mut resend = crm_scope();
        resend.force_resend = true;
        let plan = plan_full_sync(&desired, &current, &resend).unwrap();
        assert_eq!(plan.update.len(), 2);
    }

    #[test]
    fn only_managed_users_are_deleted() {
        let desired: Vec<User> = (0..95).map(|i| user(&format!("crm-{i}"), "N")).collect();
        let mut current: Vec<ListedUser> =
            (0..100).map(|i| listed(&format!("crm-{i}"), "N")).collect();
        current.push(listed("manual-boss", "The Boss"));
        let plan = plan_full_sync(&desired, &current, &crm_scope()).unwrap();
        let deleted: Vec<&str> = plan.delete.iter().map(UserId::as_str).collect();
        assert_eq!(deleted, ["crm-95", "crm-96", "crm-97", "crm-98", "crm-99"]);
        assert_eq!(plan.unmanaged, 1);
    }

    #[test]
    fn deleting_more_than_the_allowed_share_is_refused_unless_forced() {
        let desired: Vec<User> = (0..50).map(|i| user(&format!("crm-{i}"), "N")).collect();
        let current: Vec<ListedUser> = (0..100).map(|i| listed(&format!("crm-{i}"), "N")).collect();
        let error = plan_full_sync(&desired, &current, &crm_scope()).unwrap_err();
        assert!(matches!(
            error,
            PlanError::TooManyDeletions {
                deletes: 50,
                managed: 100,
                ..
            }
        ));
        assert!(error.to_string().contains("50 %"), "{error}");
        let mut forced = crm_scope();
        forced.force_deletes = true;
        assert_eq!(
            plan_full_sync(&desired, &current, &forced)
                .unwrap()
                .delete
                .len(),
            50
        );
    }

    #[test]
    fn the_user_limit_duplicates_and_scope_are_checked_before_anything() {
        let desired: Vec<User> = (0..1001).map(|i| user(&format!("crm-{i}"), "N")).collect();
        assert_eq!(
            plan_full_sync(&desired, &[], &crm_scope()),
            Err(PlanError::UserLimit {
                total: 1001,
                limit: 1000
            })
        );
        let twice = [user("crm-1", "A"), user("crm-1", "B")];
        assert_eq!(
            plan_full_sync(&twice, &[], &crm_scope()),
            Err(PlanError::DuplicateId("crm-1".into()))
        );
        let outside = [user("hr-1", "A")];
        assert_eq!(
            plan_full_sync(&outside, &[], &crm_scope()),
            Err(PlanError::OutOfScope("hr-1".into()))
        );
        assert!(plan_full_sync(&outside, &[], &Policy::new(Scope::All)).is_ok());
    }
}

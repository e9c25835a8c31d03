//! Planning a full sync: the calls that make Wazzup hold exactly the employees of a [`Roster`].
//!
//! The input is the complete, checked list of employees that should exist; the other side is Wazzup's
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

use super::batch::Plan;
use crate::domain::{Roster, Scope, User, UserId};
use crate::wazzup::ListedUser;

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
    #[error(
        "refusing to delete {deletes} of {managed} managed users ({share:.0} %, the limit is {limit:.0} %); \
         check the employee list, or force the deletions explicitly"
    )]
    TooManyDeletions {
        deletes: usize,
        managed: usize,
        share: f64,
        limit: f64,
        /// The ids the plan would delete, in order.
        would_delete: Vec<UserId>,
    },
    #[error(
        "the plan would leave {total} users in Wazzup, over the account's limit of {limit}; nothing was applied"
    )]
    UserLimit { total: usize, limit: usize },
}

/// Plans a full sync of `desired` against Wazzup's `current` users. The roster is already
/// checked (every id in the scope, none twice).
pub fn plan_full_sync(
    desired: &Roster,
    current: &[ListedUser],
    policy: &Policy,
) -> Result<FullPlan, PlanError> {
    let desired = desired.users();
    let seen: HashSet<&str> = desired.iter().map(|u| u.id.as_str()).collect();
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
            let mut would_delete = plan.delete;
            would_delete.sort();
            return Err(PlanError::TooManyDeletions {
                deletes: would_delete.len(),
                managed,
                share: share * 100.0,
                limit: policy.max_delete_share * 100.0,
                would_delete,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmployeeRow, PhoneRegion};

    fn user(id: &str, name: &str) -> EmployeeRow {
        EmployeeRow {
            id: id.into(),
            name: Some(name.into()),
            phone: None,
        }
    }

    /// The roster of these rows, in the scope of `crm-` (or every id, for `Scope::All`).
    fn roster(rows: impl IntoIterator<Item = EmployeeRow>, scope: Scope) -> Roster {
        Roster::parse(rows.into_iter().enumerate(), &scope, PhoneRegion::default()).unwrap()
    }

    fn plan_full_sync(
        desired: &[EmployeeRow],
        current: &[ListedUser],
        policy: &Policy,
    ) -> Result<FullPlan, PlanError> {
        super::plan_full_sync(
            &roster(desired.iter().cloned(), policy.scope.clone()),
            current,
            policy,
        )
    }

    fn created(plan: &FullPlan) -> Vec<&str> {
        plan.update.iter().map(|u| u.id.as_str()).collect()
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
        let desired: Vec<EmployeeRow> = (0..1000).map(|i| user(&format!("crm-{i}"), "N")).collect();
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
        assert_eq!(created(&plan), ["crm-1"]);
        assert_eq!(plan.update[0].name.as_str(), "Alex (Lead)");

        let mut resend = crm_scope();
        resend.force_resend = true;
        let plan = plan_full_sync(&desired, &current, &resend).unwrap();
        assert_eq!(plan.update.len(), 2);
    }

    #[test]
    fn only_managed_users_are_deleted() {
        let desired: Vec<EmployeeRow> = (0..95).map(|i| user(&format!("crm-{i}"), "N")).collect();
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
        let desired: Vec<EmployeeRow> = (0..50).map(|i| user(&format!("crm-{i}"), "N")).collect();
        let current: Vec<ListedUser> = (0..100).map(|i| listed(&format!("crm-{i}"), "N")).collect();
        let error = plan_full_sync(&desired, &current, &crm_scope()).unwrap_err();
        let PlanError::TooManyDeletions {
            deletes: 50,
            managed: 100,
            would_delete,
            ..
        } = &error
        else {
            panic!("unexpected {error:?}")
        };
        assert_eq!(would_delete.len(), 50);
        assert_eq!(would_delete[0].as_str(), "crm-50");
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
    fn the_user_limit_is_checked_before_anything() {
        let desired: Vec<EmployeeRow> = (0..1001).map(|i| user(&format!("crm-{i}"), "N")).collect();
        assert_eq!(
            plan_full_sync(&desired, &[], &crm_scope()),
            Err(PlanError::UserLimit {
                total: 1001,
                limit: 1000
            })
        );
    }
}

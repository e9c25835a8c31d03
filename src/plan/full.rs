//! Planning a full sync: the calls that make Wazzup hold exactly the employees of a [`Roster`].
//!
//! The input is the complete, checked list of employees that should exist; the other side is
//! the account as it is ([`Known`]: Wazzup's list of ids and names, the records of whose users
//! are whose, the phones read). Each employee is placed ([`place`]): its own user is updated
//! when its name differs, an existing user nobody owns that it matches is reported (and taken
//! over only when the caller asks), an ambiguous match is reported and left alone, and the
//! rest are created. Deleting real staff is the worst thing this product can do, so deletions
//! are fenced:
//! - only users the deployment owns for an employee who left (its records), or that its scope
//!   reaches (an id prefix, or every user when said explicitly), are ever deleted; never a user
//!   nobody owns, nor one a match or an ambiguity concerns;
//! - a plan that would delete more than a share of the managed users (default 10 %) is refused
//!   unless forced;
//! - the caller can always ask for the plan alone (a dry run) and apply nothing.
//!
//! Wazzup's list carries no phones, so a phone change is not seen here: an employee whose name
//! is unchanged is left alone. Re-sending everyone is always safe (upserts are idempotent) and
//! is what `force_resend` does.

use std::collections::{HashMap, HashSet};

use super::batch::Plan;
use super::matching::{Ambiguity, Conflict, Known, Match, Placement, place};
use crate::domain::{Roster, Scope, User, UserId};
use crate::wazzup::{ListedUser, USER_LIMIT};

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
            user_limit: USER_LIMIT,
        }
    }
}

/// What a full sync will do. Every id is an employee's: the service sends each change to the
/// employee's Wazzup user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullPlan {
    /// Employees no Wazzup user is yet.
    pub create: Vec<User>,
    /// Employees whose Wazzup user's name differs (or all present ones, with `force_resend`).
    pub update: Vec<User>,
    /// Employees who left, whose Wazzup user goes (or users the scope reaches that no employee
    /// is).
    pub delete: Vec<UserId>,
    /// Employees already as they should be.
    pub unchanged: Vec<UserId>,
    /// Employees that existing users nobody owns are: taken over only when asked.
    pub matches: Vec<Match>,
    /// Employees that several users could be (or users several employees): left alone.
    pub ambiguous: Vec<Ambiguity>,
    /// Employees whose user is another employee's, or not there: left alone.
    pub conflicts: Vec<Conflict>,
    /// Users nobody owns that no employee is: never deleted.
    pub unowned: Vec<ListedUser>,
    /// Seats left in the account once the plan is applied.
    pub seats_left: usize,
}

impl FullPlan {
    /// Nothing to create, update or delete (matches wait to be asked for).
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
        "the plan would leave {total} users in Wazzup, over the account's limit of {limit} \
         ({seats_left} seats are left now); nothing was applied"
    )]
    UserLimit {
        total: usize,
        limit: usize,
        seats_left: usize,
    },
}

/// Plans a full sync of `desired` against the account as `known`. The roster is already
/// checked (every id in the prefix, none twice).
pub fn plan_full_sync(
    desired: &Roster,
    known: &Known,
    policy: &Policy,
) -> Result<FullPlan, PlanError> {
    let names: HashMap<&str, &str> = (known.users.iter())
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let in_roster: HashSet<&UserId> = desired.users().iter().map(|u| &u.id).collect();
    let mut plan = FullPlan::default();
    // Users an employee is placed on, or may be: never deleted by this plan.
    let mut spoken_for: HashSet<String> = HashSet::new();
    for (user, placement) in desired
        .users()
        .iter()
        .zip(place(desired, known, &policy.scope))
    {
        match placement {
            Placement::Owned { wazzup } => {
                spoken_for.insert(wazzup.to_string());
                match names.get(wazzup.as_str()) {
                    None => plan.create.push(user.clone()),
                    Some(name) if *name != user.name.as_str() || policy.force_resend => {
                        plan.update.push(user.clone())
                    }
                    Some(_) => plan.unchanged.push(user.id.clone()),
                }
            }
            Placement::Matched(found) => {
                spoken_for.insert(found.user.id.clone());
                plan.matches.push(found);
            }
            Placement::Ambiguous(ambiguity) => {
                spoken_for.extend(ambiguity.candidates.iter().map(|c| c.id.clone()));
                plan.ambiguous.push(ambiguity);
            }
            Placement::Conflicting(conflict) => plan.conflicts.push(conflict),
            Placement::New => plan.create.push(user.clone()),
        }
    }
    let mut managed = 0;
    for user in &known.users {
        let owner = known.owner(&user.id, &policy.scope);
        let covered = owner.is_some() || policy.scope.covers(&user.id);
        if covered {
            managed += 1;
        }
        if spoken_for.contains(&user.id) {
            continue;
        }
        match owner {
            // Deleted through its employee, whose change goes to this user.
            Some(employee) if !in_roster.contains(&employee) => {
                let reaches = known.links.get(&employee).map(UserId::as_str)
                    == Some(user.id.as_str())
                    || (employee.as_str() == user.id && !known.links.contains_key(&employee));
                if reaches {
                    plan.delete.push(employee);
                }
            }
            Some(_) => {}
            // Deleted as the employee of its id: unless an employee of that id has another user
            // (its change would go there).
            None if covered => {
                if let Ok(id) = UserId::parse(&user.id)
                    && !in_roster.contains(&id)
                    && !known.links.contains_key(&id)
                {
                    plan.delete.push(id);
                } else {
                    plan.unowned.push(user.clone());
                }
            }
            None => plan.unowned.push(user.clone()),
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
    let total = known.users.len() - plan.delete.len() + plan.create.len();
    if total > policy.user_limit {
        return Err(PlanError::UserLimit {
            total,
            limit: policy.user_limit,
            seats_left: policy.user_limit.saturating_sub(known.users.len()),
        });
    }
    plan.seats_left = policy.user_limit - total;
    Ok(plan)
}

impl FullPlan {
    /// The Wazzup calls of this plan (deletions first, chunks of 100).
    pub fn to_plan(&self) -> Plan {
        Plan {
            deletes: self.delete.clone(),
            unseated: Vec::new(),
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
        EmployeeRow::named(id, name, None)
    }

    /// The roster of these rows, in the scope of the policy.
    fn roster(rows: impl IntoIterator<Item = EmployeeRow>, scope: Scope) -> Roster {
        Roster::parse(rows.into_iter().enumerate(), &scope, PhoneRegion::default()).unwrap()
    }

    /// Plans against `current`, each user owned by the employee of its id when `owned`.
    fn plan_with(
        desired: &[EmployeeRow],
        current: &[ListedUser],
        owned: bool,
        policy: &Policy,
    ) -> Result<FullPlan, PlanError> {
        let owners = if owned {
            (current.iter())
                .map(|u| (u.id.clone(), UserId::parse(&u.id).unwrap()))
                .collect()
        } else {
            HashMap::new()
        };
        let known = Known {
            users: current.to_vec(),
            owners,
            ..Known::default()
        };
        plan_full_sync(
            &roster(desired.iter().cloned(), policy.scope.clone()),
            &known,
            policy,
        )
    }

    fn plan_full_sync_(
        desired: &[EmployeeRow],
        current: &[ListedUser],
        policy: &Policy,
    ) -> Result<FullPlan, PlanError> {
        plan_with(desired, current, false, policy)
    }

    fn updated(plan: &FullPlan) -> Vec<&str> {
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
        let plan = plan_full_sync_(&desired, &[], &crm_scope()).unwrap();
        assert_eq!(plan.create.len(), 1000);
        assert!(plan.update.is_empty() && plan.delete.is_empty());
        assert_eq!(plan.seats_left, 0);
    }

    #[test]
    fn a_second_run_is_a_noop_and_renames_are_updates() {
        let desired = [user("crm-1", "Alex"), user("crm-2", "Kate")];
        let current = [listed("crm-1", "Alex"), listed("crm-2", "Kate")];
        let plan = plan_full_sync_(&desired, &current, &crm_scope()).unwrap();
        assert!(plan.is_noop());
        assert_eq!(plan.unchanged.len(), 2);

        let renamed = [user("crm-1", "Alex (Lead)"), user("crm-2", "Kate")];
        let plan = plan_full_sync_(&renamed, &current, &crm_scope()).unwrap();
        assert_eq!(updated(&plan), ["crm-1"]);
        assert_eq!(plan.update[0].name.as_str(), "Alex (Lead)");

        let mut resend = crm_scope();
        resend.force_resend = true;
        let plan = plan_full_sync_(&desired, &current, &resend).unwrap();
        assert_eq!(plan.update.len(), 2);
    }

    #[test]
    fn only_managed_users_are_deleted() {
        let desired: Vec<EmployeeRow> = (0..95).map(|i| user(&format!("crm-{i}"), "N")).collect();
        let mut current: Vec<ListedUser> =
            (0..100).map(|i| listed(&format!("crm-{i}"), "N")).collect();
        current.push(listed("manual-boss", "The Boss"));
        let plan = plan_full_sync_(&desired, &current, &crm_scope()).unwrap();
        let deleted: Vec<&str> = plan.delete.iter().map(UserId::as_str).collect();
        assert_eq!(deleted, ["crm-95", "crm-96", "crm-97", "crm-98", "crm-99"]);
        assert_eq!(plan.unowned, [listed("manual-boss", "The Boss")]);
    }

    #[test]
    fn without_a_scope_only_owned_users_are_deleted_and_the_rest_are_matched() {
        let desired = [user("crm-1", "Alex"), user("crm-3", "The Boss")];
        let current = [
            listed("crm-1", "Alex"),
            listed("crm-2", "Kate"),
            listed("7c1e9a20", "The Boss"),
            listed("0d5f0a11", "Hand Made"),
        ];
        let known = Known {
            users: current.to_vec(),
            owners: HashMap::from([
                ("crm-1".into(), UserId::parse("crm-1").unwrap()),
                ("crm-2".into(), UserId::parse("crm-2").unwrap()),
            ]),
            ..Known::default()
        };
        let mut policy = Policy::new(Scope::Owned);
        policy.max_delete_share = 0.5;
        let plan = plan_full_sync(&roster(desired, Scope::Owned), &known, &policy).unwrap();
        let deleted: Vec<&str> = plan.delete.iter().map(UserId::as_str).collect();
        assert_eq!(deleted, ["crm-2"]);
        assert_eq!(plan.matches.len(), 1);
        assert_eq!(plan.matches[0].user.id, "7c1e9a20");
        assert!(plan.create.is_empty());
        assert_eq!(plan.unowned, [listed("0d5f0a11", "Hand Made")]);
    }

    #[test]
    fn manage_all_never_deletes_a_user_an_employee_matches() {
        let desired = [user("crm-1", "The Boss")];
        let current = [listed("7c1e9a20", "The Boss"), listed("0d5f0a11", "Left")];
        let mut policy = Policy::new(Scope::All);
        policy.force_deletes = true;
        let plan = plan_full_sync_(&desired, &current, &policy).unwrap();
        let deleted: Vec<&str> = plan.delete.iter().map(UserId::as_str).collect();
        assert_eq!(deleted, ["0d5f0a11"]);
        assert_eq!(plan.matches[0].user.id, "7c1e9a20");
        assert!(plan.create.is_empty());
    }

    #[test]
    fn a_user_with_the_id_of_an_employee_who_has_another_user_is_never_deleted_as_that_employee() {
        // crm-1 took hand-7 over; a user crm-1 appears later. Deleting "crm-1" would go to
        // hand-7, crm-1's real user.
        let desired = [user("crm-1", "Anna")];
        let known = Known {
            users: vec![listed("hand-7", "Anna"), listed("crm-1", "Anna (again)")],
            owners: HashMap::from([("hand-7".into(), UserId::parse("crm-1").unwrap())]),
            links: HashMap::from([(
                UserId::parse("crm-1").unwrap(),
                UserId::parse("hand-7").unwrap(),
            )]),
            ..Known::default()
        };
        let mut policy = Policy::new(Scope::All);
        policy.force_deletes = true;
        let plan = plan_full_sync(&roster(desired, Scope::All), &known, &policy).unwrap();
        assert!(plan.delete.is_empty(), "{:?}", plan.delete);
        assert_eq!(plan.unowned, [listed("crm-1", "Anna (again)")]);
    }

    #[test]
    fn deleting_more_than_the_allowed_share_is_refused_unless_forced() {
        let desired: Vec<EmployeeRow> = (0..50).map(|i| user(&format!("crm-{i}"), "N")).collect();
        let current: Vec<ListedUser> = (0..100).map(|i| listed(&format!("crm-{i}"), "N")).collect();
        let error = plan_with(&desired, &current, true, &Policy::new(Scope::Owned)).unwrap_err();
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
            plan_full_sync_(&desired, &current, &forced)
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
            plan_full_sync_(&desired, &[], &crm_scope()),
            Err(PlanError::UserLimit {
                total: 1001,
                limit: 1000,
                seats_left: 1000,
            })
        );
    }
}

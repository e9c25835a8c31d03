//! Whose Wazzup users a session writes and deletes. Each employee's changes go to its Wazzup user:
//! its own id, or the user it took over. A user another employee owns is never written for this
//! one. A user is deleted only when the records say this deployment owns it for that employee
//! (it created it or took it over), or when the configured scope reaches it (`SYNC_ID_PREFIX`,
//! `SYNC_MANAGE_ALL`); a user nobody owns is never deleted by default (`dismissal`). What was
//! created, taken over and deleted is recorded, under the employee's lease. Before the calls the
//! seats are counted (`seats`); a hire's duplicate phone may take a user over (`takeover`).

use std::collections::HashMap;

use super::ports::{Applied, Records, StoreError};
use super::session::Session;
use crate::domain::{Basis, LoggedId, Owner, Rejection, Scope, Summary, UserId};
use crate::plan::Plan;

/// Where the summary stood before a plan's calls: what came after is in Wazzup's ids.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    upserted: usize,
    deleted: usize,
    already_absent: usize,
    rejected: usize,
    warnings: usize,
    not_applied: usize,
    uncertain: usize,
}

impl Mark {
    pub fn of(summary: &Summary, uncertain: &[String]) -> Self {
        Self {
            upserted: summary.upserted.len(),
            deleted: summary.deleted.len(),
            already_absent: summary.already_absent.len(),
            rejected: summary.rejected.len(),
            warnings: summary.warnings.len(),
            not_applied: summary.not_applied.len(),
            uncertain: uncertain.len(),
        }
    }

    /// The employees `summary` says were written since the mark.
    pub fn written(&self, summary: &Summary) -> Vec<String> {
        (summary.upserted.iter().skip(self.upserted))
            .chain(summary.deleted.iter().skip(self.deleted))
            .chain(summary.already_absent.iter().skip(self.already_absent))
            .cloned()
            .collect()
    }
}

impl Session<'_> {
    /// The employee the Wazzup user `wazzup` belongs to: by the records, else by the id prefix
    /// (a prefix says the users it covers are the employees of the same id). `SYNC_MANAGE_ALL`
    /// lets deletions reach every user, but makes none of them any employee's.
    pub(super) fn owner_of(&self, wazzup: &UserId) -> Option<UserId> {
        match self.view.owner(wazzup) {
            Some(employee) => Some(employee.clone()),
            None if matches!(self.scope, Scope::Prefix(_))
                && self.scope.covers(wazzup.as_str()) =>
            {
                Some(wazzup.clone())
            }
            None => None,
        }
    }

    /// The source that brought `employee`'s change.
    pub(super) fn source_of(&self, employee: &UserId) -> String {
        self.sources
            .get(employee)
            .cloned()
            .unwrap_or_else(|| self.source.to_owned())
    }

    /// Takes in the records of `ids` (employees and Wazzup users alike), whose `recorded`
    /// changes the caller read already. Without a state store there are none.
    pub(super) async fn learn(
        &mut self,
        ids: &[UserId],
        recorded: &HashMap<UserId, Applied>,
    ) -> Result<(), StoreError> {
        let Some(state) = self.state else {
            return Ok(());
        };
        let unread = self.view.unread(ids);
        if unread.is_empty() {
            return Ok(());
        }
        let found = state.ownerships(&unread).await?;
        self.take_in(
            &unread,
            Records {
                applied: recorded.clone(),
                ownerships: found,
            },
        )
        .await
    }

    /// Reads the records of `ids` this session has not looked at yet, their changes included.
    pub(super) async fn look_up(&mut self, ids: &[UserId]) -> Result<(), StoreError> {
        let Some(state) = self.state else {
            return Ok(());
        };
        let unread = self.view.unread(ids);
        if unread.is_empty() {
            return Ok(());
        }
        let records = state.records(&unread).await?;
        self.take_in(&unread, records).await
    }

    /// Takes in the `records` read of `ids`, and reads whose the users some of them are linked
    /// to are (on those users' own records).
    pub(super) async fn take_in(
        &mut self,
        ids: &[UserId],
        records: Records,
    ) -> Result<(), StoreError> {
        let targets: Vec<UserId> = (records.ownerships.links.values())
            .filter(|wazzup| !self.view.read.contains(*wazzup) && !ids.contains(wazzup))
            .cloned()
            .collect();
        self.view.learn(ids, records.ownerships, &records.applied);
        if let Some(state) = self.state
            && !targets.is_empty()
        {
            let found = state.ownerships(&targets).await?;
            self.view.learn(&targets, found, &HashMap::new());
        }
        Ok(())
    }

    /// Points `plan` (in employees' ids) at their Wazzup users. Refuses the changes of users
    /// another employee owns; returns the deletions of users nobody owns and no scope reaches,
    /// for [`Session::dismiss_unowned`].
    pub(super) fn resolve(&mut self, plan: &mut Plan, summary: &mut Summary) -> Vec<UserId> {
        self.targets.clear();
        let mut unowned = Vec::new();
        let mut deletes = Vec::with_capacity(plan.deletes.len());
        for employee in std::mem::take(&mut plan.deletes) {
            let wazzup = self.view.target(&employee);
            match self.owner_of(&wazzup) {
                Some(owner) if owner == employee => {}
                Some(other) => {
                    summary
                        .rejected
                        .push(owned_by_another(&employee, &wazzup, &other));
                    continue;
                }
                None if self.scope.covers(wazzup.as_str()) => {}
                // Left the seat rules without a user of this deployment's: no seat to free.
                None if plan.unseated.contains(&employee) => {
                    tracing::info!(
                        action = "delete",
                        user_id = %LoggedId(employee.as_str()),
                        "outside the seat rules; no user of this deployment's to remove"
                    );
                    continue;
                }
                None => {
                    unowned.push(employee);
                    continue;
                }
            }
            self.targets.insert(wazzup.to_string(), employee);
            deletes.push(wazzup);
        }
        plan.deletes = deletes;
        let mut upserts = Vec::with_capacity(plan.upserts.len());
        for mut user in std::mem::take(&mut plan.upserts) {
            let employee = user.id.clone();
            let wazzup = self.view.target(&employee);
            if let Some(other) = self.owner_of(&wazzup).filter(|owner| *owner != employee) {
                summary
                    .rejected
                    .push(owned_by_another(&employee, &wazzup, &other));
                continue;
            }
            self.targets.insert(wazzup.to_string(), employee);
            user.id = wazzup;
            upserts.push(user);
        }
        plan.upserts = upserts;
        unowned
    }

    /// The employee a Wazzup id of the plan is for.
    pub(super) fn employee_for(&self, wazzup: &str) -> Option<&UserId> {
        self.targets.get(wazzup)
    }

    /// Turns what the plan's calls added to `summary` (after `mark`) back into employees' ids.
    pub(super) fn restore(&mut self, summary: &mut Summary, mark: &Mark) {
        let targets = &self.targets;
        let back = |id: &mut String| {
            if let Some(employee) = targets.get(id.as_str()) {
                *id = employee.to_string();
            }
        };
        summary
            .upserted
            .iter_mut()
            .skip(mark.upserted)
            .for_each(back);
        summary.deleted.iter_mut().skip(mark.deleted).for_each(back);
        (summary.already_absent.iter_mut())
            .skip(mark.already_absent)
            .for_each(back);
        summary
            .not_applied
            .iter_mut()
            .skip(mark.not_applied)
            .for_each(back);
        (summary.rejected.iter_mut().skip(mark.rejected))
            .filter_map(|r| r.id.as_mut())
            .for_each(back);
        (summary.warnings.iter_mut().skip(mark.warnings))
            .filter_map(|w| w.id.as_mut())
            .for_each(back);
        self.uncertain
            .iter_mut()
            .skip(mark.uncertain)
            .for_each(back);
    }

    /// After the calls (`summary` in employees' ids again): records the users this session
    /// created or took over as their employees', and forgets those it deleted.
    pub(super) async fn record_ownership(
        &mut self,
        summary: &Summary,
        mark: &Mark,
    ) -> Result<(), StoreError> {
        let Some(state) = self.state else {
            return Ok(());
        };
        let wazzup_of: HashMap<&UserId, UserId> = (self.targets.iter())
            .filter_map(|(wazzup, employee)| Some((employee, UserId::parse(wazzup).ok()?)))
            .collect();
        let mut takes: Vec<(UserId, Owner)> = Vec::new();
        for employee in summary.upserted.iter().skip(mark.upserted) {
            let Some((employee, wazzup)) = UserId::parse(employee)
                .ok()
                .and_then(|e| Some((e.clone(), wazzup_of.get(&e)?.clone())))
            else {
                continue;
            };
            if (self.view.owners.get(&wazzup)).is_some_and(|owner| owner.employee == employee) {
                continue;
            }
            let basis = match self.bases.get(wazzup.as_str()) {
                Some(basis) => *basis,
                None if self.view.applied.contains(&wazzup) => Basis::Applied,
                None => Basis::Created,
            };
            let owner = Owner::new(employee.clone(), &self.source_of(&employee), basis);
            takes.push((wazzup, owner));
        }
        let answers = match takes.as_slice() {
            [] => Vec::new(),
            takes => state.take_all(takes).await?,
        };
        for ((wazzup, owner), answer) in takes.into_iter().zip(answers) {
            match answer {
                None => self.view.taken(&wazzup, owner),
                Some(other) => tracing::warn!(
                    user_id = %LoggedId(owner.employee.as_str()),
                    owner = %LoggedId(other.employee.as_str()),
                    "written, but another employee's ownership of the Wazzup user was recorded first"
                ),
            }
        }
        let gone = (summary.deleted.iter().skip(mark.deleted))
            .chain(summary.already_absent.iter().skip(mark.already_absent));
        for employee in gone {
            let Ok(employee) = UserId::parse(employee) else {
                continue;
            };
            let Some(wazzup) = wazzup_of.get(&employee).cloned() else {
                continue;
            };
            if self.view.owner(&wazzup) == Some(&employee) {
                state.give_up(&wazzup, &employee).await?;
                self.view.owners.remove(&wazzup);
                self.view.applied.remove(&wazzup);
                self.view.links.remove(&employee);
            }
        }
        Ok(())
    }
}

/// The refusal of `employee`'s change: its Wazzup user is `other`'s.
pub(super) fn owned_by_another(employee: &UserId, wazzup: &UserId, other: &UserId) -> Rejection {
    tracing::warn!(user_id = %LoggedId(employee.as_str()), owner = %LoggedId(other.as_str()), "refused: the Wazzup user is another employee's");
    Rejection {
        index: None,
        id: Some(employee.to_string()),
        reason: "OWNED_BY_ANOTHER".into(),
        message: format!(
            "the Wazzup user {wazzup} belongs to employee {other} (it was created or taken over \
             for them), so it is neither changed nor deleted for this one"
        ),
    }
}

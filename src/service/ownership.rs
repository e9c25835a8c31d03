//! Whose Wazzup users a session writes and deletes. Each employee's changes go to its Wazzup user:
//! its own id, or the user it took over. A user another employee owns is never written for this
//! one. A user is deleted only when the records say this deployment owns it for that employee
//! (it created it or took it over), or when the configured scope reaches it (`SYNC_ID_PREFIX`,
//! `SYNC_MANAGE_ALL`); a user nobody owns is never deleted by default. What was created, taken
//! over and deleted is recorded, under the employee's lease. The dismissal of an employee whose
//! user this deployment does not own is never reported as done: refused when Wazzup has a user
//! with its id, a warning when it has none but holds users nobody owns (one may be this person).

use std::collections::{HashMap, HashSet};

use super::account::Holder;
use super::error::ApplyError;
use super::ports::{Applied, StoreError};
use super::session::Session;
use crate::domain::{
    Basis, LoggedId, Owner, Rejection, Scope, Summary, User, UserId, Warning, mask_phone,
};
use crate::plan::Plan;
use crate::wazzup::{ListedUser, RemoteUser, USER_LIMIT};

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
    fn source_of(&self, employee: &UserId) -> String {
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
        let unread: Vec<UserId> = ids
            .iter()
            .filter(|id| !self.view.read.contains(*id))
            .cloned()
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        let found = state.ownerships(&unread).await?;
        // The users the employees were linked to: whose they are is on their own records.
        let targets: Vec<UserId> = (found.links.values())
            .filter(|wazzup| !self.view.read.contains(*wazzup) && !unread.contains(wazzup))
            .cloned()
            .collect();
        self.view.learn(&unread, found, recorded);
        if !targets.is_empty() {
            let found = state.ownerships(&targets).await?;
            self.view.learn(&targets, found, &HashMap::new());
        }
        Ok(())
    }

    /// Reads the records of `ids` this session has not looked at yet, their changes included.
    pub(super) async fn look_up(&mut self, ids: &[UserId]) -> Result<(), StoreError> {
        let Some(state) = self.state else {
            return Ok(());
        };
        let unread: Vec<UserId> = ids
            .iter()
            .filter(|id| !self.view.read.contains(*id))
            .cloned()
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        let recorded = state.last_applied(&unread).await?;
        self.learn(&unread, &recorded).await
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
    fn employee_for(&self, wazzup: &str) -> Option<&UserId> {
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

    /// Before the calls: tells the upserts that create a user from those that write an existing
    /// one (the latter nobody owned: taken over by their id, and said so), and refuses the
    /// creations the account has no seat for, saying how many are left. Only where ownership
    /// is recorded (a state store): elsewhere Wazzup's own refusal tells.
    pub(super) async fn check_seats(
        &mut self,
        plan: &mut Plan,
        summary: &mut Summary,
    ) -> Result<(), ApplyError> {
        if self.state.is_none() {
            return Ok(());
        }
        let unknown: Vec<UserId> = (plan.upserts.iter())
            .map(|user| user.id.clone())
            .filter(|wazzup| self.view.owner(wazzup).is_none())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let account = self.account().await?;
        let freed = (plan.deletes.iter())
            .filter(|id| account.has(id.as_str()))
            .count();
        let used = account.users.len().saturating_sub(freed);
        let mut existing = Vec::new();
        let mut new = Vec::new();
        for wazzup in unknown {
            match account.name_of(wazzup.as_str()) {
                Some(name) => existing.push((wazzup, name.to_owned())),
                None => new.push(wazzup),
            }
        }
        for (wazzup, name) in existing {
            self.bases.insert(wazzup.to_string(), Basis::Id);
            if self.scope.covers(wazzup.as_str()) {
                continue;
            }
            tracing::info!(action = "adopt", user_id = %LoggedId(wazzup.as_str()), basis = "id", "existing Wazzup user taken over");
            summary.warnings.push(Warning {
                index: None,
                id: self.employee_for(wazzup.as_str()).map(ToString::to_string),
                code: "ADOPTED".into(),
                message: format!(
                    "took over the existing Wazzup user {wazzup} (\"{name}\"), made outside this \
                     deployment, which had this employee's id: its roles and chats stay, and it \
                     is this employee's from now on"
                ),
            });
        }
        let left = USER_LIMIT.saturating_sub(used);
        if new.len() > left {
            let refused: HashSet<UserId> = new.split_off(left).into_iter().collect();
            plan.upserts.retain(|user| !refused.contains(&user.id));
            tracing::warn!(
                refused = refused.len(),
                seats_left = left,
                "hires refused before the call: the Wazzup account is full"
            );
            let mut refused: Vec<UserId> = refused.into_iter().collect();
            refused.sort();
            for wazzup in refused {
                summary.rejected.push(Rejection {
                    index: None,
                    id: self.employee_for(wazzup.as_str()).map(ToString::to_string),
                    reason: "USER_LIMIT_EXCEEDED".into(),
                    message: format!(
                        "the Wazzup account holds {used} of its {USER_LIMIT} users: {left} seats \
                         are left, fewer than the new employees of this request, so this one was \
                         not sent. Free seats (delete users who left, in Wazzup) or ask Wazzup \
                         for a larger limit, then send it again"
                    ),
                });
            }
        }
        self.seats_left = Some(left.saturating_sub(new.len()));
        Ok(())
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
            match state.take(&wazzup, &owner).await? {
                None => self.view.taken(&wazzup, owner),
                Some(other) => tracing::warn!(
                    user_id = %LoggedId(employee.as_str()),
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

    /// The dismissals of employees whose Wazzup user this deployment does not own: refused when
    /// Wazzup has a user with the employee's id (`UNOWNED_USER`: it is never deleted by
    /// default), a warning when it has none but holds users nobody owns (`NOT_FOUND_UNOWNED`:
    /// one of them may be this person, whose access remains), else already absent.
    pub(super) async fn dismiss_unowned(
        &mut self,
        employees: Vec<UserId>,
        summary: &mut Summary,
    ) -> Result<(), ApplyError> {
        for (position, employee) in employees.iter().enumerate() {
            if let Err(error) = self.dismiss_one_unowned(employee, summary).await {
                summary
                    .not_applied
                    .extend(employees.iter().skip(position).map(ToString::to_string));
                return Err(error);
            }
        }
        Ok(())
    }

    async fn dismiss_one_unowned(
        &mut self,
        employee: &UserId,
        summary: &mut Summary,
    ) -> Result<(), ApplyError> {
        let logged = LoggedId(employee.as_str());
        if let Some(user) = self.get_user(employee.as_str()).await? {
            tracing::warn!(action = "delete", user_id = %logged, "refused: the Wazzup user is not this deployment's");
            summary.rejected.push(Rejection {
                index: None,
                id: Some(employee.to_string()),
                reason: "UNOWNED_USER".into(),
                message: format!(
                    "Wazzup has a user {employee} (\"{}\"), but this deployment neither created \
                     it nor took it over, so it is not deleted and keeps its access: take it over \
                     (`wazzup-sync adopt`, or a full sync with adopt) or delete it in Wazzup",
                    user.name
                ),
            });
            return Ok(());
        }
        let unowned = self.unowned_users().await?;
        if unowned == 0 {
            tracing::info!(action = "delete", user_id = %logged, "user already absent");
            summary.already_absent.push(employee.to_string());
            return Ok(());
        }
        tracing::warn!(action = "delete", user_id = %logged, unowned, "dismissal of an employee this deployment never applied; the account has users nobody owns");
        summary.warnings.push(Warning {
            index: None,
            id: Some(employee.to_string()),
            code: "NOT_FOUND_UNOWNED".into(),
            message: format!(
                "Wazzup has no user {employee}, and this deployment never wrote this employee; \
                 the account holds {unowned} users this deployment does not own (made by hand or \
                 by another integration): if one of them is this person, their access remains. \
                 Match them with `wazzup-sync adopt`, or delete that user in Wazzup"
            ),
        });
        Ok(())
    }

    /// How many of the account's users nobody owns.
    async fn unowned_users(&mut self) -> Result<usize, ApplyError> {
        let ids: Vec<UserId> = (self.account().await?.users.iter())
            .filter_map(|user| UserId::parse(&user.id).ok())
            .collect();
        self.look_up(&ids).await?;
        Ok(ids.iter().filter(|id| self.owner_of(id).is_none()).count())
    }

    /// Wazzup refused `user` (a Wazzup id of the plan) because another user has its `phone`.
    /// A phone is unique in an account, so the user that has it is the employee's for sure:
    /// when nobody owns it and this is a hire, it is taken over and `user` comes back aimed at
    /// it; otherwise `user` is refused, naming that user and its owner. Never the phone in logs.
    pub(super) async fn phone_conflict(
        &mut self,
        user: User,
        phone: &str,
        summary: &mut Summary,
    ) -> Result<Option<User>, ApplyError> {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let employee = self
            .employee_for(user.id.as_str())
            .cloned()
            .unwrap_or_else(|| user.id.clone());
        let refuse = |summary: &mut Summary, message: String| {
            tracing::warn!(action = "upsert", user_id = %LoggedId(employee.as_str()), phone = %mask_phone(phone), "refused by Wazzup: DUPLICATE_PHONE_NUMBER");
            summary.rejected.push(Rejection {
                index: None,
                id: Some(user.id.to_string()),
                reason: "DUPLICATE_PHONE_NUMBER".into(),
                message,
            });
        };
        let holder = match self.phone_holder(&digits, user.name.as_str()).await? {
            Holder::Found(holder) => holder,
            Holder::Unknown { complete } => {
                let why = if complete {
                    "none of the users Wazzup lists has it now"
                } else {
                    "there was no time left to find which user has it"
                };
                refuse(
                    summary,
                    format!(
                        "another Wazzup user already has the phone number {} ({why})",
                        mask_phone(phone)
                    ),
                );
                return Ok(None);
            }
        };
        let Ok(holder_id) = UserId::parse(&holder.id) else {
            refuse(
                summary,
                format!(
                    "the Wazzup user {} has the phone number {}",
                    holder.id,
                    mask_phone(phone)
                ),
            );
            return Ok(None);
        };
        self.look_up(std::slice::from_ref(&holder_id)).await?;
        let named = format!("the Wazzup user {holder_id} (\"{}\")", holder.name);
        let creation = !self.account().await?.has(user.id.as_str());
        match self.owner_of(&holder_id) {
            _ if holder_id == user.id => {
                // Wazzup contradicts itself: the user it names is this one.
                refuse(
                    summary,
                    format!(
                        "Wazzup refused the phone number {} that {named} has",
                        mask_phone(phone)
                    ),
                );
                return Ok(None);
            }
            Some(other) if other != employee => {
                refuse(
                    summary,
                    format!(
                        "{named}, which belongs to employee {other}, has the phone number {}; \
                         a phone is one user's in Wazzup",
                        mask_phone(phone)
                    ),
                );
                return Ok(None);
            }
            Some(_) => {}
            None if !creation || !self.adopt_on_conflict || self.state.is_none() => {
                let why = if !creation {
                    "this employee already has a Wazzup user of its own"
                } else if self.state.is_none() {
                    "without the state table a takeover cannot be recorded"
                } else {
                    "taking over on a hire is off (ADOPT_ON_CONFLICT=false)"
                };
                refuse(
                    summary,
                    format!(
                        "{named}, which this deployment does not own, has the phone number {}; \
                         it was not taken over ({why}): take it over with `wazzup-sync adopt`, or \
                         remove the phone from it in Wazzup",
                        mask_phone(phone)
                    ),
                );
                return Ok(None);
            }
            None => {}
        }
        let Some(state) = self.state else {
            return Ok(None);
        };
        let owner = Owner::new(employee.clone(), &self.source_of(&employee), Basis::Phone);
        if let Some(other) = state.take(&holder_id, &owner).await? {
            refuse(
                summary,
                format!(
                    "{named}, which belongs to employee {}, has the phone number {}",
                    other.employee,
                    mask_phone(phone)
                ),
            );
            return Ok(None);
        }
        tracing::info!(
            action = "adopt",
            user_id = %LoggedId(employee.as_str()),
            wazzup_id = %LoggedId(holder_id.as_str()),
            basis = "phone",
            "existing Wazzup user taken over: it had the hire's phone"
        );
        summary.warnings.push(Warning {
            index: None,
            id: Some(user.id.to_string()),
            code: "ADOPTED".into(),
            message: format!(
                "took over {named}, made outside this deployment, which had this employee's \
                 phone: its roles and chats stay, and this employee's changes go to it from now on"
            ),
        });
        self.targets.remove(user.id.as_str());
        self.targets.insert(holder_id.to_string(), employee);
        self.view.taken(&holder_id, owner);
        Ok(Some(User {
            id: holder_id,
            ..user
        }))
    }
}

impl Session<'_> {
    /// The Wazzup user of `employee` (the one it took over, else the user with its id), shown
    /// under the employee's id.
    pub async fn get_employee(&mut self, employee: &str) -> Result<Option<RemoteUser>, ApplyError> {
        let Ok(id) = UserId::parse(employee) else {
            return self.get_user(employee).await;
        };
        if let Some(state) = self.state
            && !self.view.read.contains(&id)
        {
            let found = state.ownerships(std::slice::from_ref(&id)).await?;
            self.view.links.extend(found.links);
            self.view.owners.extend(found.owners);
        }
        let wazzup = self.view.target(&id);
        let user = self.get_user(wazzup.as_str()).await?;
        Ok(user.map(|user| RemoteUser {
            id: employee.to_owned(),
            ..user
        }))
    }

    /// Wazzup's users as employees see them: a user taken over for an employee is listed under
    /// the employee's id.
    pub async fn list_employees(&mut self) -> Result<Vec<ListedUser>, ApplyError> {
        let mut users = self.list_users().await?;
        let Some(state) = self.state else {
            return Ok(users);
        };
        let ids: Vec<UserId> = (users.iter())
            .filter_map(|u| UserId::parse(&u.id).ok())
            .collect();
        let found = state.ownerships(&ids).await?;
        for user in &mut users {
            let owner = UserId::parse(&user.id)
                .ok()
                .and_then(|id| found.owners.get(&id));
            if let Some(owner) = owner {
                user.id = owner.employee.to_string();
            }
        }
        Ok(users)
    }
}

/// The refusal of `employee`'s change: its Wazzup user is `other`'s.
fn owned_by_another(employee: &UserId, wazzup: &UserId, other: &UserId) -> Rejection {
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

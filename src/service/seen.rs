//! What a session has read, kept for the rest of it: the Wazzup account (its users, and the
//! phones read one user at a time) and the records of whose user is whose. Plain data; the
//! session fills it (`account`, `ownership`).

use std::collections::{HashMap, HashSet};

use super::ports::{Applied, Ownerships};
use crate::domain::{Owner, UserId};
use crate::wazzup::ListedUser;

/// Wazzup's users as this session read them.
#[derive(Debug, Default)]
pub(super) struct Account {
    pub users: Vec<ListedUser>,
    /// Each user's phone in Wazzup's digits, read with `GET /v3/users/{id}`; `None`: none.
    pub phones: HashMap<String, Option<String>>,
}

impl Account {
    pub fn has(&self, id: &str) -> bool {
        self.users.iter().any(|user| user.id == id)
    }

    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|user| user.id == id)
            .map(|user| user.name.as_str())
    }
}

/// What the records say of the employees and users a session has looked at.
#[derive(Debug, Default)]
pub(super) struct View {
    pub links: HashMap<UserId, UserId>,
    pub owners: HashMap<UserId, Owner>,
    /// Users written under their employee's own id before ownership was recorded (an applied,
    /// live record and no link): that employee's.
    pub applied: HashSet<UserId>,
    /// The ids whose records were read.
    pub read: HashSet<UserId>,
}

impl View {
    /// The Wazzup user an employee's changes go to: the one it took over, else its own id.
    pub fn target(&self, employee: &UserId) -> UserId {
        self.links
            .get(employee)
            .cloned()
            .unwrap_or_else(|| employee.clone())
    }

    /// The employee the records say the Wazzup user `wazzup` is.
    pub fn owner(&self, wazzup: &UserId) -> Option<&UserId> {
        match self.owners.get(wazzup) {
            Some(owner) => Some(&owner.employee),
            None => self.applied.get(wazzup),
        }
    }

    /// Forgets what was read of the employees `ids` and their users, so that it is read again
    /// (under their leases: another request may have taken a user over meanwhile).
    pub fn forget(&mut self, ids: &[UserId]) {
        for id in ids {
            if let Some(wazzup) = self.links.remove(id) {
                self.read.remove(&wazzup);
                self.owners.remove(&wazzup);
                self.applied.remove(&wazzup);
            }
            self.read.remove(id);
            self.owners.remove(id);
            self.applied.remove(id);
        }
    }

    /// The ids of `ids` whose records were not read yet.
    pub fn unread(&self, ids: &[UserId]) -> Vec<UserId> {
        (ids.iter())
            .filter(|id| !self.read.contains(*id))
            .cloned()
            .collect()
    }

    /// Notes that `wazzup` was just recorded as `owner`'s.
    pub fn taken(&mut self, wazzup: &UserId, owner: Owner) {
        if *wazzup == owner.employee {
            self.links.remove(&owner.employee);
        } else {
            self.links.insert(owner.employee.clone(), wazzup.clone());
        }
        self.applied.remove(wazzup);
        self.owners.insert(wazzup.clone(), owner);
    }

    /// Takes in what the store said of `ids`, with their `recorded` changes.
    pub fn learn(
        &mut self,
        ids: &[UserId],
        found: Ownerships,
        recorded: &HashMap<UserId, Applied>,
    ) {
        self.links.extend(found.links);
        self.owners.extend(found.owners);
        for id in ids {
            self.read.insert(id.clone());
            let live = recorded.get(id).is_some_and(|applied| !applied.deleted);
            if live && !self.links.contains_key(id) && !self.owners.contains_key(id) {
                self.applied.insert(id.clone());
            }
        }
    }
}

//! What a session learns of the Wazzup account, read once and kept for the rest of it: the list
//! of users (ids and names), the phones it had to read one user at a time (the list carries
//! none), and from those, who holds a phone Wazzup says is taken, and the account as a full
//! sync's plan needs it (with the records of whose users are whose). Every read is bounded: the
//! list by Wazzup's pages, the phone reads by the account's users and the session's deadline.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::error::ApplyError;
use super::seen::Account;
use super::session::Session;
use crate::domain::{Roster, Scope, UserId, name_key};
use crate::plan::{Known, phones_wanted};
use crate::wazzup::ListedUser;

/// Time a phone search leaves before the deadline, for the rest of the request's calls.
const SEARCH_RESERVE: Duration = Duration::from_secs(2);

/// Where a phone search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Holder {
    /// This user has the phone.
    Found(ListedUser),
    /// No user read has it: every user was read, or the time ran out (`complete: false`).
    Unknown { complete: bool },
}

impl Session<'_> {
    /// Wazzup's users, read on the first call of the session.
    pub(super) async fn account(&mut self) -> Result<&mut Account, ApplyError> {
        if self.account.is_none() {
            let users = self.list_users().await?;
            self.account = Some(Account {
                users,
                phones: HashMap::new(),
            });
        }
        Ok(self.account.get_or_insert_with(Account::default))
    }

    /// Whether a search one user at a time should stop, to leave the rest of the request its
    /// time.
    pub(super) fn near_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() + SEARCH_RESERVE >= deadline)
    }

    /// The phone of the Wazzup user `id`, read once per session.
    pub(super) async fn phone_of(&mut self, id: &str) -> Result<Option<String>, ApplyError> {
        if let Some(phone) = self.account().await?.phones.get(id) {
            return Ok(phone.clone());
        }
        let phone = self
            .get_user(id)
            .await?
            .and_then(|user| user.phone)
            .filter(|phone| !phone.is_empty());
        self.account()
            .await?
            .phones
            .insert(id.to_owned(), phone.clone());
        Ok(phone)
    }

    /// The Wazzup user that has the phone `digits`: the users named like `name` are read first
    /// (most often the same person made by hand), then those nobody owns, then the rest, until
    /// the phone is found, every user was read, or the session's deadline is near.
    pub(super) async fn phone_holder(
        &mut self,
        digits: &str,
        name: &str,
    ) -> Result<Holder, ApplyError> {
        let key = name_key(name);
        let mut candidates = self.account().await?.users.clone();
        let ids: Vec<UserId> = (candidates.iter())
            .filter_map(|user| UserId::parse(&user.id).ok())
            .collect();
        self.look_up(&ids).await?;
        // Stable: each group in Wazzup's order.
        candidates.sort_by_cached_key(|user| {
            let owned = UserId::parse(&user.id).is_ok_and(|id| self.owner_of(&id).is_some());
            (name_key(&user.name) != key, owned)
        });
        for user in candidates {
            if self.near_deadline() {
                return Ok(Holder::Unknown { complete: false });
            }
            if self.phone_of(&user.id).await?.as_deref() == Some(digits) {
                return Ok(Holder::Found(user));
            }
        }
        Ok(Holder::Unknown { complete: true })
    }
}

impl Session<'_> {
    /// The account as a full sync of `roster` needs it: Wazzup's users, the records of whose
    /// they are (and of the roster's employees), and the phones of the users nobody owns when
    /// a match may turn on them, read until the deadline is near; and how many were not read.
    pub(super) async fn known(
        &mut self,
        roster: &Roster,
        scope: &Scope,
    ) -> Result<(Known, usize), ApplyError> {
        let users = self.account().await?.users.clone();
        let ids: Vec<UserId> = (users.iter())
            .filter_map(|u| UserId::parse(&u.id).ok())
            .chain(roster.users().iter().map(|u| u.id.clone()))
            .collect();
        self.look_up(&ids).await?;
        // The owners' links too: an employee who left is deleted through its link.
        let owners: Vec<UserId> = (ids.iter())
            .filter_map(|id| self.view.owner(id).cloned())
            .collect();
        self.look_up(&owners).await?;
        let owners: HashMap<String, UserId> = (users.iter())
            .filter_map(|u| {
                let id = UserId::parse(&u.id).ok()?;
                Some((u.id.clone(), self.view.owner(&id)?.clone()))
            })
            .collect();
        // The links of the roster's employees, and of the owners of listed users (an employee
        // who left is deleted through its link).
        let links = (roster.users().iter().map(|u| &u.id))
            .chain(owners.values())
            .filter_map(|employee| {
                let wazzup = self.view.target(employee);
                (wazzup != *employee).then(|| (employee.clone(), wazzup))
            })
            .collect();
        let mut known = Known {
            users,
            owners,
            links,
            phones: HashMap::new(),
        };
        let wanted = phones_wanted(roster, &known, scope);
        let mut unread = 0;
        for (position, id) in wanted.iter().enumerate() {
            if self.near_deadline() {
                unread = wanted.len() - position;
                break;
            }
            if let Some(phone) = self.phone_of(id).await? {
                known.phones.insert(id.clone(), phone);
            }
        }
        Ok((known, unread))
    }
}

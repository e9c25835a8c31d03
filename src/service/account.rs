//! What a session learns of the Wazzup account, read once and kept for the rest of it: the list
//! of users (ids and names), the phones it had to read one user at a time (the list carries
//! none), and from those, who holds a phone Wazzup says is taken. Every read is bounded: the
//! list by Wazzup's pages, the phone search by the account's users and the session's deadline.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::error::ApplyError;
use super::seen::Account;
use super::session::Session;
use crate::domain::name_key;
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
    /// (most often the same person made by hand), then the rest, until the phone is found, every
    /// user was read, or the session's deadline is near.
    pub(super) async fn phone_holder(
        &mut self,
        digits: &str,
        name: &str,
    ) -> Result<Holder, ApplyError> {
        let key = name_key(name);
        let mut candidates = self.account().await?.users.clone();
        // Stable: same-name users first, each group in Wazzup's order.
        candidates.sort_by_key(|user| name_key(&user.name) != key);
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

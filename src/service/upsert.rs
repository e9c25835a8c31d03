//! One upsert call's users, with Wazzup's per-user refusals split off so the rest still goes
//! through: `INVALID_USERS_DATA` names the users by their place in the call,
//! `DUPLICATE_PHONE_NUMBER` names only the phone (matched by its digits; when no user of the
//! call sends it as written, the users are sent one at a time to find the one Wazzup
//! refuses; the user that has it is then found and, on a hire, taken over when nobody owns
//! it), and `USER_LIMIT_EXCEEDED` refuses a call, not its users (each is sent alone: an
//! update of a user the account holds still fits). An answer the documentation does not list
//! (a 4xx) to several users is also followed by one call per user, so that one user's fault
//! holds back only that user. No refusal is retried as it was; the calls are bounded by twice
//! the users.

use std::collections::VecDeque;

use super::error::ApplyError;
use super::session::Session;
use crate::domain::{LoggedId, Rejection, Summary, User, mask_phone};
use crate::wazzup::WazzupError;

impl Session<'_> {
    /// Upserts `users` (one call's worth), recording each outcome in `summary`.
    pub(super) async fn upsert(
        &mut self,
        users: Vec<User>,
        summary: &mut Summary,
    ) -> Result<(), ApplyError> {
        // Calls still to make; a call Wazzup refuses for a phone no user of it sends as written
        // is split into one call per user.
        let mut calls: VecDeque<Vec<User>> = VecDeque::from([users]);
        while let Some(mut pending) = calls.pop_front() {
            while !pending.is_empty() {
                let key = &self.credentials.api_key;
                match self.wazzup.upsert_users(key, &pending, self.deadline).await {
                    Ok(()) => {
                        upserted(&pending, summary);
                        break;
                    }
                    Err(WazzupError::Unauthorized) => self.after_unauthorized().await?,
                    Err(WazzupError::DuplicatePhoneNumber { phone }) => {
                        let (rest, holder_wanted) =
                            duplicate_phone(pending, &phone, &mut calls, summary);
                        pending = rest;
                        // The one user sending it: which Wazzup user has the phone decides
                        // (see `Session::phone_conflict`).
                        if let Some(user) = holder_wanted
                            && let Some(retargeted) =
                                self.phone_conflict(user, &phone, summary).await?
                        {
                            pending.push(retargeted);
                        }
                    }
                    Err(WazzupError::InvalidUsersData { items, description }) => {
                        pending = invalid_data(pending, &items, &description, summary);
                    }
                    // The account is full: updates of users it holds still fit, so each user
                    // of a larger call is tried alone; a user refused alone is refused.
                    Err(WazzupError::UserLimitExceeded { .. }) if pending.len() > 1 => {
                        calls.extend(pending.drain(..).map(|user| vec![user]));
                    }
                    Err(error) => {
                        let error = ApplyError::from(error);
                        if !error.concerns_the_call() {
                            return Err(error);
                        }
                        if pending.len() > 1 {
                            // One of them may be the cause: each is tried alone, so that the
                            // others are not held back with it.
                            calls.extend(pending.drain(..).map(|user| vec![user]));
                        } else {
                            // This user alone: kept for a retry, the others go on.
                            let ids = pending.drain(..).map(|user| user.id.to_string());
                            let ids: Vec<String> = ids.collect();
                            tracing::warn!(
                                code = error.code(),
                                "an upsert was answered unexpectedly; kept for a retry"
                            );
                            summary.not_applied.extend(ids);
                            self.deferred.get_or_insert(error);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn upserted(users: &[User], summary: &mut Summary) {
    for user in users {
        tracing::info!(
            action = "upsert",
            user_id = %LoggedId(user.id.as_str()),
            phone = user.phone.as_ref().map(|p| p.masked()).as_deref().unwrap_or("-"),
            "user upserted"
        );
        summary.upserted.push(user.id.to_string());
    }
}

/// Wazzup refused `pending` because of `phone`: refuses the users of the call sending it after
/// the first, and returns the users to send again, and the one user sending it, if there is
/// one: another Wazzup user has its phone.
fn duplicate_phone(
    pending: Vec<User>,
    phone: &str,
    calls: &mut VecDeque<Vec<User>>,
    summary: &mut Summary,
) -> (Vec<User>, Option<User>) {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let (taken, mut rest): (Vec<User>, Vec<User>) = pending
        .into_iter()
        .partition(|u| u.phone.as_ref().is_some_and(|p| p.as_str() == digits));
    // Several employees of this call sending it: the first keeps it and is tried again, the
    // others are refused (should Wazzup refuse the first too, it is refused alone next round).
    let mut taken = taken.into_iter();
    let (refused, message): (Vec<User>, String) = match taken.next() {
        // None sends it as written, and more than one could: one call each tells them apart.
        None if rest.len() > 1 => {
            calls.extend(rest.into_iter().map(|user| vec![user]));
            return (Vec::new(), None);
        }
        None => return (Vec::new(), rest.pop()),
        Some(first) if taken.len() > 0 => {
            let others = taken.collect();
            rest.insert(0, first);
            (
                others,
                format!("an earlier employee of this request has the phone number {phone}"),
            )
        }
        Some(only) => return (rest, Some(only)),
    };
    for user in &refused {
        tracing::warn!(
            action = "upsert",
            user_id = %LoggedId(user.id.as_str()),
            phone = %mask_phone(phone),
            "refused by Wazzup: DUPLICATE_PHONE_NUMBER"
        );
        summary.rejected.push(Rejection {
            index: None,
            id: Some(user.id.to_string()),
            reason: "DUPLICATE_PHONE_NUMBER".into(),
            message: message.clone(),
        });
    }
    (rest, None)
}

/// Wazzup refused the fields of the users at `items`' places in `pending`: refuses them, and
/// returns the others to send again. No usable place means no user can be told apart, so all
/// are refused.
fn invalid_data(
    pending: Vec<User>,
    items: &[crate::wazzup::InvalidItem],
    description: &str,
    summary: &mut Summary,
) -> Vec<User> {
    let bad: Vec<usize> = items
        .iter()
        .map(|i| i.index)
        .filter(|i| *i < pending.len())
        .collect();
    let mut rest = Vec::new();
    for (i, user) in pending.into_iter().enumerate() {
        if !bad.is_empty() && !bad.contains(&i) {
            rest.push(user);
            continue;
        }
        let fields = items
            .iter()
            .find(|item| item.index == i)
            .map(|item| item.fields.join(", "))
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "unknown".into());
        tracing::warn!(action = "upsert", user_id = %LoggedId(user.id.as_str()), %fields, "refused by Wazzup: INVALID_USERS_DATA");
        summary.rejected.push(Rejection {
            index: None,
            id: Some(user.id.to_string()),
            reason: "INVALID_USERS_DATA".into(),
            message: format!("Wazzup refused the fields: {fields} ({description})"),
        });
    }
    rest
}

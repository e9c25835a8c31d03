//! A hire Wazzup refuses for a phone another user has: a phone is unique in an account, so the
//! user that has it is this employee for sure. When the hire would create a user, takeovers are
//! on and there is a state table, that user is found; nobody owning it, it is taken over
//! (recorded as the employee's in one step, and the upsert aimed at it); another employee owning
//! it, the hire is refused naming the user and its owner; not found in time, the hire is kept
//! for a retry. Otherwise it is refused, without a search in a function (an operator's run names
//! the user). Never the phone in logs, and only masked in answers.

use super::account::Holder;
use super::error::ApplyError;
use super::session::Session;
use crate::domain::{
    Basis, LoggedId, Owner, Rejection, Summary, User, UserId, Warning, mask_phone,
};

impl Session<'_> {
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
        // Whether a takeover could be made at all, before any search: a hire (the call would
        // create a user), takeovers on, and a state table to record it in.
        let creation = !self.account().await?.has(user.id.as_str());
        let why_not = if !creation {
            Some("this employee already has a Wazzup user of its own")
        } else if self.state.is_none() {
            Some("without the state table a takeover cannot be recorded")
        } else if !self.adopt_on_conflict {
            Some(
                "this request takes no user over (ADOPT_ON_CONFLICT=false, or a full sync without adopt)",
            )
        } else {
            None
        };
        let not_taken = |holder: &str, why: &str| {
            format!(
                "{holder}, which this deployment does not own, has the phone number {}; it was \
                 not taken over ({why}): take it over with `wazzup-sync adopt`, or remove the \
                 phone from it in Wazzup",
                mask_phone(phone)
            )
        };
        // No takeover can follow: a function (with its deadline) does not spend its calls on
        // finding whose phone it is; an operator's run (no deadline) names the user.
        if let Some(why) = why_not
            && self.deadline.is_some()
        {
            refuse(summary, not_taken("another Wazzup user", why));
            return Ok(None);
        }
        let holder = match self.phone_holder(&digits, user.name.as_str()).await? {
            Holder::Found(holder) => holder,
            Holder::Unknown { .. } if why_not.is_some() => {
                refuse(
                    summary,
                    not_taken("another Wazzup user", why_not.unwrap_or_default()),
                );
                return Ok(None);
            }
            Holder::Unknown { complete: true } => {
                refuse(
                    summary,
                    format!(
                        "another Wazzup user already has the phone number {} (none of the users \
                         Wazzup lists has it now)",
                        mask_phone(phone)
                    ),
                );
                return Ok(None);
            }
            // Not a refusal: the search goes on in a later try.
            Holder::Unknown { complete: false } => {
                tracing::warn!(action = "upsert", user_id = %LoggedId(employee.as_str()), "the user that has the hire's phone was not found in time; kept for a retry");
                summary.not_applied.push(user.id.to_string());
                self.deferred.get_or_insert(ApplyError::HolderUnknown);
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
            _ => {}
        }
        let Some(state) = self.state.filter(|_| why_not.is_none()) else {
            refuse(summary, not_taken(&named, why_not.unwrap_or_default()));
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

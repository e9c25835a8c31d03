//! Before a plan's calls: which upserts create a user and which write one that exists (a user
//! nobody owns, taken over by its id, and said so), and whether the account has the seats for
//! the creations; those beyond are refused before the call, saying how many seats are left.
//! Counted where ownership is recorded (a state store): elsewhere Wazzup's own refusal tells.

use std::collections::HashSet;

use super::error::ApplyError;
use super::session::Session;
use crate::domain::{Basis, LoggedId, Rejection, Summary, UserId, Warning};
use crate::plan::Plan;
use crate::wazzup::USER_LIMIT;

impl Session<'_> {
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
                id: Some(wazzup.to_string()),
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
                    id: Some(wazzup.to_string()),
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
}

//! The dismissals of employees whose Wazzup user this deployment does not own, never reported
//! as done: refused when Wazzup has a user with the employee's id (`UNOWNED_USER`: a user
//! nobody owns is never deleted by default), a warning when it has none but the account holds
//! users nobody owns (`NOT_FOUND_UNOWNED`: one of them may be this person, whose access remains),
//! else already absent.

use super::error::ApplyError;
use super::session::Session;
use crate::domain::{LoggedId, Rejection, Summary, UserId, Warning};

impl Session<'_> {
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
}

//! Wazzup's users as employees see them (SCIM's reads): a user taken over for an employee is
//! shown, and listed, under the employee's id.

use super::error::ApplyError;
use super::session::Session;
use crate::domain::UserId;
use crate::wazzup::{ListedUser, RemoteUser};

impl Session<'_> {
    /// The Wazzup user of `employee` (the one it took over, else the user with its id, unless
    /// another employee took that one over), shown under the employee's id.
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
        // A user taken over for another employee is not this one's, whatever its id.
        if (self.view.owners.get(&wazzup)).is_some_and(|owner| owner.employee != id) {
            return Ok(None);
        }
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

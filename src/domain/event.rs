//! Wazzup users and the sync events that change them, as one request's batch carries them.

use super::field::{UserId, UserName};
use super::phone::Phone;
use super::report::{Rejection, Warning};

/// A Wazzup user: an employee with an id, a name and perhaps a phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: UserId,
    pub name: UserName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

/// One change to apply to Wazzup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Create the user or update it (Wazzup matches users by id).
    Upsert(User),
    /// Remove the user.
    Delete(UserId),
}

impl SyncEvent {
    pub fn id(&self) -> &UserId {
        match self {
            SyncEvent::Upsert(user) => &user.id,
            SyncEvent::Delete(id) => id,
        }
    }
}

/// A valid event and its position in the request's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEvent {
    pub index: usize,
    pub event: SyncEvent,
}

/// What a source made of one request: the valid events, the refused ones, and notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBatch {
    /// Valid events, in the order they came.
    pub events: Vec<IndexedEvent>,
    /// Events that cannot be applied, with the reason.
    pub rejected: Vec<Rejection>,
    /// Notes on events that are applied anyway (a phone left out, say).
    pub warnings: Vec<Warning>,
}

impl EventBatch {
    /// Adds the outcome of one event: the event and its warning, or its rejection.
    pub fn push(&mut self, index: usize, outcome: Result<(SyncEvent, Option<Warning>), Rejection>) {
        match outcome {
            Ok((event, warning)) => {
                self.events.push(IndexedEvent { index, event });
                self.warnings.extend(warning);
            }
            Err(rejection) => self.rejected.push(rejection),
        }
    }
}

//! Wazzup users and the sync events that change them, as one request's batch carries them.

use super::field::{UserId, UserName};
use super::phone::Phone;
use super::report::{Rejection, Warning};
use super::time::SourceTime;

/// A Wazzup user: an employee with an id, a name and perhaps a phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: UserName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

/// One change to apply to Wazzup: `{"upsert": {"id", "name", "phone"}}`, `{"delete": "id"}` or
/// `{"unseat": "id"}` when it travels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncEvent {
    /// Create the user or update it (Wazzup matches users by id).
    Upsert(User),
    /// Remove the user.
    Delete(UserId),
    /// Remove the user of an employee who left the seat rules, as a dismissal would (one this
    /// deployment made or took over, or one its scope reaches); where there is none such the
    /// change needs nothing: no lookup, no warning of access that may remain (the rules, not a
    /// departure, turned the employee down).
    Unseat(UserId),
}

impl SyncEvent {
    pub fn id(&self) -> &UserId {
        match self {
            SyncEvent::Upsert(user) => &user.id,
            SyncEvent::Delete(id) | SyncEvent::Unseat(id) => id,
        }
    }
}

/// A valid event and its position in the request's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEvent {
    pub index: usize,
    pub event: SyncEvent,
    /// When the source says it made this change, if the event itself says.
    pub at: Option<SourceTime>,
}

/// What a source made of one request: the valid events, the refused ones, and notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBatch {
    /// When the source made the request's changes (a signed timestamp, Pipedrive's
    /// `meta.timestamp`, Bitrix24's `ts`), for events that do not say themselves.
    pub at: Option<SourceTime>,
    /// The source's own id of the request (`webhook-id`, Pipedrive's `meta.id`), to drop a
    /// request delivered twice.
    pub key: Option<String>,
    /// When this delivery was sent (Standard Webhooks' `webhook-timestamp`, which every retry
    /// updates): the time of the batch's undated events only where no record is kept of when
    /// its message was first seen (which is their time otherwise).
    pub attempt_at: Option<SourceTime>,
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
        self.push_at(index, outcome, None);
    }

    /// Adds the outcome of one event that says when its source made it.
    pub fn push_at(
        &mut self,
        index: usize,
        outcome: Result<(SyncEvent, Option<Warning>), Rejection>,
        at: Option<SourceTime>,
    ) {
        match outcome {
            Ok((event, warning)) => {
                self.events.push(IndexedEvent { index, event, at });
                self.warnings.extend(warning);
            }
            Err(rejection) => self.rejected.push(rejection),
        }
    }
}

/// A change as it travels to Wazzup through the queue: the event, when its source made it, a
/// key naming it (two deliveries of one change have the same key), and the source that sent it
/// (for the record of whose Wazzup user it makes; absent from changes queued before it was kept).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub event: SyncEvent,
    pub at: SourceTime,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Change {
    pub fn id(&self) -> &UserId {
        self.event.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_travels_as_the_queue_carries_it() {
        let id = UserId::parse("emp-1").unwrap();
        for (event, text) in [
            (SyncEvent::Delete(id.clone()), r#"{"delete":"emp-1"}"#),
            (SyncEvent::Unseat(id.clone()), r#"{"unseat":"emp-1"}"#),
        ] {
            assert_eq!(serde_json::to_string(&event).unwrap(), text);
            assert_eq!(serde_json::from_str::<SyncEvent>(text).unwrap(), event);
        }
    }
}

//! The inbound layer: everything that speaks a caller's language.
//!
//! A request is authenticated first ([`auth`]), and only then parsed by one source format into
//! [`SyncEvent`]s for the planner: the [`generic`] webhook, [`pipedrive`]'s webhooks,
//! [`bitrix24`]'s outbound events, or a [`scim`] 2.0 identity provider (which, being a protocol
//! rather than a notification, also reads from Wazzup and answers in SCIM's own format).

pub mod auth;
pub mod bitrix24;
pub mod generic;
pub mod pipedrive;
pub mod scim;

use crate::domain::{FieldError, Phone, PhoneRegion, SyncEvent, User, UserId, UserName};
use crate::outcome::{Rejection, Warning};

/// A valid event and its position in the request's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEvent {
    pub index: usize,
    pub event: SyncEvent,
}

/// What a source format made of one request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedBatch {
    /// Valid events, in the order they came.
    pub events: Vec<IndexedEvent>,
    /// Events that cannot be applied, with the reason.
    pub rejected: Vec<Rejection>,
    /// Notes on events that are applied anyway (a phone left out, say).
    pub warnings: Vec<Warning>,
}

impl ParsedBatch {
    /// Adds the outcome of one event: the event and its warning, or its rejection.
    pub(crate) fn push(
        &mut self,
        index: usize,
        outcome: Result<(SyncEvent, Option<Warning>), Rejection>,
    ) {
        match outcome {
            Ok((event, warning)) => {
                self.events.push(IndexedEvent { index, event });
                self.warnings.extend(warning);
            }
            Err(rejection) => self.rejected.push(rejection),
        }
    }
}

/// What a source made of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Changes to apply.
    Batch(ParsedBatch),
    /// A notification this function has nothing to do with (another entity, another event):
    /// answered 200 so that the sender does not retry it.
    Ignored(String),
}

/// Why a body cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("{0}")]
    NotJson(String),
    #[error("{0}")]
    WrongShape(String),
    #[error("the batch holds no events")]
    EmptyBatch,
}

/// A rejection of the event at `index`.
pub(crate) fn reject(
    index: usize,
    id: Option<&str>,
    reason: &str,
    message: impl Into<String>,
) -> Rejection {
    Rejection {
        index: Some(index),
        id: id.map(str::to_owned),
        reason: reason.into(),
        message: message.into(),
    }
}

fn field_rejection(index: usize, id: Option<&str>, error: &FieldError) -> Rejection {
    reject(index, id, error.code(), error.to_string())
}

/// A deletion, from an id as the source sent it.
pub fn delete_event(index: usize, raw_id: &str) -> Result<SyncEvent, Rejection> {
    UserId::parse(raw_id)
        .map(SyncEvent::Delete)
        .map_err(|e| field_rejection(index, Some(raw_id), &e))
}

/// An upsert, from the fields as the source sent them: the id and name must be valid, and a
/// phone that is not a valid number is left out with a warning.
pub fn upsert_event(
    index: usize,
    raw_id: &str,
    raw_name: Option<&str>,
    raw_phone: Option<&str>,
    region: PhoneRegion,
) -> Result<(SyncEvent, Option<Warning>), Rejection> {
    let id = UserId::parse(raw_id).map_err(|e| field_rejection(index, Some(raw_id), &e))?;
    let name = match raw_name {
        Some(name) => {
            UserName::parse(name).map_err(|e| field_rejection(index, Some(raw_id), &e))?
        }
        None => {
            return Err(field_rejection(
                index,
                Some(raw_id),
                &FieldError::Missing { field: "name" },
            ));
        }
    };
    let mut warning = None;
    let phone = match raw_phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(raw) => match Phone::parse(raw, region.0) {
            Ok(phone) => Some(phone),
            Err(error) => {
                warning = Some(Warning {
                    index: Some(index),
                    id: Some(id.to_string()),
                    code: "INVALID_PHONE".into(),
                    message: format!("{error}; the employee was sent without a phone"),
                });
                None
            }
        },
    };
    Ok((SyncEvent::Upsert(User { id, name, phone }), warning))
}

/// Reads an id given as a string or as an integer (many sources use numeric ids).
pub(crate) fn id_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

//! The inbound layer: everything that speaks a caller's language.
//!
//! A request is authenticated on its raw bytes first ([`auth`]), and only then parsed by one
//! source format (for now the [`generic`] webhook) into [`SyncEvent`]s for the planner.

pub mod auth;
pub mod generic;

use crate::domain::SyncEvent;
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

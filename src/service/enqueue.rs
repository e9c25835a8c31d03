//! Accepting a batch for later: its valid changes go to the queue, each with its time and a
//! key that names it (so that the queue drops a second delivery of the same event), and the
//! caller is answered at once. The worker applies them ([`super::SyncService::deliver`]).

use sha2::{Digest, Sha256};

use super::SyncService;
use super::batch::timed;
use super::message::{Seen, duplicate_summary};
use super::ports::QueueError;
use crate::domain::{Change, EventBatch, SourceTime, Summary};

/// What accepting a batch did.
#[derive(Debug)]
pub struct EnqueueReport {
    /// The ids whose changes were queued, in the batch's order.
    pub accepted: Vec<String>,
    /// The batch's rejections and warnings.
    pub summary: Summary,
    pub outcome: EnqueueOutcome,
}

/// How accepting a batch ended.
#[derive(Debug)]
pub enum EnqueueOutcome {
    /// No valid event was left: nothing was queued.
    NothingValid,
    /// Every event was valid and needs no change (hires outside the seat rules): nothing to
    /// queue, nothing refused.
    NothingToDo,
    Queued,
    /// The queue could not take the changes: nothing is promised, the caller should send again.
    Failed(QueueError),
    /// The message was applied (or queued) before: this delivery is dropped (a sender's retry).
    Duplicate,
    /// The record of the sources' messages could not be read: the caller should send again.
    StateFailed(super::ports::StoreError),
}

/// The key naming the event at `index` of a request the source named `request` (its own id,
/// else a digest of the body): the same for every delivery of that event.
pub fn change_key(request: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{request}#{index}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl SyncService {
    /// Queues the valid events of `batch`. A request is named (each change's deduplication key)
    /// by its source's id when it has one; else by `body_digest` when its events are dated (the
    /// same body is then the same events, delivered again); else by `request_id`: an undated
    /// body that repeats an earlier one may be a new change back to an earlier value, and it
    /// is never dropped. Whose Wazzup user each change reaches, and whether a dismissal may
    /// delete it, the worker decides as it applies them (see `ownership`).
    pub async fn enqueue_batch(
        &self,
        mut batch: EventBatch,
        source: &str,
        received_at: SourceTime,
        (body_digest, request_id): (&str, &str),
    ) -> EnqueueReport {
        let seen = match self.see_message(&mut batch, source, received_at).await {
            Ok(Seen::Duplicate) => {
                return EnqueueReport {
                    accepted: Vec::new(),
                    summary: duplicate_summary(batch),
                    outcome: EnqueueOutcome::Duplicate,
                };
            }
            Ok(seen) => seen,
            Err(error) => {
                let (_, summary) = timed(batch, received_at);
                return EnqueueReport {
                    accepted: Vec::new(),
                    summary,
                    outcome: EnqueueOutcome::StateFailed(error),
                };
            }
        };
        let dated = batch.at.is_some() || batch.events.iter().any(|e| e.at.is_some());
        let request = match &batch.key {
            Some(key) => key.clone(),
            None if dated => body_digest.to_owned(),
            None => request_id.to_owned(),
        };
        let (events, summary) = timed(batch, received_at);
        let changes: Vec<Change> = events
            .into_iter()
            .map(|event| Change {
                key: change_key(&request, event.index),
                at: event.at.unwrap_or(received_at),
                event: event.event,
                source: Some(source.to_owned()),
            })
            .collect();
        let accepted: Vec<String> = changes.iter().map(|c| c.id().to_string()).collect();
        let outcome = match &self.queue {
            _ if changes.is_empty() && summary.rejected.is_empty() => EnqueueOutcome::NothingToDo,
            _ if changes.is_empty() => EnqueueOutcome::NothingValid,
            None => EnqueueOutcome::Failed(QueueError("no queue is configured".into())),
            Some(queue) => match queue.send(&changes).await {
                Ok(()) => EnqueueOutcome::Queued,
                Err(error) => EnqueueOutcome::Failed(error),
            },
        };
        if let EnqueueOutcome::Queued = outcome {
            self.message_done(&seen).await;
        }
        tracing::debug!(
            queued = accepted.len(),
            rejected = summary.rejected.len(),
            "batch accepted"
        );
        EnqueueReport {
            accepted,
            summary,
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_key_is_stable_and_fits_a_deduplication_id() {
        let key = change_key("msg_2pQ8bU9pZb2cNq5tLx0mVq", 3);
        assert_eq!(key, change_key("msg_2pQ8bU9pZb2cNq5tLx0mVq", 3));
        assert_ne!(key, change_key("msg_2pQ8bU9pZb2cNq5tLx0mVq", 4));
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

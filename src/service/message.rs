//! Idempotency on the message, not on SQS's five-minute window. A source names each message
//! (`webhook-id`, Pipedrive's `meta.id`), and retries it under the same name, for days, with a
//! new timestamp each time (Standard Webhooks). The state table remembers each message seen
//! for `MESSAGE_ID_DAYS`: a delivery of one already applied (or queued) is a duplicate whatever
//! its timestamp, and a message's undated changes take the time it was first seen, not the
//! time of the try that brought them, so a late retry of an older change never outranks the
//! newer change that followed it. Without a state table, a try's own time is all there is.

use sha2::{Digest, Sha256};

use super::SyncService;
use super::ports::StoreError;
use crate::domain::{EventBatch, SourceTime, Summary, Warning};

/// What the records say of the message a batch came in.
pub(super) enum Seen {
    /// No record is kept (no state table, or the message has no id).
    Unrecorded,
    /// Not applied yet: it is this digest in the records.
    Fresh(String),
    /// Applied (or queued) already: this delivery is dropped.
    Duplicate,
}

impl SyncService {
    /// Looks the message of `batch` (from `source`) up, noting when it was first seen, and dates
    /// the batch's undated changes by that (else by this try's time).
    pub(super) async fn see_message(
        &self,
        batch: &mut EventBatch,
        source: &str,
        received_at: SourceTime,
    ) -> Result<Seen, StoreError> {
        // A try cannot have been sent after it arrived.
        let attempt = batch.attempt_at.map(|at| at.min(received_at));
        let (Some(state), Some(id)) = (self.state.as_deref(), batch.key.as_deref()) else {
            batch.at = batch.at.or(attempt);
            return Ok(Seen::Unrecorded);
        };
        let digest = message_digest(source, id);
        let sight = state
            .sight(
                &digest,
                attempt.unwrap_or(received_at),
                self.keep_messages_until(),
            )
            .await?;
        if sight.done {
            tracing::info!(source, first_seen = %sight.first, "a message applied before is dropped");
            return Ok(Seen::Duplicate);
        }
        batch.at = batch.at.or(Some(sight.first));
        Ok(Seen::Fresh(digest))
    }

    /// Notes that the message `seen` was applied (or queued): its next delivery is a duplicate.
    /// A failure is only logged: the changes' own ordering still holds.
    pub(super) async fn message_done(&self, seen: &Seen) {
        if let (Seen::Fresh(digest), Some(state)) = (seen, self.state.as_deref())
            && let Err(error) = state.done(digest, self.keep_messages_until()).await
        {
            tracing::warn!(%error, "a message was applied, but not recorded as done");
        }
    }

    fn keep_messages_until(&self) -> SourceTime {
        let days = i64::from(self.settings.message_days);
        SourceTime::from_millis(
            SourceTime::now()
                .millis()
                .saturating_add(days * 24 * 3600 * 1000),
        )
    }
}

/// A digest of a source's message id, to key its record (ids are the senders' text, any length).
fn message_digest(source: &str, id: &str) -> String {
    Sha256::digest(format!("{source}\u{0}{id}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a duplicate delivery of `batch` is answered: each of its events dropped, with a
/// warning.
pub(super) fn duplicate_summary(batch: EventBatch) -> Summary {
    let message = "this message was applied before (a sender's retry): this delivery is dropped";
    Summary {
        warnings: (batch.events.iter())
            .map(|event| Warning {
                index: Some(event.index),
                id: Some(event.event.id().to_string()),
                code: "DUPLICATE".into(),
                message: message.into(),
            })
            .collect(),
        ..Summary::default()
    }
}

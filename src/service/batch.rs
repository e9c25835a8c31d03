//! Applying a batch of events a source sent: each event takes its time (its own, else the
//! batch's, else when its message was first seen, else when it arrived), then the session
//! applies them in order.

use std::collections::BTreeMap;

use super::SyncService;
use super::message::{Seen, duplicate_summary};
use super::report::{BatchOutcome, BatchReport};
use super::session::{Quiet, Session};
use crate::domain::{EventBatch, IndexedEvent, Rejection, SourceTime, Summary, Warning};

impl SyncService {
    /// Applies the valid events of `batch` in `session`. An event without a time of its own
    /// takes the batch's, else when its message was first seen, else `received_at`; a message
    /// applied before is dropped (see `message`).
    pub async fn apply_batch(
        &self,
        mut batch: EventBatch,
        received_at: SourceTime,
        session: &mut Session<'_>,
    ) -> BatchReport {
        let seen = match self
            .see_message(&mut batch, session.source, received_at)
            .await
        {
            Ok(seen) => seen,
            Err(error) => {
                let ids: Vec<String> = (batch.events.iter())
                    .map(|e| e.event.id().to_string())
                    .collect();
                let (_, summary) = timed(batch, received_at);
                return BatchReport {
                    summary: Summary {
                        not_applied: ids,
                        ..summary
                    },
                    stale: 0,
                    outcome: BatchOutcome::Failed(error.into()),
                    seats_left: None,
                };
            }
        };
        if let Seen::Duplicate = seen {
            return BatchReport {
                summary: duplicate_summary(batch),
                stale: 0,
                outcome: BatchOutcome::Applied,
                seats_left: None,
            };
        }
        let (events, summary) = timed(batch, received_at);
        let report = session.apply_in_order(events, summary, &mut Quiet).await;
        if !matches!(report.outcome, BatchOutcome::Failed(_)) {
            self.message_done(&seen).await;
        }
        report
    }
}

/// How far ahead of this function's clock a source's time may be before it is reported
/// (`TIME_IN_FUTURE`). No time is ever taken later than the moment the event arrived: an event
/// cannot have been made after it was received, and a source clock ahead of ours would
/// otherwise make a genuinely newer change (a SCIM deprovisioning, say) look stale.
pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60 * 1000;

/// The batch's events, each with its time (its own, else the batch's, else `received_at`; never
/// later than `received_at`), and the summary its rejections and warnings start.
pub fn timed(batch: EventBatch, received_at: SourceTime) -> (Vec<IndexedEvent>, Summary) {
    let default_at = batch.at.unwrap_or(received_at);
    let latest = received_at.millis().saturating_add(MAX_CLOCK_AHEAD_MS);
    let mut summary = Summary {
        rejected: batch.rejected,
        warnings: batch.warnings,
        ..Summary::default()
    };
    let events = batch
        .events
        .into_iter()
        .map(|event| {
            let at = event.at.unwrap_or(default_at);
            if at.millis() > latest {
                summary.warnings.push(Warning {
                    index: Some(event.index),
                    id: Some(event.event.id().to_string()),
                    code: "TIME_IN_FUTURE".into(),
                    message: format!(
                        "the event's time ({at}) is ahead of the time it arrived ({received_at}); \
                         it is ordered by the time it arrived"
                    ),
                });
            }
            IndexedEvent {
                at: Some(at.min(received_at)),
                ..event
            }
        })
        .collect();
    log_rejections(&summary.rejected);
    (events, summary)
}

/// One log line for a batch's rejections, however many: the count and the count of each
/// reason (each rejection is in the answer).
fn log_rejections(rejected: &[Rejection]) {
    if rejected.is_empty() {
        return;
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for rejection in rejected {
        *reasons.entry(rejection.reason.as_str()).or_default() += 1;
    }
    tracing::warn!(rejected = rejected.len(), reasons = ?reasons, "events rejected");
}

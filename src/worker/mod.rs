//! The queue worker, an entry point: the same binary in its worker mode
//! (`WAZZUP_FUNCTION_MODE=worker`), on the FIFO queue's event source mapping. It reads the
//! changes of a batch of messages, has the service apply them in order, and answers which
//! messages must come back (`batchItemFailures`): only those whose work failed for a reason
//! that can pass (Wazzup or AWS unavailable, a refused key), and every later message of the
//! same employee, so that order holds; each comes back after a delay by its receive count
//! ([`redelivery`]), not the queue's whole visibility timeout. Wazzup's permanent refusals (a
//! duplicate phone, invalid data, the user limit) are logged and counted, not retried. One
//! metrics line per batch.

pub mod redelivery;

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tokio::time::Instant;

use crate::domain::{Change, LoggedId};
use crate::metrics::{self, Ownership, Unit, name};
use crate::service::{BatchOutcome, Redelivery, SyncService};

/// The worker: the service, how often SQS hands a message out before it dead-letters it, and
/// where to ask for a failed message's delay.
pub struct Worker {
    service: Arc<SyncService>,
    max_receive_count: u32,
    redelivery: Option<Arc<dyn Redelivery>>,
}

/// What one batch came to, for tests and the metrics line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerCounts {
    pub applied: usize,
    pub refused: usize,
    pub stale: usize,
    pub retried: usize,
    pub dead_lettered: usize,
    /// Whose users the batch took over or could not dismiss, and the seats left.
    pub ownership: Ownership,
}

impl WorkerCounts {
    /// Adds what another batch came to (the seats left are the latest counted).
    pub fn add(&mut self, other: &WorkerCounts) {
        self.applied += other.applied;
        self.refused += other.refused;
        self.stale += other.stale;
        self.retried += other.retried;
        self.dead_lettered += other.dead_lettered;
        self.ownership.adopted += other.ownership.adopted;
        self.ownership.unowned_dismissals += other.ownership.unowned_dismissals;
        self.ownership.seats_left = other.ownership.seats_left.or(self.ownership.seats_left);
    }
}

impl Worker {
    pub fn new(service: Arc<SyncService>, max_receive_count: u32) -> Self {
        Self {
            service,
            max_receive_count,
            redelivery: None,
        }
    }

    /// Delays each message that must come back by its receive count through `redelivery`
    /// (without it, it comes back after the queue's visibility timeout).
    pub fn with_redelivery(mut self, redelivery: Arc<dyn Redelivery>) -> Self {
        self.redelivery = Some(redelivery);
        self
    }

    /// Handles one batch of messages, in the order the queue delivered them.
    pub async fn handle(&self, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
        let started = Instant::now();
        let (response, counts) = self.handle_counted(event, deadline).await;
        let mut values = vec![
            (name::APPLIED, counts.applied as f64, Unit::Count),
            (name::REFUSED, counts.refused as f64, Unit::Count),
            (name::STALE, counts.stale as f64, Unit::Count),
            (name::RETRIED, counts.retried as f64, Unit::Count),
            (
                name::DEAD_LETTERED,
                counts.dead_lettered as f64,
                Unit::Count,
            ),
            (
                name::WAZZUP_LATENCY,
                started.elapsed().as_secs_f64() * 1e3,
                Unit::Milliseconds,
            ),
        ];
        values.extend(counts.ownership.values());
        metrics::emit("worker", &values);
        response
    }

    /// Handles one batch and says what it came to.
    pub async fn handle_counted(
        &self,
        event: SqsEvent,
        deadline: Option<Instant>,
    ) -> (SqsBatchResponse, WorkerCounts) {
        let messages = event.records;
        // Where each group stops: from its first message that cannot be read, or whose work
        // must be done again, every message of the group comes back, in order.
        let mut stopped: HashMap<String, usize> = HashMap::new();
        let mut changes: Vec<(usize, Change)> = Vec::new();
        for (position, message) in messages.iter().enumerate() {
            let group = group_of(message);
            if stopped.contains_key(&group) {
                continue;
            }
            match message.body.as_deref().map(serde_json::from_str::<Change>) {
                Some(Ok(change)) => changes.push((position, change)),
                _ => {
                    tracing::error!(
                        message_id = message.message_id.as_deref().unwrap_or("-"),
                        "a message is not a change; it comes back until it is dead-lettered"
                    );
                    stopped.insert(group, position);
                }
            }
        }
        let batch: Vec<Change> = changes.iter().map(|(_, change)| change.clone()).collect();
        let report = self.service.deliver(&batch, deadline).await;
        let mut counts = WorkerCounts {
            applied: report.summary.applied(),
            refused: report.summary.rejected.len(),
            stale: report.stale,
            ownership: report.ownership(),
            ..WorkerCounts::default()
        };
        for rejection in &report.summary.rejected {
            tracing::warn!(
                user_id = %LoggedId(rejection.id.as_deref().unwrap_or("-")),
                reason = %rejection.reason,
                "change refused for good: not retried"
            );
        }
        if let BatchOutcome::Failed(error) = &report.outcome {
            tracing::warn!(%error, transient = error.is_transient(), "changes not applied");
        }
        for (position, change) in &changes {
            if report.must_retry(change.id().as_str())
                && let Some(message) = messages.get(*position)
            {
                let first = stopped.entry(group_of(message)).or_insert(*position);
                *first = (*first).min(*position);
            }
        }
        let mut response = SqsBatchResponse::default();
        let mut delays = Vec::new();
        for (position, message) in messages.iter().enumerate() {
            if stopped
                .get(&group_of(message))
                .is_some_and(|first| position >= *first)
            {
                counts.retried += 1;
                let received = receive_count(message);
                if received >= self.max_receive_count {
                    counts.dead_lettered += 1;
                }
                response.add_failure(message.message_id.clone().unwrap_or_default());
                if let Some(receipt) = &message.receipt_handle {
                    delays.push((receipt.clone(), redelivery::delay(received)));
                }
            }
        }
        if let Some(redelivery) = self.redelivery.as_ref().filter(|_| !delays.is_empty())
            && let Err(error) = redelivery.later(&delays).await
        {
            tracing::warn!(%error, "failed messages not delayed: they come back after the queue's visibility timeout");
        }
        (response, counts)
    }
}

/// A message's group: its `MessageGroupId`, else its id (so it stands alone).
fn group_of(message: &SqsMessage) -> String {
    message
        .attributes
        .get("MessageGroupId")
        .cloned()
        .or_else(|| message.message_id.clone())
        .unwrap_or_default()
}

fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

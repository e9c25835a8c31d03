//! The queued path in one process: changes the handler accepts wait in an in-process queue,
//! and the real worker takes them ten at a time, as SQS's event source mapping would hand them
//! out. What the worker must do again goes back to the front of the queue.

use std::sync::Arc;

use serde_json::json;
use wazzup_user_sync::adapters::memory::MemoryQueue;
use wazzup_user_sync::adapters::sqs::group_of;
use wazzup_user_sync::worker::{Worker, WorkerCounts};

/// How many changes one worker invocation takes, as SQS FIFO hands out at most.
const BATCH: usize = 10;

/// What the worker did, as the local run prints it.
pub fn describe(counts: &WorkerCounts) -> String {
    let mut text = format!(
        "applied {}, refused {}, stale {}, to retry {}",
        counts.applied, counts.refused, counts.stale, counts.retried
    );
    let ownership = &counts.ownership;
    if ownership.adopted > 0 {
        text.push_str(&format!(
            ", took over {} existing user(s)",
            ownership.adopted
        ));
    }
    if ownership.unowned_dismissals > 0 {
        text.push_str(&format!(
            ", {} dismissal(s) of a user this deployment does not own: access may remain",
            ownership.unowned_dismissals
        ));
    }
    text
}

/// The local queue and its worker.
pub struct Lane {
    pub queue: Arc<MemoryQueue>,
    pub worker: Worker,
}

impl Lane {
    /// Runs the worker until the queue is empty, or a whole pass made no progress (Wazzup
    /// unreachable); returns what it did.
    pub async fn drain(&self) -> WorkerCounts {
        let mut total = WorkerCounts::default();
        let mut sequence = 0u64;
        while !self.queue.is_empty() {
            let changes = self.queue.take(BATCH);
            let records: Vec<_> = changes
                .iter()
                .map(|change| {
                    sequence += 1;
                    json!({
                        "messageId": format!("local-{sequence}"),
                        "body": serde_json::to_string(change).unwrap_or_default(),
                        "attributes": {
                            "MessageGroupId": group_of(change.id()),
                            "ApproximateReceiveCount": "1",
                        },
                    })
                })
                .collect();
            let Ok(event) = serde_json::from_value(json!({ "Records": records })) else {
                break;
            };
            let (response, counts) = self.worker.handle_counted(event, None).await;
            let failed: Vec<String> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect();
            let first = sequence + 1 - changes.len() as u64;
            let again: Vec<_> = changes
                .into_iter()
                .enumerate()
                .filter(|(i, _)| failed.contains(&format!("local-{}", first + *i as u64)))
                .map(|(_, change)| change)
                .collect();
            let stuck = again.len() == failed.len() && !again.is_empty() && counts.applied == 0;
            total.add(&counts);
            self.queue.put_back(again);
            if stuck {
                break;
            }
        }
        total
    }
}

//! The change queue on an SQS FIFO queue: one message per change, its group the employee (so
//! SQS keeps one employee's changes in order and never hands two of them out at once), its
//! deduplication id the change's key (so a second delivery of the same event within SQS's
//! five minutes is dropped, and sending a batch again after an error is safe). A message the
//! worker could not apply comes back after the delay it asks for. Also what the operators' tool
//! needs of a dead-letter queue: look at it and move its messages back.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName,
    SendMessageBatchRequestEntry,
};
use sha2::{Digest, Sha256};

use crate::credentials::BoxFuture;
use crate::domain::{Change, UserId};
use crate::service::{ChangeQueue, QueueError, Redelivery};

/// SQS takes at most 10 messages a call.
const BATCH: usize = 10;

/// The message group of an employee: a digest of the id (SQS allows only some characters in a
/// group id, an employee id may hold any).
pub fn group_of(id: &UserId) -> String {
    Sha256::digest(id.as_str().as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An SQS FIFO queue of changes.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn send_all(&self, changes: &[Change]) -> Result<(), QueueError> {
        for chunk in changes.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, change)| {
                    let body = serde_json::to_string(change)
                        .map_err(|e| QueueError(format!("cannot encode a change: {e}")))?;
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .message_group_id(group_of(change.id()))
                        .message_deduplication_id(&change.key)
                        .build()
                        .map_err(|e| QueueError(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError(DisplayErrorContext(&e).to_string()))?;
            if let Some(failed) = output.failed().first() {
                return Err(QueueError(format!(
                    "SQS refused a message: {} {}",
                    failed.code(),
                    failed.message().unwrap_or("")
                )));
            }
        }
        Ok(())
    }
}

impl Redelivery for SqsQueue {
    fn later<'a>(
        &'a self,
        messages: &'a [(String, std::time::Duration)],
    ) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(async move {
            for chunk in messages.chunks(BATCH) {
                let entries = (chunk.iter().enumerate())
                    .map(|(i, (receipt, delay))| {
                        // SQS takes whole seconds, up to 12 hours.
                        let seconds = delay.as_secs().clamp(1, 12 * 3600) as i32;
                        ChangeMessageVisibilityBatchRequestEntry::builder()
                            .id(i.to_string())
                            .receipt_handle(receipt)
                            .visibility_timeout(seconds)
                            .build()
                            .map_err(|e| QueueError(e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let output = self
                    .client
                    .change_message_visibility_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| QueueError(DisplayErrorContext(&e).to_string()))?;
                if let Some(failed) = output.failed().first() {
                    return Err(QueueError(format!(
                        "SQS did not delay a message: {} {}",
                        failed.code(),
                        failed.message().unwrap_or("")
                    )));
                }
            }
            Ok(())
        })
    }
}

impl ChangeQueue for SqsQueue {
    fn send<'a>(&'a self, changes: &'a [Change]) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(self.send_all(changes))
    }
}

/// A message waiting in a dead-letter queue.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    /// How often it was handed to the worker before it was set aside.
    pub receive_count: u32,
    /// The change it holds, when it can be read.
    pub change: Option<Change>,
    /// Its message group (its employee), when the queue says.
    pub group: Option<String>,
}

/// What a redrive did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redriven {
    /// How many messages went back to the queue.
    pub moved: usize,
    /// The messages left in place because this version cannot read them.
    pub left: Vec<String>,
}

/// How long a redrive holds the messages it received and did not move (it gives them back
/// when it ends).
const REDRIVE_VISIBILITY: i32 = 300;

/// Only the ASCII letters and digits of `text`, at most `max`: a deduplication id's alphabet.
fn plain(text: &str, max: usize) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(max)
        .collect()
}

/// A dead-letter queue, for the operators' tool.
pub struct DeadLetters {
    client: Client,
    url: String,
}

impl DeadLetters {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Up to `max` of its messages, left in place: each is held while the listing goes on (so
    /// that the next receive hands out others), then made visible again at once. A FIFO queue
    /// hands out an employee's later messages only once its earlier ones are back, so each
    /// employee's first waiting messages are what is listed.
    pub async fn peek(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut seen = Vec::new();
        let mut ids = std::collections::HashSet::new();
        let mut held = Vec::new();
        let mut result = Ok(());
        // Bounded: a message seen twice means the queue has been gone through.
        for _ in 0..max.div_ceil(BATCH) + 1 {
            let received = match self.receive(REDRIVE_VISIBILITY).await {
                Ok(received) => received,
                Err(error) => {
                    result = Err(error);
                    break;
                }
            };
            if received.is_empty() {
                break;
            }
            let mut again = false;
            for (letter, receipt) in received {
                held.push(receipt);
                if !ids.insert(letter.message_id.clone()) {
                    again = true;
                } else if seen.len() < max {
                    seen.push(letter);
                }
            }
            if again || seen.len() >= max {
                break;
            }
        }
        for receipt in held {
            if let Err(error) = self.show(&receipt).await {
                tracing::warn!(%error, "a message stays hidden until its visibility timeout");
            }
        }
        result.map(|()| seen)
    }

    /// Moves up to `max` messages back to `target` (the queue it came from), each with a new
    /// deduplication id (the old one may still be remembered). A message this version cannot
    /// read is left in place, and so are the messages after it in its employee's group (they
    /// wait behind it, in order). Each message is received at most once per call.
    pub async fn redrive(&self, target: &SqsQueue, max: usize) -> Result<Redriven, QueueError> {
        let mut report = Redriven::default();
        let mut seen = std::collections::HashSet::new();
        // Held invisible while the redrive goes on, so that they are not received again.
        let mut held: Vec<String> = Vec::new();
        let mut stopped = std::collections::HashSet::new();
        let result = self
            .redrive_into(target, max, &mut report, &mut seen, &mut stopped, &mut held)
            .await;
        // Whatever was received and not moved becomes visible again at once (else after
        // REDRIVE_VISIBILITY).
        for receipt in held {
            if let Err(error) = self.show(&receipt).await {
                tracing::warn!(%error, "a message stays hidden until its visibility timeout");
            }
        }
        result.map(|()| report)
    }

    async fn redrive_into(
        &self,
        target: &SqsQueue,
        max: usize,
        report: &mut Redriven,
        seen: &mut std::collections::HashSet<String>,
        stopped: &mut std::collections::HashSet<String>,
        held: &mut Vec<String>,
    ) -> Result<(), QueueError> {
        while report.moved < max {
            let received = self.receive(REDRIVE_VISIBILITY).await?;
            if received.is_empty() {
                return Ok(());
            }
            let mut again = false;
            for (letter, receipt) in received {
                if !seen.insert(letter.message_id.clone()) {
                    again = true;
                    held.push(receipt);
                    continue;
                }
                // Behind a message left in place, its employee's later ones stay too (order).
                let behind = letter
                    .group
                    .as_ref()
                    .is_some_and(|group| stopped.contains(group));
                let Some(change) = letter
                    .change
                    .clone()
                    .filter(|_| report.moved < max && !behind)
                else {
                    if letter.change.is_none() {
                        tracing::warn!(message_id = %letter.message_id, "not a change this version can read; left in place");
                        report.left.push(letter.message_id);
                    }
                    stopped.extend(letter.group);
                    held.push(receipt);
                    continue;
                };
                let retried = Change {
                    key: format!(
                        "{}-redriven-{}",
                        plain(&change.key, 64),
                        plain(&letter.message_id, 48)
                    ),
                    ..change
                };
                if let Err(error) = target.send_all(std::slice::from_ref(&retried)).await {
                    held.push(receipt);
                    return Err(error);
                }
                // Sent back: it counts as moved even should it stay here too (a later redrive
                // sends it again, which the state table makes harmless).
                report.moved += 1;
                if let Err(error) = self
                    .client
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(&receipt)
                    .send()
                    .await
                {
                    held.push(receipt);
                    return Err(QueueError(DisplayErrorContext(&error).to_string()));
                }
            }
            if again {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Makes a received message visible again at once.
    async fn show(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError(DisplayErrorContext(&e).to_string()))
    }

    async fn receive(&self, visibility: i32) -> Result<Vec<(DeadLetter, String)>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(BATCH as i32)
            .visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| QueueError(DisplayErrorContext(&e).to_string()))?;
        Ok(output
            .messages()
            .iter()
            .map(|message| {
                let body = message.body().unwrap_or_default().to_owned();
                let receive_count = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let group = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned();
                let letter = DeadLetter {
                    message_id: message.message_id().unwrap_or_default().to_owned(),
                    change: serde_json::from_str(&body).ok(),
                    body,
                    receive_count,
                    group,
                };
                (
                    letter,
                    message.receipt_handle().unwrap_or_default().to_owned(),
                )
            })
            .collect())
    }
}

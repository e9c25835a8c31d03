//! The SQS event source mapping, played by a test: it receives up to 10 messages of a queue in
//! moto, invokes the real worker with them as an SQS event, deletes what the worker did not
//! report failed, and makes the failed visible again at once (or, with `worker_delays`, leaves
//! them to come back when the worker's delay says, as Lambda does). moto's receive is not
//! atomic (two concurrent calls can take the same message), so receives take turns.

use std::collections::HashMap;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};
use wazzup_user_sync::worker::{Worker, WorkerCounts};

/// One receive at a time across the event source mappings of a test (see `Esm::round`).
static RECEIVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the event source mapping does for one worker: receive, invoke, delete what is done.
pub struct Esm<'a> {
    pub sqs: aws_sdk_sqs::Client,
    pub url: &'a str,
    pub worker: &'a Worker,
    /// The failed come back after the delay the worker set, and a received batch is hidden for
    /// the queue's own visibility timeout: as in Lambda, where nothing else hurries them.
    pub worker_delays: bool,
}

impl Esm<'_> {
    /// One round: up to 10 messages to the worker; the answer's failures come back at once,
    /// the rest is deleted. Returns how many messages there were.
    pub async fn round(&self, totals: &mut WorkerCounts) -> usize {
        // SQS hands a message to one receiver; moto's receive is not atomic (two concurrent
        // calls can both take the same message), so receives take turns here.
        let receiving = RECEIVING.lock().await;
        let mut receive = self
            .sqs
            .receive_message()
            .queue_url(self.url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All);
        if !self.worker_delays {
            // Longer than a worker's invocation may last (the template's worker has 120 s): a
            // batch still being applied, slowly on a busy machine, is not handed to the other
            // worker as well.
            receive = receive.visibility_timeout(120);
        }
        let received = receive.send().await.expect("receive");
        drop(receiving);
        let messages = received.messages();
        if messages.is_empty() {
            return 0;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: HashMap<String, String> = m
                    .attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect();
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                       "body": m.body(), "attributes": attributes,
                       "eventSource": "aws:sqs"})
            })
            .collect();
        let event = serde_json::from_value(json!({ "Records": records })).unwrap();
        let (response, counts) = self.worker.handle_counted(event, None).await;
        totals.add(&counts);
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for message in messages {
            let handle = message.receipt_handle().unwrap();
            if failed.contains(&message.message_id().unwrap()) {
                if self.worker_delays {
                    continue;
                }
                self.sqs
                    .change_message_visibility()
                    .queue_url(self.url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("make a failed message visible again");
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(self.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete a done message");
            }
        }
        messages.len()
    }

    /// Rounds until the queue is empty (bounded).
    pub async fn drain(&self) -> WorkerCounts {
        let mut totals = WorkerCounts::default();
        let mut empty = 0;
        for _ in 0..2000 {
            if self.round(&mut totals).await == 0 {
                empty += 1;
                if empty == 2 {
                    return totals;
                }
            } else {
                empty = 0;
            }
        }
        panic!("the queue did not drain: {totals:?}");
    }
}

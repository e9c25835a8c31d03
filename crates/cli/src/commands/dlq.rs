//! `dlq list` and `dlq redrive`: the changes the worker could not apply after every retry,
//! shown, and moved back to the queue once the cause is fixed (a Wazzup outage over, an API key
//! replaced). No Wazzup key is needed: only the queues, through the standard AWS configuration.

use std::fmt::Write as _;

use serde_json::json;
use wazzup_user_sync::adapters::sqs::{DeadLetters, SqsQueue};
use wazzup_user_sync::aws_sdk;
use wazzup_user_sync::domain::SyncEvent;
use wazzup_user_sync::service::QueueError;

use crate::args::DlqCommand;
use crate::failure::{Failure, exit};
use crate::output::{Output, table};

fn queue_failure(error: &QueueError) -> Failure {
    Failure::new(exit::REMOTE, "QUEUE_UNAVAILABLE", error.to_string())
}

pub async fn run(out: Output, command: &DlqCommand) -> Result<u8, Failure> {
    let sqs = aws_sdk_sqs::Client::new(&aws_sdk::config().await);
    match command {
        DlqCommand::List { queues } => {
            let letters = DeadLetters::new(sqs, &queues.dlq_url)
                .peek(usize::try_from(queues.max).unwrap_or(usize::MAX))
                .await
                .map_err(|e| queue_failure(&e))?;
            let rows: Vec<_> = letters
                .iter()
                .map(|letter| {
                    let (action, id, at) = match &letter.change {
                        Some(change) => (
                            match change.event {
                                SyncEvent::Upsert(_) => "upsert",
                                SyncEvent::Delete(_) => "delete",
                                SyncEvent::Unseat(_) => "unseat",
                            },
                            change.id().to_string(),
                            change.at.to_string(),
                        ),
                        None => ("unreadable", "-".to_owned(), "-".to_owned()),
                    };
                    (letter, action, id, at)
                })
                .collect();
            if out.json {
                let items: Vec<_> = rows
                    .iter()
                    .map(|(letter, action, id, at)| {
                        json!({"messageId": letter.message_id, "receiveCount": letter.receive_count,
                               "action": action, "id": id, "madeAt": at})
                    })
                    .collect();
                out.json_doc(&json!({ "messages": items }));
            } else {
                let mut lines = vec![vec![
                    "MESSAGE".to_owned(),
                    "RECEIVES".to_owned(),
                    "ACTION".to_owned(),
                    "ID".to_owned(),
                    "MADE AT".to_owned(),
                ]];
                lines.extend(rows.iter().map(|(letter, action, id, at)| {
                    vec![
                        letter.message_id.clone(),
                        letter.receive_count.to_string(),
                        (*action).to_owned(),
                        id.clone(),
                        at.clone(),
                    ]
                }));
                let mut text = table(&lines);
                let _ = writeln!(text, "({} waiting)", rows.len());
                out.stdout(&text);
            }
            Ok(exit::OK)
        }
        DlqCommand::Redrive { queues, queue_url } => {
            let target = SqsQueue::new(sqs.clone(), queue_url.clone());
            let report = DeadLetters::new(sqs, &queues.dlq_url)
                .redrive(&target, usize::try_from(queues.max).unwrap_or(usize::MAX))
                .await
                .map_err(|e| queue_failure(&e))?;
            if out.json {
                out.json_doc(&json!({ "moved": report.moved, "left": report.left }));
            } else {
                let mut text = format!(
                    "Moved {} message(s) back to the queue; the worker applies them in order.\n",
                    report.moved
                );
                if !report.left.is_empty() {
                    let _ = writeln!(
                        text,
                        "Left {} message(s) this version cannot read (and their employees' later \
                         ones) in the dead-letter queue: {}",
                        report.left.len(),
                        report.left.join(", ")
                    );
                }
                out.stdout(&text);
            }
            Ok(exit::OK)
        }
    }
}

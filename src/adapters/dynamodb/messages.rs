//! The sources' messages seen, in the state table beside the employees' records: an item per
//! message (key `\u{1f}message\u{1f}` + a digest of its source and id: `firstSeen` in Unix
//! milliseconds, `done` once it was applied or queued, and `expires`, the table's TTL, after the
//! senders' longest retries). A delivery of a message seen before is a duplicate whatever its
//! timestamp, and the message's undated changes take the time it was first seen.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStateStore;
use crate::domain::SourceTime;
use crate::service::{Sight, StoreError};

const MESSAGE: &str = "\u{1f}message\u{1f}";

fn seconds(time: SourceTime) -> AttributeValue {
    AttributeValue::N((time.millis() / 1000).to_string())
}

fn millis(time: SourceTime) -> AttributeValue {
    AttributeValue::N(time.millis().to_string())
}

/// The item's sight, from the attributes an update returned.
fn sight_of(item: &HashMap<String, AttributeValue>, otherwise: SourceTime) -> Sight {
    let first = item
        .get("firstSeen")
        .and_then(|n| n.as_n().ok())
        .and_then(|n| n.parse().ok())
        .map_or(otherwise, SourceTime::from_millis);
    let done = item
        .get("done")
        .and_then(|d| d.as_bool().ok())
        .copied()
        .unwrap_or(false);
    Sight { first, done }
}

impl DynamoStateStore {
    pub(super) async fn see(
        &self,
        message: &str,
        at: SourceTime,
        until: SourceTime,
    ) -> Result<Sight, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(format!("{MESSAGE}{message}")))
            .update_expression(
                "SET #first = if_not_exists(#first, :at), #expires = if_not_exists(#expires, :until)",
            )
            .expression_attribute_names("#first", "firstSeen")
            .expression_attribute_names("#expires", "expires")
            .expression_attribute_values(":at", millis(at))
            .expression_attribute_values(":until", seconds(until))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| StoreError(DisplayErrorContext(&e).to_string()))?;
        Ok(output.attributes().map_or(
            Sight {
                first: at,
                done: false,
            },
            |item| sight_of(item, at),
        ))
    }

    pub(super) async fn mark_done(
        &self,
        message: &str,
        until: SourceTime,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(format!("{MESSAGE}{message}")))
            .update_expression(
                "SET #done = :done, #expires = :until, #first = if_not_exists(#first, :now)",
            )
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#expires", "expires")
            .expression_attribute_names("#first", "firstSeen")
            .expression_attribute_values(":done", AttributeValue::Bool(true))
            .expression_attribute_values(":until", seconds(until))
            .expression_attribute_values(":now", millis(SourceTime::now()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError(DisplayErrorContext(&e).to_string()))
    }
}

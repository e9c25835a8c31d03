//! The delivery state store on a DynamoDB table: one item per employee, `id` (the key), `at`
//! (when its source made the newest change applied, in Unix milliseconds), `deleted` (a
//! tombstone) and `expires` (Unix seconds, the table's TTL attribute: a record outlives every
//! retry and the queue's retention, then goes). A write is conditional, so it never moves a
//! record back in time, whichever container makes it.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use crate::credentials::BoxFuture;
use crate::domain::{SourceTime, UserId};
use crate::service::{Applied, StateStore, StoreError};

/// How long a record is kept after its last write: longer than the queue's retention
/// (14 days) and Entra's provisioning retries (28 days).
pub const RECORD_LIFETIME: Duration = Duration::from_secs(45 * 24 * 3600);

/// DynamoDB reads at most 100 keys a call.
const BATCH: usize = 100;

/// How often unprocessed keys are asked for again before giving up.
const MAX_ROUNDS: usize = 8;

/// A DynamoDB table of delivery state.
#[derive(Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
}

impl DynamoStateStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn read(&self, ids: &[UserId]) -> Result<HashMap<UserId, Applied>, StoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(BATCH) {
            let keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|id| HashMap::from([("id".to_owned(), AttributeValue::S(id.to_string()))]))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError(e.to_string()))?,
            );
            for _ in 0..MAX_ROUNDS {
                let Some(request) = pending.take() else { break };
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError(DisplayErrorContext(&e).to_string()))?;
                for item in output
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    if let Some((id, applied)) = applied_of(item) {
                        found.insert(id, applied);
                    }
                }
                pending = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
            if pending.is_some() {
                return Err(StoreError("DynamoDB left keys unread; try again".into()));
            }
        }
        Ok(found)
    }

    async fn write(&self, id: &UserId, applied: Applied) -> Result<(), StoreError> {
        let expires = SourceTime::now().millis() / 1000 + RECORD_LIFETIME.as_secs() as i64;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(id.to_string()))
            .item("at", AttributeValue::N(applied.at.millis().to_string()))
            .item("deleted", AttributeValue::Bool(applied.deleted))
            .item("expires", AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(id) OR #at <= :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", AttributeValue::N(applied.at.millis().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A newer change is recorded: it stays.
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError(DisplayErrorContext(&e).to_string())),
        }
    }
}

/// An item as an id and what was applied.
fn applied_of(item: &HashMap<String, AttributeValue>) -> Option<(UserId, Applied)> {
    let id = UserId::parse(item.get("id")?.as_s().ok()?).ok()?;
    let at = item.get("at")?.as_n().ok()?.parse().ok()?;
    let deleted = item
        .get("deleted")
        .and_then(|d| d.as_bool().ok())
        .copied()
        .unwrap_or(false);
    Some((
        id,
        Applied {
            at: SourceTime::from_millis(at),
            deleted,
        },
    ))
}

impl StateStore for DynamoStateStore {
    fn last_applied<'a>(
        &'a self,
        ids: &'a [UserId],
    ) -> BoxFuture<'a, Result<HashMap<UserId, Applied>, StoreError>> {
        Box::pin(self.read(ids))
    }

    fn record<'a>(
        &'a self,
        id: &'a UserId,
        applied: Applied,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(id, applied))
    }
}

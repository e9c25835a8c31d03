//! The delivery state store on a DynamoDB table: one item per employee, `id` (the key), `at`
//! (when its source made the newest change applied, in Unix milliseconds), `deleted` (a
//! tombstone) and `expires` (Unix seconds, the table's TTL attribute: a record outlives every
//! retry and the queue's retention, then goes), and while a request applies a change, its lease:
//! `owner` (a token of that request) and `lease` (Unix milliseconds when it ends). Every write
//! is conditional, so a record never moves back in time and only a lease's holder records,
//! whichever container writes. Who owns which Wazzup user lives in the same table, in items of
//! their own that never expire ([`ownership`]), and so do the sources' messages seen, kept for
//! the senders' retries ([`messages`]).

mod messages;
mod ownership;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use crate::credentials::BoxFuture;
use crate::domain::Owner;
use crate::domain::{LoggedId, SourceTime, UserId};
use crate::service::{Applied, Claim, Ownerships, Records, Sight, StateStore, StoreError};

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
        let items = self.items(ids.iter().map(ToString::to_string)).await?;
        Ok(items.iter().filter_map(applied_of).collect())
    }

    /// The items of `keys` that exist (each key read once, however often it is given).
    async fn items(
        &self,
        keys: impl Iterator<Item = String>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut keys: Vec<String> = keys.collect();
        keys.sort_unstable();
        keys.dedup();
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH) {
            let keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|key| HashMap::from([("id".to_owned(), AttributeValue::S(key.clone()))]))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError(e.to_string()))?,
            );
            for round in 0..MAX_ROUNDS {
                let Some(request) = pending.take() else { break };
                if round > 0 {
                    // Unprocessed keys mean the table is throttled: back off before asking again
                    // (50 ms, doubling, with jitter), as AWS advises.
                    let base = 50u64 << round.min(4);
                    tokio::time::sleep(Duration::from_millis(
                        base / 2 + fastrand::u64(0..=base / 2),
                    ))
                    .await;
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError(DisplayErrorContext(&e).to_string()))?;
                if let Some(items) = output.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
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

    /// An update of `id`'s item under `condition`; `false` when the condition did not hold.
    async fn update(
        &self,
        id: &UserId,
        expression: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let expires = SourceTime::now().millis() / 1000 + RECORD_LIFETIME.as_secs() as i64;
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_string()))
            .update_expression(expression)
            .condition_expression(condition);
        // DynamoDB refuses a name or value the expressions do not use.
        if expression.contains(":expires") {
            request = request
                .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()));
        }
        for (name, attribute) in NAMES {
            if expression.contains(name) || condition.contains(name) {
                request = request.expression_attribute_names(*name, *attribute);
            }
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(StoreError(DisplayErrorContext(&e).to_string())),
        }
    }

    async fn claim_lease(
        &self,
        id: &UserId,
        owner: &str,
        until: SourceTime,
    ) -> Result<Claim, StoreError> {
        let granted = self
            .update(
                id,
                "SET #lease = :until, #owner = :owner, #expires = :expires",
                "attribute_not_exists(#owner) OR #owner = :owner OR #lease < :now",
                vec![
                    (":until", millis(until)),
                    (":owner", AttributeValue::S(owner.to_owned())),
                    (":now", millis(SourceTime::now())),
                ],
            )
            .await?;
        Ok(if granted { Claim::Granted } else { Claim::Busy })
    }

    async fn write(&self, id: &UserId, applied: Applied, owner: &str) -> Result<(), StoreError> {
        let written = self
            .update(
                id,
                "SET #at = :at, #deleted = :deleted, #expires = :expires REMOVE #lease, #owner",
                "#owner = :owner AND (attribute_not_exists(#at) OR #at <= :at)",
                vec![
                    (":at", millis(applied.at)),
                    (":deleted", AttributeValue::Bool(applied.deleted)),
                    (":owner", AttributeValue::S(owner.to_owned())),
                ],
            )
            .await?;
        if !written {
            // A newer change is recorded, or the lease ended and another request took it:
            // that request's record stands.
            tracing::warn!(user_id = %LoggedId(id.as_str()), "not recorded: the lease had ended or a newer change is recorded");
        }
        Ok(())
    }

    async fn give_back(&self, id: &UserId, owner: &str) -> Result<(), StoreError> {
        // Not the holder any more (the lease ended and was taken): nothing to give back.
        self.update(
            id,
            "REMOVE #lease, #owner",
            "#owner = :owner",
            vec![(":owner", AttributeValue::S(owner.to_owned()))],
        )
        .await
        .map(|_| ())
    }
}

/// The item's attribute names, as placeholders (some are DynamoDB reserved words).
const NAMES: &[(&str, &str)] = &[
    ("#at", "at"),
    ("#deleted", "deleted"),
    ("#expires", "expires"),
    ("#lease", "lease"),
    ("#owner", "owner"),
];

fn millis(time: SourceTime) -> AttributeValue {
    AttributeValue::N(time.millis().to_string())
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

    fn claim<'a>(
        &'a self,
        id: &'a UserId,
        owner: &'a str,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(self.claim_lease(id, owner, until))
    }

    fn record<'a>(
        &'a self,
        id: &'a UserId,
        applied: Applied,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(id, applied, owner))
    }

    fn release<'a>(
        &'a self,
        id: &'a UserId,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.give_back(id, owner))
    }

    fn ownerships<'a>(
        &'a self,
        ids: &'a [UserId],
    ) -> BoxFuture<'a, Result<Ownerships, StoreError>> {
        Box::pin(self.read_ownerships(ids))
    }

    fn records<'a>(&'a self, ids: &'a [UserId]) -> BoxFuture<'a, Result<Records, StoreError>> {
        Box::pin(self.read_records(ids))
    }

    fn take<'a>(
        &'a self,
        wazzup: &'a UserId,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Option<Owner>, StoreError>> {
        Box::pin(self.take_user(wazzup, owner))
    }

    fn take_all<'a>(
        &'a self,
        takes: &'a [(UserId, Owner)],
    ) -> BoxFuture<'a, Result<Vec<Option<Owner>>, StoreError>> {
        Box::pin(self.take_users(takes))
    }

    fn sight<'a>(
        &'a self,
        message: &'a str,
        at: SourceTime,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<Sight, StoreError>> {
        Box::pin(self.see(message, at, until))
    }

    fn done<'a>(
        &'a self,
        message: &'a str,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.mark_done(message, until))
    }

    fn give_up<'a>(
        &'a self,
        wazzup: &'a UserId,
        employee: &'a UserId,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.give_up_user(wazzup, employee))
    }
}

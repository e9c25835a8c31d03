//! Who owns which Wazzup user, in the state table beside the employees' records: an owner item
//! per Wazzup user this deployment created or took over (key `\u{1f}user\u{1f}` + its id:
//! `employee`, `source`, `basis`, `since` in Unix milliseconds), and a link item per employee
//! whose Wazzup user has another id (key `\u{1f}link\u{1f}` + the employee's id: `wazzupId`).
//! The keys begin with a control character, which no employee id can hold, so they never meet
//! an employee's record; and they carry no `expires`, so they outlive every TTL: a dismissal
//! months after a hire still finds whose user to delete. Taking a user over writes both items
//! in one transaction, under the condition that no other employee owns the user.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

use super::DynamoStateStore;
use crate::domain::{Basis, Owner, SourceTime, UserId};
use crate::service::{Ownerships, Records, StoreError, linked_elsewhere};

const USER: &str = "\u{1f}user\u{1f}";

/// Takeovers recorded in one transaction: two writes each, DynamoDB's limit being 100.
const TAKES_PER_TRANSACTION: usize = 50;
const LINK: &str = "\u{1f}link\u{1f}";

fn user_key(wazzup: &UserId) -> String {
    format!("{USER}{wazzup}")
}

fn link_key(employee: &UserId) -> String {
    format!("{LINK}{employee}")
}

fn key(text: String) -> HashMap<String, AttributeValue> {
    HashMap::from([("id".to_owned(), AttributeValue::S(text))])
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

/// An owner item as the Wazzup user's id and its owner; `None` for any other item.
fn owner_of(item: &HashMap<String, AttributeValue>) -> Option<(UserId, Owner)> {
    let wazzup = UserId::parse(text(item, "id")?.strip_prefix(USER)?).ok()?;
    let employee = UserId::parse(text(item, "employee")?).ok()?;
    // A basis this version does not know still makes the user owned.
    let basis = text(item, "basis")
        .and_then(Basis::parse)
        .unwrap_or(Basis::Created);
    let since = item
        .get("since")
        .and_then(|n| n.as_n().ok())
        .and_then(|n| n.parse().ok())
        .map_or(SourceTime::from_millis(0), SourceTime::from_millis);
    let source = text(item, "source").unwrap_or("-").to_owned();
    Some((
        wazzup,
        Owner {
            employee,
            source,
            basis,
            since,
        },
    ))
}

/// A link item as the employee's id and its Wazzup user's; `None` for any other item.
fn link_of(item: &HashMap<String, AttributeValue>) -> Option<(UserId, UserId)> {
    let employee = UserId::parse(text(item, "id")?.strip_prefix(LINK)?).ok()?;
    let wazzup = UserId::parse(text(item, "wazzupId")?).ok()?;
    Some((employee, wazzup))
}

fn store_error<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> StoreError {
    StoreError(DisplayErrorContext(&error).to_string())
}

impl DynamoStateStore {
    pub(super) async fn read_ownerships(&self, ids: &[UserId]) -> Result<Ownerships, StoreError> {
        let keys = ids.iter().flat_map(|id| [user_key(id), link_key(id)]);
        let mut found = Ownerships::default();
        for item in self.items(keys).await? {
            if let Some((wazzup, owner)) = owner_of(&item) {
                found.owners.insert(wazzup, owner);
            } else if let Some((employee, wazzup)) = link_of(&item) {
                found.links.insert(employee, wazzup);
            }
        }
        Ok(found)
    }

    /// The records of `ids` in one read: their newest changes and the ownership items.
    pub(super) async fn read_records(&self, ids: &[UserId]) -> Result<Records, StoreError> {
        let keys = (ids.iter()).flat_map(|id| [id.to_string(), user_key(id), link_key(id)]);
        let mut found = Records::default();
        for item in self.items(keys).await? {
            if let Some((wazzup, owner)) = owner_of(&item) {
                found.ownerships.owners.insert(wazzup, owner);
            } else if let Some((employee, wazzup)) = link_of(&item) {
                found.ownerships.links.insert(employee, wazzup);
            } else if let Some((id, applied)) = super::applied_of(&item) {
                found.applied.insert(id, applied);
            }
        }
        Ok(found)
    }

    /// The two writes of a takeover: the user's owner item (unless another employee owns it)
    /// and the employee's link (or, for its own id, the check that it has none).
    fn take_items(
        &self,
        wazzup: &UserId,
        owner: &Owner,
    ) -> Result<[TransactWriteItem; 2], StoreError> {
        let user = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(user_key(wazzup))))
            .update_expression(
                "SET #employee = :employee, #source = if_not_exists(#source, :source), \
                 #basis = if_not_exists(#basis, :basis), #since = if_not_exists(#since, :since)",
            )
            .condition_expression("attribute_not_exists(#employee) OR #employee = :employee")
            .expression_attribute_names("#employee", "employee")
            .expression_attribute_names("#source", "source")
            .expression_attribute_names("#basis", "basis")
            .expression_attribute_names("#since", "since")
            .expression_attribute_values(":employee", AttributeValue::S(owner.employee.to_string()))
            .expression_attribute_values(":source", AttributeValue::S(owner.source.clone()))
            .expression_attribute_values(":basis", AttributeValue::S(owner.basis.as_str().into()))
            .expression_attribute_values(
                ":since",
                AttributeValue::N(owner.since.millis().to_string()),
            )
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let link = if *wazzup == owner.employee {
            // Its own id: only while it is linked to no other user.
            TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(link_key(&owner.employee))))
                    .condition_expression("attribute_not_exists(#wazzup)")
                    .expression_attribute_names("#wazzup", "wazzupId")
                    .build()
                    .map_err(|e| StoreError(e.to_string()))?,
            )
        } else {
            TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(link_key(&owner.employee))))
                    .update_expression("SET #wazzup = :wazzup")
                    .expression_attribute_names("#wazzup", "wazzupId")
                    .expression_attribute_values(":wazzup", AttributeValue::S(wazzup.to_string()))
                    .build()
                    .map_err(|e| StoreError(e.to_string()))?,
            )
        };
        Ok([
            TransactWriteItem::builder().update(user).build(),
            link.build(),
        ])
    }

    /// Records many takeovers in as few transactions as DynamoDB allows (50 of two writes);
    /// a transaction one condition cancels is done again one takeover at a time, to tell which.
    pub(super) async fn take_users(
        &self,
        takes: &[(UserId, Owner)],
    ) -> Result<Vec<Option<Owner>>, StoreError> {
        let mut results = Vec::with_capacity(takes.len());
        for chunk in takes.chunks(TAKES_PER_TRANSACTION) {
            if let [(wazzup, owner)] = chunk {
                results.push(self.take_user(wazzup, owner).await?);
                continue;
            }
            let mut items = Vec::with_capacity(2 * chunk.len());
            for (wazzup, owner) in chunk {
                items.extend(self.take_items(wazzup, owner)?);
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            match result {
                Ok(_) => results.extend(chunk.iter().map(|_| None)),
                Err(SdkError::ServiceError(e))
                    if matches!(
                        e.err(),
                        TransactWriteItemsError::TransactionCanceledException(_)
                    ) =>
                {
                    for (wazzup, owner) in chunk {
                        results.push(self.take_user(wazzup, owner).await?);
                    }
                }
                Err(error) => return Err(store_error(error)),
            }
        }
        Ok(results)
    }

    pub(super) async fn take_user(
        &self,
        wazzup: &UserId,
        owner: &Owner,
    ) -> Result<Option<Owner>, StoreError> {
        let [user, link] = self.take_items(wazzup, owner)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(user)
            .transact_items(link)
            .send()
            .await;
        // Which of the two conditions failed, when the transaction was cancelled for one.
        let failed = |e: &TransactWriteItemsError, at: usize| {
            matches!(e, TransactWriteItemsError::TransactionCanceledException(cancelled)
                if cancelled.cancellation_reasons().get(at).and_then(|r| r.code())
                    == Some("ConditionalCheckFailed"))
        };
        match result {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(e)) if failed(e.err(), 1) => {
                Err(linked_elsewhere(&owner.employee))
            }
            Err(SdkError::ServiceError(e)) if failed(e.err(), 0) => {
                // Another employee owns it: say who.
                let found = self.read_ownerships(std::slice::from_ref(wazzup)).await?;
                match found.owners.get(wazzup) {
                    Some(other) => Ok(Some(other.clone())),
                    None => Err(StoreError(
                        "the owner of a Wazzup user changed while it was taken over; try again"
                            .into(),
                    )),
                }
            }
            Err(error) => Err(store_error(error)),
        }
    }

    pub(super) async fn give_up_user(
        &self,
        wazzup: &UserId,
        employee: &UserId,
    ) -> Result<(), StoreError> {
        // Each delete holds only for this employee's items; another's stay.
        let deletes = [
            (user_key(wazzup), "#field = :value", "employee", employee),
            (link_key(employee), "#field = :value", "wazzupId", wazzup),
        ];
        for (item, condition, field, value) in deletes {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(item)))
                .condition_expression(condition)
                .expression_attribute_names("#field", field)
                .expression_attribute_values(":value", AttributeValue::S(value.to_string()))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(SdkError::ServiceError(e))
                    if e.err().is_conditional_check_failed_exception() => {}
                Err(error) => return Err(store_error(error)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_and_link_items_read_back_and_nothing_else_does() {
        let wazzup = UserId::parse("7c1e9a20").unwrap();
        let employee = UserId::parse("crm-1").unwrap();
        let mut item = key(user_key(&wazzup));
        item.insert("employee".into(), AttributeValue::S("crm-1".into()));
        item.insert("basis".into(), AttributeValue::S("phone".into()));
        item.insert("since".into(), AttributeValue::N("1795413600000".into()));
        let (id, owner) = owner_of(&item).unwrap();
        assert_eq!(
            (id, &owner.employee, owner.basis),
            (wazzup.clone(), &employee, Basis::Phone)
        );
        assert!(link_of(&item).is_none());
        let mut link = key(link_key(&employee));
        link.insert("wazzupId".into(), AttributeValue::S("7c1e9a20".into()));
        assert_eq!(link_of(&link), Some((employee.clone(), wazzup)));
        // An employee's record is neither, whatever its id.
        let mut record = key("user:7c1e9a20".into());
        record.insert("employee".into(), AttributeValue::S("crm-1".into()));
        assert!(owner_of(&record).is_none() && link_of(&record).is_none());
        assert!(UserId::parse(&user_key(&employee)).is_err());
    }
}

//! What the service needs from outside for durable, ordered delivery: a queue that keeps each
//! employee's changes in order ([`ChangeQueue`]: SQS FIFO in Lambda, in-process locally), and a
//! record of the newest change applied to each employee ([`StateStore`]: DynamoDB in Lambda,
//! in-process locally), which also keeps who owns which Wazzup user ([`Ownerships`]). The
//! adapters implement them; the service depends only on these traits.

use std::collections::HashMap;

use crate::credentials::BoxFuture;
use crate::domain::{Change, Owner, SourceTime, UserId};

/// The queue failed; sending again later can succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the change queue is unavailable: {0}")]
pub struct QueueError(pub String);

/// The refusal of recording an employee's own id as its user while it is linked to another:
/// the caller read stale records (trying again reads them anew).
pub fn linked_elsewhere(employee: &UserId) -> StoreError {
    StoreError(format!(
        "employee {} has taken over another Wazzup user; its own id is not recorded as its user",
        crate::domain::LoggedId(employee.as_str())
    ))
}

/// The state store failed; trying again later can succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the delivery state store is unavailable: {0}")]
pub struct StoreError(pub String);

/// A durable queue of changes, in order per employee, that drops a change whose key it saw a
/// short while ago.
pub trait ChangeQueue: Send + Sync {
    /// Sends `changes`, all or nothing from the caller's view (an error means: send again).
    fn send<'a>(&'a self, changes: &'a [Change]) -> BoxFuture<'a, Result<(), QueueError>>;
}

/// When messages a worker could not apply come back: each by its receipt handle, after its
/// delay (SQS's `ChangeMessageVisibility`), rather than after the queue's whole visibility
/// timeout.
pub trait Redelivery: Send + Sync {
    /// Makes each of `messages` (receipt handle, delay) visible again after its delay.
    fn later<'a>(
        &'a self,
        messages: &'a [(String, std::time::Duration)],
    ) -> BoxFuture<'a, Result<(), QueueError>>;
}

/// What the records say of a source's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sight {
    /// When it was first seen.
    pub first: SourceTime,
    /// It was applied (or queued) already: any other delivery of it is a duplicate.
    pub done: bool,
}

/// What is known of the newest change applied to one employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// When its source made it.
    pub at: SourceTime,
    /// It removed the employee (kept as a tombstone, so a late update does not bring them back).
    pub deleted: bool,
}

/// Whether a lease was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The employee is the claimant's until it records or releases, or the lease ends.
    Granted,
    /// Another request holds a live lease on the employee.
    Busy,
}

/// What the records say of some ids, each read both as an employee's and as a Wazzup user's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownerships {
    /// The Wazzup user an employee was linked to by a takeover, where it is not the employee's
    /// own id.
    pub links: HashMap<UserId, UserId>,
    /// The employee each Wazzup user belongs to.
    pub owners: HashMap<UserId, Owner>,
}

/// All the records of some ids: their newest changes applied, and the ownership records.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub applied: HashMap<UserId, Applied>,
    pub ownerships: Ownerships,
}

/// The newest change applied to each employee, and who is applying one now.
///
/// A writer takes a lease on each employee before it reads the record and writes to Wazzup,
/// and gives it back when it records (or has nothing to record): so two requests never write
/// the same employee at once, and the older of two changes can never reach Wazzup after the
/// newer one. A lease ends by itself at its `until` (the claimant crashed).
pub trait StateStore: Send + Sync {
    /// The newest applied change of each of `ids` that has one.
    fn last_applied<'a>(
        &'a self,
        ids: &'a [UserId],
    ) -> BoxFuture<'a, Result<HashMap<UserId, Applied>, StoreError>>;

    /// Takes the lease of `id` for `owner` until `until`, unless another owner holds a live one.
    fn claim<'a>(
        &'a self,
        id: &'a UserId,
        owner: &'a str,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;

    /// Records that `applied` reached Wazzup for `id` and ends `owner`'s lease, unless a newer
    /// change is recorded or the lease is no longer `owner`'s (then nothing changes: a write
    /// never moves the record back in time).
    fn record<'a>(
        &'a self,
        id: &'a UserId,
        applied: Applied,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Ends `owner`'s lease of `id` without recording anything (nothing was applied).
    fn release<'a>(
        &'a self,
        id: &'a UserId,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The links of `ids` (read as employees) and the owners of `ids` (read as Wazzup users).
    /// These records never expire: they are what lets a dismissal delete the right user.
    fn ownerships<'a>(&'a self, ids: &'a [UserId])
    -> BoxFuture<'a, Result<Ownerships, StoreError>>;

    /// [`StateStore::last_applied`] and [`StateStore::ownerships`] of `ids` together (a store
    /// that can read them in one call does).
    fn records<'a>(&'a self, ids: &'a [UserId]) -> BoxFuture<'a, Result<Records, StoreError>> {
        Box::pin(async move {
            Ok(Records {
                applied: self.last_applied(ids).await?,
                ownerships: self.ownerships(ids).await?,
            })
        })
    }

    /// Records, in one step, that the Wazzup user `wazzup` is `owner.employee`'s and (when it is
    /// not the employee's own id) that the employee's changes go to it, unless another
    /// employee owns it: then nothing changes and that owner is returned. The employee's own id
    /// while it is linked to another user is refused ([`linked_elsewhere`]): its changes go
    /// there, and it never owns two users.
    fn take<'a>(
        &'a self,
        wazzup: &'a UserId,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Option<Owner>, StoreError>>;

    /// [`StateStore::take`] of each of `takes`, its answers in the same order (a store that can
    /// write several in one call does).
    fn take_all<'a>(
        &'a self,
        takes: &'a [(UserId, Owner)],
    ) -> BoxFuture<'a, Result<Vec<Option<Owner>>, StoreError>> {
        Box::pin(async move {
            let mut answers = Vec::with_capacity(takes.len());
            for (wazzup, owner) in takes {
                answers.push(self.take(wazzup, owner).await?);
            }
            Ok(answers)
        })
    }

    /// Notes that the message `message` (a digest of its source and id) arrived at `at`, unless
    /// it was seen before, and says what is known of it; the record is kept until `until`.
    fn sight<'a>(
        &'a self,
        message: &'a str,
        at: SourceTime,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<Sight, StoreError>>;

    /// Notes that the message `message` was applied (or queued), keeping the record until `until`.
    fn done<'a>(
        &'a self,
        message: &'a str,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Forgets, in one step, that `wazzup` is `employee`'s and the employee's link (the user was
    /// deleted). Another employee's ownership is left as it is.
    fn give_up<'a>(
        &'a self,
        wazzup: &'a UserId,
        employee: &'a UserId,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

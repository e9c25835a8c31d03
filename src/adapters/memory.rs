//! The queue and the state store in process, for local runs (no AWS): the same traits, the same
//! rules (order kept, a key seen within five minutes dropped, a record never moved back, one
//! writer per employee at a time, a Wazzup user owned by one employee at most).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::credentials::BoxFuture;
use crate::domain::{Change, Owner, SourceTime, UserId};
use crate::service::{
    Applied, ChangeQueue, Claim, Ownerships, QueueError, Sight, StateStore, StoreError,
    linked_elsewhere,
};

/// How long a key is remembered, as SQS FIFO's deduplication does.
const DEDUPLICATION: Duration = Duration::from_secs(5 * 60);

/// Changes waiting in this process, in order.
#[derive(Default)]
pub struct MemoryQueue {
    inner: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    waiting: VecDeque<Change>,
    seen: HashMap<String, Instant>,
}

impl MemoryQueue {
    /// Takes up to `max` waiting changes, oldest first.
    pub fn take(&self, max: usize) -> Vec<Change> {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let count = max.min(state.waiting.len());
        state.waiting.drain(..count).collect()
    }

    /// Puts changes back at the front (the worker could not apply them), keeping their order.
    pub fn put_back(&self, changes: Vec<Change>) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for change in changes.into_iter().rev() {
            state.waiting.push_front(change);
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .waiting
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ChangeQueue for MemoryQueue {
    fn send<'a>(&'a self, changes: &'a [Change]) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(async move {
            let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            state
                .seen
                .retain(|_, at| now.duration_since(*at) < DEDUPLICATION);
            for change in changes {
                if state.seen.insert(change.key.clone(), now).is_none() {
                    state.waiting.push_back(change.clone());
                }
            }
            Ok(())
        })
    }
}

/// The newest change applied per employee, the leases and who owns which Wazzup user, in this
/// process.
#[derive(Default)]
pub struct MemoryStateStore {
    records: Mutex<HashMap<UserId, Record>>,
    ownership: Mutex<Ownerships>,
    /// Messages seen: when first, whether done, kept until when.
    messages: Mutex<HashMap<String, (Sight, SourceTime)>>,
}

#[derive(Default)]
struct Record {
    applied: Option<Applied>,
    /// Who holds the lease, and until when.
    lease: Option<(String, SourceTime)>,
}

impl StateStore for MemoryStateStore {
    fn last_applied<'a>(
        &'a self,
        ids: &'a [UserId],
    ) -> BoxFuture<'a, Result<HashMap<UserId, Applied>, StoreError>> {
        Box::pin(async move {
            let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
            Ok(ids
                .iter()
                .filter_map(|id| {
                    let applied = records.get(id)?.applied?;
                    Some((id.clone(), applied))
                })
                .collect())
        })
    }

    fn claim<'a>(
        &'a self,
        id: &'a UserId,
        owner: &'a str,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move {
            let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
            let record = records.entry(id.clone()).or_default();
            let now = SourceTime::now();
            match &record.lease {
                Some((holder, ends)) if holder != owner && *ends >= now => Ok(Claim::Busy),
                _ => {
                    record.lease = Some((owner.to_owned(), until));
                    Ok(Claim::Granted)
                }
            }
        })
    }

    fn record<'a>(
        &'a self,
        id: &'a UserId,
        applied: Applied,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
            let record = records.entry(id.clone()).or_default();
            let holds = record
                .lease
                .as_ref()
                .is_some_and(|(holder, _)| holder == owner);
            let newer = record.applied.is_some_and(|old| old.at > applied.at);
            if holds && !newer {
                record.applied = Some(applied);
                record.lease = None;
            }
            Ok(())
        })
    }

    fn release<'a>(
        &'a self,
        id: &'a UserId,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(record) = records.get_mut(id)
                && record
                    .lease
                    .as_ref()
                    .is_some_and(|(holder, _)| holder == owner)
            {
                record.lease = None;
            }
            Ok(())
        })
    }

    fn ownerships<'a>(
        &'a self,
        ids: &'a [UserId],
    ) -> BoxFuture<'a, Result<Ownerships, StoreError>> {
        Box::pin(async move {
            let all = self.ownership.lock().unwrap_or_else(|e| e.into_inner());
            let mut found = Ownerships::default();
            for id in ids {
                if let Some(link) = all.links.get(id) {
                    found.links.insert(id.clone(), link.clone());
                }
                if let Some(owner) = all.owners.get(id) {
                    found.owners.insert(id.clone(), owner.clone());
                }
            }
            Ok(found)
        })
    }

    fn take<'a>(
        &'a self,
        wazzup: &'a UserId,
        owner: &'a Owner,
    ) -> BoxFuture<'a, Result<Option<Owner>, StoreError>> {
        Box::pin(async move {
            let mut all = self.ownership.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(other) = all.owners.get(wazzup)
                && other.employee != owner.employee
            {
                return Ok(Some(other.clone()));
            }
            if *wazzup == owner.employee && all.links.contains_key(&owner.employee) {
                return Err(linked_elsewhere(&owner.employee));
            }
            // The first record of an ownership stays (its basis and time).
            all.owners
                .entry(wazzup.clone())
                .or_insert_with(|| owner.clone());
            if *wazzup != owner.employee {
                all.links.insert(owner.employee.clone(), wazzup.clone());
            }
            Ok(None)
        })
    }

    fn sight<'a>(
        &'a self,
        message: &'a str,
        at: SourceTime,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<Sight, StoreError>> {
        Box::pin(async move {
            let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
            let now = SourceTime::now();
            messages.retain(|_, (_, kept)| *kept > now);
            let (sight, _) = messages.entry(message.to_owned()).or_insert((
                Sight {
                    first: at,
                    done: false,
                },
                until,
            ));
            Ok(*sight)
        })
    }

    fn done<'a>(
        &'a self,
        message: &'a str,
        until: SourceTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
            let now = SourceTime::now();
            let (sight, kept) = messages.entry(message.to_owned()).or_insert((
                Sight {
                    first: now,
                    done: true,
                },
                until,
            ));
            sight.done = true;
            *kept = until;
            Ok(())
        })
    }

    fn give_up<'a>(
        &'a self,
        wazzup: &'a UserId,
        employee: &'a UserId,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut all = self.ownership.lock().unwrap_or_else(|e| e.into_inner());
            if all
                .owners
                .get(wazzup)
                .is_some_and(|owner| owner.employee == *employee)
            {
                all.owners.remove(wazzup);
            }
            if all.links.get(employee) == Some(wazzup) {
                all.links.remove(employee);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SyncEvent;

    fn change(id: &str, key: &str) -> Change {
        Change {
            event: SyncEvent::Delete(UserId::parse(id).unwrap()),
            at: SourceTime::from_millis(1),
            key: key.into(),
            source: None,
        }
    }

    #[tokio::test]
    async fn the_queue_keeps_order_and_drops_a_key_seen_lately() {
        let queue = MemoryQueue::default();
        queue
            .send(&[change("a", "k1"), change("b", "k2")])
            .await
            .unwrap();
        queue
            .send(&[change("a", "k1"), change("c", "k3")])
            .await
            .unwrap();
        let ids: Vec<String> = queue.take(10).iter().map(|c| c.id().to_string()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_record_never_moves_back_in_time() {
        let store = MemoryStateStore::default();
        let id = UserId::parse("a").unwrap();
        let at = |ms| Applied {
            at: SourceTime::from_millis(ms),
            deleted: false,
        };
        let later = SourceTime::from_millis(SourceTime::now().millis() + 60_000);
        assert_eq!(
            store.claim(&id, "one", later).await.unwrap(),
            Claim::Granted
        );
        store.record(&id, at(20), "one").await.unwrap();
        assert_eq!(
            store.claim(&id, "two", later).await.unwrap(),
            Claim::Granted
        );
        store.record(&id, at(10), "two").await.unwrap();
        let found = store.last_applied(std::slice::from_ref(&id)).await.unwrap();
        assert_eq!(found[&id].at, SourceTime::from_millis(20));
    }

    #[tokio::test]
    async fn a_live_lease_keeps_others_out_until_it_is_given_back_or_ends() {
        let store = MemoryStateStore::default();
        let id = UserId::parse("a").unwrap();
        let now = SourceTime::now().millis();
        let later = SourceTime::from_millis(now + 60_000);
        assert_eq!(
            store.claim(&id, "one", later).await.unwrap(),
            Claim::Granted
        );
        assert_eq!(store.claim(&id, "two", later).await.unwrap(), Claim::Busy);
        // Not the holder: recording changes nothing.
        let applied = Applied {
            at: SourceTime::from_millis(5),
            deleted: true,
        };
        store.record(&id, applied, "two").await.unwrap();
        let ids = std::slice::from_ref(&id);
        assert!(store.last_applied(ids).await.unwrap().is_empty());
        store.release(&id, "one").await.unwrap();
        assert_eq!(
            store.claim(&id, "two", later).await.unwrap(),
            Claim::Granted
        );
        store.record(&id, applied, "two").await.unwrap();
        assert_eq!(store.last_applied(ids).await.unwrap()[&id], applied);
        // A lease that ended lets the next claimant in.
        let ended = SourceTime::from_millis(now - 1);
        assert_eq!(
            store.claim(&id, "three", ended).await.unwrap(),
            Claim::Granted
        );
        assert_eq!(
            store.claim(&id, "four", later).await.unwrap(),
            Claim::Granted
        );
    }
}

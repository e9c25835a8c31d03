//! One writer per employee at a time: before a session reads an employee's record and writes
//! to Wazzup, it takes that employee's lease in the state store, and it gives the lease back
//! when it records what it applied (or has nothing to record). A request that finds an
//! employee leased waits a little, then leaves that employee's change to be done again (a
//! transient failure). So whichever paths bring two changes of one employee at once (two
//! webhook calls, SCIM beside the queue's worker, a full sync), the older can never reach
//! Wazzup after the newer.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::time::Instant;

use super::ports::{Applied, Claim, StateStore, StoreError};
use super::session::Session;
use crate::domain::{SourceTime, Summary, UserId};

/// How many calls to the state store are in flight at once.
const CONCURRENCY: usize = 16;

/// How long a request waits for another's lease before it leaves the change for later.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// The first pause between two tries of a leased employee; it doubles up to a second.
const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// A lease outlives the request that took it by this much, and a write whose call failed
/// keeps its lease this long: a write sent may still land a little later.
const MARGIN: Duration = Duration::from_secs(10);

/// The lease of a request without a deadline (the CLI, local runs).
const WITHOUT_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// The employees a session holds, and those another request held for all of its wait.
pub(super) struct Leases {
    pub held: Vec<UserId>,
    pub busy: Vec<UserId>,
}

impl Session<'_> {
    /// Until when this session's leases last: its deadline and a margin, else a fixed while.
    fn lease_until(&self) -> SourceTime {
        let span = match self.deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()) + MARGIN,
            None => WITHOUT_DEADLINE,
        };
        let span = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
        SourceTime::from_millis(SourceTime::now().millis().saturating_add(span))
    }

    /// Takes the lease of each of `ids`, waiting up to [`MAX_WAIT`] (and not past the
    /// deadline) for those another request holds. On an error, the leases taken are given
    /// back.
    pub(super) async fn lease(
        &self,
        state: &dyn StateStore,
        ids: &[UserId],
    ) -> Result<Leases, StoreError> {
        let until = self.lease_until();
        let mut give_up = Instant::now() + MAX_WAIT;
        if let Some(deadline) = self.deadline {
            give_up = give_up.min(deadline);
        }
        let mut held = Vec::with_capacity(ids.len());
        let mut waiting: Vec<UserId> = ids.to_vec();
        let mut pause = FIRST_PAUSE;
        loop {
            let owner = self.owner.as_str();
            let answers: Vec<(UserId, Result<Claim, StoreError>)> = stream::iter(waiting)
                .map(|id| async move {
                    let answer = state.claim(&id, owner, until).await;
                    (id, answer)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
            let mut busy = Vec::new();
            let mut failure = None;
            for (id, answer) in answers {
                match answer {
                    Ok(Claim::Granted) => held.push(id),
                    Ok(Claim::Busy) => busy.push(id),
                    Err(error) => failure = Some(error),
                }
            }
            if let Some(error) = failure {
                self.release(state, &held).await;
                return Err(error);
            }
            if busy.is_empty() || Instant::now() + pause > give_up {
                if !busy.is_empty() {
                    tracing::warn!(
                        busy = busy.len(),
                        "employees leased by another request: their changes are left for later"
                    );
                }
                return Ok(Leases { held, busy });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
            waiting = busy;
        }
    }

    /// Gives back the leases of `ids`. A failure is only logged: the lease ends by itself.
    pub(super) async fn release(&self, state: &dyn StateStore, ids: &[UserId]) {
        let owner = self.owner.as_str();
        let failures = stream::iter(ids.to_vec())
            .map(|id| async move { state.release(&id, owner).await })
            .buffer_unordered(CONCURRENCY)
            .filter(|answer| std::future::ready(answer.is_err()))
            .count()
            .await;
        if failures > 0 {
            tracing::warn!(failures, "leases not given back; they end by themselves");
        }
    }

    /// Keeps the leases of `ids` for [`MARGIN`] from now (instead of giving them back).
    async fn hold_for_margin(&self, state: &dyn StateStore, ids: &[UserId]) {
        let owner = self.owner.as_str();
        let margin = i64::try_from(MARGIN.as_millis()).unwrap_or(i64::MAX);
        let until = SourceTime::from_millis(SourceTime::now().millis().saturating_add(margin));
        let failures = stream::iter(ids.to_vec())
            .map(|id| async move { state.claim(&id, owner, until).await })
            .buffer_unordered(CONCURRENCY)
            .filter(|answer| std::future::ready(answer.is_err()))
            .count()
            .await;
        if failures > 0 {
            tracing::warn!(failures, "leases not shortened; they end by themselves");
        }
    }

    /// Records what `summary` says reached Wazzup, each id at the time of its newest event,
    /// which gives its lease back; then gives back the other leases of `held`, but for those
    /// whose call failed with an outcome that cannot be told, kept for [`MARGIN`]. Returns the ids
    /// applied but not recorded, with the error, when a record failed.
    pub(super) async fn settle(
        &self,
        state: &dyn StateStore,
        held: &[UserId],
        summary: &Summary,
        newest: &HashMap<UserId, SourceTime>,
    ) -> Result<(), (Vec<UserId>, StoreError)> {
        let kept = summary.upserted.iter().map(|id| (id, false));
        let gone = summary
            .deleted
            .iter()
            .chain(&summary.already_absent)
            .map(|id| (id, true));
        let mut applied: HashMap<UserId, Applied> = HashMap::new();
        for (id, deleted) in kept.chain(gone) {
            if let Ok(id) = UserId::parse(id)
                && let Some(at) = newest.get(&id)
            {
                applied.insert(id, Applied { at: *at, deleted });
            }
        }
        let owner = self.owner.as_str();
        let answers: Vec<(UserId, Result<(), StoreError>)> = stream::iter(applied.clone())
            .map(|(id, change)| async move {
                let answer = state.record(&id, change, owner).await;
                (id, answer)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        // A write whose call failed may still land: its lease is kept for a margin, so that no
        // newer change is written before it.
        let (uncertain, rest): (Vec<UserId>, Vec<UserId>) = held
            .iter()
            .filter(|id| !applied.contains_key(*id))
            .cloned()
            .partition(|id| self.uncertain.iter().any(|u| u == id.as_str()));
        self.hold_for_margin(state, &uncertain).await;
        let mut unrecorded = Vec::new();
        let mut failure = None;
        for (id, answer) in answers {
            if let Err(error) = answer {
                unrecorded.push(id);
                failure = Some(error);
            }
        }
        self.release(state, &rest).await;
        self.release(state, &unrecorded).await;
        match failure {
            None => Ok(()),
            Some(error) => Err((unrecorded, error)),
        }
    }
}

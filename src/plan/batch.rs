//! Planning a batch of events: the fewest Wazzup calls that respect its limits.
//!
//! - Coalesce by id, the newest event wins (by its source time; of events equally new, the
//!   last), so the same id never appears twice in one request (Wazzup answers 500 to that).
//! - Deletions go first: they free room under the 1,000-user limit and release phone numbers
//!   that an upsert in the same batch may take over.
//! - One deletion is a `DELETE /v3/users/{id}`; several go through `bulk_delete`, at most
//!   [`MAX_PER_REQUEST`] ids a call. Upserts are sent at most [`MAX_PER_REQUEST`] a call.

use std::collections::HashMap;

use crate::domain::{IndexedEvent, SyncEvent, User, UserId};
use crate::wazzup::MAX_PER_REQUEST;

/// An event dropped because a later event for the same id replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superseded {
    pub index: usize,
    pub id: UserId,
    pub by_index: usize,
}

/// The calls to make, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Ids to delete, each once.
    pub deletes: Vec<UserId>,
    /// Those of `deletes` that left the seat rules ([`SyncEvent::Unseat`]).
    pub unseated: Vec<UserId>,
    /// Users to create or update, each id once.
    pub upserts: Vec<User>,
    /// Events that were coalesced away.
    pub superseded: Vec<Superseded>,
}

/// One Wazzup call of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    DeleteOne(&'a UserId),
    BulkDelete(&'a [UserId]),
    Upsert(&'a [User]),
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.deletes.is_empty() && self.upserts.is_empty()
    }

    /// The calls to make, deletions first.
    pub fn steps(&self) -> Vec<Step<'_>> {
        let mut steps = Vec::new();
        match self.deletes.as_slice() {
            [] => {}
            [one] => steps.push(Step::DeleteOne(one)),
            many => steps.extend(many.chunks(MAX_PER_REQUEST).map(Step::BulkDelete)),
        }
        steps.extend(self.upserts.chunks(MAX_PER_REQUEST).map(Step::Upsert));
        steps
    }
}

/// Builds the plan for a request's valid events.
pub fn plan(events: Vec<IndexedEvent>) -> Plan {
    // For each id, the newest event wins (an event without a time is older than one with);
    // the order of ids is that of their first appearance, so the plan is deterministic and
    // follows the caller's order.
    let mut order: Vec<UserId> = Vec::new();
    let mut last: HashMap<UserId, IndexedEvent> = HashMap::new();
    let mut superseded = Vec::new();
    for event in events {
        let id = event.event.id().clone();
        match last.get(&id) {
            Some(previous) if event.at < previous.at => {
                superseded.push(Superseded {
                    index: event.index,
                    id,
                    by_index: previous.index,
                });
                continue;
            }
            Some(previous) => superseded.push(Superseded {
                index: previous.index,
                id: id.clone(),
                by_index: event.index,
            }),
            None => order.push(id.clone()),
        }
        last.insert(id, event);
    }

    let mut plan = Plan {
        superseded,
        ..Plan::default()
    };
    for id in order {
        match last.remove(&id).map(|e| e.event) {
            Some(SyncEvent::Upsert(user)) => plan.upserts.push(user),
            Some(SyncEvent::Delete(id)) => plan.deletes.push(id),
            Some(SyncEvent::Unseat(id)) => {
                plan.unseated.push(id.clone());
                plan.deletes.push(id);
            }
            None => {}
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserName;

    fn upsert(index: usize, id: &str, name: &str) -> IndexedEvent {
        IndexedEvent {
            index,
            at: None,
            event: SyncEvent::Upsert(User {
                id: UserId::parse(id).unwrap(),
                name: UserName::parse(name).unwrap(),
                phone: None,
            }),
        }
    }

    fn delete(index: usize, id: &str) -> IndexedEvent {
        IndexedEvent {
            index,
            at: None,
            event: SyncEvent::Delete(UserId::parse(id).unwrap()),
        }
    }

    #[test]
    fn the_last_event_for_an_id_wins() {
        let plan = plan(vec![
            upsert(0, "a", "First"),
            upsert(1, "b", "B"),
            upsert(2, "a", "Second"),
            delete(3, "b"),
            delete(4, "c"),
            upsert(5, "c", "C again"),
        ]);
        let names: Vec<_> = plan
            .upserts
            .iter()
            .map(|u| (u.id.as_str(), u.name.as_str()))
            .collect();
        assert_eq!(names, [("a", "Second"), ("c", "C again")]);
        assert_eq!(plan.deletes, [UserId::parse("b").unwrap()]);
        let superseded: Vec<_> = plan
            .superseded
            .iter()
            .map(|s| (s.index, s.id.as_str(), s.by_index))
            .collect();
        assert_eq!(superseded, [(0, "a", 2), (1, "b", 3), (4, "c", 5)]);
    }

    #[test]
    fn of_an_ids_events_the_newest_wins_whatever_their_order() {
        let at = |event: IndexedEvent, seconds: i64| IndexedEvent {
            at: Some(crate::domain::SourceTime::from_unix_seconds(seconds)),
            ..event
        };
        let plan = plan(vec![
            at(delete(0, "a"), 20),
            at(upsert(1, "a", "Older"), 10),
        ]);
        assert_eq!(plan.deletes, [UserId::parse("a").unwrap()]);
        assert!(plan.upserts.is_empty());
        assert_eq!(
            plan.superseded,
            [Superseded {
                index: 1,
                id: UserId::parse("a").unwrap(),
                by_index: 0
            }]
        );
    }

    #[test]
    fn one_deletion_is_a_single_delete_and_many_go_in_bulk_chunks_of_100() {
        let one = plan(vec![delete(0, "x")]);
        assert!(matches!(one.steps().as_slice(), [Step::DeleteOne(id)] if id.as_str() == "x"));

        let many = plan((0..250).map(|i| delete(i, &format!("d{i}"))).collect());
        let sizes: Vec<_> = many
            .steps()
            .iter()
            .map(|s| match s {
                Step::BulkDelete(ids) => ids.len(),
                other => panic!("unexpected step {other:?}"),
            })
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
    }

    #[test]
    fn upserts_are_chunked_by_100_after_the_deletions_and_never_repeat_an_id() {
        let mut events: Vec<_> = (0..205).map(|i| upsert(i, &format!("u{i}"), "N")).collect();
        events.push(upsert(205, "u0", "Renamed"));
        events.push(delete(206, "gone"));
        let plan = plan(events);
        let steps = plan.steps();
        assert!(matches!(steps[0], Step::DeleteOne(_)));
        let sizes: Vec<_> = steps[1..]
            .iter()
            .map(|s| match s {
                Step::Upsert(users) => users.len(),
                other => panic!("unexpected step {other:?}"),
            })
            .collect();
        assert_eq!(sizes, [100, 100, 5]);
        let mut ids: Vec<_> = plan.upserts.iter().map(|u| u.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 205);
        assert_eq!(plan.upserts[0].name.as_str(), "Renamed");
    }

    #[test]
    fn an_empty_input_plans_nothing() {
        let plan = plan(vec![]);
        assert!(plan.is_empty());
        assert!(plan.steps().is_empty());
    }
}

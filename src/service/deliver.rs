//! Applying changes the queue delivers (the worker's job): each with the time its source made
//! it, in order per employee, older ones than what was applied dropped; the report says, per
//! employee, whether the work must be done again (a transient failure) or is done (applied,
//! stale, or refused for good by Wazzup).

use tokio::time::Instant;

use super::SyncService;
use super::report::{BatchOutcome, BatchReport};
use super::session::Quiet;
use crate::domain::{Change, IndexedEvent, Summary};

impl SyncService {
    /// Applies `changes`, delivered in this order, within `deadline`.
    pub async fn deliver(&self, changes: &[Change], deadline: Option<Instant>) -> BatchReport {
        let mut session = match self.session(deadline).await {
            Ok(session) => session,
            Err(error) => {
                return BatchReport {
                    summary: Summary {
                        not_applied: changes.iter().map(|c| c.id().to_string()).collect(),
                        ..Summary::default()
                    },
                    stale: 0,
                    outcome: BatchOutcome::Failed(error.into()),
                    seats_left: None,
                };
            }
        };
        session.sources = (changes.iter())
            .filter_map(|change| Some((change.id().clone(), change.source.clone()?)))
            .collect();
        let events = changes
            .iter()
            .enumerate()
            .map(|(index, change)| IndexedEvent {
                index,
                event: change.event.clone(),
                at: Some(change.at),
            })
            .collect();
        session
            .apply_in_order(events, Summary::default(), &mut Quiet)
            .await
    }
}

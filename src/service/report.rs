//! What applying a batch did: the plain report the entry points render (an HTTP answer, the
//! worker's batch item failures, a log line).

use super::error::ApplyError;
use crate::domain::Summary;
use crate::metrics::{Outcome, Ownership};

/// How a batch ended.
#[derive(Debug)]
pub enum BatchOutcome {
    /// No valid event was left: nothing was sent.
    NothingValid,
    /// Every call was made; `summary` says what Wazzup did and refused.
    Applied,
    /// A call failed; `summary.not_applied` lists what is still to do.
    Failed(ApplyError),
}

/// What a batch did.
#[derive(Debug)]
pub struct BatchReport {
    pub summary: Summary,
    /// Events dropped because a newer change of their employee was already applied.
    pub stale: usize,
    pub outcome: BatchOutcome,
    /// Seats left in the Wazzup account after the batch's hires, when they were counted.
    pub seats_left: Option<usize>,
}

impl BatchReport {
    /// How many existing Wazzup users the batch took over (`ADOPTED`).
    pub fn adopted(&self) -> usize {
        self.warned("ADOPTED")
    }

    /// How many dismissals could not be done because this deployment does not own the user,
    /// or found no user while the account holds users nobody owns: access that may remain.
    pub fn unowned_dismissals(&self) -> usize {
        self.warned("NOT_FOUND_UNOWNED")
            + (self.summary.rejected.iter())
                .filter(|r| r.reason == "UNOWNED_USER")
                .count()
    }

    /// What the batch did to whose users, for the metrics.
    pub fn ownership(&self) -> Ownership {
        Ownership {
            adopted: self.adopted(),
            unowned_dismissals: self.unowned_dismissals(),
            seats_left: self.seats_left,
        }
    }

    /// What the batch came to, for the metrics.
    pub fn metrics(&self) -> Outcome {
        Outcome {
            applied: self.summary.applied(),
            refused: self.summary.rejected.len(),
            stale: self.stale,
            ownership: self.ownership(),
        }
    }

    fn warned(&self, code: &str) -> usize {
        self.summary
            .warnings
            .iter()
            .filter(|w| w.code == code)
            .count()
    }

    /// Whether the work for `id` must be done again later (a transient failure).
    pub fn must_retry(&self, id: &str) -> bool {
        matches!(&self.outcome, BatchOutcome::Failed(error) if error.is_transient())
            && self.summary.not_applied.iter().any(|pending| pending == id)
    }
}

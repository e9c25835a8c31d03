//! What applying a batch did: the plain report the entry points render (an HTTP answer, the
//! worker's batch item failures, a log line).

use super::error::ApplyError;
use crate::domain::Summary;

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
}

impl BatchReport {
    /// Whether the work for `id` must be done again later (a transient failure).
    pub fn must_retry(&self, id: &str) -> bool {
        matches!(&self.outcome, BatchOutcome::Failed(error) if error.is_transient())
            && self.summary.not_applied.iter().any(|pending| pending == id)
    }
}

//! Why the service's work with Wazzup stopped, and whether trying again can help.

use super::ports::StoreError;
use crate::credentials::SecretError;
use crate::wazzup::WazzupError;

/// Why applying stopped before the end of the plan.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Wazzup(#[from] WazzupError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The record of applied changes could not be read or written.
    #[error(transparent)]
    State(#[from] StoreError),
}

impl ApplyError {
    /// True when the same work may succeed later without any change (a retry is worth it):
    /// Wazzup or AWS unavailable, and a refused API key, which an operator can fix.
    pub fn is_transient(&self) -> bool {
        match self {
            ApplyError::Wazzup(error) => {
                error.is_transient()
                    || matches!(
                        error,
                        WazzupError::Unauthorized | WazzupError::Forbidden { .. }
                    )
            }
            ApplyError::Secret(_) | ApplyError::State(_) => true,
        }
    }
}

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
    /// Other requests were applying changes to some of the employees for all of the wait.
    #[error("another request is applying a change to {count} of these employees now")]
    Busy { count: usize },
    /// The Wazzup user that has a hire's phone was not found in the request's time.
    #[error("the Wazzup user that has a hire's phone was not found in the time there was")]
    HolderUnknown,
}

impl ApplyError {
    /// True unless Wazzup refused the data itself: the same work may succeed later (Wazzup or
    /// AWS unavailable, a refused API key an operator can fix, another request holding the
    /// employee) or it cannot be told to have failed for good (an answer this client does not
    /// know). Such work is kept: answered with a retry, or retried by the queue until it is
    /// dead-lettered for an operator.
    pub fn is_transient(&self) -> bool {
        !self.refuses_the_data()
    }

    /// The stable code used in answers and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ApplyError::Wazzup(error) => error.code(),
            ApplyError::Secret(_) => "SECRETS_UNAVAILABLE",
            ApplyError::State(_) => "STATE_UNAVAILABLE",
            ApplyError::Busy { .. } => "EMPLOYEE_BUSY",
            ApplyError::HolderUnknown => "PHONE_HOLDER_UNKNOWN",
        }
    }

    /// The call got no answer, or a 5xx: Wazzup may have applied it, or still apply it later.
    pub fn may_still_land(&self) -> bool {
        matches!(
            self,
            ApplyError::Wazzup(WazzupError::Transport(_) | WazzupError::Server { .. })
        )
    }

    /// An answer the documentation does not list, in the 4xx range: about this call, not about
    /// Wazzup's health, so the following calls are still made (this one is kept for a retry).
    pub fn concerns_the_call(&self) -> bool {
        matches!(
            self,
            ApplyError::Wazzup(WazzupError::Unexpected {
                status: 400..=499,
                ..
            })
        )
    }

    /// Wazzup refused the call for its data, as documented (or this client did, before
    /// sending): the same call would be refused again, so its users are refused and the rest
    /// of the work goes on.
    pub fn refuses_the_data(&self) -> bool {
        matches!(
            self,
            ApplyError::Wazzup(
                WazzupError::UserLimitExceeded { .. }
                    | WazzupError::TooManyEntities { .. }
                    | WazzupError::InvalidRequest(_)
                    | WazzupError::InvalidUsersData { .. }
                    | WazzupError::DuplicatePhoneNumber { .. }
            )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_documented_refusals_of_the_data_are_final() {
        let final_ones = [
            WazzupError::UserLimitExceeded { limit: 2 },
            WazzupError::TooManyEntities {
                count: 101,
                limit: 100,
            },
            WazzupError::InvalidRequest("bad id".into()),
        ];
        for error in final_ones {
            assert!(!ApplyError::from(error).is_transient());
        }
        let kept = [
            WazzupError::Unauthorized,
            WazzupError::RateLimited,
            WazzupError::NotFound,
            WazzupError::Decode("not JSON".into()),
            WazzupError::Unexpected {
                status: 409,
                code: "CONFLICT".into(),
                description: String::new(),
            },
        ];
        for error in kept {
            assert!(ApplyError::from(error).is_transient());
        }
        assert!(ApplyError::Busy { count: 1 }.is_transient());
        assert!(ApplyError::HolderUnknown.is_transient());
    }
}

//! The application service: every write to Wazzup goes through here. The entry points (HTTP,
//! scheduled, CLI) hand it what their callers asked for: a batch of events to apply
//! ([`batch`]), a complete roster to reconcile ([`full_sync`]), or, through a [`Session`], the
//! single-user reads and writes of SCIM. It plans with [`crate::plan`] and calls Wazzup
//! through [`crate::wazzup`]; it returns plain reports and knows nothing of how they are shown.

mod account;
mod batch;
mod deliver;
mod dismissal;
mod employees;
mod enqueue;
mod error;
mod full_sync;
mod lease;
mod message;
mod ordered;
mod ownership;
mod ports;
mod report;
mod seats;
mod seen;
mod session;
mod takeover;
mod upsert;

pub use batch::{MAX_CLOCK_AHEAD_MS, timed};
pub use enqueue::{EnqueueOutcome, EnqueueReport, change_key};
pub use error::ApplyError;
pub use full_sync::{FullSyncError, FullSyncReport, FullSyncRequest};
pub use ports::{
    Applied, ChangeQueue, Claim, Ownerships, QueueError, Records, Redelivery, Sight, StateStore,
    StoreError, linked_elsewhere,
};
pub use report::{BatchOutcome, BatchReport};
pub use session::{Progress, Quiet, Session};

use std::sync::Arc;

use tokio::time::Instant;

use crate::config::SyncSettings;
use crate::credentials::{CredentialProvider, Credentials, SecretError};
use crate::domain::PhoneRegion;
use crate::wazzup::WazzupClient;

/// The time kept at the end of a request for recording what reached Wazzup.
pub const RECORD_RESERVE: std::time::Duration = std::time::Duration::from_secs(1);

/// What the service needs to know of the deployment.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// The region for phone numbers written without a country code.
    pub phone_region: PhoneRegion,
    /// Which users deletions reach beyond those the deployment owns, and the full sync's
    /// fences.
    pub sync: SyncSettings,
    /// A hire refused for a phone that a Wazzup user nobody owns has takes that user over.
    pub adopt_on_conflict: bool,
    /// How long a source's message is remembered, so that a retry of it is known (days).
    pub message_days: u32,
}

/// The service: the Wazzup client and the credentials, built once per container.
pub struct SyncService {
    wazzup: WazzupClient,
    credentials: Arc<dyn CredentialProvider>,
    settings: ServiceSettings,
    /// The newest change applied per employee; `None`: no record is kept.
    state: Option<Arc<dyn StateStore>>,
    /// Where accepted changes wait for the worker; `None`: they are applied at once.
    queue: Option<Arc<dyn ChangeQueue>>,
}

impl SyncService {
    pub fn new(
        wazzup: WazzupClient,
        credentials: Arc<dyn CredentialProvider>,
        settings: ServiceSettings,
    ) -> Self {
        Self {
            wazzup,
            credentials,
            settings,
            state: None,
            queue: None,
        }
    }

    /// Keeps the newest change applied per employee in `state`, so that no path undoes a newer
    /// change of another.
    pub fn with_state(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = Some(state);
        self
    }

    /// Sends accepted changes to `queue`, for the worker to apply.
    pub fn with_queue(mut self, queue: Arc<dyn ChangeQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Whether accepted changes are queued (rather than applied at once).
    pub fn is_queued(&self) -> bool {
        self.queue.is_some()
    }

    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// Where the credentials come from (the entry points authenticate callers with them).
    pub fn credentials(&self) -> &dyn CredentialProvider {
        self.credentials.as_ref()
    }

    /// A session with the credentials as they are now.
    pub async fn session(&self, deadline: Option<Instant>) -> Result<Session<'_>, SecretError> {
        let credentials = self.credentials.current().await?;
        Ok(self.session_with(credentials, deadline))
    }

    /// A session with credentials the caller already holds. With a state store, the calls to
    /// Wazzup end [`RECORD_RESERVE`] before `deadline`, so that what they applied is recorded.
    pub fn session_with(
        &self,
        credentials: Arc<Credentials>,
        deadline: Option<Instant>,
    ) -> Session<'_> {
        let deadline = match self.state {
            Some(_) => deadline.map(|d| d.checked_sub(RECORD_RESERVE).unwrap_or(d)),
            None => deadline,
        };
        Session::new(
            &self.wazzup,
            self.credentials.as_ref(),
            (&self.settings.sync.scope, self.settings.adopt_on_conflict),
            self.state.as_deref(),
            credentials,
            deadline,
        )
    }
}

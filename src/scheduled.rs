//! The scheduled full sync, an entry point: an EventBridge Scheduler rule invokes the function
//! (in its scheduled mode, `WAZZUP_FUNCTION_MODE=scheduled`) with `{"crm": "pipedrive",
//! "dryRun": false, "forceDeletes": false, "resend": false, "adopt": false}`; the named source's users API is
//! read, its active users seated by the source's seat rules (`SEAT_RULES`), and the service
//! reconciles Wazzup with them, fenced like `POST /sync`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::credentials::{CredentialProvider, SecretError};
use crate::domain::{SeatPolicy, SourceTime};
use crate::service::{FullSyncError, FullSyncRequest, SyncService};
use crate::sources::contract::DirectoryError;
use crate::sources::registry;
use crate::sources::seats;
use crate::sources::users_api::http_client;

/// The scheduler's input.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledSync {
    /// The source whose users are read, by its name in the registry (`pipedrive`, `bitrix24`);
    /// another name is refused as the input is read.
    #[serde(deserialize_with = "readable_source")]
    pub crm: String,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub force_deletes: bool,
    /// Re-send unchanged employees too (a changed phone alone is not seen otherwise).
    #[serde(default)]
    pub resend: bool,
    /// Take over the existing Wazzup users the plan matches to employees.
    #[serde(default)]
    pub adopt: bool,
}

/// The registry's own name of the source `crm` (a `'static` one, for the ownership records).
fn directory_name(crm: &str) -> &'static str {
    registry::by_name(crm).map_or("sync", |source| source.name())
}

/// The names of the sources whose users can be read.
fn readable_sources() -> Vec<&'static str> {
    registry::SOURCES
        .iter()
        .filter(|s| s.directory().is_some())
        .map(|s| s.name())
        .collect()
}

fn readable_source<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    match registry::by_name(&name).and_then(|source| source.directory()) {
        Some(_) => Ok(name),
        None => Err(serde::de::Error::custom(format!(
            "\"{name}\" is not a source whose users can be read; those that can are: {}",
            readable_sources().join(", ")
        ))),
    }
}

/// Why a scheduled run failed (the invocation fails, so that CloudWatch alarms on errors and
/// the scheduler's retry policy apply).
#[derive(Debug, thiserror::Error)]
pub enum ScheduledError {
    #[error("{}", FullSyncError::NotEnabled)]
    NotEnabled,
    #[error("\"{0}\" is not a source whose users can be read; the sources that can are: {1}")]
    UnknownCrm(String, String),
    #[error("the credentials cannot be read: {0}")]
    Secret(#[from] SecretError),
    #[error("reading the CRM's users failed: {0}")]
    Crm(#[from] DirectoryError),
    #[error("the CRM's list has invalid employees ({0}); nothing was applied")]
    InvalidEmployees(String),
    #[error(transparent)]
    Sync(FullSyncError),
}

impl From<FullSyncError> for ScheduledError {
    fn from(error: FullSyncError) -> Self {
        match error {
            FullSyncError::NotEnabled => ScheduledError::NotEnabled,
            FullSyncError::InvalidEmployees(invalid) => ScheduledError::InvalidEmployees(
                invalid
                    .problems
                    .iter()
                    .map(|p| {
                        let rejection = p.to_rejection();
                        format!(
                            "{}: {}",
                            rejection.id.as_deref().unwrap_or("?"),
                            rejection.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => ScheduledError::Sync(other),
        }
    }
}

/// The scheduled function: the service, where the CRMs' credentials are, and an HTTP client
/// for the CRMs' APIs.
pub struct ScheduledFunction {
    service: Arc<SyncService>,
    /// The secret with the CRMs' users-API credentials, when it is not the service's own (the
    /// HTTP function, which faces the internet, then never holds them).
    crm_secrets: Option<Arc<dyn CredentialProvider>>,
    http: reqwest::Client,
    /// Who gets a seat, per source.
    seats: SeatPolicy,
}

impl ScheduledFunction {
    pub fn new(service: Arc<SyncService>) -> Result<Self, DirectoryError> {
        Ok(Self {
            service,
            crm_secrets: None,
            http: http_client()?,
            seats: SeatPolicy::default(),
        })
    }

    /// Seats each source's users by `policy` (checked against the sources beforehand).
    pub fn with_seats(mut self, policy: SeatPolicy) -> Self {
        self.seats = policy;
        self
    }

    /// Reads the CRMs' credentials from `provider` instead of the service's secret.
    pub fn with_crm_secrets(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.crm_secrets = Some(provider);
        self
    }

    /// Runs one scheduled full sync and returns its report.
    pub async fn run(
        &self,
        input: &ScheduledSync,
        deadline: Option<Instant>,
    ) -> Result<Value, ScheduledError> {
        if !self.service.full_sync_enabled() {
            return Err(ScheduledError::NotEnabled);
        }
        let rules = self.seats.rules(&input.crm);
        let directory = registry::by_name(&input.crm)
            .and_then(|source| source.directory())
            .ok_or_else(|| {
                ScheduledError::UnknownCrm(input.crm.clone(), readable_sources().join(", "))
            })?;
        let mut session = self
            .service
            .session(deadline)
            .await?
            .for_source(directory_name(&input.crm))
            .adopting_on_conflict(input.adopt);
        // The CRM's list is a snapshot as of now: the plan's changes carry this time.
        let as_of = SourceTime::now();
        let people = match &self.crm_secrets {
            Some(provider) => {
                let crm = provider.current().await?;
                directory.fetch(&crm.fields, &self.http, rules).await?
            }
            None => {
                directory
                    .fetch(&session.credentials().fields, &self.http, rules)
                    .await?
            }
        };
        let fetched = people.len();
        let seated = seats::seat(people, rules);
        let roster = self.service.roster(seated.rows.into_iter().enumerate())?;
        let request = FullSyncRequest {
            dry_run: input.dry_run,
            force_deletes: input.force_deletes,
            resend: input.resend,
            adopt: input.adopt,
            as_of: Some(as_of),
        };
        let report = self
            .service
            .full_sync(&mut session, &roster, request)
            .await?;
        report.metrics().emit("scheduled");
        tracing::info!(
            crm = %input.crm,
            fetched,
            inactive = seated.inactive,
            unseated = seated.unseated,
            dry_run = report.dry_run,
            "scheduled full sync finished"
        );
        let mut body = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
        body["crm"] = json!(input.crm);
        body["fetched"] = json!(fetched);
        body["inactive"] = json!(seated.inactive);
        body["unseated"] = json!(seated.unseated);
        Ok(body)
    }
}

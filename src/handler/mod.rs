//! The HTTP entry point: one request in (Function URL or API Gateway), one answer out. It
//! routes the request ([`routes`]), checks its method and size ([`request`]), lets the source
//! authenticate and parse it, hands the result to the service, and renders the service's
//! report as JSON ([`response`]). The workflows: a source's webhook ([`webhook`]), the full
//! sync `POST /sync` ([`full_sync`]), and a source's own protocol such as SCIM ([`protocol`]).
//!
//! | status | when |
//! |---|---|
//! | 200 | processed; the summary lists upserted, deleted, already absent, rejected, warnings |
//! | 400 | the body is not JSON or not in the source's format |
//! | 401 | missing or wrong credentials; Wazzup is not called |
//! | 404 / 405 | no such endpoint, or not enabled / another method than `POST` |
//! | 413 | the body is larger than `MAX_BODY_BYTES` |
//! | 415 | the body is not of the source's media type |
//! | 422 | nothing valid was left, or Wazzup refused the data |
//! | 503 | a retry later can succeed: Wazzup or Secrets Manager unavailable, key refused |

mod full_sync;
pub mod lambda;
mod protocol;
mod request;
mod response;
mod routes;
mod webhook;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lambda_http::{Body, Request, RequestExt, Response};
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{Config, SyncSettings};
use crate::credentials::{CredentialProvider, SecretError};
use crate::deadline::deadline_instant;
use crate::domain::{PhoneRegion, SeatPolicy};
use crate::service::{ServiceSettings, SyncService};
use crate::sources::contract::SourceSettings;
use crate::sources::registry;
use crate::wazzup::WazzupClient;
use crate::wiring::{self, StartupError};

/// Settings the handler needs on every request.
#[derive(Debug, Clone)]
pub struct Settings {
    pub allow_unauthenticated: bool,
    pub max_body_bytes: usize,
    /// The most events one request may carry.
    pub max_events: usize,
    /// How long a caller waiting for the answer lets a request work, retries included.
    pub request_budget: Duration,
    pub phone_region: PhoneRegion,
    /// Which users deletions reach, and the full sync's fences.
    pub sync: SyncSettings,
    /// A hire refused for a phone that a Wazzup user nobody owns has takes that user over.
    pub adopt_on_conflict: bool,
    /// How long a source's message is remembered, so that a retry of it is known (days).
    pub message_days: u32,
    /// Who gets a seat, per source.
    pub seats: Arc<SeatPolicy>,
}

impl From<&Config> for Settings {
    fn from(config: &Config) -> Self {
        Self {
            allow_unauthenticated: config.allow_unauthenticated,
            max_body_bytes: config.max_body_bytes,
            max_events: config.max_events,
            request_budget: config.request_budget,
            phone_region: config.phone_region,
            sync: config.sync.clone(),
            adopt_on_conflict: config.adopt_on_conflict,
            message_days: config.message_days,
            seats: Arc::new(config.seats.clone()),
        }
    }
}

/// The HTTP function: its settings and the service, built once per container and shared by
/// every request.
pub struct App {
    settings: Settings,
    service: SyncService,
}

impl App {
    pub fn new(
        settings: Settings,
        provider: Arc<dyn CredentialProvider>,
        wazzup: WazzupClient,
    ) -> Self {
        let service = SyncService::new(wazzup, provider, service_settings(&settings));
        Self { settings, service }
    }

    /// The function over a service built elsewhere (with a queue or a state store).
    pub fn with_service(settings: Settings, service: SyncService) -> Self {
        Self { settings, service }
    }

    /// Builds the function from its configuration and checks, once, that callers can be
    /// authenticated. An unreachable Secrets Manager is not fatal here: requests answer 503
    /// until it is back.
    pub async fn from_config(config: &Config) -> Result<Self, StartupError> {
        wiring::check_seats(config)?;
        let settings = Settings::from(config);
        let service = wiring::service(config, service_settings(&settings)).await?;
        let app = Self { settings, service };
        app.preflight().await?;
        Ok(app)
    }

    /// Reads the credentials once, so that a secret without any caller credential stops the
    /// function at start rather than on the first call.
    pub async fn preflight(&self) -> Result<(), StartupError> {
        match self.service.credentials().current().await {
            Ok(credentials) => {
                if registry::any_enabled(&credentials.fields) || self.settings.allow_unauthenticated
                {
                    Ok(())
                } else {
                    Err(StartupError::NoWebhookCredentials)
                }
            }
            Err(SecretError::Unavailable(reason)) => {
                tracing::warn!(%reason, "Secrets Manager unreachable at start; requests will answer 503 until it is back");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Handles one request. Never fails: every outcome is an answer.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let context = request.lambda_context_ref();
        let request_id = context
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("local-{:016x}", fastrand::u64(..)));
        let deadline_ms = context.map(|c| c.deadline);
        // The caller's patience bounds the work as much as Lambda's timeout does.
        let budget = Instant::now() + self.settings.request_budget;
        let deadline = deadline_ms
            .and_then(|ms| deadline_instant(ms, SystemTime::now()))
            .map_or(budget, |lambda| lambda.min(budget));
        let span = tracing::info_span!("request", request_id = %request_id);
        async {
            if let Some(deadline_ms) = deadline_ms {
                tracing::debug!(deadline_ms, "invocation deadline");
            }
            let response = routes::route(self, request, &request_id, Some(deadline)).await;
            // The request's one INFO line, with what a batch came to when it was one.
            let counts = response
                .extensions()
                .get::<Counts>()
                .copied()
                .unwrap_or_default();
            tracing::info!(
                status = response.status().as_u16(),
                upserted = counts.upserted,
                deleted = counts.deleted,
                already_absent = counts.already_absent,
                rejected = counts.rejected,
                stale = counts.stale,
                not_applied = counts.not_applied,
                queued = counts.queued,
                "request answered"
            );
            response
        }
        .instrument(span)
        .await
    }

    fn source_settings(&self) -> SourceSettings {
        SourceSettings {
            phone_region: self.settings.phone_region,
            allow_unauthenticated: self.settings.allow_unauthenticated,
            max_body_bytes: self.settings.max_body_bytes,
            max_events: self.settings.max_events,
            seats: Arc::clone(&self.settings.seats),
        }
    }
}

/// What a batch came to, carried from its workflow to the request's closing log line in the
/// answer's extensions (never sent to the caller). A field left out is not logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub upserted: Option<usize>,
    pub deleted: Option<usize>,
    pub already_absent: Option<usize>,
    pub rejected: Option<usize>,
    pub stale: Option<usize>,
    pub not_applied: Option<usize>,
    pub queued: Option<usize>,
}

/// What the service needs of the HTTP function's settings.
pub fn service_settings(settings: &Settings) -> ServiceSettings {
    ServiceSettings {
        phone_region: settings.phone_region,
        sync: settings.sync.clone(),
        adopt_on_conflict: settings.adopt_on_conflict,
        message_days: settings.message_days,
    }
}

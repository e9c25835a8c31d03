//! The HTTP handler: one request in, one JSON answer out.
//!
//! Order of checks: route and method, body size, credentials, authentication (on the raw bytes,
//! before any parsing), content type, body. Then plan, apply, and answer with a summary.
//! | status | when |
//! |---|---|
//! | 200 | processed; the summary lists upserted, deleted, already absent, rejected, warnings |
//! | 400 | the body is not JSON or not in the webhook format |
//! | 401 | missing or wrong credentials; Wazzup is not called |
//! | 404 / 405 | another path / another method than `POST /` |
//! | 413 | the body is larger than `MAX_BODY_BYTES` |
//! | 415 | the body is not `application/json` |
//! | 422 | nothing valid was left, or Wazzup refused the data |
//! | 503 | a retry later can succeed: Wazzup or Secrets Manager unavailable, key refused |

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{Config, SecretSource, SyncSettings};
use crate::domain::PhoneRegion;
use crate::inbound::auth::{
    AuthError, SourceAuthError, authenticate, check_basic, check_shared_secret,
};
use crate::inbound::{BodyError, Parsed, ParsedBatch, bitrix24, generic, pipedrive, scim};
use crate::outcome::{Summary, Warning, error_response, json_response, summary_body};
use crate::plan::plan;
use crate::reconcile::{
    EmployeeRow, FullPlan, FullSyncError, Policy, parse_employees, run_full_sync,
};
use crate::secrets::{
    CredentialProvider, Credentials, SecretError, SecretsManagerCredentials, StaticCredentials,
};
use crate::sync::{Applier, ApplyError};
use crate::wazzup::{ClientConfig, WazzupClient, WazzupError};

/// Time kept back from the Lambda deadline to answer the caller.
const DEADLINE_MARGIN: Duration = Duration::from_millis(750);

/// Settings the handler needs on every request.
#[derive(Debug, Clone)]
pub struct Settings {
    pub allow_unauthenticated: bool,
    pub max_body_bytes: usize,
    pub phone_region: PhoneRegion,
    /// The full sync's fences; `None` keeps `POST /sync` off.
    pub sync: Option<SyncSettings>,
}

impl From<&Config> for Settings {
    fn from(config: &Config) -> Self {
        Self {
            allow_unauthenticated: config.allow_unauthenticated,
            max_body_bytes: config.max_body_bytes,
            phone_region: config.phone_region,
            sync: config.sync.clone(),
        }
    }
}

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Wazzup(#[from] WazzupError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(
        "the secret has no caller credential (\"webhookSecret\", \"webhookToken\", \"pipedriveHttpUser\" and \
         \"pipedriveHttpPassword\", \"bitrix24ApplicationToken\" or \"scimToken\"): callers could not be \
         authenticated. Add one, or set ALLOW_UNAUTHENTICATED=true explicitly"
    )]
    NoWebhookCredentials,
}

/// The function: settings, the credential provider and the Wazzup client, built once per
/// container and shared by every request.
pub struct App {
    pub(crate) settings: Settings,
    pub(crate) provider: Arc<dyn CredentialProvider>,
    pub(crate) wazzup: WazzupClient,
}

impl App {
    pub fn new(
        settings: Settings,
        provider: Arc<dyn CredentialProvider>,
        wazzup: WazzupClient,
    ) -> Self {
        Self {
            settings,
            provider,
            wazzup,
        }
    }

    /// Builds the function from its configuration and checks, once, that callers can be
    /// authenticated. An unreachable Secrets Manager is not fatal here: requests answer 503
    /// until it is back.
    pub async fn from_config(config: &Config) -> Result<Self, StartupError> {
        let app = Self::build(config).await?;
        app.preflight().await?;
        Ok(app)
    }

    /// Builds the function without checking the callers' credentials: for the scheduled
    /// mode, which serves no HTTP.
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let mut client_config = ClientConfig::new(config.wazzup_api_url.clone());
        client_config.request_timeout = config.wazzup_timeout;
        let wazzup = WazzupClient::new(client_config)?;
        let provider: Arc<dyn CredentialProvider> = match &config.secret_source {
            SecretSource::Environment(credentials) => {
                Arc::new(StaticCredentials::new(credentials.clone()))
            }
            SecretSource::SecretsManager { secret_id, ttl } => {
                let client = SecretsManagerCredentials::client_from_environment().await;
                Arc::new(SecretsManagerCredentials::new(
                    client,
                    secret_id.clone(),
                    *ttl,
                ))
            }
        };
        Ok(Self::new(Settings::from(config), provider, wazzup))
    }

    /// Reads the credentials once, so that a secret without webhook credentials stops the
    /// function at start rather than on the first call.
    pub async fn preflight(&self) -> Result<(), StartupError> {
        match self.provider.current().await {
            Ok(credentials) => {
                if credentials.any_inbound_configured() || self.settings.allow_unauthenticated {
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

    /// Handles one request. Never fails: every outcome is a JSON answer.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let context = request.lambda_context_ref();
        let request_id = context
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("local-{:016x}", fastrand::u64(..)));
        let deadline = context.and_then(|c| deadline_instant(c.deadline, SystemTime::now()));
        let span = tracing::info_span!("request", request_id = %request_id);
        async {
            if let Some(context) = context {
                tracing::debug!(deadline_ms = context.deadline, "invocation deadline");
            }
            let response = self.route(&request, &request_id, deadline).await;
            tracing::info!(status = response.status().as_u16(), "request answered");
            response
        }
        .instrument(span)
        .await
    }

    async fn route(
        &self,
        request: &Request,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> Response<Body> {
        let raw_path = request.raw_http_path();
        let path = if raw_path.is_empty() {
            request.uri().path()
        } else {
            raw_path
        };
        let source = match path.trim_end_matches('/') {
            "" => Source::Generic,
            "/pipedrive" => Source::Pipedrive,
            "/bitrix24" => Source::Bitrix24,
            "/sync" => return self.full_sync(request, request_id, deadline).await,
            scim if scim == "/scim/v2" || scim.starts_with("/scim/v2/") => {
                let sub_path = &scim["/scim/v2".len()..];
                return self.scim(request, sub_path, request_id, deadline).await;
            }
            _ => {
                return error_response(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    format!(
                        "no endpoint at {path}; the endpoints are POST /, POST /pipedrive, \
                         POST /bitrix24, POST /sync and /scim/v2"
                    ),
                    None,
                );
            }
        };
        let body = match self.post_body(request) {
            Ok(body) => body,
            Err(response) => return response,
        };
        let credentials = match self.credentials().await {
            Ok(credentials) => credentials,
            Err(response) => return response,
        };

        let parsed = match source {
            Source::Generic => self.generic(request, body, &credentials),
            Source::Pipedrive => {
                match check_basic(credentials.sources.pipedrive.as_ref(), request.headers()) {
                    Ok(()) => parse_json_body(request, |body| {
                        pipedrive::parse(body, self.settings.phone_region)
                    }),
                    Err(error) => Err(source_auth_failure(error, "Basic realm=\"pipedrive\"")),
                }
            }
            Source::Bitrix24 => {
                if !is_form(request.headers()) {
                    Err(error_response(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "UNSUPPORTED_MEDIA_TYPE",
                        "Bitrix24 events are application/x-www-form-urlencoded",
                        None,
                    ))
                } else {
                    let form = bitrix24::Form::parse(body);
                    match check_shared_secret(
                        credentials.sources.bitrix24_token.as_ref(),
                        form.application_token(),
                    ) {
                        Ok(()) => form
                            .into_events(self.settings.phone_region)
                            .map_err(body_error_response),
                        Err(error) => Err(source_auth_failure(error, "Bearer")),
                    }
                }
            }
        };
        match parsed {
            Ok(Parsed::Batch(batch)) => {
                self.apply_batch(batch, credentials, request_id, deadline)
                    .await
            }
            Ok(Parsed::Ignored(reason)) => {
                tracing::info!(%reason, "event ignored");
                json_response(
                    StatusCode::OK,
                    &json!({"status": "ignored", "reason": reason, "requestId": request_id}),
                )
            }
            Err(response) => response,
        }
    }

    /// The body of a `POST` within the size limit, or the 405 or 413 to answer.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the early answer itself, built once per request"
    )]
    fn post_body<'r>(&self, request: &'r Request) -> Result<&'r [u8], Response<Body>> {
        if request.method() != Method::POST {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{} is not allowed here; use POST", request.method()),
                None,
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return Err(response);
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > self.settings.max_body_bytes {
            return Err(error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!(
                    "the body is {} bytes; at most {} are accepted, so split it",
                    body.len(),
                    self.settings.max_body_bytes
                ),
                None,
            ));
        }
        Ok(body)
    }

    /// The credentials now, or the 503 to answer when they cannot be read.
    async fn credentials(&self) -> Result<Arc<Credentials>, Response<Body>> {
        self.provider.current().await.map_err(|error| {
            tracing::error!(%error, "credentials unavailable");
            retry_later(
                "SECRETS_UNAVAILABLE",
                format!(
                    "the function's credentials cannot be read now ({error}); nothing was sent to Wazzup, retry later"
                ),
                None,
            )
        })
    }

    /// The generic webhook: Standard Webhooks or bearer authentication, then the JSON format.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the early answer itself, built once per request"
    )]
    fn generic(
        &self,
        request: &Request,
        body: &[u8],
        credentials: &Credentials,
    ) -> Result<Parsed, Response<Body>> {
        self.generic_auth(request, body, credentials)?;
        parse_json_body(request, |body| {
            generic::parse(body, self.settings.phone_region).map(Parsed::Batch)
        })
    }

    /// Standard Webhooks or bearer authentication, as for the generic webhook.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the early answer itself, built once per request"
    )]
    fn generic_auth(
        &self,
        request: &Request,
        body: &[u8],
        credentials: &Credentials,
    ) -> Result<(), Response<Body>> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        match authenticate(
            &credentials.webhook,
            self.settings.allow_unauthenticated,
            request.headers(),
            body,
            now,
        ) {
            Ok(method) => {
                tracing::debug!(auth = method.as_str(), "authenticated");
                Ok(())
            }
            Err(AuthError::NotConfigured) => {
                tracing::warn!("generic webhook called, but it has no credentials configured");
                Err(source_auth_failure(
                    SourceAuthError::NotConfigured,
                    "Bearer",
                ))
            }
            Err(error) => {
                tracing::warn!(reason = %error, "request not authenticated");
                let mut response = error_response(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    error.to_string(),
                    None,
                );
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                Err(response)
            }
        }
    }

    /// `POST /sync`: a full sync of the complete employee list in the body, authenticated like
    /// the generic webhook. `{"employees": [...], "dryRun": true}` plans and changes nothing.
    async fn full_sync(
        &self,
        request: &Request,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> Response<Body> {
        let body = match self.post_body(request) {
            Ok(body) => body,
            Err(response) => return response,
        };
        let credentials = match self.credentials().await {
            Ok(credentials) => credentials,
            Err(response) => return response,
        };
        if let Err(response) = self.generic_auth(request, body, &credentials) {
            return response;
        }
        let Some(sync) = &self.settings.sync else {
            return error_response(
                StatusCode::NOT_FOUND,
                "SYNC_NOT_ENABLED",
                "the full sync is off: set SYNC_ID_PREFIX (the ids it manages) or SYNC_MANAGE_ALL=true",
                None,
            );
        };
        if !is_json(request.headers()) {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "the body must be JSON, sent with Content-Type: application/json",
                None,
            );
        }
        let sync_request: SyncRequest = match serde_json::from_slice(body) {
            Ok(parsed) => parsed,
            Err(error) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "MALFORMED_BODY",
                    format!(
                        "expected {{\"employees\": [{{\"id\", \"name\", \"phone\"}}], \"dryRun\": bool}}: {error}"
                    ),
                    None,
                );
            }
        };
        let (employees, warnings) = match parse_employees(
            sync_request.employees,
            self.settings.phone_region,
        ) {
            Ok(parsed) => parsed,
            Err(rejected) => {
                return error_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "INVALID_EMPLOYEES",
                    "the list has invalid employees; nothing was applied, since an employee left \
                         out of a full sync would be deleted",
                    Some(json!({ "rejected": rejected, "requestId": request_id })),
                );
            }
        };
        let mut policy = Policy::new(sync.scope.clone());
        policy.max_delete_share = sync.max_delete_share;
        policy.force_deletes = sync_request.force_deletes;
        policy.force_resend = sync_request.resend;
        let mut applier = Applier::new(&self.wazzup, self.provider.as_ref(), credentials, deadline);
        match run_full_sync(&mut applier, &employees, &policy, sync_request.dry_run).await {
            Ok(outcome) => {
                let status = if outcome.dry_run {
                    "planned"
                } else if outcome.plan.is_noop() {
                    "unchanged"
                } else {
                    "applied"
                };
                let mut body = full_sync_body(&outcome.plan, &outcome.summary, request_id);
                body["status"] = json!(status);
                body["dryRun"] = json!(outcome.dry_run);
                body["warnings"] = json!(warnings);
                json_response(StatusCode::OK, &body)
            }
            Err(FullSyncError::Plan(error)) => error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "SYNC_REFUSED",
                format!("{error}; nothing was applied"),
                Some(json!({ "requestId": request_id })),
            ),
            Err(FullSyncError::List(error)) => {
                apply_failure(&error, &Summary::default(), request_id)
            }
            Err(FullSyncError::Apply {
                plan,
                summary,
                error,
            }) => {
                let mut response = apply_failure(&error, &summary, request_id);
                if let Body::Text(text) = response.body()
                    && let Ok(mut value) = serde_json::from_str::<Value>(text)
                {
                    value["plan"] = full_sync_body(&plan, &summary, request_id)["plan"].clone();
                    *response.body_mut() = Body::Text(value.to_string());
                }
                response
            }
        }
    }

    /// Plans and applies a parsed batch, and answers with its summary.
    async fn apply_batch(
        &self,
        batch: ParsedBatch,
        credentials: Arc<Credentials>,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> Response<Body> {
        let mut summary = Summary {
            rejected: batch.rejected,
            warnings: batch.warnings,
            ..Summary::default()
        };
        for rejection in &summary.rejected {
            tracing::warn!(index = rejection.index, user_id = rejection.id.as_deref().unwrap_or("-"), reason = %rejection.reason, "event rejected");
        }
        let plan = plan(batch.events);
        summary
            .warnings
            .extend(plan.superseded.iter().map(|s| Warning {
                index: Some(s.index),
                id: Some(s.id.to_string()),
                code: "SUPERSEDED".into(),
                message: format!(
                    "a later event for the same id (index {}) replaced this one",
                    s.by_index
                ),
            }));
        if plan.is_empty() {
            return error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "NO_VALID_EVENTS",
                "no valid event was left to apply; see \"rejected\"",
                Some(summary_body(&summary, "rejected", request_id)),
            );
        }

        let mut applier = Applier::new(&self.wazzup, self.provider.as_ref(), credentials, deadline);
        let result = applier.apply(&plan, &mut summary).await;
        tracing::info!(
            upserted = summary.upserted.len(),
            deleted = summary.deleted.len(),
            already_absent = summary.already_absent.len(),
            rejected = summary.rejected.len(),
            not_applied = summary.not_applied.len(),
            "batch applied"
        );
        match result {
            Ok(()) if summary.applied() == 0 => error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "WAZZUP_REFUSED",
                "Wazzup refused every employee in the request; see \"rejected\"",
                Some(summary_body(&summary, "rejected", request_id)),
            ),
            Ok(()) => {
                let word = if summary.rejected.is_empty() {
                    "ok"
                } else {
                    "partial"
                };
                json_response(StatusCode::OK, &summary_body(&summary, word, request_id))
            }
            Err(error) => apply_failure(&error, &summary, request_id),
        }
    }

    /// The SCIM 2.0 service provider under `/scim/v2`.
    async fn scim(
        &self,
        request: &Request,
        sub_path: &str,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> Response<Body> {
        let credentials = match self.provider.current().await {
            Ok(credentials) => credentials,
            Err(error) => {
                tracing::error!(%error, "credentials unavailable");
                return scim::error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    &format!(
                        "the function's credentials cannot be read now ({error}); retry later"
                    ),
                );
            }
        };
        let token = credentials.sources.scim_token.clone();
        let mut applier = Applier::new(&self.wazzup, self.provider.as_ref(), credentials, deadline);
        let settings = scim::Settings {
            phone_region: self.settings.phone_region,
            max_body_bytes: self.settings.max_body_bytes,
        };
        tracing::debug!(request_id, "SCIM request");
        scim::handle(request, sub_path, token.as_ref(), &mut applier, &settings).await
    }
}

/// The body of `POST /sync`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncRequest {
    employees: Vec<EmployeeRow>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    force_deletes: bool,
    /// Re-send unchanged employees too (Wazzup's list has no phones, so a changed phone alone
    /// is not seen).
    #[serde(default)]
    resend: bool,
}

/// A full sync's plan and what was applied, for the answer.
fn full_sync_body(plan: &FullPlan, summary: &Summary, request_id: &str) -> Value {
    let ids =
        |users: &[crate::domain::User]| users.iter().map(|u| u.id.to_string()).collect::<Vec<_>>();
    json!({
        "requestId": request_id,
        "plan": {
            "create": ids(&plan.create),
            "update": ids(&plan.update),
            "delete": plan.delete.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
            "unchanged": plan.unchanged.len(),
            "unmanaged": plan.unmanaged,
        },
        "applied": {
            "upserted": summary.upserted,
            "deleted": summary.deleted,
            "alreadyAbsent": summary.already_absent,
            "rejected": summary.rejected,
        },
    })
}

/// The inbound formats served over `POST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Generic,
    Pipedrive,
    Bitrix24,
}

/// 404 for a source that is not enabled, 401 for missing or wrong credentials.
fn source_auth_failure(error: SourceAuthError, challenge: &'static str) -> Response<Body> {
    match error {
        SourceAuthError::NotConfigured => error_response(
            StatusCode::NOT_FOUND,
            "SOURCE_NOT_ENABLED",
            "this endpoint is not enabled: its credential is not configured in the secret",
            None,
        ),
        SourceAuthError::Missing | SourceAuthError::Wrong => {
            tracing::warn!(reason = %error, "request not authenticated");
            let mut response = error_response(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                error.to_string(),
                None,
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            response
        }
    }
}

/// Checks the JSON content type, then parses the body with `parse`.
#[expect(
    clippy::result_large_err,
    reason = "the error is the early answer itself, built once per request"
)]
fn parse_json_body(
    request: &Request,
    parse: impl FnOnce(&[u8]) -> Result<Parsed, BodyError>,
) -> Result<Parsed, Response<Body>> {
    if !is_json(request.headers()) {
        return Err(error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "the body must be JSON, sent with Content-Type: application/json",
            None,
        ));
    }
    parse(request.body().as_ref()).map_err(body_error_response)
}

fn body_error_response(error: BodyError) -> Response<Body> {
    match error {
        BodyError::EmptyBatch => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NO_VALID_EVENTS",
            BodyError::EmptyBatch.to_string(),
            None,
        ),
        error => error_response(
            StatusCode::BAD_REQUEST,
            "MALFORMED_BODY",
            error.to_string(),
            None,
        ),
    }
}

fn apply_failure(error: &ApplyError, summary: &Summary, request_id: &str) -> Response<Body> {
    tracing::error!(%error, "Wazzup call failed");
    let details = Some(summary_body(summary, "failed", request_id));
    match error {
        ApplyError::Secret(error) => retry_later(
            "SECRETS_UNAVAILABLE",
            format!("the secret could not be read again after Wazzup refused the key: {error}"),
            details,
        ),
        ApplyError::Wazzup(error) if error.is_transient() => retry_later(
            error.code(),
            format!("{error}; the request is safe to send again"),
            details,
        ),
        ApplyError::Wazzup(error @ (WazzupError::Unauthorized | WazzupError::Forbidden { .. })) => {
            retry_later(
                error.code(),
                format!("{error}; check the API key in the secret, then send the request again"),
                details,
            )
        }
        ApplyError::Wazzup(error) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            error.code(),
            error.to_string(),
            details,
        ),
    }
}

/// A 503 with `Retry-After`, for failures that a later try can get past.
fn retry_later(code: &str, message: String, details: Option<Value>) -> Response<Body> {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        code,
        message,
        details.or_else(|| Some(json!({}))),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// The request's media type, lower-cased, without parameters.
fn media_type(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

fn is_form(headers: &http::HeaderMap) -> bool {
    media_type(headers).is_some_and(|mime| mime == "application/x-www-form-urlencoded")
}

fn is_json(headers: &http::HeaderMap) -> bool {
    media_type(headers).is_some_and(|mime| {
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    })
}

/// Converts Lambda's deadline (Unix milliseconds) into a point on the monotonic clock, less a
/// margin to answer in. A value that is not a plausible wall-clock time (local emulators send
/// a duration or nothing) gives no deadline: retries are then bounded by the policy alone.
pub fn deadline_instant(deadline_ms: u64, now: SystemTime) -> Option<Instant> {
    const YEAR_2001_MS: u64 = 1_000_000_000_000;
    if deadline_ms < YEAR_2001_MS {
        return None;
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(now)
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN);
    Some(Instant::now() + left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_deadlines_become_monotonic_instants_with_a_margin() {
        let now = SystemTime::now();
        let ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let in_ten = deadline_instant(ms(now + Duration::from_secs(10)), now).unwrap();
        let left = in_ten.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(10) - DEADLINE_MARGIN);
        assert!(left > Duration::from_secs(8));
        let past = deadline_instant(ms(now - Duration::from_secs(1)), now).unwrap();
        assert!(past <= Instant::now());
        // cargo lambda's emulator sends the timeout (600000 ms) instead of a time.
        assert_eq!(deadline_instant(600_000, now), None);
        assert_eq!(deadline_instant(0, now), None);
    }

    #[test]
    fn json_content_types_are_recognised() {
        let with = |value: &'static str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/cloudevents+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!is_json(&http::HeaderMap::new()));
    }
}

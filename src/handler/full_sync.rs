//! `POST /sync`: a full sync of the complete employee list in the body,
//! `{"employees": [...], "dryRun": bool, "forceDeletes": bool, "resend": bool, "adopt": bool,
//! "asOf": time}` (`adopt`: take over the existing users the plan matches to employees;
//! `asOf`: when the list was read, RFC 3339; by default when the request arrived). An
//! administrator's endpoint: it takes `Authorization: Bearer <adminToken>`, a credential of its
//! own in the secret, and no CRM's or identity provider's, so that no source can force a mass
//! deletion. Without an `adminToken` it is not served. The service checks the list, plans
//! within the deployment's fences and applies; the answer is its report.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::App;
use super::request::accept_post;
use super::response::{
    apply_failure, error_response, json_response, refusal_response, retry_later,
};
use crate::auth::{CallerAuthError, check_bearer};
use crate::credentials::ADMIN_TOKEN;
use crate::domain::{EmployeeRow, SourceTime, Summary};
use crate::service::{FullSyncError, FullSyncReport, FullSyncRequest, MAX_CLOCK_AHEAD_MS};
use crate::sources::contract::{Inbound, Refusal};

/// The body of `POST /sync`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncBody {
    employees: Vec<EmployeeRow>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    force_deletes: bool,
    /// Re-send unchanged employees too (Wazzup's list has no phones, so a changed phone alone
    /// is not seen).
    #[serde(default)]
    resend: bool,
    /// Take over the existing Wazzup users the plan matches to employees.
    #[serde(default)]
    adopt: bool,
    /// When the list was read from its source (RFC 3339): a change applied after that, by a
    /// webhook, is newer than the list and stays. By default, when the request arrived.
    #[serde(default)]
    as_of: Option<String>,
}

pub async fn serve(
    app: &App,
    request: &Inbound<'_>,
    request_id: &str,
    deadline: Option<Instant>,
) -> Response<Body> {
    let credentials = match accept_post(app, request).await {
        Ok(credentials) => credentials,
        Err(response) => return response,
    };
    let admin = credentials.fields.text(ADMIN_TOKEN).ok().flatten();
    match check_bearer(admin.as_ref(), request.headers()) {
        Ok(()) => {}
        Err(CallerAuthError::NotConfigured) => {
            return error_response(
                StatusCode::NOT_FOUND,
                "SYNC_NOT_ENABLED",
                "POST /sync is not enabled: the secret has no \"adminToken\"",
                None,
            );
        }
        Err(error) => {
            tracing::warn!(reason = %error, "POST /sync not authenticated");
            return refusal_response(Refusal::auth(error, "Bearer realm=\"admin\""));
        }
    }
    if !app.service.full_sync_enabled() {
        return failure(FullSyncError::NotEnabled, request_id);
    }
    if !request.is_json() {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "the body must be JSON, sent with Content-Type: application/json",
            None,
        );
    }
    let body: SyncBody = match serde_json::from_slice(request.body) {
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
    let now = SourceTime::now();
    let as_of = match body.as_of.as_deref().map(SourceTime::parse_rfc3339) {
        None => now,
        Some(Some(as_of)) if as_of.millis() <= now.millis() + MAX_CLOCK_AHEAD_MS => as_of.min(now),
        Some(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "MALFORMED_BODY",
                "\"asOf\" must be the time the list was read, in RFC 3339 \
                 (2026-11-24T10:00:00Z), and not in the future",
                None,
            );
        }
    };
    let sync_request = FullSyncRequest {
        dry_run: body.dry_run,
        force_deletes: body.force_deletes,
        resend: body.resend,
        adopt: body.adopt,
        as_of: Some(as_of),
    };
    let roster = match app.service.roster(body.employees.into_iter().enumerate()) {
        Ok(roster) => roster,
        Err(error) => return failure(error, request_id),
    };
    let mut session = app
        .service
        .session_with(credentials, deadline)
        .for_source("sync")
        .adopting_on_conflict(body.adopt);
    match app
        .service
        .full_sync(&mut session, &roster, sync_request)
        .await
    {
        Ok(report) => {
            report.metrics().emit("http");
            let (status, code) = if report.dry_run {
                ("planned", StatusCode::OK)
            } else if report.plan.is_noop() {
                ("unchanged", StatusCode::OK)
            } else if report.queued > 0 {
                ("queued", StatusCode::ACCEPTED)
            } else {
                ("applied", StatusCode::OK)
            };
            json_response(code, &report_body(&report, status, request_id))
        }
        Err(error) => failure(error, request_id),
    }
}

/// The report as the answer's JSON, with a status word and the request id.
fn report_body(report: &FullSyncReport, status: &str, request_id: &str) -> Value {
    let mut body = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
    body["status"] = json!(status);
    body["requestId"] = json!(request_id);
    body
}

fn failure(error: FullSyncError, request_id: &str) -> Response<Body> {
    match error {
        FullSyncError::NotEnabled => error_response(
            StatusCode::NOT_FOUND,
            "SYNC_NOT_ENABLED",
            FullSyncError::NotEnabled.to_string(),
            None,
        ),
        FullSyncError::AdoptNeedsState => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SYNC_REFUSED",
            FullSyncError::AdoptNeedsState.to_string(),
            Some(json!({ "requestId": request_id })),
        ),
        FullSyncError::Record(error) => retry_later(
            "STATE_UNAVAILABLE",
            format!("{error}; nothing was applied after it, send the request again"),
            Some(json!({ "requestId": request_id })),
        ),
        FullSyncError::InvalidEmployees(invalid) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_EMPLOYEES",
            "the list has invalid employees; nothing was applied, since an employee left out of \
             a full sync would be deleted",
            Some(json!({
                "rejected": invalid.problems.iter().map(|p| p.to_rejection()).collect::<Vec<_>>(),
                "requestId": request_id,
            })),
        ),
        FullSyncError::Plan(error) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SYNC_REFUSED",
            format!("{error}; nothing was applied"),
            Some(json!({ "requestId": request_id })),
        ),
        FullSyncError::List(error) => apply_failure(&error, &Summary::default(), request_id),
        FullSyncError::Queue(error) => retry_later(
            "QUEUE_UNAVAILABLE",
            format!("{error}; nothing was applied, send the request again"),
            Some(json!({ "requestId": request_id })),
        ),
        FullSyncError::Apply { report, error } => {
            let mut response = apply_failure(&error, &report.applied, request_id);
            if let Body::Text(text) = response.body()
                && let Ok(mut value) = serde_json::from_str::<Value>(text)
            {
                let mut body = report_body(&report, "failed", request_id);
                value["plan"] = body["plan"].take();
                *response.body_mut() = Body::Text(value.to_string());
            }
            response
        }
    }
}

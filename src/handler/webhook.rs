//! A source's webhook: the `POST` checks, the source's authentication and parsing, then the
//! service applies the batch and the summary is the answer (direct mode), or queues it and the
//! answer is 202 at once (queued mode).

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::request::accept_post;
use super::response::{batch_response, enqueue_response, json_response, refusal_response};
use super::{App, Counts};
use crate::domain::SourceTime;
use crate::metrics::{self, Unit, name};
use crate::service::{BatchReport, EnqueueOutcome};
use crate::sources::contract::{Inbound, Received, Webhook};

pub async fn serve(
    app: &App,
    (source, webhook): (&'static str, &dyn Webhook),
    request: &Inbound<'_>,
    request_id: &str,
    deadline: Option<Instant>,
) -> Response<Body> {
    let credentials = match accept_post(app, request).await {
        Ok(credentials) => credentials,
        Err(response) => return response,
    };
    match webhook.receive(request, &credentials.fields, &app.source_settings()) {
        Ok(Received::Batch(batch)) if app.service.is_queued() => {
            let digest = body_digest(request.body);
            let report = app
                .service
                .enqueue_batch(batch, source, SourceTime::now(), (&digest, request_id))
                .await;
            let accepted = match report.outcome {
                EnqueueOutcome::Queued => report.accepted.len(),
                _ => 0,
            };
            metrics::emit(
                "http",
                &[
                    (name::ACCEPTED, accepted as f64, Unit::Count),
                    (
                        name::REJECTED,
                        report.summary.rejected.len() as f64,
                        Unit::Count,
                    ),
                ],
            );
            let mut response = enqueue_response(&report, request_id);
            response.extensions_mut().insert(Counts {
                queued: Some(accepted),
                rejected: Some(report.summary.rejected.len()),
                ..Counts::default()
            });
            response
        }
        Ok(Received::Batch(batch)) => {
            let mut session = app
                .service
                .session_with(credentials, deadline)
                .for_source(source);
            let report = app
                .service
                .apply_batch(batch, SourceTime::now(), &mut session)
                .await;
            report.metrics().emit("http");
            let mut response = batch_response(&report, request_id);
            response.extensions_mut().insert(counts(&report));
            response
        }
        Ok(Received::Ignored(reason)) => {
            tracing::info!(%reason, "event ignored");
            json_response(
                StatusCode::OK,
                &json!({"status": "ignored", "reason": reason, "requestId": request_id}),
            )
        }
        Err(refusal) => refusal_response(refusal),
    }
}

/// What a batch came to, for the request's closing log line.
pub fn counts(report: &BatchReport) -> Counts {
    let summary = &report.summary;
    Counts {
        upserted: Some(summary.upserted.len()),
        deleted: Some(summary.deleted.len()),
        already_absent: Some(summary.already_absent.len()),
        rejected: Some(summary.rejected.len()),
        stale: Some(report.stale),
        not_applied: Some(summary.not_applied.len()),
        queued: None,
    }
}

/// A digest of the body: names a request whose source gives it no id of its own.
fn body_digest(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

//! A source's webhook: the `POST` checks, the source's authentication and parsing, then the
//! service applies the batch and the summary is the answer.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;
use tokio::time::Instant;

use super::App;
use super::request::check_post;
use super::response::{batch_response, credentials_unavailable, json_response, refusal_response};
use crate::sources::contract::{Inbound, Received, Webhook};

pub async fn serve(
    app: &App,
    webhook: &dyn Webhook,
    request: &Inbound<'_>,
    request_id: &str,
    deadline: Option<Instant>,
) -> Response<Body> {
    if let Some(response) = check_post(
        &request.parts.method,
        request.body,
        app.settings.max_body_bytes,
    ) {
        return response;
    }
    let credentials = match app.service.credentials().current().await {
        Ok(credentials) => credentials,
        Err(error) => return credentials_unavailable(&error),
    };
    match webhook.receive(request, &credentials.fields, &app.source_settings()) {
        Ok(Received::Batch(batch)) => {
            let mut session = app.service.session_with(credentials, deadline);
            let report = app.service.apply_batch(batch, &mut session).await;
            batch_response(&report, request_id)
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

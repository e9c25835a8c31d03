//! The checks every `POST` passes before a source sees it, and the request as a source sees it.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

use super::App;
use super::response::{credentials_unavailable, error_response};
use crate::credentials::Credentials;
use crate::sources::contract::Inbound;

/// The path as the caller sent it (API Gateway's stage prefix removed).
pub fn path_of(request: &Request) -> String {
    let raw_path = request.raw_http_path();
    if raw_path.is_empty() {
        request.uri().path().to_owned()
    } else {
        raw_path.to_owned()
    }
}

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The 405 or 413 to answer, unless `method` is `POST` and the body within `max_body_bytes`.
fn check_post(method: &Method, body: &[u8], max_body_bytes: usize) -> Option<Response<Body>> {
    if method != Method::POST {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{method} is not allowed here; use POST"),
            None,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Some(response);
    }
    if body.len() > max_body_bytes {
        return Some(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "the body is {} bytes; at most {max_body_bytes} are accepted, so split it",
                body.len()
            ),
            None,
        ));
    }
    None
}

/// The checks every `POST` passes (method, size), then the credentials to judge it with; or
/// the answer to give instead.
pub async fn accept_post(
    app: &App,
    request: &Inbound<'_>,
) -> Result<Arc<Credentials>, Response<Body>> {
    if let Some(response) = check_post(
        &request.parts.method,
        request.body,
        app.settings.max_body_bytes,
    ) {
        return Err(response);
    }
    app.service
        .credentials()
        .current()
        .await
        .map_err(|error| credentials_unavailable(&error))
}

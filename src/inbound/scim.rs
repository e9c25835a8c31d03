//! SCIM 2.0 service provider for the Users resource (placeholder: being written).

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::json;

use crate::domain::PhoneRegion;
use crate::sync::Applier;

/// What the SCIM endpoint needs from the function's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub phone_region: PhoneRegion,
    pub max_body_bytes: usize,
}

/// A SCIM error response (RFC 7644 §3.12).
pub fn error_response(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response<Body> {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type);
    }
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    response
}

/// Handles one request under `/scim/v2` (`path` is the rest, e.g. `/Users/42`).
pub async fn handle(
    _request: &Request,
    _path: &str,
    _token: Option<&SecretString>,
    _applier: &mut Applier<'_>,
    _settings: &Settings,
) -> Response<Body> {
    error_response(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "SCIM is not available yet",
    )
}

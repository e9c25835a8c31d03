//! SCIM's media type, `application/scim+json`, and an answer in it.

use http::{HeaderValue, StatusCode, header};
use serde_json::Value;

pub const SCIM_JSON: &str = "application/scim+json";

/// `body` as the answer, with the SCIM media type.
pub fn scim_json(status: StatusCode, body: &Value) -> http::Response<String> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = http::Response::new(text);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

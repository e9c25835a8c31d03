//! What every SCIM handler shares: the request's context, the checks of method, query and
//! body, and the answers' JSON.

use http::{Method, StatusCode, header};
use serde_json::{Value, json};

use super::error::ScimError;
use super::mapping::Base;
use crate::domain::PhoneRegion;
use crate::sources::contract::Inbound;

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// What every handler needs besides the request.
pub struct Context {
    pub base: Base,
    pub region: PhoneRegion,
    pub max_body_bytes: usize,
}

/// The URL of `/scim/v2` as the client called it, for `meta.location`: the absolute URL Lambda
/// rebuilt, or the `Host` header over plain HTTP (the local server), or a relative path.
pub fn base_of(request: &Inbound<'_>) -> Base {
    let uri = &request.parts.uri;
    let path = uri.path();
    let prefix = match path.find("/scim/v2") {
        Some(at) => &path[..at + "/scim/v2".len()],
        None => "/scim/v2",
    };
    let host = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
        request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let scheme = uri.scheme_str().map(str::to_owned).or_else(|| {
        request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let url = match host {
        Some(host) => format!("{}://{host}{prefix}", scheme.as_deref().unwrap_or("http")),
        None => prefix.to_owned(),
    };
    Base { url }
}

/// 405 unless `method` is one of `allowed`.
pub fn only(method: &Method, allowed: &[Method]) -> Result<(), ScimError> {
    if allowed.contains(method) {
        return Ok(());
    }
    let allow = match allowed {
        [Method::GET] => "GET",
        [Method::GET, Method::POST] => "GET, POST",
        [Method::POST] => "POST",
        _ => "GET, PUT, PATCH, DELETE",
    };
    Err(ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("{method} is not allowed here; use {allow}"),
    )
    .with_header(header::ALLOW, allow))
}

/// RFC 7644 §4: discovery endpoints answer a filter with 403.
pub fn no_filter(request: &Inbound<'_>) -> Result<(), ScimError> {
    if query_pairs(request)
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("filter"))
    {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            "discovery endpoints cannot be filtered",
        ));
    }
    Ok(())
}

pub fn query_pairs(request: &Inbound<'_>) -> Vec<(String, String)> {
    request
        .parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The request body as a JSON object, after the size and content-type checks.
pub fn read_json(request: &Inbound<'_>, context: &Context) -> Result<Value, ScimError> {
    let body: &[u8] = request.body;
    if body.len() > context.max_body_bytes {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!(
                "the body is {} bytes; at most {} are accepted",
                body.len(),
                context.max_body_bytes
            ),
        ));
    }
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let mime = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let json = mime == "application/json"
            || mime == "text/json"
            || (mime.starts_with("application/") && mime.ends_with("+json"));
        if !json {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                "the body must be JSON, sent as application/scim+json or application/json",
            ));
        }
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ScimError::bad(
            "invalidSyntax",
            "the body must be a JSON object",
        ));
    }
    Ok(value)
}

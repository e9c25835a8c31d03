//! Response builders: JSON bodies, Wazzup-shaped errors with a `requestId`, injected faults.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

pub(super) fn ok_json(body: &Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub(super) fn fault_response(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = error(
        status,
        "FAULT_INJECTED",
        "Injected fault: this response was queued by the test.",
        None,
    );
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

pub(super) fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "No such endpoint.",
        None,
    )
}

pub(super) fn user_not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "USER_NOT_FOUND",
        &format!("User with id {id} not found."),
        None,
    )
}

/// A Wazzup error body: `{"status", "requestId", "error", "description", "data"?}`.
pub(super) fn error(
    status: StatusCode,
    code: &str,
    description: &str,
    data: Option<Value>,
) -> Response {
    let mut body = json!({
        "status": status.as_u16(),
        "requestId": request_id(),
        "error": code,
        "description": description,
    });
    if let (Some(data), Value::Object(map)) = (data, &mut body) {
        map.insert("data".to_owned(), data);
    }
    (status, axum::Json(body)).into_response()
}

/// 32 hex digits, unique per call, like Wazzup's `requestId`.
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let hasher = RandomState::new();
    format!("{:016x}{:016x}", hasher.hash_one(n), hasher.hash_one(!n))
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_32_hex_digits_and_differ() {
        let a = request_id();
        let b = request_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

//! How the HTTP entry point renders what happened: every answer is JSON, errors look like
//! `{"error": "CODE", "message": "...", ...details}`, and a processed batch answers with the
//! service's summary.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};

use crate::credentials::SecretError;
use crate::domain::Summary;
use crate::service::{ApplyError, BatchOutcome, BatchReport, EnqueueOutcome, EnqueueReport};
use crate::sources::contract::{BodyError, Refusal};
use crate::wazzup::WazzupError;

/// Builds a JSON response with the given status.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| {
        r#"{"error":"INTERNAL","message":"could not encode the answer"}"#.into()
    });
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An error answer: `{"error": code, "message": message}` plus the fields of `details`.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
    details: Option<Value>,
) -> Response<Body> {
    let mut body = Map::new();
    body.insert("error".into(), Value::String(code.into()));
    body.insert("message".into(), Value::String(message.into()));
    if let Some(Value::Object(extra)) = details {
        for (k, v) in extra {
            body.entry(k).or_insert(v);
        }
    }
    json_response(status, &Value::Object(body))
}

/// The most rejections and warnings an answer lists; `rejectedCount` and `warningCount` give
/// the totals, so that an answer stays small whatever the request held.
pub const LISTED: usize = 100;

/// The summary as a JSON object, with a top-level `status` word and the request id; its
/// rejections and warnings listed up to [`LISTED`] each, with their counts.
pub fn summary_body(summary: &Summary, status_word: &str, request_id: &str) -> Value {
    let mut value = serde_json::to_value(summary).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        for (list, count) in [("rejected", "rejectedCount"), ("warnings", "warningCount")] {
            if let Some(Value::Array(items)) = map.get_mut(list) {
                let total = items.len();
                items.truncate(LISTED);
                map.insert(count.into(), json!(total));
            }
        }
        map.insert("status".into(), Value::String(status_word.into()));
        map.insert("requestId".into(), Value::String(request_id.into()));
    }
    value
}

/// A 503 with `Retry-After`, for failures that a later try can get past.
pub fn retry_later(code: &str, message: String, details: Option<Value>) -> Response<Body> {
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

/// The credentials could not be read: nothing was sent to Wazzup.
pub fn credentials_unavailable(error: &SecretError) -> Response<Body> {
    tracing::error!(%error, "credentials unavailable");
    retry_later(
        "SECRETS_UNAVAILABLE",
        format!(
            "the function's credentials cannot be read now ({error}); nothing was sent to Wazzup, retry later"
        ),
        None,
    )
}

/// A source's refusal: 404 not enabled, 401, 415, 400 or 422.
pub fn refusal_response(refusal: Refusal) -> Response<Body> {
    match refusal {
        Refusal::NotEnabled => error_response(
            StatusCode::NOT_FOUND,
            "SOURCE_NOT_ENABLED",
            "this endpoint is not enabled: its credential is not configured in the secret",
            None,
        ),
        Refusal::Unauthenticated { reason, challenge } => {
            let mut response =
                error_response(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", reason, None);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            response
        }
        Refusal::UnsupportedMediaType(message) => error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            message,
            None,
        ),
        Refusal::Body(error @ BodyError::TooManyEvents { .. }) => error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_MANY_EVENTS",
            error.to_string(),
            None,
        ),
        Refusal::Body(BodyError::EmptyBatch) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NO_VALID_EVENTS",
            BodyError::EmptyBatch.to_string(),
            None,
        ),
        Refusal::Body(error) => error_response(
            StatusCode::BAD_REQUEST,
            "MALFORMED_BODY",
            error.to_string(),
            None,
        ),
    }
}

/// The answer to a batch: 200 ok or partial, 422 when nothing could be applied, 503 or 422
/// when Wazzup failed.
pub fn batch_response(report: &BatchReport, request_id: &str) -> Response<Body> {
    let summary = &report.summary;
    match &report.outcome {
        BatchOutcome::NothingValid => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NO_VALID_EVENTS",
            "no valid event was left to apply; see \"rejected\"",
            Some(summary_body(summary, "rejected", request_id)),
        ),
        // Nothing applied nor dropped as stale, and refusals: every employee was refused. (A
        // dismissal that found nothing to delete, with a warning, was not refused.)
        BatchOutcome::Applied
            if summary.applied() == 0 && report.stale == 0 && !summary.rejected.is_empty() =>
        {
            error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "WAZZUP_REFUSED",
                "Wazzup refused every employee in the request; see \"rejected\"",
                Some(summary_body(summary, "rejected", request_id)),
            )
        }
        BatchOutcome::Applied => {
            let word = if summary.rejected.is_empty() {
                "ok"
            } else {
                "partial"
            };
            json_response(StatusCode::OK, &summary_body(summary, word, request_id))
        }
        BatchOutcome::Failed(error) => apply_failure(error, summary, request_id),
    }
}

/// The answer to a batch accepted for later: 202 with the ids queued, 200 for a message queued
/// before (a retry), 422 when nothing valid was left, 503 when the queue or the state table did
/// not take it (nothing is promised: send it again).
pub fn enqueue_response(report: &EnqueueReport, request_id: &str) -> Response<Body> {
    let mut body = summary_body(&report.summary, "accepted", request_id);
    body["accepted"] = json!(report.accepted);
    match &report.outcome {
        EnqueueOutcome::Queued => json_response(StatusCode::ACCEPTED, &body),
        EnqueueOutcome::NothingToDo => {
            body["status"] = json!("ok");
            json_response(StatusCode::OK, &body)
        }
        EnqueueOutcome::NothingValid => {
            body["status"] = json!("rejected");
            error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "NO_VALID_EVENTS",
                "no valid event was left to accept; see \"rejected\"",
                Some(body),
            )
        }
        EnqueueOutcome::Failed(error) => {
            tracing::error!(%error, "changes not queued");
            body["status"] = json!("failed");
            body["accepted"] = json!([]);
            retry_later(
                "QUEUE_UNAVAILABLE",
                format!(
                    "{error}; the request was not accepted (some of its changes may be queued \
                     already), send it again: that is safe"
                ),
                Some(body),
            )
        }
        // A sender's retry of a message already queued: done, so that it stops retrying.
        EnqueueOutcome::Duplicate => {
            body["status"] = json!("duplicate");
            json_response(StatusCode::OK, &body)
        }
        EnqueueOutcome::StateFailed(error) => {
            tracing::error!(%error, "the message could not be looked up");
            body["status"] = json!("failed");
            retry_later(
                "STATE_UNAVAILABLE",
                format!("{error}; nothing was accepted, send the request again"),
                Some(body),
            )
        }
    }
}

/// A failed call to Wazzup or Secrets Manager: 503 when a retry can succeed, 502 for an answer
/// this client does not know, 422 for Wazzup's refusal of the data.
pub fn apply_failure(error: &ApplyError, summary: &Summary, request_id: &str) -> Response<Body> {
    tracing::error!(%error, "Wazzup call failed");
    let details = Some(summary_body(summary, "failed", request_id));
    match error {
        ApplyError::Secret(error) => retry_later(
            "SECRETS_UNAVAILABLE",
            format!("the secret could not be read again after Wazzup refused the key: {error}"),
            details,
        ),
        ApplyError::State(error) => retry_later(
            "STATE_UNAVAILABLE",
            format!("{error}; the request is safe to send again"),
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
        ApplyError::Busy { .. } | ApplyError::HolderUnknown => retry_later(
            error.code(),
            format!("{error}; the others were applied, the request is safe to send again"),
            details,
        ),
        ApplyError::Wazzup(wazzup) if error.refuses_the_data() => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            wazzup.code(),
            wazzup.to_string(),
            details,
        ),
        // An answer this client does not know: whether it was applied cannot be told.
        ApplyError::Wazzup(wazzup) => error_response(
            StatusCode::BAD_GATEWAY,
            wazzup.code(),
            format!("{wazzup}; the request is safe to send again"),
            details,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn error_bodies_carry_code_message_and_details() {
        let response = error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NO_VALID_EVENTS",
            "nothing to do",
            Some(json!({"rejected": [1], "error": "must not override"})),
        );
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = body_json(&response);
        assert_eq!(body["error"], "NO_VALID_EVENTS");
        assert_eq!(body["message"], "nothing to do");
        assert_eq!(body["rejected"], json!([1]));
    }

    #[test]
    fn summaries_carry_a_status_word_the_request_id_and_capped_lists() {
        let body = summary_body(&Summary::default(), "ok", "req-1");
        assert_eq!(body["status"], "ok");
        assert_eq!(body["requestId"], "req-1");
        assert_eq!(
            (body["rejectedCount"].clone(), body["warningCount"].clone()),
            (json!(0), json!(0))
        );
        let many = Summary {
            rejected: (0..1000)
                .map(|i| crate::domain::Rejection::at(i, None, "EMPTY_FIELD", "name is empty"))
                .collect(),
            ..Summary::default()
        };
        let body = summary_body(&many, "rejected", "req-2");
        assert_eq!(body["rejected"].as_array().unwrap().len(), LISTED);
        assert_eq!(body["rejectedCount"], 1000);
    }
}

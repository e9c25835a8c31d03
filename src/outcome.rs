//! The answer to the caller: one JSON summary per request, and the JSON error bodies.
//!
//! Every answer is JSON. Errors look like `{"error": "CODE", "message": "...", ...details}`;
//! a processed batch answers with a [`Summary`] of what happened to each employee.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// An employee (or event) that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Position of the event in the request's batch (0 for a single event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The employee id, when one could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A stable machine-readable reason, e.g. `EMPTY_FIELD` or `DUPLICATE_PHONE_NUMBER`.
    pub reason: String,
    pub message: String,
}

/// Something the caller should know about an event that was still applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub code: String,
    pub message: String,
}

/// What one request did, employee by employee.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Ids created or updated in Wazzup.
    pub upserted: Vec<String>,
    /// Ids deleted from Wazzup.
    pub deleted: Vec<String>,
    /// Ids asked to be deleted that Wazzup did not have: counted as success.
    pub already_absent: Vec<String>,
    /// Events refused by validation or by Wazzup, with the reason.
    pub rejected: Vec<Rejection>,
    /// Ids that were valid but not applied because Wazzup could not be reached or refused the
    /// whole request; sending the same request again is safe.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_applied: Vec<String>,
    pub warnings: Vec<Warning>,
}

impl Summary {
    /// How many changes reached Wazzup.
    pub fn applied(&self) -> usize {
        self.upserted.len() + self.deleted.len() + self.already_absent.len()
    }
}

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

/// The summary as a JSON object, with a top-level `status` word and the request id.
pub fn summary_body(summary: &Summary, status_word: &str, request_id: &str) -> Value {
    let mut value = serde_json::to_value(summary).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        map.insert("status".into(), Value::String(status_word.into()));
        map.insert("requestId".into(), Value::String(request_id.into()));
    }
    value
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
    fn summaries_use_camel_case_and_hide_empty_not_applied() {
        let summary = Summary {
            already_absent: vec!["a".into()],
            ..Summary::default()
        };
        let body = summary_body(&summary, "ok", "req-1");
        assert_eq!(body["alreadyAbsent"], json!(["a"]));
        assert_eq!(body["status"], "ok");
        assert_eq!(body["requestId"], "req-1");
        assert!(body.get("notApplied").is_none());
        assert_eq!(summary.applied(), 1);
    }
}

//! SCIM's errors (RFC 7644 §3.12): the error message schema with `scimType`, and how a failed
//! call to Wazzup or Secrets Manager becomes one.

use http::{HeaderName, HeaderValue, StatusCode, header};
use serde_json::json;

use super::media::scim_json;
use super::patch::PatchError;
use crate::domain::mask_phone;
use crate::service::ApplyError;
use crate::wazzup::WazzupError;

/// A SCIM error response (RFC 7644 §3.12).
pub fn error_response(
    status: StatusCode,
    scim_type: Option<&str>,
    detail: &str,
) -> http::Response<String> {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type);
    }
    scim_json(status, &body)
}

/// An error on its way to becoming a SCIM error response.
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    pub headers: Vec<(HeaderName, &'static str)>,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn into_response(self) -> http::Response<String> {
        let mut response = error_response(self.status, self.scim_type, &self.detail);
        for (name, value) in self.headers {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

impl From<PatchError> for ScimError {
    fn from(error: PatchError) -> Self {
        Self::bad(error.scim_type, error.detail)
    }
}

/// A SCIM answer, or the error to answer with.
pub type Answer = Result<http::Response<String>, ScimError>;

/// A failed call to Wazzup or Secrets Manager, as a SCIM error.
pub fn apply_error(error: &ApplyError) -> ScimError {
    let retry = |detail: String| {
        ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
            .with_header(header::RETRY_AFTER, "30")
    };
    match error {
        ApplyError::Secret(error) => retry(format!(
            "the function's credentials cannot be read now ({error}); retry later"
        )),
        ApplyError::State(error) => retry(format!("{error}; the request is safe to send again")),
        ApplyError::Busy { .. } | ApplyError::HolderUnknown => {
            retry(format!("{error}; the request is safe to send again"))
        }
        ApplyError::Wazzup(error) if error.is_transient() => {
            retry(format!("{error}; the request is safe to send again"))
        }
        ApplyError::Wazzup(error @ (WazzupError::Unauthorized | WazzupError::Forbidden { .. })) => {
            retry(format!(
                "{error}; check the Wazzup API key in the function's secret"
            ))
        }
        ApplyError::Wazzup(error @ WazzupError::UserLimitExceeded { .. }) => ScimError::new(
            StatusCode::CONFLICT,
            None,
            format!("{error}: remove a user from Wazzup first"),
        ),
        ApplyError::Wazzup(WazzupError::DuplicatePhoneNumber { phone }) => ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!(
                "another Wazzup user already has the phone number {}",
                mask_phone(phone)
            ),
        ),
        ApplyError::Wazzup(error @ WazzupError::InvalidUsersData { .. }) => {
            ScimError::bad("invalidValue", error.to_string())
        }
        ApplyError::Wazzup(error) => ScimError::new(
            StatusCode::BAD_GATEWAY,
            None,
            format!("Wazzup answered unexpectedly: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::Value;
    #[test]
    fn scim_errors_carry_the_error_schema_and_content_type() {
        let response = ScimError::bad("invalidFilter", "no").into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["content-type"],
            super::super::media::SCIM_JSON
        );
        let body: Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(
            body,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                   "status": "400", "scimType": "invalidFilter", "detail": "no"})
        );
    }

    #[test]
    fn wazzup_failures_map_to_scim_statuses() {
        let status = |e: WazzupError| apply_error(&ApplyError::Wazzup(e)).status.as_u16();
        assert_eq!(status(WazzupError::RateLimited), 503);
        assert_eq!(status(WazzupError::Transport("x".into())), 503);
        assert_eq!(status(WazzupError::Unauthorized), 503);
        assert_eq!(status(WazzupError::UserLimitExceeded { limit: 1000 }), 409);
        let duplicate = apply_error(&ApplyError::Wazzup(WazzupError::DuplicatePhoneNumber {
            phone: "79263334567".into(),
        }));
        assert_eq!(duplicate.scim_type, Some("uniqueness"));
        assert!(!duplicate.detail.contains("79263334567"));
        assert_eq!(status(WazzupError::Decode("x".into())), 502);
        let secret = apply_error(&ApplyError::Secret(
            crate::credentials::SecretError::Unavailable("down".into()),
        ));
        assert_eq!(secret.status, 503);
        assert!(secret.headers.iter().any(|(n, _)| n == header::RETRY_AFTER));
    }
}

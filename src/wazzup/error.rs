//! Typed errors for every answer the Wazzup users API documents.

use serde::Deserialize;
use serde_json::Value;

/// One element of `INVALID_USERS_DATA`'s `data`: an index into the request array and the
/// fields Wazzup refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InvalidItem {
    pub index: usize,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Why a Wazzup call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WazzupError {
    /// 401: the API key is missing or wrong.
    #[error("Wazzup refused the API key (401)")]
    Unauthorized,
    /// 403: the key may not use the users entity (e.g. an integration's "sidecar" key).
    #[error("Wazzup does not allow this API key to manage users (403): {description}")]
    Forbidden { description: String },
    /// 400 `INVALID_USERS_DATA`: an empty body or invalid fields.
    #[error("Wazzup refused some users' fields (INVALID_USERS_DATA): {description}")]
    InvalidUsersData {
        items: Vec<InvalidItem>,
        description: String,
    },
    /// 400 `TOO_MANY_ENTITIES`: more than 100 users in one request.
    #[error("too many users in one request ({count}, the limit is {limit})")]
    TooManyEntities { count: usize, limit: usize },
    /// 400 `USER_LIMIT_EXCEEDED`: the account would hold more users than its limit.
    #[error("the Wazzup account would exceed its limit of {limit} users (USER_LIMIT_EXCEEDED)")]
    UserLimitExceeded { limit: usize },
    /// 400 `DUPLICATE_PHONE_NUMBER`: another user already has this phone.
    #[error("another Wazzup user already has this phone number (DUPLICATE_PHONE_NUMBER)")]
    DuplicatePhoneNumber { phone: String },
    /// 404 on a single user.
    #[error("the user does not exist in Wazzup")]
    NotFound,
    /// 429 still answered after every retry.
    #[error("Wazzup kept answering 429 Too Many Requests")]
    RateLimited,
    /// 5xx still answered after every retry.
    #[error("Wazzup answered {status}: {description}")]
    Server { status: u16, description: String },
    /// The connection failed or timed out on every try.
    #[error("Wazzup could not be reached: {0}")]
    Transport(String),
    /// A request this client refuses to send because Wazzup would refuse it.
    #[error("request not sent: {0}")]
    InvalidRequest(String),
    /// A success answer that could not be read.
    #[error("Wazzup's answer could not be read: {0}")]
    Decode(String),
    /// Any other answer.
    #[error("Wazzup answered {status} {code}: {description}")]
    Unexpected {
        status: u16,
        code: String,
        description: String,
    },
}

impl WazzupError {
    /// True when the same call may succeed later without any change: the caller should retry.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            WazzupError::RateLimited | WazzupError::Server { .. } | WazzupError::Transport(_)
        )
    }

    /// The stable code used in answers and logs.
    pub fn code(&self) -> &'static str {
        match self {
            WazzupError::Unauthorized => "WAZZUP_UNAUTHORIZED",
            WazzupError::Forbidden { .. } => "WAZZUP_FORBIDDEN",
            WazzupError::InvalidUsersData { .. } => "INVALID_USERS_DATA",
            WazzupError::TooManyEntities { .. } => "TOO_MANY_ENTITIES",
            WazzupError::UserLimitExceeded { .. } => "USER_LIMIT_EXCEEDED",
            WazzupError::DuplicatePhoneNumber { .. } => "DUPLICATE_PHONE_NUMBER",
            WazzupError::NotFound => "NOT_FOUND",
            WazzupError::RateLimited => "WAZZUP_RATE_LIMITED",
            WazzupError::Server { .. } => "WAZZUP_SERVER_ERROR",
            WazzupError::Transport(_) => "WAZZUP_UNREACHABLE",
            WazzupError::InvalidRequest(_) => "INVALID_REQUEST",
            WazzupError::Decode(_) => "WAZZUP_BAD_ANSWER",
            WazzupError::Unexpected { .. } => "WAZZUP_UNEXPECTED_ANSWER",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

fn usize_field(data: Option<&Value>, name: &str) -> Option<usize> {
    data?
        .get(name)?
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
}

/// Reads a non-success answer into a typed error.
pub(crate) fn from_response(status: u16, body: &[u8]) -> WazzupError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error.clone().unwrap_or_default();
    let description = parsed
        .description
        .clone()
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
    match (status, code.as_str()) {
        (401, _) => WazzupError::Unauthorized,
        (403, _) => WazzupError::Forbidden { description },
        (429, _) => WazzupError::RateLimited,
        (500..=599, _) => WazzupError::Server {
            status,
            description,
        },
        (_, "INVALID_USERS_DATA") => WazzupError::InvalidUsersData {
            items: parsed
                .data
                .and_then(|d| serde_json::from_value(d).ok())
                .unwrap_or_default(),
            description,
        },
        // The Spanish edition of the documentation spells it TOO_MACH_ENTITIES.
        (_, "TOO_MANY_ENTITIES" | "TOO_MACH_ENTITIES") => WazzupError::TooManyEntities {
            count: usize_field(parsed.data.as_ref(), "count").unwrap_or(0),
            limit: usize_field(parsed.data.as_ref(), "limit").unwrap_or(100),
        },
        (_, "USER_LIMIT_EXCEEDED") => WazzupError::UserLimitExceeded {
            limit: usize_field(parsed.data.as_ref(), "limit").unwrap_or(1000),
        },
        (_, "DUPLICATE_PHONE_NUMBER") => WazzupError::DuplicatePhoneNumber {
            phone: parsed
                .data
                .as_ref()
                .and_then(|d| d.get("phone"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        },
        (404, _) => WazzupError::NotFound,
        _ => WazzupError::Unexpected {
            status,
            code,
            description,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_error_is_typed() {
        let cases: Vec<(u16, &str, WazzupError)> = vec![
            (401, "{}", WazzupError::Unauthorized),
            (
                400,
                r#"{"error":"INVALID_USERS_DATA","description":"bad","data":[{"index":12,"fields":["id","name"]}]}"#,
                WazzupError::InvalidUsersData {
                    items: vec![InvalidItem {
                        index: 12,
                        fields: vec!["id".into(), "name".into()],
                    }],
                    description: "bad".into(),
                },
            ),
            (
                400,
                r#"{"error":"TOO_MANY_ENTITIES","data":{"count":123,"limit":100}}"#,
                WazzupError::TooManyEntities {
                    count: 123,
                    limit: 100,
                },
            ),
            (
                400,
                r#"{"error":"TOO_MACH_ENTITIES","data":{"count":101,"limit":100}}"#,
                WazzupError::TooManyEntities {
                    count: 101,
                    limit: 100,
                },
            ),
            (
                400,
                r#"{"error":"USER_LIMIT_EXCEEDED","data":{"limit":1000}}"#,
                WazzupError::UserLimitExceeded { limit: 1000 },
            ),
            (
                400,
                r#"{"status":400,"requestId":"5941","error":"DUPLICATE_PHONE_NUMBER","description":"User with phone number 79999999999 already exists in the CRM.","data":{"phone":"79999999999"}}"#,
                WazzupError::DuplicatePhoneNumber {
                    phone: "79999999999".into(),
                },
            ),
            (429, "", WazzupError::RateLimited),
            (404, r#"{"error":"USER_NOT_FOUND"}"#, WazzupError::NotFound),
        ];
        for (status, body, want) in cases {
            assert_eq!(from_response(status, body.as_bytes()), want, "{body}");
        }
        let server = from_response(502, b"<html>bad gateway</html>");
        assert!(server.is_transient());
        assert!(matches!(server, WazzupError::Server { status: 502, .. }));
        let other = from_response(400, br#"{"error":"SOMETHING_NEW","description":"?"}"#);
        assert_eq!(other.code(), "WAZZUP_UNEXPECTED_ANSWER");
        assert!(!other.is_transient());
    }
}

//! What the CRMs' users-API readers share: an HTTP client with bounded timeouts, reading a JSON
//! answer, and reading a field as trimmed text.

use std::time::Duration;

use serde_json::Value;

use super::contract::DirectoryError;
use crate::domain::text_or_integer;

/// The most pages read from a paged CRM API (Wazzup holds at most 1,000 users).
pub const MAX_PAGES: usize = 200;

/// An HTTP client for CRM APIs, with bounded timeouts.
pub fn http_client() -> Result<reqwest::Client, DirectoryError> {
    let tls =
        crate::tls::rustls_config().map_err(|e| DirectoryError::Unreachable(e.to_string()))?;
    reqwest::Client::builder()
        .user_agent(concat!("wazzup-user-sync/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(15))
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| DirectoryError::Unreachable(e.to_string()))
}

/// The JSON of a successful answer; a failure status or unreadable JSON is an error (the
/// URL, which may carry a secret, never appears in it).
pub async fn read_json(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, DirectoryError> {
    let response =
        response.map_err(|e| DirectoryError::Unreachable(e.without_url().to_string()))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| DirectoryError::Unreachable(e.without_url().to_string()))?;
    if !status.is_success() {
        return Err(DirectoryError::Refused {
            status: status.as_u16(),
            detail: String::from_utf8_lossy(&body).chars().take(200).collect(),
        });
    }
    serde_json::from_slice(&body).map_err(|e| DirectoryError::BadAnswer(e.to_string()))
}

/// A field as trimmed, non-empty text (text or an integer).
pub fn text(value: Option<&Value>) -> Option<String> {
    text_or_integer(value?)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

//! What the CRMs' users-API readers share: an HTTP client with bounded timeouts that follows no
//! redirect (a credential never travels to a host it was not given for), reading a JSON answer
//! of bounded size with a few bounded retries of 429 and 5xx, an error's text with its e-mail
//! addresses and long numbers masked, and reading a field as trimmed text.

use std::time::Duration;

use serde_json::Value;

use super::contract::DirectoryError;
use crate::domain::text_or_integer;

/// The most pages read from a paged CRM API (Wazzup holds at most 1,000 users).
pub const MAX_PAGES: usize = 200;

/// The largest answer read (a page of 1,000 users is a few MiB at most).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// How often a request a CRM answered 429 or 5xx (or that could not connect) is tried in all.
const TRIES: u32 = 4;

/// The longest wait between two tries, whatever `Retry-After` asks.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// An HTTP client for CRM APIs, with bounded timeouts and no redirects.
pub fn http_client() -> Result<reqwest::Client, DirectoryError> {
    let tls =
        crate::tls::rustls_config().map_err(|e| DirectoryError::Unreachable(e.to_string()))?;
    reqwest::Client::builder()
        .user_agent(concat!("wazzup-user-sync/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| DirectoryError::Unreachable(e.to_string()))
}

/// The JSON of a successful answer; a failure status or unreadable JSON is an error (the
/// URL, which may carry a secret, never appears in it).
pub async fn read_json(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, DirectoryError> {
    read_page(response)
        .await?
        .ok_or_else(|| DirectoryError::BadAnswer("the answer has no content (204)".into()))
}

/// Like [`read_json`], but `204 No Content` (a page past the last, for some APIs) is `None`.
pub async fn read_page(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Option<Value>, DirectoryError> {
    let response =
        response.map_err(|e| DirectoryError::Unreachable(e.without_url().to_string()))?;
    let status = response.status();
    let body = read_body(response).await?;
    if status == reqwest::StatusCode::NO_CONTENT {
        return Ok(None);
    }
    if !status.is_success() {
        let mut detail = scrub(
            &String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>(),
        );
        if status.is_redirection() {
            detail = format!("redirects are not followed; give the final URL ({detail})");
        }
        return Err(DirectoryError::Refused {
            status: status.as_u16(),
            detail,
        });
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| DirectoryError::BadAnswer(e.to_string()))
}

/// A page's body, read to at most [`MAX_BODY_BYTES`]: a larger one is refused, not held.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, DirectoryError> {
    let too_large = || {
        DirectoryError::BadAnswer(format!(
            "an answer larger than {} MiB; ask for smaller pages",
            MAX_BODY_BYTES / (1024 * 1024)
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| DirectoryError::Unreachable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A CRM's error text as it may be shown and logged: e-mail addresses and long numbers (a
/// phone, an id a token may be) in it are masked.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let digits = word.chars().filter(char::is_ascii_digit).count();
        if word.contains('@') {
            out.push_str("<e-mail>");
        } else if digits >= 7 {
            out.push_str("<number>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | ',' | ';' | '(' | ')' | '<' | '>' | '[' | ']' | '{' | '}'
            )
        {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Sends the request `build` makes, again after a 429, a 5xx or a failed connection (waiting
/// as `Retry-After` says, else 1, 2, 4 s; at most [`MAX_WAIT`] each), and reads its page.
pub async fn get_page(
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Option<Value>, DirectoryError> {
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=TRIES {
        let response = build().send().await;
        let retry_after = match &response {
            Ok(answer) if answer.status().as_u16() == 429 || answer.status().is_server_error() => {
                Some(retry_after(answer).unwrap_or(wait))
            }
            Err(error) if error.is_connect() || error.is_timeout() => Some(wait),
            _ => None,
        };
        match retry_after {
            Some(pause) if attempt < TRIES => {
                tracing::info!(
                    status = response.as_ref().map(|r| r.status().as_u16()).unwrap_or(0),
                    attempt,
                    "the CRM asked to wait; trying again"
                );
                tokio::time::sleep(pause.min(MAX_WAIT)).await;
                wait *= 2;
            }
            _ => return read_page(response).await,
        }
    }
    Err(DirectoryError::Unreachable(
        "the CRM kept refusing; tries exhausted".into(),
    ))
}

/// Like [`get_page`], for an API that always answers with content.
pub async fn get_json(
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Value, DirectoryError> {
    get_page(build)
        .await?
        .ok_or_else(|| DirectoryError::BadAnswer("the answer has no content (204)".into()))
}

/// `Retry-After` in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// A field as trimmed, non-empty text (text or an integer).
pub fn text(value: Option<&Value>) -> Option<String> {
    text_or_integer(value?)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Whether `url` may carry a credential: https, or http to this machine (tests, local runs).
pub fn is_safe_url(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Reads `text` as a URL that may carry a credential, naming `field` in the error.
pub fn safe_url(field: &str, text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|_| format!("\"{field}\" is not a URL (https://...)"))?;
    if !is_safe_url(&url) {
        return Err(format!(
            "\"{field}\" must be an https URL (plain http only to this machine, for tests)"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_text_keeps_its_words_and_masks_addresses_and_numbers() {
        assert_eq!(
            scrub(r#"{"message": "user anna@example.com (+7 926 123-45-67) not found, id 42"}"#),
            r#"{"message": "user <e-mail> (+7 926 <number>) not found, id 42"}"#
        );
        assert_eq!(
            scrub("phone 79261234567 and key=sk_live_1234567890abc"),
            "phone <number> and <number>"
        );
    }
}

//! Shared-secret checks for callers, at the side of the layers: a bearer token, HTTP Basic
//! credentials, or a token a sender puts in its body, each compared in constant time. The
//! sources and the administrator endpoint use them; fail closed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// HTTP Basic credentials (what Pipedrive sends when a webhook is created with
/// `http_auth_user` and `http_auth_password`).
#[derive(Debug, Clone)]
pub struct BasicAuth {
    pub user: String,
    pub password: SecretString,
}

/// Why a caller's credential was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallerAuthError {
    /// No credential is configured here: the endpoint is not served at all.
    #[error("this endpoint is not enabled: its credential is not configured")]
    NotConfigured,
    #[error("the request carries no credentials")]
    Missing,
    #[error("the credentials are not valid")]
    Wrong,
}

/// Checks `Authorization: Bearer <token>` against `expected`.
pub fn check_bearer(
    expected: Option<&SecretString>,
    headers: &HeaderMap,
) -> Result<(), CallerAuthError> {
    let expected = expected.ok_or(CallerAuthError::NotConfigured)?;
    let given = bearer_token(headers).ok_or(CallerAuthError::Missing)?;
    check_shared_secret(Some(expected), Some(given))
}

/// Checks `Authorization: Basic base64(user:password)` against `expected`, both parts in
/// constant time.
pub fn check_basic(
    expected: Option<&BasicAuth>,
    headers: &HeaderMap,
) -> Result<(), CallerAuthError> {
    let expected = expected.ok_or(CallerAuthError::NotConfigured)?;
    let value = header(headers, "authorization")
        .ok_or(CallerAuthError::Missing)?
        .trim();
    let (scheme, encoded) = value.split_once(' ').ok_or(CallerAuthError::Wrong)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(CallerAuthError::Missing);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(CallerAuthError::Wrong)?;
    let (user, password) = decoded.split_once(':').ok_or(CallerAuthError::Wrong)?;
    // Both comparisons always run, so timing does not tell which part was wrong.
    let user_ok = secrets_equal(user, &expected.user);
    let password_ok = secrets_equal(password, expected.password.expose_secret());
    if user_ok & password_ok {
        Ok(())
    } else {
        Err(CallerAuthError::Wrong)
    }
}

/// Compares a shared secret sent by a caller (in a header or in the body) with `expected`.
pub fn check_shared_secret(
    expected: Option<&SecretString>,
    given: Option<&str>,
) -> Result<(), CallerAuthError> {
    let expected = expected.ok_or(CallerAuthError::NotConfigured)?;
    let given = given
        .filter(|g| !g.is_empty())
        .ok_or(CallerAuthError::Missing)?;
    if secrets_equal(given, expected.expose_secret()) {
        Ok(())
    } else {
        Err(CallerAuthError::Wrong)
    }
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = header(headers, "authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Compares two secrets in time independent of where they differ and of their lengths.
pub fn secrets_equal(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn basic_credentials_must_match_in_both_parts() {
        let expected = BasicAuth {
            user: "pipedrive".into(),
            password: SecretString::from("p4ss:word".to_string()),
        };
        let basic =
            |user_password: &str| bearer(&format!("Basic {}", STANDARD.encode(user_password)));
        assert_eq!(
            check_basic(Some(&expected), &basic("pipedrive:p4ss:word")),
            Ok(())
        );
        assert_eq!(
            check_basic(Some(&expected), &basic("pipedrive:p4ss")),
            Err(CallerAuthError::Wrong)
        );
        assert_eq!(
            check_basic(Some(&expected), &basic("other:p4ss:word")),
            Err(CallerAuthError::Wrong)
        );
        assert_eq!(
            check_basic(Some(&expected), &bearer("Basic !!!")),
            Err(CallerAuthError::Wrong)
        );
        assert_eq!(
            check_basic(Some(&expected), &HeaderMap::new()),
            Err(CallerAuthError::Missing)
        );
        assert_eq!(
            check_basic(None, &basic("pipedrive:p4ss:word")),
            Err(CallerAuthError::NotConfigured)
        );
    }

    #[test]
    fn shared_secrets_and_bearer_tokens_fail_closed() {
        let token = SecretString::from("scim-token".to_string());
        assert_eq!(
            check_bearer(Some(&token), &bearer("Bearer scim-token")),
            Ok(())
        );
        assert_eq!(
            check_bearer(Some(&token), &bearer("Bearer scim-tokem")),
            Err(CallerAuthError::Wrong)
        );
        assert_eq!(
            check_bearer(Some(&token), &HeaderMap::new()),
            Err(CallerAuthError::Missing)
        );
        assert_eq!(
            check_bearer(None, &bearer("Bearer scim-token")),
            Err(CallerAuthError::NotConfigured)
        );
        assert_eq!(
            check_shared_secret(Some(&token), Some("")),
            Err(CallerAuthError::Missing)
        );
        assert_eq!(
            check_shared_secret(Some(&token), Some("scim-token")),
            Ok(())
        );
    }
}

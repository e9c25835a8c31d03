//! The generic webhook's authentication, before its body is parsed. Fails closed.
//!
//! Two schemes are accepted:
//! - [Standard Webhooks](https://www.standardwebhooks.com/) signatures: headers `webhook-id`,
//!   `webhook-timestamp` and `webhook-signature`; HMAC-SHA256 over `id.timestamp.body` with a
//!   `whsec_` secret; several space-separated signatures (key rotation on the sender's side) and
//!   several secrets (rotation on ours); a 5-minute tolerance on the timestamp; constant-time
//!   comparison.
//! - A static bearer token, `Authorization: Bearer <token>`, for callers that can only set a
//!   header; compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::{bearer_token, header, secrets_equal};

/// How far a signed timestamp may be from the clock, in either direction.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

/// The most signatures one `webhook-signature` header may carry (a sender rotating its keys
/// sends two or three); more is refused before any HMAC is computed.
pub const MAX_SIGNATURES: usize = 10;

/// A Standard Webhooks signing secret (`whsec_` followed by base64 key bytes).
#[derive(Clone)]
pub struct WebhookSecret(Hmac<Sha256>);

impl WebhookSecret {
    /// Reads a `whsec_...` secret. The prefix is optional; the rest must be base64.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "a webhook secret must be \"whsec_\" followed by base64".to_string())?;
        if key.len() < 16 {
            return Err("a webhook secret must hold at least 16 bytes of key".into());
        }
        Hmac::<Sha256>::new_from_slice(&key)
            .map(Self)
            .map_err(|_| "the webhook secret cannot be used as an HMAC key".to_string())
    }

    /// The `v1,<base64>` signature of a message; what a sender puts in `webhook-signature`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "v1,{}",
            STANDARD.encode(self.mac(msg_id, timestamp, body).finalize().into_bytes())
        )
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// Whether any of `candidates` is this secret's signature of the message. The HMAC over
    /// the body is computed once, whatever the number of candidates; each comparison is in
    /// constant time.
    fn matches_any(
        &self,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
        candidates: &[Vec<u8>],
    ) -> bool {
        let tag = self.mac(msg_id, timestamp, body).finalize().into_bytes();
        candidates.iter().fold(false, |found, candidate| {
            found | bool::from(tag.as_slice().ct_eq(candidate))
        })
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The credentials a caller may present.
#[derive(Debug, Clone, Default)]
pub struct WebhookCredentials {
    /// Standard Webhooks secrets; a signature made with any of them is accepted.
    pub secrets: Vec<WebhookSecret>,
    /// The static bearer tokens (two during a rotation); any of them is accepted.
    pub tokens: Vec<SecretString>,
}

impl WebhookCredentials {
    pub fn is_configured(&self) -> bool {
        !self.secrets.is_empty() || !self.tokens.is_empty()
    }
}

/// How a request proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Signature,
    BearerToken,
    /// No credentials are configured and `ALLOW_UNAUTHENTICATED=true` was set explicitly.
    Unauthenticated,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Signature => "signature",
            AuthMethod::BearerToken => "bearer",
            AuthMethod::Unauthenticated => "none",
        }
    }
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no webhook secret or token is configured, and ALLOW_UNAUTHENTICATED is not set")]
    NotConfigured,
    #[error(
        "the request carries no credentials: send a Standard Webhooks signature or an Authorization: Bearer token"
    )]
    MissingCredentials,
    #[error("the bearer token is not valid")]
    BadToken,
    #[error(
        "the request is signed, but no webhook signing secret is configured here: send the bearer token instead"
    )]
    SignaturesNotConfigured,
    #[error(
        "the request carries a bearer token, but no token is configured here: sign the request instead"
    )]
    TokenNotConfigured,
    #[error("the webhook-id, webhook-timestamp and webhook-signature headers must all be present")]
    IncompleteSignatureHeaders,
    #[error("webhook-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than 5 minutes away from the current time")]
    TimestampOutOfTolerance,
    #[error("no webhook signature matches")]
    BadSignature,
    #[error("webhook-signature carries more than 10 signatures")]
    TooManySignatures,
}

/// Authenticates a request from its headers and raw body. `now` is the current Unix time in
/// seconds. Any one valid credential is enough; with none configured the request is refused
/// unless `allow_unauthenticated` is set.
pub fn authenticate(
    credentials: &WebhookCredentials,
    allow_unauthenticated: bool,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<AuthMethod, AuthError> {
    if !credentials.is_configured() {
        return if allow_unauthenticated {
            Ok(AuthMethod::Unauthenticated)
        } else {
            Err(AuthError::NotConfigured)
        };
    }

    let mut failure = None;
    if let Some(given) = bearer_token(headers).filter(|_| !credentials.tokens.is_empty()) {
        // Every configured token is compared, in constant time each.
        let matched = (credentials.tokens.iter()).fold(false, |found, expected| {
            secrets_equal(given, expected.expose_secret()) | found
        });
        if matched {
            return Ok(AuthMethod::BearerToken);
        }
        failure = Some(AuthError::BadToken);
    }

    let has_signature_headers = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .any(|name| headers.contains_key(*name));
    if !credentials.secrets.is_empty() && has_signature_headers {
        match verify_signature(&credentials.secrets, headers, body, now) {
            Ok(()) => return Ok(AuthMethod::Signature),
            Err(error) => failure = failure.or(Some(error)),
        }
    }

    if failure.is_none() {
        if has_signature_headers && credentials.secrets.is_empty() {
            failure = Some(AuthError::SignaturesNotConfigured);
        } else if bearer_token(headers).is_some() && credentials.tokens.is_empty() {
            failure = Some(AuthError::TokenNotConfigured);
        }
    }
    Err(failure.unwrap_or(AuthError::MissingCredentials))
}

fn verify_signature(
    secrets: &[WebhookSecret],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), AuthError> {
    let (Some(msg_id), Some(timestamp), Some(signatures)) = (
        header(headers, "webhook-id"),
        header(headers, "webhook-timestamp"),
        header(headers, "webhook-signature"),
    ) else {
        return Err(AuthError::IncompleteSignatureHeaders);
    };
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| AuthError::BadTimestamp)?;
    if now.abs_diff(timestamp) > TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
        return Err(AuthError::TimestampOutOfTolerance);
    }
    if signatures.split_whitespace().nth(MAX_SIGNATURES).is_some() {
        return Err(AuthError::TooManySignatures);
    }
    // A SHA-256 tag is 32 bytes: anything else can never match and is not even compared.
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter(|encoded| encoded.len() <= 64)
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .filter(|decoded| decoded.len() == 32)
        .collect();
    let matched = !candidates.is_empty()
        && secrets
            .iter()
            .any(|secret| secret.matches_any(msg_id, timestamp, body, &candidates));
    if matched {
        Ok(())
    } else {
        Err(AuthError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    // The published Standard Webhooks test vector (standard-webhooks spec and its reference
    // libraries), so our signing interoperates with every conforming sender.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1614265330;
    const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn signed_headers(id: &str, ts: i64, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_str(id).unwrap());
        headers.insert(
            "webhook-timestamp",
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        headers.insert(
            "webhook-signature",
            HeaderValue::from_str(signature).unwrap(),
        );
        headers
    }

    fn with_secret() -> WebhookCredentials {
        WebhookCredentials {
            secrets: vec![WebhookSecret::parse(VECTOR_SECRET).unwrap()],
            tokens: Vec::new(),
        }
    }

    #[test]
    fn signing_matches_the_published_test_vector() {
        let secret = WebhookSecret::parse(VECTOR_SECRET).unwrap();
        assert_eq!(
            secret.sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY.as_bytes()),
            VECTOR_SIGNATURE
        );
    }

    #[test]
    fn a_valid_signature_is_accepted_within_tolerance() {
        let headers = signed_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE);
        for now in [VECTOR_TS, VECTOR_TS + 300, VECTOR_TS - 300] {
            assert_eq!(
                authenticate(&with_secret(), false, &headers, VECTOR_BODY.as_bytes(), now),
                Ok(AuthMethod::Signature)
            );
        }
    }

    #[test]
    fn stale_or_future_timestamps_are_refused() {
        let headers = signed_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE);
        for now in [VECTOR_TS + 301, VECTOR_TS - 301] {
            assert_eq!(
                authenticate(&with_secret(), false, &headers, VECTOR_BODY.as_bytes(), now),
                Err(AuthError::TimestampOutOfTolerance)
            );
        }
    }

    #[test]
    fn a_changed_body_id_or_signature_is_refused() {
        let creds = with_secret();
        let headers = signed_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE);
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            authenticate(&creds, false, &headers, tampered, VECTOR_TS),
            Err(AuthError::BadSignature)
        );
        let other_id = signed_headers("msg_other", VECTOR_TS, VECTOR_SIGNATURE);
        assert_eq!(
            authenticate(&creds, false, &other_id, VECTOR_BODY.as_bytes(), VECTOR_TS),
            Err(AuthError::BadSignature)
        );
        // Empty or truncated signatures must never compare equal.
        for bad in [
            "v1,",
            "v1",
            "",
            "v1,g0hM9SsE",
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ] {
            let headers = signed_headers(VECTOR_ID, VECTOR_TS, bad);
            assert!(
                authenticate(&creds, false, &headers, VECTOR_BODY.as_bytes(), VECTOR_TS).is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        for ts in [i64::MIN, i64::MAX, -1] {
            let headers = signed_headers(VECTOR_ID, ts, VECTOR_SIGNATURE);
            for now in [VECTOR_TS, i64::MAX, i64::MIN]
                .into_iter()
                .filter(|now| *now != ts)
            {
                assert_eq!(
                    authenticate(&with_secret(), false, &headers, VECTOR_BODY.as_bytes(), now),
                    Err(AuthError::TimestampOutOfTolerance),
                    "{ts} at {now}"
                );
            }
        }
    }

    #[test]
    fn more_than_ten_signatures_are_refused_before_any_hmac() {
        let wrong = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let ten = format!("{} {VECTOR_SIGNATURE}", [wrong; 9].join(" "));
        let headers = signed_headers(VECTOR_ID, VECTOR_TS, &ten);
        assert_eq!(
            authenticate(
                &with_secret(),
                false,
                &headers,
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            ),
            Ok(AuthMethod::Signature)
        );
        let eleven = format!("{wrong} {ten}");
        let headers = signed_headers(VECTOR_ID, VECTOR_TS, &eleven);
        assert_eq!(
            authenticate(
                &with_secret(),
                false,
                &headers,
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            ),
            Err(AuthError::TooManySignatures)
        );
    }

    #[test]
    fn any_of_several_signatures_and_secrets_may_match() {
        let old = WebhookSecret::parse("whsec_c2VjcmV0LXRoYXQtd2FzLXJvdGF0ZWQtYXdheQ==").unwrap();
        let creds = WebhookCredentials {
            secrets: vec![old, WebhookSecret::parse(VECTOR_SECRET).unwrap()],
            tokens: Vec::new(),
        };
        let header = format!("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {VECTOR_SIGNATURE}");
        let headers = signed_headers(VECTOR_ID, VECTOR_TS, &header);
        assert_eq!(
            authenticate(&creds, false, &headers, VECTOR_BODY.as_bytes(), VECTOR_TS),
            Ok(AuthMethod::Signature)
        );
    }

    #[test]
    fn incomplete_or_malformed_signature_headers_are_refused() {
        let mut headers = signed_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE);
        headers.remove("webhook-id");
        assert_eq!(
            authenticate(&with_secret(), false, &headers, b"{}", VECTOR_TS),
            Err(AuthError::IncompleteSignatureHeaders)
        );
        let headers = signed_headers(VECTOR_ID, 0, VECTOR_SIGNATURE);
        let mut bad_ts = headers.clone();
        bad_ts.insert("webhook-timestamp", HeaderValue::from_static("yesterday"));
        assert_eq!(
            authenticate(&with_secret(), false, &bad_ts, b"{}", VECTOR_TS),
            Err(AuthError::BadTimestamp)
        );
    }

    fn with_token(token: &str) -> WebhookCredentials {
        WebhookCredentials {
            secrets: vec![],
            tokens: vec![SecretString::from(token.to_string())],
        }
    }

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn during_a_rotation_the_old_and_the_new_token_are_both_accepted() {
        let fields = crate::credentials::parse_secret_value(
            r#"{"apiKey":"k","webhookToken":["old-token-0123456789","new, token 9876543210"]}"#,
        )
        .unwrap()
        .fields;
        let creds = super::super::credentials(&fields).unwrap();
        for accepted in [
            "Bearer old-token-0123456789",
            "Bearer new, token 9876543210",
        ] {
            assert_eq!(
                authenticate(&creds, false, &bearer(accepted), b"", 0),
                Ok(AuthMethod::BearerToken),
                "{accepted}"
            );
        }
        // A token is taken whole, never split at its spaces or commas.
        for refused in ["Bearer new", "Bearer token", "Bearer other-token"] {
            assert_eq!(
                authenticate(&creds, false, &bearer(refused), b"", 0),
                Err(AuthError::BadToken),
                "{refused}"
            );
        }
    }

    #[test]
    fn the_bearer_token_must_match_exactly() {
        let creds = with_token("s3cret-token");
        assert_eq!(
            authenticate(&creds, false, &bearer("Bearer s3cret-token"), b"", 0),
            Ok(AuthMethod::BearerToken)
        );
        assert_eq!(
            authenticate(&creds, false, &bearer("bearer s3cret-token"), b"", 0),
            Ok(AuthMethod::BearerToken)
        );
        for wrong in [
            "Bearer s3cret-toke",
            "Bearer s3cret-token2",
            "Bearer ",
            "Basic czNjcmV0",
        ] {
            assert!(
                authenticate(&creds, false, &bearer(wrong), b"", 0).is_err(),
                "{wrong:?} was accepted"
            );
        }
        assert_eq!(
            authenticate(&creds, false, &HeaderMap::new(), b"", 0),
            Err(AuthError::MissingCredentials)
        );
        let signed = signed_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE);
        assert_eq!(
            authenticate(&creds, false, &signed, VECTOR_BODY.as_bytes(), VECTOR_TS),
            Err(AuthError::SignaturesNotConfigured)
        );
        assert_eq!(
            authenticate(&with_secret(), false, &bearer("Bearer x"), b"", 0),
            Err(AuthError::TokenNotConfigured)
        );
    }

    #[test]
    fn nothing_configured_fails_closed_unless_explicitly_allowed() {
        let none = WebhookCredentials::default();
        assert_eq!(
            authenticate(&none, false, &bearer("Bearer anything"), b"", 0),
            Err(AuthError::NotConfigured)
        );
        assert_eq!(
            authenticate(&none, true, &HeaderMap::new(), b"", 0),
            Ok(AuthMethod::Unauthenticated)
        );
        // Once something is configured, ALLOW_UNAUTHENTICATED no longer opens the door.
        assert_eq!(
            authenticate(&with_token("t"), true, &HeaderMap::new(), b"", 0),
            Err(AuthError::MissingCredentials)
        );
    }

    #[test]
    fn secrets_must_be_whsec_base64() {
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(format!("{:?}", WebhookSecret::parse(VECTOR_SECRET).unwrap()).contains("redacted"));
    }
}

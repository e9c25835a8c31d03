//! OAuth 2.0 access tokens for the users APIs that need one (Google's signed-assertion grant,
//! Keycloak's client credentials): the token endpoint's form post, and a per-container cache
//! that hands a token out until a minute before it expires, or until the API refuses it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::Value;

use super::contract::DirectoryError;
use super::users_api::get_json;

/// A token is not handed out in its last minute (a run must not start with one about to end).
const MARGIN: Duration = Duration::from_secs(60);

/// How long a token without `expires_in` is kept.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// The most tokens kept (one per credential and scope in practice).
const MAX_CACHED: usize = 32;

struct Cached {
    token: SecretString,
    until: Instant,
}

fn cache() -> &'static Mutex<HashMap<String, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The cache's key for a credential: a digest, so that the cache holds no secret, and a
/// changed credential (a rotated client secret, a new key file) asks for a token of its own.
fn digest(credential: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, credential.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The cached token for `credential` (who asks, with what secret, for what), else a new one
/// from `url` with `form`, cached until its `expires_in` less a minute.
pub async fn token(
    credential: &str,
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<SecretString, DirectoryError> {
    let key = digest(credential);
    if let Ok(cached) = cache().lock()
        && let Some(hit) = cached.get(&key).filter(|c| c.until > Instant::now())
    {
        return Ok(hit.token.clone());
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let answer = get_json(|| {
        http.post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.clone())
    })
    .await
    .map_err(|e| match e {
        DirectoryError::Refused { status, detail } => DirectoryError::Refused {
            status,
            detail: format!("the token endpoint refused the credential: {detail}"),
        },
        other => other,
    })?;
    let token = answer
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            DirectoryError::BadAnswer("the token endpoint's answer has no access_token".into())
        })?;
    // A number, or (some servers) a number written as text.
    let lifetime = answer
        .get("expires_in")
        .and_then(|e| e.as_u64().or_else(|| e.as_str()?.trim().parse().ok()))
        .map_or(DEFAULT_LIFETIME, Duration::from_secs);
    let token = SecretString::from(token.to_owned());
    if let Ok(mut cached) = cache().lock() {
        if cached.len() >= MAX_CACHED {
            cached.clear();
        }
        cached.insert(
            key,
            Cached {
                token: token.clone(),
                until: Instant::now() + lifetime.saturating_sub(MARGIN),
            },
        );
    }
    Ok(token)
}

/// Runs `read` with a token from `take` (the cached one, as a rule); when the API refuses it
/// (`401`: revoked, or a lifespan shorter than it said), forgets it and runs `read` once more
/// with a new one.
pub async fn with_token<T, Token, Read>(
    credential: &str,
    take: impl Fn() -> Token,
    read: impl Fn(SecretString) -> Read,
) -> Result<T, DirectoryError>
where
    Token: Future<Output = Result<SecretString, DirectoryError>>,
    Read: Future<Output = Result<T, DirectoryError>>,
{
    match read(take().await?).await {
        Err(DirectoryError::Refused { status: 401, .. }) => {
            forget(credential);
            read(take().await?).await
        }
        other => other,
    }
}

/// Forgets the token cached for `credential`, so that the next [`token`] asks for a new one.
fn forget(credential: &str) {
    if let Ok(mut cached) = cache().lock() {
        cached.remove(&digest(credential));
    }
}

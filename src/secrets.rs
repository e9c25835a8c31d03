//! Where the credentials come from: AWS Secrets Manager (cached, refreshed when Wazzup refuses
//! the key) or, for local runs, the environment. One trait, two implementations.
//!
//! The secret's value is either the bare Wazzup API key, or a JSON object
//! `{"apiKey": "...", "webhookSecret": "whsec_...", "webhookToken": "..."}` where the last two
//! are optional and `webhookSecret` may also be an array of secrets (for rotation).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::inbound::auth::{BasicAuth, SourceCredentials, WebhookCredentials, WebhookSecret};

/// What the function needs to know that must stay secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The Wazzup API key.
    pub api_key: SecretString,
    /// What callers of the generic webhook must present.
    pub webhook: WebhookCredentials,
    /// What the native sources (Pipedrive, Bitrix24, SCIM) must present.
    pub sources: SourceCredentials,
    /// How the scheduled full sync reads a CRM's users.
    pub crm: CrmCredentials,
}

/// Access to CRMs' users APIs, for the scheduled full sync.
#[derive(Debug, Clone, Default)]
pub struct CrmCredentials {
    /// Pipedrive API token (`GET /v1/users`).
    pub pipedrive_api_token: Option<SecretString>,
    /// Pipedrive API base URL (default `https://api.pipedrive.com`).
    pub pipedrive_api_url: Option<String>,
    /// A Bitrix24 inbound webhook URL with the `user` scope
    /// (`https://<portal>/rest/<user>/<code>/`); it is itself the secret.
    pub bitrix24_webhook_url: Option<SecretString>,
}

impl Credentials {
    /// True when at least one way in is protected by a credential.
    pub fn any_inbound_configured(&self) -> bool {
        self.webhook.is_configured() || self.sources.is_configured()
    }
}

/// Why the credentials could not be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager could not be reached or failed; a later call may succeed.
    #[error("AWS Secrets Manager is unavailable: {0}")]
    Unavailable(String),
    /// Secrets Manager answered, but refused (no such secret, no permission, cannot decrypt).
    #[error("AWS Secrets Manager refused to return the secret: {0}")]
    Refused(String),
    /// The secret's value is not in a form this function understands.
    #[error("the secret's value is not usable: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretDocument {
    api_key: Option<String>,
    webhook_secret: Option<OneOrMany>,
    webhook_token: Option<String>,
    pipedrive_http_user: Option<String>,
    pipedrive_http_password: Option<String>,
    bitrix24_application_token: Option<String>,
    scim_token: Option<String>,
    pipedrive_api_token: Option<String>,
    pipedrive_api_url: Option<String>,
    bitrix24_webhook_url: Option<String>,
}

/// Pipedrive's Basic credentials are configured only as a pair.
fn basic_pair(
    user: Option<String>,
    password: Option<String>,
    names: &str,
) -> Result<Option<BasicAuth>, SecretError> {
    let user = user.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    match (user, non_empty(password)) {
        (Some(user), Some(password)) => Ok(Some(BasicAuth { user, password })),
        (None, None) => Ok(None),
        _ => Err(SecretError::Invalid(format!(
            "{names} must be set together"
        ))),
    }
}

fn parse_webhook_secrets(values: Vec<String>) -> Result<Vec<WebhookSecret>, SecretError> {
    values
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            WebhookSecret::parse(s).map_err(|e| SecretError::Invalid(format!("webhookSecret: {e}")))
        })
        .collect()
}

fn non_empty(value: Option<String>) -> Option<SecretString> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

/// Reads a secret's value: the bare API key, or the JSON document described in the module
/// docs. Error messages name fields, never values.
pub fn parse_secret_value(text: &str) -> Result<Credentials, SecretError> {
    let text = text.trim();
    if text.starts_with('{') {
        let doc: SecretDocument = serde_json::from_str(text).map_err(|e| {
            SecretError::Invalid(format!(
                "the JSON secret must be an object with a string \"apiKey\" (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let api_key = non_empty(doc.api_key)
            .ok_or_else(|| SecretError::Invalid("\"apiKey\" is missing or empty".into()))?;
        let secrets = match doc.webhook_secret {
            None => Vec::new(),
            Some(OneOrMany::One(one)) => parse_webhook_secrets(vec![one])?,
            Some(OneOrMany::Many(many)) => parse_webhook_secrets(many)?,
        };
        return Ok(Credentials {
            api_key,
            webhook: WebhookCredentials {
                secrets,
                token: non_empty(doc.webhook_token),
            },
            sources: SourceCredentials {
                pipedrive: basic_pair(
                    doc.pipedrive_http_user,
                    doc.pipedrive_http_password,
                    "\"pipedriveHttpUser\" and \"pipedriveHttpPassword\"",
                )?,
                bitrix24_token: non_empty(doc.bitrix24_application_token),
                scim_token: non_empty(doc.scim_token),
            },
            crm: CrmCredentials {
                pipedrive_api_token: non_empty(doc.pipedrive_api_token),
                pipedrive_api_url: doc.pipedrive_api_url.filter(|u| !u.trim().is_empty()),
                bitrix24_webhook_url: non_empty(doc.bitrix24_webhook_url),
            },
        });
    }
    if text.is_empty() {
        return Err(SecretError::Invalid("the secret is empty".into()));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(SecretError::Invalid(
            "a bare API key must not contain whitespace".into(),
        ));
    }
    Ok(Credentials {
        api_key: SecretString::from(text.to_owned()),
        webhook: WebhookCredentials::default(),
        sources: SourceCredentials::default(),
        crm: CrmCredentials::default(),
    })
}

/// Reads credentials from the environment for local runs: `WAZZUP_API_KEY`, `WEBHOOK_SECRET`
/// (one or more `whsec_` secrets, separated by spaces or commas), `WEBHOOK_TOKEN`,
/// `PIPEDRIVE_HTTP_USER` with `PIPEDRIVE_HTTP_PASSWORD`, `BITRIX24_APPLICATION_TOKEN` and
/// `SCIM_TOKEN`.
pub fn credentials_from_vars(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, SecretError> {
    let api_key = non_empty(get("WAZZUP_API_KEY")).ok_or_else(|| {
        SecretError::Invalid(
            "set WAZZUP_SECRET_ID to read the key from AWS Secrets Manager, or WAZZUP_API_KEY for a local run".into(),
        )
    })?;
    let secrets = parse_webhook_secrets(
        get("WEBHOOK_SECRET")
            .unwrap_or_default()
            .split([' ', ','])
            .map(str::to_owned)
            .collect(),
    )
    .map_err(|e| SecretError::Invalid(format!("WEBHOOK_SECRET: {e}")))?;
    Ok(Credentials {
        api_key,
        webhook: WebhookCredentials {
            secrets,
            token: non_empty(get("WEBHOOK_TOKEN")),
        },
        sources: SourceCredentials {
            pipedrive: basic_pair(
                get("PIPEDRIVE_HTTP_USER"),
                get("PIPEDRIVE_HTTP_PASSWORD"),
                "PIPEDRIVE_HTTP_USER and PIPEDRIVE_HTTP_PASSWORD",
            )?,
            bitrix24_token: non_empty(get("BITRIX24_APPLICATION_TOKEN")),
            scim_token: non_empty(get("SCIM_TOKEN")),
        },
        crm: CrmCredentials {
            pipedrive_api_token: non_empty(get("PIPEDRIVE_API_TOKEN")),
            pipedrive_api_url: get("PIPEDRIVE_API_URL").filter(|u| !u.trim().is_empty()),
            bitrix24_webhook_url: non_empty(get("BITRIX24_WEBHOOK_URL")),
        },
    })
}

/// A boxed future, so that providers can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Hands out the current credentials.
pub trait CredentialProvider: Send + Sync {
    /// The credentials to use now (from a cache when fresh).
    fn current(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>>;

    /// Called when Wazzup refused the key in `stale`: fetch the secret again, unless another
    /// request already replaced it, and return what should be tried next.
    fn refresh(
        &self,
        stale: Arc<Credentials>,
    ) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>>;
}

/// Credentials fixed at start: local runs and tests.
pub struct StaticCredentials(Arc<Credentials>);

impl StaticCredentials {
    pub fn new(credentials: Credentials) -> Self {
        Self(Arc::new(credentials))
    }
}

impl CredentialProvider for StaticCredentials {
    fn current(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        let credentials = Arc::clone(&self.0);
        Box::pin(async move { Ok(credentials) })
    }

    fn refresh(
        &self,
        _stale: Arc<Credentials>,
    ) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        self.current()
    }
}

struct Cached {
    credentials: Arc<Credentials>,
    fetched_at: Instant,
}

/// Credentials read from one Secrets Manager secret, cached for `ttl`.
pub struct SecretsManagerCredentials {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    cache: Mutex<Option<Cached>>,
}

impl SecretsManagerCredentials {
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            ttl,
            cache: Mutex::new(None),
        }
    }

    /// Builds the AWS SDK client from the standard AWS configuration chain (region,
    /// credentials, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), with short timeouts so that an
    /// unreachable Secrets Manager turns into a quick 503 rather than a Lambda timeout.
    pub async fn client_from_environment() -> aws_sdk_secretsmanager::Client {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(Duration::from_secs(3))
            .operation_timeout(Duration::from_secs(8))
            .build();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        aws_sdk_secretsmanager::Client::new(&config)
    }

    async fn fetch(&self) -> Result<Arc<Credentials>, SecretError> {
        use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|error| match &error {
                SdkError::ServiceError(service) => match service.err() {
                    GetSecretValueError::InternalServiceError(_) => {
                        SecretError::Unavailable(DisplayErrorContext(&error).to_string())
                    }
                    _ => SecretError::Refused(DisplayErrorContext(&error).to_string()),
                },
                _ => SecretError::Unavailable(DisplayErrorContext(&error).to_string()),
            })?;
        let text = match (output.secret_string(), output.secret_binary()) {
            (Some(text), _) => text.to_owned(),
            (None, Some(blob)) => String::from_utf8(blob.as_ref().to_vec())
                .map_err(|_| SecretError::Invalid("the binary secret is not UTF-8 text".into()))?,
            (None, None) => return Err(SecretError::Invalid("the secret has no value".into())),
        };
        let credentials = parse_secret_value(&text)?;
        tracing::info!(
            secret_id = %self.secret_id,
            version = output.version_id().unwrap_or("?"),
            webhook_secrets = credentials.webhook.secrets.len(),
            webhook_token = credentials.webhook.token.is_some(),
            pipedrive = credentials.sources.pipedrive.is_some(),
            bitrix24 = credentials.sources.bitrix24_token.is_some(),
            scim = credentials.sources.scim_token.is_some(),
            "read credentials from Secrets Manager"
        );
        Ok(Arc::new(credentials))
    }
}

impl CredentialProvider for SecretsManagerCredentials {
    fn current(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        Box::pin(async move {
            // Holding the lock across the fetch makes concurrent requests share one call.
            let mut cache = self.cache.lock().await;
            if let Some(cached) = cache.as_ref()
                && cached.fetched_at.elapsed() < self.ttl
            {
                return Ok(Arc::clone(&cached.credentials));
            }
            match self.fetch().await {
                Ok(credentials) => {
                    *cache = Some(Cached {
                        credentials: Arc::clone(&credentials),
                        fetched_at: Instant::now(),
                    });
                    Ok(credentials)
                }
                // A stale key that worked is better than no key while Secrets Manager is down.
                Err(SecretError::Unavailable(reason)) if cache.is_some() => {
                    tracing::warn!(%reason, "Secrets Manager unavailable; using the cached secret");
                    cache
                        .as_ref()
                        .map(|c| Arc::clone(&c.credentials))
                        .ok_or(SecretError::Unavailable(reason))
                }
                Err(error) => Err(error),
            }
        })
    }

    fn refresh(
        &self,
        stale: Arc<Credentials>,
    ) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        Box::pin(async move {
            let mut cache = self.cache.lock().await;
            if let Some(cached) = cache.as_ref()
                && !Arc::ptr_eq(&cached.credentials, &stale)
            {
                return Ok(Arc::clone(&cached.credentials));
            }
            let credentials = self.fetch().await?;
            let rotated = credentials.api_key.expose_secret() != stale.api_key.expose_secret();
            tracing::info!(rotated, "refreshed the secret after Wazzup refused the key");
            *cache = Some(Cached {
                credentials: Arc::clone(&credentials),
                fetched_at: Instant::now(),
            });
            Ok(credentials)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn a_bare_value_is_the_api_key() {
        let credentials = parse_secret_value("  abc123  \n").unwrap();
        assert_eq!(credentials.api_key.expose_secret(), "abc123");
        assert!(!credentials.webhook.is_configured());
    }

    #[test]
    fn a_json_value_carries_the_key_and_the_webhook_credentials() {
        let credentials = parse_secret_value(&format!(
            r#"{{"apiKey":"k","webhookSecret":"{SECRET}","webhookToken":"t","pipedrive":{{}}}}"#
        ))
        .unwrap();
        assert_eq!(credentials.api_key.expose_secret(), "k");
        assert_eq!(credentials.webhook.secrets.len(), 1);
        assert_eq!(credentials.webhook.token.unwrap().expose_secret(), "t");

        let two = parse_secret_value(&format!(
            r#"{{"apiKey":"k","webhookSecret":["{SECRET}","{SECRET}"]}}"#
        ))
        .unwrap();
        assert_eq!(two.webhook.secrets.len(), 2);
        assert!(two.webhook.token.is_none());
    }

    #[test]
    fn native_source_credentials_are_read_from_the_json_secret() {
        let credentials = parse_secret_value(
            r#"{"apiKey":"k","pipedriveHttpUser":"pd","pipedriveHttpPassword":"pw",
                "bitrix24ApplicationToken":"b24","scimToken":"sc"}"#,
        )
        .unwrap();
        let pipedrive = credentials.sources.pipedrive.as_ref().unwrap();
        assert_eq!(
            (pipedrive.user.as_str(), pipedrive.password.expose_secret()),
            ("pd", "pw")
        );
        assert_eq!(
            credentials.sources.bitrix24_token.unwrap().expose_secret(),
            "b24"
        );
        assert_eq!(
            credentials.sources.scim_token.unwrap().expose_secret(),
            "sc"
        );
        assert!(!credentials.webhook.is_configured());
        let half = parse_secret_value(r#"{"apiKey":"k","pipedriveHttpUser":"pd"}"#).unwrap_err();
        assert!(half.to_string().contains("together"), "{half}");
    }

    #[test]
    fn unusable_values_are_explained_without_echoing_them() {
        for (value, needle) in [
            (r#"{"webhookToken":"t"}"#, "apiKey"),
            (r#"{"apiKey":""}"#, "apiKey"),
            (
                r#"{"apiKey":"k","webhookSecret":"whsec_%%%"}"#,
                "webhookSecret",
            ),
            (r#"{"apiKey": 12}"#, "apiKey"),
            ("", "empty"),
            ("two words", "whitespace"),
        ] {
            let error = parse_secret_value(value).unwrap_err().to_string();
            assert!(error.contains(needle), "{value}: {error}");
            assert!(
                !error.contains("%%%") && !error.contains("words"),
                "{error}"
            );
        }
    }

    #[test]
    fn local_runs_read_the_environment() {
        let vars = |name: &str| match name {
            "WAZZUP_API_KEY" => Some("local-key".to_string()),
            "WEBHOOK_SECRET" => Some(format!("{SECRET}, {SECRET}")),
            "WEBHOOK_TOKEN" => Some(" ".to_string()),
            _ => None,
        };
        let credentials = credentials_from_vars(vars).unwrap();
        assert_eq!(credentials.api_key.expose_secret(), "local-key");
        assert_eq!(credentials.webhook.secrets.len(), 2);
        assert!(credentials.webhook.token.is_none());
        let error = credentials_from_vars(|_| None).unwrap_err().to_string();
        assert!(error.contains("WAZZUP_SECRET_ID"), "{error}");
    }
}

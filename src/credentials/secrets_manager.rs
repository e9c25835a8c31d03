//! Credentials read from one AWS Secrets Manager secret, cached for a while, refreshed when
//! Wazzup refuses the key, and kept (stale) while Secrets Manager is unreachable.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::document::parse_secret_value;
use super::provider::{BoxFuture, CredentialProvider, FieldsCheck};
use super::{Credentials, SecretError};

struct Cached {
    credentials: Arc<Credentials>,
    fetched_at: Instant,
}

/// Credentials read from one Secrets Manager secret, cached for `ttl`.
pub struct SecretsManagerCredentials {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    check: Option<FieldsCheck>,
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
            check: None,
            cache: Mutex::new(None),
        }
    }

    /// Refuses every value of the secret in which `check` finds an unusable field.
    pub fn with_check(mut self, check: FieldsCheck) -> Self {
        self.check = Some(check);
        self
    }

    /// Builds the AWS SDK client from the function's shared SDK configuration
    /// ([`crate::aws_sdk`]: the standard chain, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, short
    /// timeouts so that an unreachable Secrets Manager turns into a quick 503 rather than a
    /// Lambda timeout). A caller holding that configuration already uses `Client::new`.
    pub async fn client_from_environment() -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&crate::aws_sdk::config().await)
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
        if let Some(check) = self.check {
            check(&credentials.fields)?;
        }
        tracing::info!(
            secret_id = %self.secret_id,
            version = output.version_id().unwrap_or("?"),
            fields = ?credentials.fields.names(),
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

//! Building what a configuration describes, once per container, for every Lambda mode (and the
//! operators' tool and local runner, which take parts of it): the secret's fields and their
//! check, the Wazzup client, the credentials, and, when configured, the queue (queued mode) and
//! the state table. Between the entry points and what they use; no entry point builds another's.

use std::sync::Arc;

use crate::adapters::dynamodb::DynamoStateStore;
use crate::adapters::sqs::SqsQueue;
use crate::aws_sdk;
use crate::config::{Config, SecretSource};
use crate::credentials::{
    ADMIN_TOKEN, CredentialProvider, SecretError, SecretFields, SecretsManagerCredentials,
    StaticCredentials,
};
use crate::service::{Redelivery, ServiceSettings, SyncService};
use crate::sources::registry;
use crate::wazzup::{ClientConfig, WazzupClient, WazzupError};

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Wazzup(#[from] WazzupError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(
        "the secret has no caller credential (one of {}): callers could not be authenticated. \
         Add one, or set ALLOW_UNAUTHENTICATED=true explicitly",
        registry::credential_names()
    )]
    NoWebhookCredentials,
    #[error("SEAT_RULES: {0}")]
    SeatRules(String),
}

/// Refuses seat rules that name an unknown source or a fact its source does not give.
pub fn check_seats(config: &Config) -> Result<(), StartupError> {
    registry::check_seats(&config.seats).map_err(StartupError::SeatRules)
}

/// Every field of the secret the function reads: the sources' and the administrator token.
pub fn secret_fields() -> Vec<&'static str> {
    let mut fields = registry::secret_fields();
    fields.push(ADMIN_TOKEN);
    fields
}

/// Refuses a secret value with an unusable field.
pub fn check_secrets(secrets: &SecretFields) -> Result<(), SecretError> {
    registry::check_secrets(secrets)?;
    secrets.text(ADMIN_TOKEN).map(|_| ())
}

/// The Wazzup client a configuration asks for.
pub fn wazzup_client(config: &Config) -> Result<WazzupClient, WazzupError> {
    let mut client_config = ClientConfig::new(config.wazzup_api_url.clone());
    client_config.request_timeout = config.wazzup_timeout;
    client_config.rate_limit = config.wazzup_rate_limit;
    WazzupClient::new(client_config)
}

/// The credential provider a configuration asks for.
pub async fn credentials(config: &Config) -> Result<Arc<dyn CredentialProvider>, StartupError> {
    let aws = match &config.secret_source {
        SecretSource::SecretsManager { .. } => Some(aws_sdk::config().await),
        SecretSource::Environment(_) => None,
    };
    credentials_with(config, aws.as_ref())
}

/// The credential provider, reading Secrets Manager with `aws` when the secret is there.
fn credentials_with(
    config: &Config,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<Arc<dyn CredentialProvider>, StartupError> {
    Ok(match (&config.secret_source, aws) {
        (SecretSource::SecretsManager { secret_id, ttl }, Some(aws)) => Arc::new(
            SecretsManagerCredentials::new(
                aws_sdk_secretsmanager::Client::new(aws),
                secret_id.clone(),
                *ttl,
            )
            .with_check(check_secrets),
        ),
        (SecretSource::SecretsManager { .. }, None) => {
            return Err(StartupError::Secret(SecretError::Unavailable(
                "no AWS SDK configuration for Secrets Manager".into(),
            )));
        }
        (SecretSource::Environment(credentials), _) => Arc::new(StaticCredentials::checked(
            credentials.clone(),
            check_secrets,
        )?),
    })
}

/// The service a configuration asks for: the queue when `QUEUE_URL` is set (queued mode), the
/// state table when `STATE_TABLE` is. The AWS SDK's configuration is loaded once, for every
/// AWS client the service needs.
pub async fn service(
    config: &Config,
    settings: ServiceSettings,
) -> Result<SyncService, StartupError> {
    let aws = aws_for(config).await;
    service_with(config, settings, aws.as_ref())
}

/// The worker's service (it queues nothing: `QUEUE_URL` is the queue it takes from) and, with
/// `QUEUE_URL`, where it asks for a failed message's delay.
pub async fn worker_parts(
    config: &Config,
    settings: ServiceSettings,
) -> Result<(SyncService, Option<Arc<dyn Redelivery>>), StartupError> {
    let aws = aws_for(config).await;
    let service = service_with(
        &Config {
            queue_url: None,
            ..config.clone()
        },
        settings,
        aws.as_ref(),
    )?;
    let redelivery = match (&aws, &config.queue_url) {
        (Some(aws), Some(url)) => Some(Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(aws),
            url.clone(),
        )) as Arc<dyn Redelivery>),
        _ => None,
    };
    Ok((service, redelivery))
}

/// The AWS SDK's configuration, when the configuration names anything of AWS.
async fn aws_for(config: &Config) -> Option<aws_config::SdkConfig> {
    let needs_aws = matches!(config.secret_source, SecretSource::SecretsManager { .. })
        || config.queue_url.is_some()
        || config.state_table.is_some();
    if needs_aws {
        Some(aws_sdk::config().await)
    } else {
        None
    }
}

fn service_with(
    config: &Config,
    settings: ServiceSettings,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<SyncService, StartupError> {
    let credentials = credentials_with(config, aws)?;
    let mut service = SyncService::new(wazzup_client(config)?, credentials, settings);
    if let Some(aws) = aws {
        if let Some(url) = &config.queue_url {
            service = service.with_queue(Arc::new(SqsQueue::new(
                aws_sdk_sqs::Client::new(aws),
                url.clone(),
            )));
        }
        if let Some(table) = &config.state_table {
            service = service.with_state(Arc::new(DynamoStateStore::new(
                aws_sdk_dynamodb::Client::new(aws),
                table.clone(),
            )));
        }
    }
    Ok(service)
}

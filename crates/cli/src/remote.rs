//! Where the API key comes from (`--key` / `WAZZUP_API_KEY`, or an AWS Secrets Manager secret
//! with `--secret-id` / `WAZZUP_SECRET_ID`), and the service built with it: with the
//! deployment's state table when one is named (its records of whose users are whose, its
//! leases), and a source's users API to read the employees from.

use std::sync::Arc;
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use wazzup_user_sync::adapters::dynamodb::DynamoStateStore;
use wazzup_user_sync::aws_sdk;
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::{
    CredentialProvider, SecretsManagerCredentials, StaticCredentials, parse_secret_value,
};
use wazzup_user_sync::domain::SeatRules;

/// A source without seat rules: everyone active gets a seat.
static NO_RULES: SeatRules = SeatRules::EMPTY;
use wazzup_user_sync::service::{ServiceSettings, Session, SyncService};
use wazzup_user_sync::sources::registry;
use wazzup_user_sync::sources::seats::{self, Seated};
use wazzup_user_sync::sources::users_api::http_client;
use wazzup_user_sync::wazzup::{ClientConfig, WazzupClient};

use crate::args::{Cli, SyncArgs};
use crate::failure::{Failure, exit, secret_failure};

/// How long a secret read from Secrets Manager is trusted within one run.
const SECRET_TTL: Duration = Duration::from_secs(300);

/// Where the key comes from.
pub enum KeySource {
    Key(String),
    Secret(String),
}

fn from_command_line(matches: &ArgMatches, id: &str) -> bool {
    let on_line = |m: &ArgMatches| m.value_source(id) == Some(ValueSource::CommandLine);
    on_line(matches) || matches.subcommand().is_some_and(|(_, sub)| on_line(sub))
}

pub fn key_source(cli: &Cli, matches: &ArgMatches) -> Result<KeySource, Failure> {
    let key = cli.key.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let secret = cli
        .secret_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (key, secret) {
        (Some(key), Some(secret)) => {
            if from_command_line(matches, "secret_id") && !from_command_line(matches, "key") {
                Ok(KeySource::Secret(secret.to_owned()))
            } else {
                Ok(KeySource::Key(key.to_owned()))
            }
        }
        (Some(key), None) => Ok(KeySource::Key(key.to_owned())),
        (None, Some(secret)) => Ok(KeySource::Secret(secret.to_owned())),
        (None, None) => Err(Failure::new(
            exit::USAGE,
            "NO_API_KEY",
            "no Wazzup API key: set WAZZUP_API_KEY (or pass --key), or name the AWS Secrets \
             Manager secret holding it with WAZZUP_SECRET_ID (or --secret-id)",
        )),
    }
}

/// The service, talking to Wazzup with the key from where the command line says.
pub struct Remote {
    pub service: SyncService,
}

impl Remote {
    /// Connects with the full sync's fences in `sync` (the defaults for `list` and `get`), and
    /// the deployment's state table when `state_table` names one.
    pub async fn connect(
        cli: &Cli,
        source: KeySource,
        sync: SyncSettings,
        state_table: Option<&str>,
    ) -> Result<Self, Failure> {
        let mut config = ClientConfig::new(cli.api_url.clone());
        config.request_timeout = Duration::from_secs(cli.timeout);
        config.rate_limit = usize::try_from(cli.rate_limit).unwrap_or(1);
        let client = WazzupClient::new(config)
            .map_err(|e| Failure::new(exit::ERROR, "INTERNAL", e.to_string()))?;
        let provider: Arc<dyn CredentialProvider> = match source {
            KeySource::Key(key) => {
                let credentials = parse_secret_value(&key).map_err(|e| {
                    Failure::new(
                        exit::USAGE,
                        "INVALID_API_KEY",
                        format!("--key / WAZZUP_API_KEY: {e}"),
                    )
                })?;
                Arc::new(StaticCredentials::new(credentials))
            }
            KeySource::Secret(id) => {
                let sdk = SecretsManagerCredentials::client_from_environment().await;
                Arc::new(SecretsManagerCredentials::new(sdk, id, SECRET_TTL))
            }
        };
        let settings = ServiceSettings {
            phone_region: cli.region,
            sync,
            // The operator decides: takeovers are the `adopt` command's.
            adopt_on_conflict: false,
            message_days: wazzup_user_sync::config::DEFAULT_MESSAGE_DAYS,
        };
        let mut service = SyncService::new(client, provider, settings);
        if let Some(table) = state_table {
            let dynamodb = aws_sdk_dynamodb::Client::new(&aws_sdk::config().await);
            service = service.with_state(Arc::new(DynamoStateStore::new(dynamodb, table)));
        }
        Ok(Self { service })
    }

    /// The employees of the source `--crm` names, read through its users API with the
    /// credentials of `--crm-secret-id`'s secret, else of the key's: its active users that the
    /// seat rules (`--seat-rules`) admit.
    pub async fn crm_rows(&self, args: &SyncArgs) -> Result<Seated, Failure> {
        let name = args.crm.as_deref().unwrap_or_default();
        let directory = registry::by_name(name)
            .and_then(|source| source.directory())
            .ok_or_else(|| {
                Failure::usage(format!(
                    "--crm {name}: not a source whose users can be read; those that can are: {}",
                    registry::SOURCES
                        .iter()
                        .filter(|s| s.directory().is_some())
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let credentials = match &args.crm_secret_id {
            Some(id) => {
                let sdk = SecretsManagerCredentials::client_from_environment().await;
                SecretsManagerCredentials::new(sdk, id.clone(), SECRET_TTL)
                    .current()
                    .await
            }
            None => self.service.credentials().current().await,
        }
        .map_err(|e| secret_failure(&e))?;
        let http =
            http_client().map_err(|e| Failure::new(exit::ERROR, "INTERNAL", e.to_string()))?;
        let rules = args
            .seat_rules
            .as_ref()
            .map(|policy| policy.rules(name))
            .unwrap_or(&NO_RULES);
        let people = directory
            .fetch(&credentials.fields, &http, rules)
            .await
            .map_err(|e| Failure::new(exit::REMOTE, "CRM_UNAVAILABLE", e.to_string()))?;
        Ok(seats::seat(people, rules))
    }

    /// A session with the key as it is now.
    pub async fn session(&self) -> Result<Session<'_>, Failure> {
        self.service
            .session(None)
            .await
            .map(|session| session.for_source("cli"))
            .map_err(|e| secret_failure(&e))
    }
}

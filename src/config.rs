//! Every setting, read once at cold start, with a clear error for a bad one.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WAZZUP_SECRET_ID` | — | Secrets Manager secret (name or ARN) holding the API key and webhook credentials |
//! | `SECRET_TTL_SECONDS` | `300` | how long the secret is cached |
//! | `WAZZUP_API_KEY` and the secret's fields as variables (`WEBHOOK_TOKEN`, `SCIM_TOKEN`, ...) | — | local runs only, when `WAZZUP_SECRET_ID` is unset |
//! | `ALLOW_UNAUTHENTICATED` | `false` | serve without any webhook credential configured |
//! | `WAZZUP_API_URL` | `https://api.wazzup24.com` | where Wazzup is: `https://`, or `http://` on loopback only (local runs) |
//! | `WAZZUP_TIMEOUT_SECONDS` | `10` | timeout of one call to Wazzup |
//! | `REQUEST_BUDGET_SECONDS` | `8` | how long a caller waiting for an answer lets the function work, retries included (under Pipedrive's 10 s) |
//! | `MAX_BODY_BYTES` | `1048576` | larger request bodies get 413 |
//! | `MAX_EVENTS_PER_REQUEST` | `1000` | a batch with more events gets 413 |
//! | `QUEUE_URL` | — | queued mode: the SQS FIFO queue accepted changes wait in (without it, changes are applied at once) |
//! | `STATE_TABLE` | — | the DynamoDB table of the newest change applied per employee (order and replay protection) |
//! | `MAX_RECEIVE_COUNT` | `40` | worker: how often the queue hands a message out before it dead-letters it (the queue's redrive policy) |
//! | `WAZZUP_RATE_LIMIT` | `400` | calls to Wazzup per 5 s from one container (the account allows 500 in all) |
//! | `CRM_SECRET_ID` | — | scheduled mode: the secret holding the CRMs' users-API credentials (else they are read from `WAZZUP_SECRET_ID`'s) |
//! | `DEFAULT_PHONE_REGION` | `RU` | region for phone numbers written without a country code |
//! | `SYNC_ID_PREFIX` | — | widens the users the deployment may delete (it owns those it created or took over) to every user whose id starts with this |
//! | `SYNC_MANAGE_ALL` | `false` | widens them to every Wazzup user instead (explicit) |
//! | `SYNC_MAX_DELETE_SHARE` | `0.10` | full sync: the largest share of managed users one run may delete |
//! | `ADOPT_ON_CONFLICT` | `true` | a hire whose phone an unowned Wazzup user has takes that user over |
//! | `STACK_NAME` | `standalone` | the `Stack` dimension of every metric (the template sets the stack's name) |
//! | `SEAT_RULES` | — | who gets a seat, per source: `{"google": {"include": [{"orgUnit": "/Sales/*"}], "exclude": [...]}}` |
//! | `MESSAGE_ID_DAYS` | `7` | how long a source's message id is remembered: a retry of it within that is a duplicate, whatever its timestamp |

use std::time::Duration;

use url::Url;

use crate::credentials::{Credentials, credentials_from_vars};
use crate::domain::{PhoneRegion, Scope, SeatPolicy};

/// How long a source's message is remembered by default: past Standard Webhooks' example retry
/// schedule (75 hours) and Pipedrive's (minutes).
pub const DEFAULT_MESSAGE_DAYS: u32 = 7;

/// The production Wazzup API.
pub const DEFAULT_API_URL: &str = "https://api.wazzup24.com";

/// Where the credentials come from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    SecretsManager {
        secret_id: String,
        ttl: Duration,
    },
    /// Local runs: fixed credentials from the environment.
    Environment(Credentials),
}

/// The function's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub secret_source: SecretSource,
    pub allow_unauthenticated: bool,
    pub wazzup_api_url: Url,
    pub wazzup_timeout: Duration,
    /// How long a synchronous caller lets a request take, Wazzup's retries included.
    pub request_budget: Duration,
    pub max_body_bytes: usize,
    pub max_events: usize,
    /// The secret with the CRMs' users-API credentials, for the scheduled mode.
    pub crm_secret_id: Option<String>,
    /// Queued mode: the queue accepted changes wait in.
    pub queue_url: Option<String>,
    /// The table of the newest change applied per employee.
    pub state_table: Option<String>,
    /// How often the queue hands a message out before it dead-letters it.
    pub max_receive_count: u32,
    /// Calls to Wazzup per 5 s from one container.
    pub wazzup_rate_limit: usize,
    pub phone_region: PhoneRegion,
    /// Which users deletions reach, and the full sync's fences.
    pub sync: SyncSettings,
    /// A hire refused for a phone that a Wazzup user nobody owns has takes that user over.
    pub adopt_on_conflict: bool,
    /// How long a source's message is remembered, so that a retry of it is known (days).
    pub message_days: u32,
    /// The stack the metrics carry as a dimension (`STACK_NAME`; the template sets it).
    pub stack_name: Option<String>,
    /// Who gets a seat, per source (`SEAT_RULES`; the sources check what it names at start).
    pub seats: SeatPolicy,
}

/// Which users deletions reach beyond those the deployment owns, and the full sync's fences.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    pub scope: Scope,
    pub max_delete_share: f64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            scope: Scope::Owned,
            max_delete_share: 0.10,
        }
    }
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn error(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(variable)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            error(
                variable,
                format!("\"{text}\" is not a whole non-negative number"),
            )
        }),
    }
}

fn flag(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<bool, ConfigError> {
    flag_or(get, variable, false)
}

/// A true/false setting, `default` when it is unset or empty.
fn flag_or(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(variable)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") => Ok(default),
        Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(other) => Err(error(
            variable,
            format!("\"{other}\" is neither true nor false"),
        )),
    }
}

impl Config {
    /// Reads the process environment. `secret_fields` are the secret's fields the sources
    /// read, taken from environment variables when no secret is configured (local runs).
    pub fn from_env(secret_fields: &[&str]) -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok(), secret_fields)
    }

    /// Reads settings through `get` (the environment, or a map in tests).
    pub fn from_vars(
        get: impl Fn(&str) -> Option<String>,
        secret_fields: &[&str],
    ) -> Result<Self, ConfigError> {
        let allow_unauthenticated = flag(&get, "ALLOW_UNAUTHENTICATED")?;
        let secret_source = match get("WAZZUP_SECRET_ID").map(|v| v.trim().to_owned()) {
            Some(secret_id) if !secret_id.is_empty() => SecretSource::SecretsManager {
                secret_id,
                ttl: Duration::from_secs(number(&get, "SECRET_TTL_SECONDS", 300u64)?),
            },
            _ => {
                let credentials = credentials_from_vars(&get, secret_fields)
                    .map_err(|e| error("WAZZUP_API_KEY", e.to_string()))?;
                SecretSource::Environment(credentials)
            }
        };
        let url_text = get("WAZZUP_API_URL")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let wazzup_api_url = Url::parse(&url_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                error(
                    "WAZZUP_API_URL",
                    format!("\"{url_text}\" is not an http(s) URL"),
                )
            })?;
        if wazzup_api_url.scheme() == "http" && !is_loopback(&wazzup_api_url) {
            return Err(error(
                "WAZZUP_API_URL",
                format!(
                    "\"{url_text}\" is plain http: the API key would travel in clear. Use https \
                     (plain http is allowed on loopback only, for local runs)"
                ),
            ));
        }
        let phone_region = match get("DEFAULT_PHONE_REGION").filter(|v| !v.trim().is_empty()) {
            None => PhoneRegion::default(),
            Some(text) => text
                .parse()
                .map_err(|message: String| error("DEFAULT_PHONE_REGION", message))?,
        };
        let wazzup_timeout =
            Duration::from_secs(number(&get, "WAZZUP_TIMEOUT_SECONDS", 10u64)?.max(1));
        let max_body_bytes = number(&get, "MAX_BODY_BYTES", 1024 * 1024usize)?;
        let max_events = number(&get, "MAX_EVENTS_PER_REQUEST", 1000usize)?.max(1);
        let request_budget =
            Duration::from_secs(number(&get, "REQUEST_BUDGET_SECONDS", 8u64)?.max(1));
        let text = |variable: &str| {
            get(variable)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let crm_secret_id = text("CRM_SECRET_ID");
        let stack_name = text("STACK_NAME");
        let queue_url = text("QUEUE_URL");
        let state_table = text("STATE_TABLE");
        let max_receive_count = number(&get, "MAX_RECEIVE_COUNT", 40u32)?.max(1);
        let wazzup_rate_limit = number(&get, "WAZZUP_RATE_LIMIT", 400usize)?.clamp(1, 500);
        let prefix = get("SYNC_ID_PREFIX").filter(|p| !p.trim().is_empty());
        let scope = match (prefix, flag(&get, "SYNC_MANAGE_ALL")?) {
            (Some(_), true) => {
                return Err(error(
                    "SYNC_MANAGE_ALL",
                    "set either SYNC_ID_PREFIX or SYNC_MANAGE_ALL=true, not both",
                ));
            }
            (Some(prefix), false) => Scope::Prefix(prefix.trim().to_owned()),
            (None, true) => Scope::All,
            (None, false) => Scope::Owned,
        };
        let max_delete_share = match get("SYNC_MAX_DELETE_SHARE").filter(|v| !v.trim().is_empty()) {
            None => 0.10,
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|share| (0.0..=1.0).contains(share))
                .ok_or_else(|| {
                    error(
                        "SYNC_MAX_DELETE_SHARE",
                        format!("\"{text}\" is not a share between 0 and 1, such as 0.10"),
                    )
                })?,
        };
        let sync = SyncSettings {
            scope,
            max_delete_share,
        };
        let adopt_on_conflict = flag_or(&get, "ADOPT_ON_CONFLICT", true)?;
        let message_days = number(&get, "MESSAGE_ID_DAYS", DEFAULT_MESSAGE_DAYS)?.clamp(1, 365);
        let seats = match text("SEAT_RULES") {
            None => SeatPolicy::default(),
            Some(rules) => {
                SeatPolicy::parse(&rules).map_err(|message| error("SEAT_RULES", message))?
            }
        };
        Ok(Self {
            secret_source,
            allow_unauthenticated,
            wazzup_api_url,
            wazzup_timeout,
            request_budget,
            max_body_bytes,
            max_events,
            crm_secret_id,
            queue_url,
            state_table,
            max_receive_count,
            wazzup_rate_limit,
            phone_region,
            sync,
            adopt_on_conflict,
            message_days,
            stack_name,
            seats,
        })
    }
}

impl Config {
    /// How long a secret read from Secrets Manager is cached.
    pub fn secret_ttl(&self) -> Duration {
        match &self.secret_source {
            SecretSource::SecretsManager { ttl, .. } => *ttl,
            SecretSource::Environment(_) => Duration::from_secs(300),
        }
    }
}

/// Whether the URL's host is this machine (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|name| map.get(name).cloned(), &["webhookToken"])
    }

    #[test]
    fn a_secret_id_selects_secrets_manager_with_defaults() {
        let c = config(&[("WAZZUP_SECRET_ID", "wazzup/prod")]).unwrap();
        assert!(matches!(
            c.secret_source,
            SecretSource::SecretsManager { ref secret_id, ttl }
                if secret_id == "wazzup/prod" && ttl == Duration::from_secs(300)
        ));
        assert_eq!(c.wazzup_api_url.as_str(), "https://api.wazzup24.com/");
        assert_eq!(c.max_body_bytes, 1_048_576);
        assert_eq!(c.max_events, 1000);
        assert_eq!(c.request_budget, Duration::from_secs(8));
        assert!(c.crm_secret_id.is_none());
        assert!(c.queue_url.is_none() && c.state_table.is_none());
        assert_eq!((c.max_receive_count, c.wazzup_rate_limit), (40, 400));
        assert!(!c.allow_unauthenticated);
    }

    #[test]
    fn local_runs_read_the_key_and_the_sources_fields_from_the_environment() {
        let e = config(&[]).unwrap_err();
        assert_eq!(e.variable, "WAZZUP_API_KEY");
        let c = config(&[("WAZZUP_API_KEY", "k"), ("WEBHOOK_TOKEN", "t")]).unwrap();
        let SecretSource::Environment(credentials) = c.secret_source else {
            panic!("expected the environment")
        };
        assert_eq!(credentials.fields.names(), ["webhookToken"]);
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        for url in [
            "http://127.0.0.1:9000",
            "http://localhost:1",
            "http://[::1]:2",
        ] {
            let c = config(&[("WAZZUP_SECRET_ID", "s"), ("WAZZUP_API_URL", url)]);
            assert!(c.is_ok(), "{url}");
        }
        let e = config(&[
            ("WAZZUP_SECRET_ID", "s"),
            ("WAZZUP_API_URL", "http://10.0.0.1"),
        ]);
        assert!(e.unwrap_err().message.contains("https"));
    }

    #[test]
    fn deletions_reach_owned_users_unless_a_scope_widens_them() {
        let base = ("WAZZUP_SECRET_ID", "s");
        let defaults = config(&[base]).unwrap();
        assert_eq!(defaults.sync, SyncSettings::default());
        assert_eq!(defaults.sync.scope, Scope::Owned);
        assert!(defaults.adopt_on_conflict);
        assert!(
            !config(&[base, ("ADOPT_ON_CONFLICT", "false")])
                .unwrap()
                .adopt_on_conflict
        );
        assert_eq!(
            config(&[base, ("ADOPT_ON_CONFLICT", "sometimes")])
                .unwrap_err()
                .variable,
            "ADOPT_ON_CONFLICT"
        );
        let prefixed = config(&[base, ("SYNC_ID_PREFIX", "crm-")]).unwrap().sync;
        assert_eq!(prefixed.scope, Scope::Prefix("crm-".into()));
        assert_eq!(prefixed.max_delete_share, 0.10);
        let all = config(&[
            base,
            ("SYNC_MANAGE_ALL", "true"),
            ("SYNC_MAX_DELETE_SHARE", "0.25"),
        ])
        .unwrap()
        .sync;
        assert_eq!((all.scope, all.max_delete_share), (Scope::All, 0.25));
        assert!(config(&[base, ("SYNC_MANAGE_ALL", "true"), ("SYNC_ID_PREFIX", "x")]).is_err());
        assert_eq!(
            config(&[
                base,
                ("SYNC_ID_PREFIX", "x"),
                ("SYNC_MAX_DELETE_SHARE", "10%")
            ])
            .unwrap_err()
            .variable,
            "SYNC_MAX_DELETE_SHARE"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let base = [("WAZZUP_SECRET_ID", "s")];
        for (var, value) in [
            ("SECRET_TTL_SECONDS", "five"),
            ("MAX_BODY_BYTES", "-1"),
            ("WAZZUP_API_URL", "ftp://x"),
            ("WAZZUP_API_URL", "http://api.wazzup24.com"),
            ("MAX_EVENTS_PER_REQUEST", "many"),
            ("REQUEST_BUDGET_SECONDS", "-3"),
            ("DEFAULT_PHONE_REGION", "Narnia"),
            ("ALLOW_UNAUTHENTICATED", "maybe"),
        ] {
            let mut pairs = base.to_vec();
            pairs.push((var, value));
            assert_eq!(config(&pairs).unwrap_err().variable, var, "{var}={value}");
        }
    }
}

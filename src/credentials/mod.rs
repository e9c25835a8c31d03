//! The function's secrets, at the side of the layers: the Wazzup API key and the fields the
//! sources read (webhook secrets, tokens, CRM access), from one AWS Secrets Manager secret or,
//! for local runs, the environment. Read at cold start, cached, refreshed when Wazzup refuses
//! the key. This module knows no source: each source reads its own fields from
//! [`SecretFields`], and the entry points hand a check of them to the provider.

mod document;
mod fields;
mod provider;
mod secrets_manager;

pub use document::{credentials_from_vars, env_name, parse_secret_value};
pub use fields::SecretFields;
pub use provider::{BoxFuture, CredentialProvider, FieldsCheck, StaticCredentials};
pub use secrets_manager::SecretsManagerCredentials;

use secrecy::SecretString;

/// The secret's field holding the administrator's bearer token (for `POST /sync`): the
/// function's own, like the API key, never a source's.
pub const ADMIN_TOKEN: &str = "adminToken";

/// What the function needs to know that must stay secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The Wazzup API key.
    pub api_key: SecretString,
    /// Every other field of the secret, for the sources (and the administrator token).
    pub fields: SecretFields,
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

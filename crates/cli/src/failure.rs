//! Why a command stopped: its exit code (the scripts' contract, listed in `--help`), a stable
//! code word, a message, and details for the JSON output.

use serde_json::{Map, Value};
use wazzup_user_sync::credentials::SecretError;
use wazzup_user_sync::service::ApplyError;

/// Exit codes; see the crate documentation.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REFUSED: u8 = 3;
    pub const REMOTE: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const PARTIAL: u8 = 6;
}

/// Why a command stopped: the exit code, a stable code word, a message, and details.
#[derive(Debug)]
pub struct Failure {
    pub exit: u8,
    pub code: String,
    pub message: String,
    /// Extra fields of the JSON error object.
    details: Map<String, Value>,
    /// Extra lines under the message in table mode.
    pub lines: Vec<String>,
}

impl Failure {
    pub fn new(exit: u8, code: &str, message: impl Into<String>) -> Self {
        Self {
            exit,
            code: code.to_owned(),
            message: message.into(),
            details: Map::new(),
            lines: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, "USAGE", message)
    }

    pub fn detail(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    pub fn line(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    pub fn json(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), Value::String(self.code.clone()));
        body.insert("message".into(), Value::String(self.message.clone()));
        for (key, value) in &self.details {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(body)
    }
}

pub fn secret_failure(error: &SecretError) -> Failure {
    let code = match error {
        SecretError::Unavailable(_) => "SECRETS_UNAVAILABLE",
        SecretError::Refused(_) => "SECRETS_REFUSED",
        SecretError::Invalid(_) => "SECRET_INVALID",
    };
    Failure::new(exit::REMOTE, code, error.to_string())
}

pub fn apply_failure(error: &ApplyError) -> Failure {
    match error {
        ApplyError::Wazzup(e) => Failure::new(exit::REMOTE, e.code(), e.to_string()),
        ApplyError::Secret(e) => secret_failure(e),
        ApplyError::State(_) | ApplyError::Busy { .. } | ApplyError::HolderUnknown => {
            Failure::new(exit::REMOTE, error.code(), error.to_string())
        }
    }
}

//! What a source is to the rest of the function. A source is one CRM or identity provider: how
//! its calls arrive and prove themselves ([`Webhook`], or a whole [`Protocol`] such as SCIM),
//! how its complete user list is read for the full sync ([`Directory`]), and which fields of
//! the secret are its own. Each lives in its own folder and is listed once in the registry.

use http::{HeaderMap, header};

use crate::auth::CallerAuthError;
use crate::credentials::{BoxFuture, SecretError, SecretFields};
use crate::domain::{EmployeeRow, EventBatch, Facts, PhoneRegion, SeatPolicy, SeatRules};
use tokio::time::Instant;

use crate::service::SyncService;

/// One request as it reached the function: its head, its raw body (authenticated before it is
/// parsed), and the time it arrived.
pub struct Inbound<'a> {
    pub parts: &'a http::request::Parts,
    pub body: &'a [u8],
    /// Unix time in seconds.
    pub now: i64,
}

impl Inbound<'_> {
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The media type, lower-cased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        let value = self.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
        Some(
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase(),
        )
    }

    /// `application/json` or any `application/...+json`.
    pub fn is_json(&self) -> bool {
        self.media_type().is_some_and(|mime| {
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
    }

    pub fn is_form(&self) -> bool {
        self.media_type()
            .is_some_and(|mime| mime == "application/x-www-form-urlencoded")
    }
}

/// The deployment's settings every source may need.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub phone_region: PhoneRegion,
    /// Serve the generic webhook without credentials when none is configured (explicit).
    pub allow_unauthenticated: bool,
    pub max_body_bytes: usize,
    /// The most events one request may carry.
    pub max_events: usize,
    /// Who gets a seat, per source (`SEAT_RULES`).
    pub seats: std::sync::Arc<SeatPolicy>,
}

/// What a source made of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Changes to apply.
    Batch(EventBatch),
    /// A notification this function has nothing to do with (another entity, another event):
    /// answered 200 so that the sender does not retry it.
    Ignored(String),
}

/// Why a body cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("{0}")]
    NotJson(String),
    #[error("{0}")]
    WrongShape(String),
    #[error("the batch holds no events")]
    EmptyBatch,
    #[error(
        "the batch holds {count} events; at most {max} are accepted in one request, so split it"
    )]
    TooManyEvents { count: usize, max: usize },
}

/// Why a source refused a request; nothing reached Wazzup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The source's credential is not configured: it is not served at all.
    NotEnabled,
    /// Missing or wrong credentials; `challenge` is the `WWW-Authenticate` to answer with.
    Unauthenticated {
        reason: String,
        challenge: &'static str,
    },
    /// The body is not of the media type the source sends.
    UnsupportedMediaType(&'static str),
    /// The body cannot be used.
    Body(BodyError),
}

impl Refusal {
    /// The refusal for a failed shared-secret check.
    pub fn auth(error: CallerAuthError, challenge: &'static str) -> Self {
        match error {
            CallerAuthError::NotConfigured => Refusal::NotEnabled,
            error => Refusal::Unauthenticated {
                reason: error.to_string(),
                challenge,
            },
        }
    }
}

/// A source that notifies changes: each call is authenticated on its raw bytes, then parsed.
pub trait Webhook: Sync {
    fn receive(
        &self,
        request: &Inbound<'_>,
        secrets: &SecretFields,
        settings: &SourceSettings,
    ) -> Result<Received, Refusal>;
}

/// Why a CRM's users could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0} is not configured in the secret")]
    NotConfigured(&'static str),
    #[error("the CRM's credential in the secret is not usable: {0}")]
    Secret(#[from] SecretError),
    #[error("the CRM could not be reached: {0}")]
    Unreachable(String),
    #[error("the CRM answered {status}: {detail}")]
    Refused { status: u16, detail: String },
    #[error("the CRM's answer could not be read: {0}")]
    BadAnswer(String),
    /// The seat rules name what this source cannot give (a group it does not have).
    #[error("SEAT_RULES: {0}")]
    Rules(String),
}

/// One person as a source's users API lists them: the employee, whether the source counts
/// them active (a suspended, disabled or archived account is not), and what the source knows
/// of them for the seat rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub row: EmployeeRow,
    pub active: bool,
    pub facts: Facts,
}

/// A source whose complete list of users can be read, for the full sync. `rules` are the
/// source's seat rules, for a source that must look up what they name (a group's members).
pub trait Directory: Sync {
    fn fetch<'a>(
        &'a self,
        secrets: &'a SecretFields,
        http: &'a reqwest::Client,
        rules: &'a SeatRules,
    ) -> BoxFuture<'a, Result<Vec<Person>, DirectoryError>>;
}

/// A source that speaks a whole protocol of its own under a path prefix (SCIM), reading and
/// writing Wazzup's users through the service, and answering in its own format (errors too).
pub trait Protocol: Sync {
    fn serve<'a>(
        &'a self,
        request: &'a Inbound<'a>,
        sub_path: &'a str,
        service: &'a SyncService,
        deadline: Option<Instant>,
        settings: &'a SourceSettings,
    ) -> BoxFuture<'a, http::Response<String>>;
}

/// Where a source's calls arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST` to exactly this path (a trailing `/` is ignored).
    Path(&'static str),
    /// Everything under this prefix.
    Prefix(&'static str),
}

/// One CRM or identity provider.
pub trait Source: Sync {
    /// Its name: in logs, errors and the scheduled sync's input (`{"crm": "pipedrive"}`).
    fn name(&self) -> &'static str;
    /// Where its calls arrive, if it sends any.
    fn route(&self) -> Option<Route>;
    /// The secret's fields it reads (camelCase; in local runs the variables of the same
    /// names, `PIPEDRIVE_HTTP_USER` for `pipedriveHttpUser`).
    fn secret_fields(&self) -> &'static [&'static str];
    /// Whether its calls are served: its credential is configured.
    fn enabled(&self, secrets: &SecretFields) -> bool;
    /// Refuses unusable values of its fields, so that a bad secret is found when it is read.
    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError>;
    /// The facts it knows of a person, for the seat rules (`group`, `orgUnit`, `department`,
    /// `role`, `title`; `attribute.*` for any `attribute.<name>`). None: it takes no rules.
    fn facts(&self) -> &'static [&'static str] {
        &[]
    }
    /// Refuses seat rules it cannot decide (a group it can only match exactly, say), beyond
    /// naming facts it does not know, which the registry refuses for every source.
    fn check_rules(&self, _rules: &SeatRules) -> Result<(), String> {
        Ok(())
    }
    fn webhook(&self) -> Option<&dyn Webhook> {
        None
    }
    fn directory(&self) -> Option<&dyn Directory> {
        None
    }
    fn protocol(&self) -> Option<&dyn Protocol> {
        None
    }
}

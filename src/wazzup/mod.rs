//! A typed client for Wazzup's `/v3/users` endpoints: list, get, upsert, delete, bulk_delete.
//!
//! The only module that speaks Wazzup's wire format. It refuses to send what Wazzup would refuse
//! (over 100 users, a repeated id), retries 429, 5xx and connection errors with exponential
//! backoff and jitter (honouring `Retry-After`, never past the caller's deadline), keeps under
//! Wazzup's rate limit of 500 requests per 5 seconds, and turns every documented error into a
//! [`WazzupError`].

mod error;
mod retry;

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

pub use error::{InvalidItem, WazzupError};
pub use retry::{RateLimiter, RetryPolicy};

use crate::domain::User;

/// Wazzup's limit of users in one `POST /v3/users`, and of ids in one `bulk_delete`.
pub const MAX_PER_REQUEST: usize = 100;

/// Wazzup's limit of users in one account (`USER_LIMIT_EXCEEDED` beyond it).
pub const USER_LIMIT: usize = 1000;

/// A user as `GET /v3/users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ListedUser {
    pub id: String,
    pub name: String,
}

/// A user as `GET /v3/users/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RemoteUser {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// What a single deletion found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// Wazzup did not have the user: the goal is reached all the same.
    AlreadyAbsent,
}

#[derive(Serialize)]
struct WireUser<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListPage {
    Bare(Vec<ListedUser>),
    Paged {
        count: usize,
        #[serde(default)]
        data: Vec<ListedUser>,
    },
}

/// The most pages `list_users` reads: Wazzup's 1,000-user limit is 10 pages of 100.
const MAX_LIST_PAGES: usize = 100;

/// Settings for [`WazzupClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: Url,
    /// Timeout of one HTTP call (the caller's deadline may cut it shorter).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests allowed per `rate_window` from this process.
    pub rate_limit: usize,
    pub rate_window: Duration,
}

impl ClientConfig {
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            retry: RetryPolicy::default(),
            // Wazzup allows 500 requests per 5 s per key; keep a margin for other clients.
            rate_limit: 400,
            rate_window: Duration::from_secs(5),
        }
    }
}

/// The raw answer to one call.
struct Answer {
    status: StatusCode,
    body: bytes::Bytes,
}

/// The Wazzup users API client. Cheap to clone; build it once per container.
#[derive(Clone)]
pub struct WazzupClient {
    http: reqwest::Client,
    config: ClientConfig,
    limiter: RateLimiter,
}

impl WazzupClient {
    pub fn new(config: ClientConfig) -> Result<Self, WazzupError> {
        // A configuration fault is told at start, never as a refusal of some request's data.
        if config.base_url.cannot_be_a_base() {
            return Err(WazzupError::Transport(format!(
                "the Wazzup URL \"{}\" cannot hold a path",
                config.base_url
            )));
        }
        let tls = crate::tls::rustls_config()
            .map_err(|e| WazzupError::Transport(format!("cannot set up TLS: {e}")))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("wazzup-user-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| WazzupError::Transport(format!("cannot build the HTTP client: {e}")))?;
        let limiter = RateLimiter::new(config.rate_limit, config.rate_window);
        Ok(Self {
            http,
            config,
            limiter,
        })
    }

    /// `/v3/users` and `segments` under the base URL. Each segment is percent-encoded and
    /// stays one segment (`a/b` is sent as `a%2Fb`); `.`, `..` and empty ones, which a path
    /// would resolve away, are refused.
    fn url(&self, segments: &[&str]) -> Result<Url, WazzupError> {
        if let Some(bad) = segments
            .iter()
            .find(|s| s.is_empty() || **s == "." || **s == "..")
        {
            return Err(WazzupError::InvalidRequest(format!(
                "\"{bad}\" cannot be sent as a user id in the URL path"
            )));
        }
        let mut url = self.config.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| WazzupError::Transport("the Wazzup URL cannot hold a path".into()))?
            .pop_if_empty()
            .extend(["v3", "users"])
            .extend(segments);
        Ok(url)
    }

    /// Sends one call, retrying what may succeed later, and returns the final answer (which may
    /// still be an error status that is not worth retrying).
    async fn call(
        &self,
        key: &SecretString,
        method: Method,
        url: Url,
        body: Option<&Value>,
        deadline: Option<Instant>,
    ) -> Result<Answer, WazzupError> {
        let policy = &self.config.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            let mut timeout = self.config.request_timeout;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(WazzupError::Transport(
                        "no time left before the function's deadline".into(),
                    ));
                }
                timeout = timeout.min(left);
            }
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(key.expose_secret())
                .timeout(timeout);
            if let Some(body) = body {
                request = request.json(body);
            }

            let (error, retry_after) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry::parse_retry_after(response.headers());
                    let body = response.bytes().await.unwrap_or_default();
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        (error::from_response(status.as_u16(), &body), retry_after)
                    } else {
                        return Ok(Answer { status, body });
                    }
                }
                Err(e) => (WazzupError::Transport(describe_transport_error(&e)), None),
            };

            let delay = policy.delay(attempt, &error, retry_after);
            let fits = deadline.is_none_or(|d| Instant::now() + delay < d);
            if attempt >= policy.max_attempts || !fits {
                tracing::warn!(attempt, error = %error, "giving up on Wazzup call");
                return Err(error);
            }
            tracing::info!(
                attempt,
                error = %error,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying Wazzup call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Every active user (`GET /v3/users`), following pages when Wazzup pages the list.
    pub async fn list_users(
        &self,
        key: &SecretString,
        deadline: Option<Instant>,
    ) -> Result<Vec<ListedUser>, WazzupError> {
        let mut users: Vec<ListedUser> = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let mut url = self.url(&[])?;
            if !users.is_empty() {
                url.query_pairs_mut()
                    .append_pair("offset", &users.len().to_string());
            }
            let answer = self.call(key, Method::GET, url, None, deadline).await?;
            if !answer.status.is_success() {
                return Err(error::from_response(answer.status.as_u16(), &answer.body));
            }
            let page: ListPage = serde_json::from_slice(&answer.body)
                .map_err(|e| WazzupError::Decode(format!("user list: {e}")))?;
            match page {
                ListPage::Bare(all) => return Ok(all),
                ListPage::Paged { count, data } => {
                    let empty = data.is_empty();
                    users.extend(data);
                    if empty || users.len() >= count {
                        return Ok(users);
                    }
                }
            }
        }
        Err(WazzupError::Decode(format!(
            "the user list did not end after {MAX_LIST_PAGES} pages"
        )))
    }

    /// One user (`GET /v3/users/{id}`), or `None` when Wazzup does not have it.
    pub async fn get_user(
        &self,
        key: &SecretString,
        id: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<RemoteUser>, WazzupError> {
        let answer = self
            .call(key, Method::GET, self.url(&[id])?, None, deadline)
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(error::from_response(answer.status.as_u16(), &answer.body));
        }
        serde_json::from_slice(&answer.body)
            .map(Some)
            .map_err(|e| WazzupError::Decode(format!("user: {e}")))
    }

    /// Creates or updates up to 100 users (`POST /v3/users`), each id once.
    pub async fn upsert_users(
        &self,
        key: &SecretString,
        users: &[User],
        deadline: Option<Instant>,
    ) -> Result<(), WazzupError> {
        if users.is_empty() {
            return Err(WazzupError::InvalidRequest("no users to upsert".into()));
        }
        if users.len() > MAX_PER_REQUEST {
            return Err(WazzupError::TooManyEntities {
                count: users.len(),
                limit: MAX_PER_REQUEST,
            });
        }
        let mut seen = HashSet::new();
        if let Some(user) = users.iter().find(|u| !seen.insert(&u.id)) {
            return Err(WazzupError::InvalidRequest(format!(
                "id {} appears twice in one upsert",
                user.id
            )));
        }
        let wire: Vec<WireUser<'_>> = users
            .iter()
            .map(|u| WireUser {
                id: u.id.as_str(),
                name: u.name.as_str(),
                phone: u.phone.as_ref().map(|p| p.as_str()),
            })
            .collect();
        let body = serde_json::to_value(&wire)
            .map_err(|e| WazzupError::InvalidRequest(format!("cannot encode users: {e}")))?;
        let answer = self
            .call(key, Method::POST, self.url(&[])?, Some(&body), deadline)
            .await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(error::from_response(answer.status.as_u16(), &answer.body))
        }
    }

    /// Deletes one user (`DELETE /v3/users/{id}`); a user Wazzup does not have is
    /// [`DeleteOutcome::AlreadyAbsent`].
    pub async fn delete_user(
        &self,
        key: &SecretString,
        id: &str,
        deadline: Option<Instant>,
    ) -> Result<DeleteOutcome, WazzupError> {
        let answer = self
            .call(key, Method::DELETE, self.url(&[id])?, None, deadline)
            .await?;
        if answer.status.is_success() {
            return Ok(DeleteOutcome::Deleted);
        }
        match error::from_response(answer.status.as_u16(), &answer.body) {
            WazzupError::NotFound => Ok(DeleteOutcome::AlreadyAbsent),
            WazzupError::Unexpected { code, .. } if code.contains("NOT_FOUND") => {
                Ok(DeleteOutcome::AlreadyAbsent)
            }
            other => Err(other),
        }
    }

    /// Deletes up to 100 users (`PATCH /v3/users/bulk_delete`) and returns the ids Wazzup
    /// did not have.
    pub async fn bulk_delete(
        &self,
        key: &SecretString,
        ids: &[&str],
        deadline: Option<Instant>,
    ) -> Result<Vec<String>, WazzupError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_PER_REQUEST {
            return Err(WazzupError::TooManyEntities {
                count: ids.len(),
                limit: MAX_PER_REQUEST,
            });
        }
        let body = Value::from(ids.iter().map(|id| Value::from(*id)).collect::<Vec<_>>());
        let answer = self
            .call(
                key,
                Method::PATCH,
                self.url(&["bulk_delete"])?,
                Some(&body),
                deadline,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(error::from_response(answer.status.as_u16(), &answer.body));
        }
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let absent: Vec<Value> = serde_json::from_slice(&answer.body)
            .map_err(|e| WazzupError::Decode(format!("bulk_delete answer: {e}")))?;
        Ok(absent
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect())
    }
}

fn describe_transport_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // The URL is Wazzup's; the key travels in a header and never appears here.
    match error.url() {
        Some(url) => format!("{kind} ({})", url.host_str().unwrap_or("?")),
        None => kind.to_string(),
    }
}

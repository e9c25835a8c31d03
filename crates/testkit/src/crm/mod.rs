//! Loopback fakes of the users APIs the scheduled full sync reads, each written from its
//! vendor's documentation (shapes, paging, errors, 429s), so that a reader passing against
//! them has earned it: Google Workspace's token endpoint and Directory API ([`google`]),
//! Keycloak's token endpoint and Admin REST API ([`keycloak`]), and the users APIs the custom
//! recipes read: HubSpot, Kommo, Freshsales and an in-house one ([`custom`]). Every request is
//! recorded for the tests' assertions.

pub mod custom;
pub mod google;
pub mod keycloak;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The path and the query, as sent.
    pub uri: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// The requests a fake has received, shared with its handlers.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn push(&self, method: &str, uri: &str, headers: &HeaderMap) {
        lock(&self.0).push(Seen {
            method: method.to_owned(),
            uri: uri.to_owned(),
            authorization: header(headers, "authorization"),
        });
    }

    pub fn all(&self) -> Vec<Seen> {
        lock(&self.0).clone()
    }

    /// How many requests had a path starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        lock(&self.0)
            .iter()
            .filter(|s| s.uri.starts_with(prefix))
            .count()
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The token of an `Authorization: Bearer ...` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = header(headers, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

pub(crate) fn json(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

/// Serves `router` on a free loopback port until the runtime stops; its base URL.
pub(crate) async fn serve(router: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(format!("http://{addr}"))
}

/// The users of a list from `offset`, at most `size`.
pub(crate) fn slice(users: &[Value], offset: usize, size: usize) -> Vec<Value> {
    users.iter().skip(offset).take(size).cloned().collect()
}

//! The fake's public data types: users, recorded requests, list shapes and faults.

use std::time::Duration;

use serde_json::Value;

/// A user as the fake stores it (and as a seed file lists it: `{"id", "name", "phone"}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FakeUser {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// One request the fake received, and what it answered.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    /// The raw `Authorization` header, if any.
    pub authorization: Option<String>,
    /// `None` if the body was empty, the parsed JSON if it was JSON, else `Value::String(raw)`.
    pub body: Option<serde_json::Value>,
    /// The status the fake answered; 0 while the request is still being handled, when the
    /// connection was dropped by a [`Fault::Disconnect`], or when the client went away first.
    pub status: u16,
    /// When the request arrived.
    #[serde(skip)]
    pub received_at: std::time::Instant,
}

/// The shape of `GET /v3/users`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListShape {
    /// Older editions: `[{"id", "name"}, ...]`, every user at once.
    BareArray,
    /// Newer editions: `{"count": N, "data": [...]}`, pages of 100 selected by `?offset=N`.
    Paged,
}

/// A fault to inject into one request; see
/// [`WazzupFake::push_fault`](super::WazzupFake::push_fault).
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status (body `{"error": "FAULT_INJECTED", ...}`), optionally with a
    /// `Retry-After: <seconds>` header, without handling the request. A status outside
    /// 100..=999 is answered as 500.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Sleep this long, then handle the request normally.
    Delay(Duration),
    /// Answer this status with this JSON body, without handling the request: for answers the
    /// fake cannot reach by itself (a 403 for an integration's "sidecar" key, say).
    Json { status: u16, body: Value },
    /// Read the request, then close the connection without sending any response.
    /// Recorded with status 0. (An addition to the brief's two variants, for the
    /// "dropped connections" the architecture asks the fake to simulate.)
    Disconnect,
}

//! An in-process fake of the Wazzup API v3 "users" endpoints, served over real HTTP on loopback.
//!
//! It stands in for `https://api.wazzup24.com` in the tests, the local run and the benchmarks,
//! and enforces the documented limits so that a client passing against it has earned it:
//! bearer-key auth (401), upsert by id with at most 100 users a request (`TOO_MANY_ENTITIES`),
//! per-field validation (`INVALID_USERS_DATA`), silently dropped malformed phones, duplicate
//! phones (`DUPLICATE_PHONE_NUMBER`), the account's user limit (`USER_LIMIT_EXCEEDED`), HTTP 500
//! for the same id twice in one request, `bulk_delete` answering the ids it did not know, and both
//! shapes of the user list (the older bare array and the newer `{"count", "data"}` pages).
//!
//! Every request is recorded (rejected ones too) so tests can assert on what a client sent, and
//! faults can be queued (an arbitrary status with an optional `Retry-After`, a delay, or a dropped
//! connection) so retries and timeouts are tested rather than hoped for.
//!
//! Decisions where the contract is silent are documented on [`WazzupFake`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State as AxumState};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Most users one `POST /v3/users` may carry.
pub const MAX_USERS_PER_REQUEST: usize = 100;
/// The account's user limit unless [`WazzupFake::set_user_limit`] changes it.
pub const DEFAULT_USER_LIMIT: usize = 1000;
/// Users per page of `GET /v3/users` in the [`ListShape::Paged`] shape.
pub const PAGE_SIZE: usize = 100;
/// Most characters (not bytes) in a user's `id` and `name`.
pub const MAX_FIELD_CHARS: usize = 200;
/// Largest request body the fake reads; a bigger one is answered 413.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// A user as the fake stores it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FakeUser {
    pub id: String,
    pub name: String,
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

/// A fault to inject into one request; see [`WazzupFake::push_fault`].
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

/// A running fake Wazzup server. Dropping it stops the server.
///
/// Decisions where the documentation is silent:
/// - Order of checks for every request: record, pop one fault and apply it, then auth, then
///   routing. A fault is consumed even by a request that would fail auth.
/// - Order of checks for `POST /v3/users`: body is a non-empty JSON array, at most 100
///   elements, every element's `id`/`name` valid, no id twice (HTTP 500), no duplicate phone,
///   user limit. The first failing check answers; nothing is applied unless all pass.
/// - Duplicate phones are checked against the users as they were *before* the request: moving a
///   phone from one user to another in a single request is rejected even if the same request
///   gives the first user another phone.
/// - `bulk_delete` reports each unknown id once, in request order, judged against the users as
///   they were before the request; it has no size limit and accepts `[]`.
/// - `GET /v3/users/{id}` omits `phone` when the user has none.
/// - The `Bearer` scheme is matched case-insensitively; the key must match exactly.
///   Empty keys are never accepted.
/// - In the paged shape a non-numeric `offset` is answered 400 `VALIDATION_ERROR`; the bare
///   array shape ignores `offset`.
/// - Unknown paths and unsupported methods on known paths are answered 404 `NOT_FOUND`.
pub struct WazzupFake {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for WazzupFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WazzupFake")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for WazzupFake {
    fn drop(&mut self) {
        // Graceful shutdown closes idle keep-alive connections too, so a pooled client
        // connection cannot keep talking to a dropped fake; abort stops the accept loop now.
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.abort();
    }
}

impl WazzupFake {
    /// Starts a fake on `127.0.0.1` and a free port, accepting these API keys.
    pub async fn start(api_keys: &[&str]) -> io::Result<Self> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), api_keys).await
    }

    /// Starts a fake on `addr` (port 0 picks a free port), accepting these API keys.
    pub async fn start_on(addr: SocketAddr, api_keys: &[&str]) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::new(api_keys)));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                KillableListener { inner: listener },
                app.into_make_service_with_connect_info::<ConnKill>(),
            )
            .with_graceful_shutdown(async move {
                let _ = shutdown_rx.await;
            })
            .await;
        });
        Ok(Self {
            addr,
            state,
            shutdown: Some(shutdown),
            server,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`, to use in place of `https://api.wazzup24.com`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received since start (or the last [`clear_requests`](Self::clear_requests)),
    /// in order of arrival, including rejected ones.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// All users, sorted by id.
    pub fn users(&self) -> Vec<FakeUser> {
        self.lock()
            .users
            .iter()
            .map(|(id, u)| u.to_fake(id))
            .collect()
    }

    /// One user by id.
    pub fn user(&self, id: &str) -> Option<FakeUser> {
        self.lock().users.get(id).map(|u| u.to_fake(id))
    }

    /// Seeds a user directly (no validation, no request recorded); replaces one with the same id.
    pub fn insert_user(&self, user: FakeUser) {
        self.lock().users.insert(
            user.id,
            StoredUser {
                name: user.name,
                phone: user.phone,
            },
        );
    }

    /// Replaces the accepted API keys (simulates key rotation).
    pub fn set_api_keys(&self, keys: &[&str]) {
        self.lock().api_keys = key_set(keys);
    }

    /// Chooses the shape of `GET /v3/users`; the default is [`ListShape::BareArray`].
    pub fn set_list_shape(&self, shape: ListShape) {
        self.lock().list_shape = shape;
    }

    /// Sets the account's user limit; the default is [`DEFAULT_USER_LIMIT`].
    pub fn set_user_limit(&self, limit: usize) {
        self.lock().user_limit = limit;
    }

    /// Starts or ends an outage: while it lasts, every request is answered 503 (and recorded),
    /// before queued faults are used.
    pub fn set_outage(&self, down: bool) {
        self.lock().outage = down;
    }

    /// Queues a fault. Faults are used first in, first out: each incoming request takes at most
    /// one and applies it before auth and normal handling.
    pub fn push_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn key_set(keys: &[&str]) -> HashSet<String> {
    keys.iter()
        .filter(|k| !k.is_empty())
        .map(|k| (*k).to_owned())
        .collect()
}

#[derive(Debug)]
struct StoredUser {
    name: String,
    phone: Option<String>,
}

impl StoredUser {
    fn to_fake(&self, id: &str) -> FakeUser {
        FakeUser {
            id: id.to_owned(),
            name: self.name.clone(),
            phone: self.phone.clone(),
        }
    }
}

#[derive(Debug)]
struct State {
    api_keys: HashSet<String>,
    users: BTreeMap<String, StoredUser>,
    /// Each record with a sequence number, so its status can be filled in once answered.
    requests: Vec<(u64, RecordedRequest)>,
    next_seq: u64,
    list_shape: ListShape,
    user_limit: usize,
    faults: VecDeque<Fault>,
    /// Every request answers 503 while this holds.
    outage: bool,
}

impl State {
    fn new(api_keys: &[&str]) -> Self {
        Self {
            api_keys: key_set(api_keys),
            users: BTreeMap::new(),
            requests: Vec::new(),
            next_seq: 0,
            list_shape: ListShape::BareArray,
            user_limit: DEFAULT_USER_LIMIT,
            faults: VecDeque::new(),
            outage: false,
        }
    }
}

type Shared = Arc<Mutex<State>>;

// ---------------------------------------------------------------------------------------------
// Connections that a handler can order closed without a response (for `Fault::Disconnect`).

struct KillableListener {
    inner: TcpListener,
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        let stream = KillableStream {
            inner: stream,
            killed: Arc::new(AtomicBool::new(false)),
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails every operation once `killed` is set, so hyper drops the
/// connection without writing the response.
struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by an injected fault",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The kill switch of the connection a request came on, handed to the handler.
#[derive(Clone, Debug)]
struct ConnKill(Arc<AtomicBool>);

impl Connected<IncomingStream<'_, KillableListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        ConnKill(Arc::clone(&stream.io().killed))
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling.

async fn handle(AxumState(state): AxumState<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let kill = parts
        .extensions
        .get::<ConnectInfo<ConnKill>>()
        .map(|info| Arc::clone(&info.0.0));
    let (bytes, unreadable) = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };

    let record = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        body: recorded_body(&bytes),
        status: 0,
        received_at: std::time::Instant::now(),
    };
    let (seq, fault) = {
        let mut st = lock(&state);
        let seq = st.next_seq;
        st.next_seq += 1;
        st.requests.push((seq, record));
        let fault = if st.outage {
            Some(Fault::Status {
                status: 503,
                retry_after: None,
            })
        } else {
            st.faults.pop_front()
        };
        (seq, fault)
    };

    let mut dropped = false;
    let response = match fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => Some(fault_response(status, retry_after)),
        Some(Fault::Json { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some((status, axum::Json(body)).into_response())
        }
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Some(Fault::Disconnect) => {
            if let Some(kill) = &kill {
                kill.store(true, Ordering::SeqCst);
                dropped = true;
            }
            Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "FAULT_INJECTED",
                "Injected fault: the connection should have been dropped.",
                None,
            ))
        }
        None => None,
    };
    let response = match response {
        Some(response) => response,
        None => respond(
            &state,
            &parts.method,
            &parts.uri,
            &parts.headers,
            &bytes,
            unreadable,
        ),
    };

    let status = if dropped {
        0
    } else {
        response.status().as_u16()
    };
    let mut st = lock(&state);
    if let Some((_, record)) = st.requests.iter_mut().rev().find(|(s, _)| *s == seq) {
        record.status = status;
    }
    response
}

fn recorded_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

fn respond(
    state: &Mutex<State>,
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    unreadable: bool,
) -> Response {
    let mut st = lock(state);
    if !authorized(&st, headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Missing or invalid API key: send `Authorization: Bearer <API key>`.",
            None,
        );
    }
    if unreadable {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "The request body could not be read (is it larger than 8 MiB?).",
            None,
        );
    }

    let path = uri.path();
    if path == "/v3/users" {
        return match *method {
            Method::GET => list_users(&st, uri.query()),
            Method::POST => upsert_users(&mut st, body),
            _ => not_found(),
        };
    }
    let Some(segment) = path.strip_prefix("/v3/users/") else {
        return not_found();
    };
    if segment.is_empty() || segment.contains('/') {
        return not_found();
    }
    if segment == "bulk_delete" && *method == Method::PATCH {
        return bulk_delete(&mut st, body);
    }
    if *method != Method::GET && *method != Method::DELETE {
        return not_found();
    }
    let Some(id) = percent_decode(segment) else {
        return user_not_found(segment);
    };
    if *method == Method::GET {
        get_user(&st, &id)
    } else {
        delete_user(&mut st, &id)
    }
}

fn authorized(st: &State, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let Some((scheme, key)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && st.api_keys.contains(key)
}

fn list_users(st: &State, query: Option<&str>) -> Response {
    let mut rows: Vec<(&String, &StoredUser)> = st.users.iter().collect();
    rows.sort_by(|a, b| a.1.name.cmp(&b.1.name).then_with(|| a.0.cmp(b.0)));
    let row = |(id, user): &(&String, &StoredUser)| json!({"id": id, "name": user.name});
    match st.list_shape {
        ListShape::BareArray => ok_json(&Value::Array(rows.iter().map(row).collect())),
        ListShape::Paged => {
            let offset = match query_param(query, "offset") {
                None => 0,
                Some(raw) => match raw.parse::<usize>() {
                    Ok(offset) => offset,
                    Err(_) => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "VALIDATION_ERROR",
                            "`offset` must be a non-negative integer.",
                            Some(json!({"offset": raw})),
                        );
                    }
                },
            };
            let data: Vec<Value> = rows.iter().skip(offset).take(PAGE_SIZE).map(row).collect();
            ok_json(&json!({"count": rows.len(), "data": data}))
        }
    }
}

/// The decoded value of the first `name=value` pair in the query string; `None` if absent or empty.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| {
            let value = value.replace('+', " ");
            percent_decode(&value).unwrap_or(value)
        })
        .filter(|value| !value.is_empty())
}

fn get_user(st: &State, id: &str) -> Response {
    match st.users.get(id) {
        Some(user) => {
            let mut body = json!({"id": id, "name": user.name});
            if let (Some(phone), Value::Object(map)) = (&user.phone, &mut body) {
                map.insert("phone".to_owned(), Value::String(phone.clone()));
            }
            ok_json(&body)
        }
        None => user_not_found(id),
    }
}

fn delete_user(st: &mut State, id: &str) -> Response {
    match st.users.remove(id) {
        Some(_) => StatusCode::OK.into_response(),
        None => user_not_found(id),
    }
}

fn bulk_delete(st: &mut State, body: &[u8]) -> Response {
    let ids: Option<Vec<String>> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| match value {
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(id) => Some(id),
                    _ => None,
                })
                .collect(),
            _ => None,
        });
    let Some(ids) = ids else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_USERS_DATA",
            "The body must be a JSON array of user ids (strings).",
            None,
        );
    };
    let mut unknown: Vec<String> = Vec::new();
    for id in &ids {
        if !st.users.contains_key(id) && !unknown.contains(id) {
            unknown.push(id.clone());
        }
    }
    for id in &ids {
        st.users.remove(id);
    }
    ok_json(&Value::Array(
        unknown.into_iter().map(Value::String).collect(),
    ))
}

/// A validated element of a `POST /v3/users` body.
struct Incoming {
    id: String,
    name: String,
    phone: Option<String>,
}

fn upsert_users(st: &mut State, body: &[u8]) -> Response {
    let invalid = |description: &str, data: Option<Value>| {
        error(
            StatusCode::BAD_REQUEST,
            "INVALID_USERS_DATA",
            description,
            data,
        )
    };
    if body.is_empty() {
        return invalid("The request body is empty.", None);
    }
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return invalid("The body must be a JSON array of users.", None);
    };
    if items.is_empty() {
        return invalid("The array of users is empty.", None);
    }
    if items.len() > MAX_USERS_PER_REQUEST {
        return error(
            StatusCode::BAD_REQUEST,
            "TOO_MANY_ENTITIES",
            &format!("At most {MAX_USERS_PER_REQUEST} users may be sent in one request."),
            Some(json!({"count": items.len(), "limit": MAX_USERS_PER_REQUEST})),
        );
    }

    let mut incoming = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let id = valid_text(item.get("id"));
        let name = valid_text(item.get("name"));
        match (id, name) {
            (Some(id), Some(name)) => incoming.push(Incoming {
                id: id.to_owned(),
                name: name.to_owned(),
                phone: valid_phone(item.get("phone")),
            }),
            (id, name) => {
                let mut fields = Vec::new();
                if id.is_none() {
                    fields.push("id");
                }
                if name.is_none() {
                    fields.push("name");
                }
                problems.push(json!({"index": index, "fields": fields}));
            }
        }
    }
    if !problems.is_empty() {
        return invalid(
            "Some users have invalid fields.",
            Some(Value::Array(problems)),
        );
    }

    let mut seen_ids = HashSet::new();
    if !incoming.iter().all(|u| seen_ids.insert(u.id.as_str())) {
        // What Wazzup does when one request names the same id twice.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "Internal server error.",
            None,
        );
    }

    let existing_phones: HashMap<&str, &str> = st
        .users
        .iter()
        .filter_map(|(id, u)| u.phone.as_deref().map(|p| (p, id.as_str())))
        .collect();
    let mut request_phones = HashSet::new();
    for user in &incoming {
        let Some(phone) = user.phone.as_deref() else {
            continue;
        };
        let held_by_other = existing_phones
            .get(phone)
            .is_some_and(|holder| *holder != user.id);
        if held_by_other || !request_phones.insert(phone) {
            return error(
                StatusCode::BAD_REQUEST,
                "DUPLICATE_PHONE_NUMBER",
                &format!("User with phone number {phone} already exists in the CRM."),
                Some(json!({"phone": phone})),
            );
        }
    }

    let new_users = incoming
        .iter()
        .filter(|u| !st.users.contains_key(&u.id))
        .count();
    if st.users.len() + new_users > st.user_limit {
        return error(
            StatusCode::BAD_REQUEST,
            "USER_LIMIT_EXCEEDED",
            &format!("The account may have at most {} users.", st.user_limit),
            Some(json!({"limit": st.user_limit})),
        );
    }

    for user in incoming {
        st.users.insert(
            user.id,
            StoredUser {
                name: user.name,
                phone: user.phone,
            },
        );
    }
    StatusCode::OK.into_response()
}

/// A string of 1..=200 characters.
fn valid_text(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::String(s)) if (1..=MAX_FIELD_CHARS).contains(&s.chars().count()) => {
            Some(s.as_str())
        }
        _ => None,
    }
}

/// A phone Wazzup keeps: 7..=15 ASCII digits. Anything else is silently dropped.
fn valid_phone(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s))
            if (7..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(s.clone())
        }
        _ => None,
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
/// `None` if the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Some(decoded) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(decoded);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------------------------------------
// Responses.

fn ok_json(body: &Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn fault_response(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = error(
        status,
        "FAULT_INJECTED",
        "Injected fault: this response was queued by the test.",
        None,
    );
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "No such endpoint.",
        None,
    )
}

fn user_not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "USER_NOT_FOUND",
        &format!("User with id {id} not found."),
        None,
    )
}

/// A Wazzup error body: `{"status", "requestId", "error", "description", "data"?}`.
fn error(status: StatusCode, code: &str, description: &str, data: Option<Value>) -> Response {
    let mut body = json!({
        "status": status.as_u16(),
        "requestId": request_id(),
        "error": code,
        "description": description,
    });
    if let (Some(data), Value::Object(map)) = (data, &mut body) {
        map.insert("data".to_owned(), data);
    }
    (status, axum::Json(body)).into_response()
}

/// 32 hex digits, unique per call, like Wazzup's `requestId`.
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let hasher = RandomState::new();
    format!("{:016x}{:016x}", hasher.hash_one(n), hasher.hash_one(!n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const KEY: &str = "test-key";

    async fn fake() -> WazzupFake {
        WazzupFake::start(&[KEY]).await.unwrap()
    }

    #[derive(Debug)]
    struct Reply {
        status: u16,
        headers: reqwest::header::HeaderMap,
        body: String,
    }

    impl Reply {
        fn json(&self) -> Value {
            serde_json::from_str(&self.body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
        }

        /// Asserts a Wazzup error body with this status and code; returns the body.
        fn assert_error(&self, status: u16, code: &str) -> Value {
            assert_eq!(self.status, status, "{self:?}");
            let body = self.json();
            assert_eq!(body["status"], json!(status), "{body}");
            assert_eq!(body["error"], json!(code), "{body}");
            assert!(body["description"].is_string(), "{body}");
            let request_id = body["requestId"].as_str().unwrap();
            assert!(
                !request_id.is_empty() && request_id.chars().all(|c| c.is_ascii_hexdigit()),
                "{body}"
            );
            assert_eq!(
                self.headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/json")
            );
            body
        }
    }

    async fn send(
        fake: &WazzupFake,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> reqwest::Result<Reply> {
        let client = reqwest::Client::new();
        let mut request = client.request(method, format!("{}{path}", fake.url()));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn call(fake: &WazzupFake, method: Method, path: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {KEY}");
        let body = body.map(|b| serde_json::to_vec(&b).unwrap());
        send(fake, method, path, Some(&auth), body).await.unwrap()
    }

    async fn post_users(fake: &WazzupFake, users: Value) -> Reply {
        call(fake, Method::POST, "/v3/users", Some(users)).await
    }

    fn user(id: &str, name: &str, phone: Option<&str>) -> FakeUser {
        FakeUser {
            id: id.to_owned(),
            name: name.to_owned(),
            phone: phone.map(str::to_owned),
        }
    }

    fn seed(fake: &WazzupFake, count: usize) {
        for i in 0..count {
            fake.insert_user(user(&format!("u{i:04}"), &format!("User {i:04}"), None));
        }
    }

    // --- auth -----------------------------------------------------------------------------

    #[tokio::test]
    async fn missing_or_wrong_key_is_401_and_right_key_passes() {
        let fake = fake().await;
        let reply = send(&fake, Method::GET, "/v3/users", None, None)
            .await
            .unwrap();
        reply.assert_error(401, "UNAUTHORIZED");
        for auth in [
            "Bearer wrong",
            KEY,
            "Basic test-key",
            "Bearer  test-key",
            "Bearer",
        ] {
            let reply = send(&fake, Method::GET, "/v3/users", Some(auth), None)
                .await
                .unwrap();
            reply.assert_error(401, "UNAUTHORIZED");
        }
        for auth in ["Bearer test-key", "bearer test-key"] {
            let reply = send(&fake, Method::GET, "/v3/users", Some(auth), None)
                .await
                .unwrap();
            assert_eq!(reply.status, 200, "{auth}");
        }
    }

    #[tokio::test]
    async fn auth_is_checked_before_routing_and_validation() {
        let fake = fake().await;
        let reply = send(&fake, Method::GET, "/nowhere", Some("Bearer x"), None)
            .await
            .unwrap();
        reply.assert_error(401, "UNAUTHORIZED");
        let reply = send(
            &fake,
            Method::POST,
            "/v3/users",
            Some("Bearer x"),
            Some(b"[]".to_vec()),
        )
        .await
        .unwrap();
        reply.assert_error(401, "UNAUTHORIZED");
    }

    #[tokio::test]
    async fn key_rotation_replaces_accepted_keys() {
        let fake = WazzupFake::start(&["old", "other"]).await.unwrap();
        let get = |auth: &'static str| {
            let fake = &fake;
            async move {
                send(fake, Method::GET, "/v3/users", Some(auth), None)
                    .await
                    .unwrap()
                    .status
            }
        };
        assert_eq!(get("Bearer old").await, 200);
        assert_eq!(get("Bearer other").await, 200);
        fake.set_api_keys(&["new"]);
        assert_eq!(get("Bearer old").await, 401);
        assert_eq!(get("Bearer other").await, 401);
        assert_eq!(get("Bearer new").await, 200);
        fake.set_api_keys(&[""]);
        assert_eq!(get("Bearer ").await, 401);
    }

    // --- recording ------------------------------------------------------------------------

    #[tokio::test]
    async fn records_every_request_in_order_with_what_was_answered() {
        let fake = fake().await;
        fake.insert_user(user("seeded", "Seeded", None));
        assert!(fake.requests().is_empty(), "seeding records nothing");

        send(
            &fake,
            Method::GET,
            "/v3/users?offset=5",
            Some("Bearer nope"),
            None,
        )
        .await
        .unwrap();
        post_users(&fake, json!([{"id": "a", "name": "A"}])).await;
        send(
            &fake,
            Method::POST,
            "/v3/users",
            Some("Bearer test-key"),
            Some(b"not json".to_vec()),
        )
        .await
        .unwrap();
        call(&fake, Method::DELETE, "/v3/users/a%20b", None).await;

        let requests = fake.requests();
        assert_eq!(requests.len(), 4);
        let r = &requests[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
            ("GET", "/v3/users", Some("offset=5"))
        );
        assert_eq!(r.authorization.as_deref(), Some("Bearer nope"));
        assert_eq!(r.body, None);
        assert_eq!(r.status, 401);

        let r = &requests[1];
        assert_eq!((r.method.as_str(), r.status), ("POST", 200));
        assert_eq!(r.query, None);
        assert_eq!(r.authorization.as_deref(), Some("Bearer test-key"));
        assert_eq!(r.body, Some(json!([{"id": "a", "name": "A"}])));

        let r = &requests[2];
        assert_eq!(r.body, Some(Value::String("not json".to_owned())));
        assert_eq!(r.status, 400);

        let r = &requests[3];
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.status),
            ("DELETE", "/v3/users/a%20b", 404)
        );

        fake.clear_requests();
        assert!(fake.requests().is_empty());
        call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(fake.requests().len(), 1);
    }

    // --- POST /v3/users -------------------------------------------------------------------

    #[tokio::test]
    async fn upsert_creates_updates_and_clears_phone() {
        let fake = fake().await;
        let reply = post_users(
            &fake,
            json!([
                {"id": "2e0df379", "name": "Alex Salesman", "phone": "79263334567"},
                {"id": "111-2e0d", "name": "Kate Supportics", "phone": "79261234567"}
            ]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "");
        assert_eq!(
            fake.users(),
            vec![
                user("111-2e0d", "Kate Supportics", Some("79261234567")),
                user("2e0df379", "Alex Salesman", Some("79263334567")),
            ]
        );

        let reply = post_users(
            &fake,
            json!([
                {"id": "2e0df379", "name": "Alex Manager", "phone": "79260000000"},
                {"id": "111-2e0d", "name": "Kate", "extra": true}
            ]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            fake.user("2e0df379"),
            Some(user("2e0df379", "Alex Manager", Some("79260000000")))
        );
        assert_eq!(fake.user("111-2e0d"), Some(user("111-2e0d", "Kate", None)));
        assert_eq!(fake.users().len(), 2);
    }

    #[tokio::test]
    async fn body_that_is_not_a_nonempty_array_is_invalid_users_data() {
        let fake = fake().await;
        let auth = Some("Bearer test-key");
        for body in [
            None,
            Some(b"".to_vec()),
            Some(b"[".to_vec()),
            Some(b"{\"id\":\"a\",\"name\":\"A\"}".to_vec()),
            Some(b"\"a\"".to_vec()),
            Some(b"[]".to_vec()),
        ] {
            let reply = send(&fake, Method::POST, "/v3/users", auth, body.clone())
                .await
                .unwrap();
            reply.assert_error(400, "INVALID_USERS_DATA");
        }
        assert!(fake.users().is_empty());
    }

    #[tokio::test]
    async fn more_than_100_users_is_too_many_entities() {
        let fake = fake().await;
        let users = |n: usize| {
            Value::Array(
                (0..n)
                    .map(|i| json!({"id": format!("id{i}"), "name": format!("N{i}")}))
                    .collect(),
            )
        };
        let body = post_users(&fake, users(101))
            .await
            .assert_error(400, "TOO_MANY_ENTITIES");
        assert_eq!(body["data"], json!({"count": 101, "limit": 100}));
        assert!(fake.users().is_empty());

        assert_eq!(post_users(&fake, users(100)).await.status, 200);
        assert_eq!(fake.users().len(), 100);
    }

    #[tokio::test]
    async fn invalid_fields_list_every_bad_element_and_apply_nothing() {
        let fake = fake().await;
        let ok_200 = "я".repeat(200);
        let too_long = "я".repeat(201);
        let body = post_users(
            &fake,
            json!([
                {"id": "ok", "name": "Fine"},
                {"id": "", "name": "Empty id"},
                {"id": "no-name"},
                {"id": 5, "name": null},
                {"id": ok_200, "name": ok_200},
                {"id": too_long, "name": "x"},
                {"id": "x", "name": too_long},
                "not an object",
            ]),
        )
        .await
        .assert_error(400, "INVALID_USERS_DATA");
        assert_eq!(
            body["data"],
            json!([
                {"index": 1, "fields": ["id"]},
                {"index": 2, "fields": ["name"]},
                {"index": 3, "fields": ["id", "name"]},
                {"index": 5, "fields": ["id"]},
                {"index": 6, "fields": ["name"]},
                {"index": 7, "fields": ["id", "name"]},
            ])
        );
        assert!(fake.users().is_empty());

        // 200 two-byte characters are 400 bytes but within the limit.
        let reply = post_users(&fake, json!([{"id": ok_200, "name": ok_200}])).await;
        assert_eq!(reply.status, 200);
    }

    #[tokio::test]
    async fn same_id_twice_in_one_request_is_500_and_applies_nothing() {
        let fake = fake().await;
        let reply = post_users(
            &fake,
            json!([
                {"id": "a", "name": "First"},
                {"id": "b", "name": "Other"},
                {"id": "a", "name": "Second"},
            ]),
        )
        .await;
        reply.assert_error(500, "INTERNAL_SERVER_ERROR");
        assert!(fake.users().is_empty());
    }

    #[tokio::test]
    async fn malformed_phones_are_silently_dropped() {
        let fake = fake().await;
        let reply = post_users(
            &fake,
            json!([
                {"id": "plus", "name": "P", "phone": "+79261234567"},
                {"id": "short", "name": "S", "phone": "123456"},
                {"id": "long", "name": "L", "phone": "1234567890123456"},
                {"id": "number", "name": "N", "phone": 79261234567_u64},
                {"id": "spaces", "name": "Sp", "phone": "7 926 123 45 67"},
                {"id": "unicode", "name": "U", "phone": "७९२६१२३४५६७"},
                {"id": "null", "name": "Nu", "phone": null},
                {"id": "min", "name": "Min", "phone": "1234567"},
                {"id": "max", "name": "Max", "phone": "123456789012345"},
            ]),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        for id in [
            "plus", "short", "long", "number", "spaces", "unicode", "null",
        ] {
            assert_eq!(fake.user(id).unwrap().phone, None, "{id}");
        }
        assert_eq!(fake.user("min").unwrap().phone.as_deref(), Some("1234567"));
        assert_eq!(
            fake.user("max").unwrap().phone.as_deref(),
            Some("123456789012345")
        );
    }

    #[tokio::test]
    async fn duplicate_phone_against_existing_user_is_rejected() {
        let fake = fake().await;
        fake.insert_user(user("holder", "Holder", Some("79999999999")));
        let body = post_users(
            &fake,
            json!([
                {"id": "new", "name": "New"},
                {"id": "taker", "name": "Taker", "phone": "79999999999"},
            ]),
        )
        .await
        .assert_error(400, "DUPLICATE_PHONE_NUMBER");
        assert_eq!(
            body["description"],
            json!("User with phone number 79999999999 already exists in the CRM.")
        );
        assert_eq!(body["data"], json!({"phone": "79999999999"}));
        assert_eq!(fake.users().len(), 1, "nothing applied");

        // The holder itself may keep (re-send) its phone.
        let reply = post_users(
            &fake,
            json!([{"id": "holder", "name": "Renamed", "phone": "79999999999"}]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(fake.user("holder").unwrap().name, "Renamed");

        // Checked against the state before the request: a swap in one request is rejected.
        fake.insert_user(user("second", "Second", Some("78888888888")));
        let reply = post_users(
            &fake,
            json!([
                {"id": "holder", "name": "H", "phone": "78888888888"},
                {"id": "second", "name": "S", "phone": "79999999999"},
            ]),
        )
        .await;
        reply.assert_error(400, "DUPLICATE_PHONE_NUMBER");

        // A dropped (malformed) phone cannot clash.
        let reply = post_users(
            &fake,
            json!([{"id": "x", "name": "X", "phone": "+79999999999"}]),
        )
        .await;
        assert_eq!(reply.status, 200);
    }

    #[tokio::test]
    async fn duplicate_phone_within_one_request_is_rejected() {
        let fake = fake().await;
        let body = post_users(
            &fake,
            json!([
                {"id": "a", "name": "A", "phone": "79261234567"},
                {"id": "b", "name": "B", "phone": "79261234567"},
            ]),
        )
        .await
        .assert_error(400, "DUPLICATE_PHONE_NUMBER");
        assert_eq!(body["data"], json!({"phone": "79261234567"}));
        assert!(fake.users().is_empty());
    }

    #[tokio::test]
    async fn user_limit_counts_distinct_users_after_applying() {
        let fake = fake().await;
        fake.set_user_limit(3);
        seed(&fake, 2);
        let body = post_users(
            &fake,
            json!([{"id": "n1", "name": "N1"}, {"id": "n2", "name": "N2"}]),
        )
        .await
        .assert_error(400, "USER_LIMIT_EXCEEDED");
        assert_eq!(body["data"], json!({"limit": 3}));
        assert_eq!(fake.users().len(), 2, "nothing applied");

        // Updates of known users do not count against the limit.
        let reply = post_users(
            &fake,
            json!([
                {"id": "u0000", "name": "Updated"},
                {"id": "u0001", "name": "Updated"},
                {"id": "n1", "name": "N1"},
            ]),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(fake.users().len(), 3);
    }

    #[tokio::test]
    async fn default_user_limit_is_1000() {
        let fake = fake().await;
        seed(&fake, 1000);
        let body = post_users(&fake, json!([{"id": "one-more", "name": "X"}]))
            .await
            .assert_error(400, "USER_LIMIT_EXCEEDED");
        assert_eq!(body["data"], json!({"limit": 1000}));
    }

    // --- GET /v3/users --------------------------------------------------------------------

    #[tokio::test]
    async fn bare_list_is_sorted_by_name_then_id_without_phones() {
        let fake = fake().await;
        fake.insert_user(user("3", "Bob", Some("79261234567")));
        fake.insert_user(user("2", "Alice", None));
        fake.insert_user(user("1", "Bob", None));
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json(),
            json!([
                {"id": "2", "name": "Alice"},
                {"id": "1", "name": "Bob"},
                {"id": "3", "name": "Bob"},
            ])
        );
        // The bare shape ignores offset.
        let reply = call(&fake, Method::GET, "/v3/users?offset=2", None).await;
        assert_eq!(reply.json().as_array().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn paged_list_pages_by_100_with_offset() {
        let fake = fake().await;
        fake.set_list_shape(ListShape::Paged);
        seed(&fake, 250);
        let page = |offset: Option<usize>| {
            let fake = &fake;
            async move {
                let path = match offset {
                    Some(o) => format!("/v3/users?offset={o}"),
                    None => "/v3/users".to_owned(),
                };
                let reply = call(fake, Method::GET, &path, None).await;
                assert_eq!(reply.status, 200);
                reply.json()
            }
        };
        let first = page(None).await;
        assert_eq!(first["count"], json!(250));
        let data = first["data"].as_array().unwrap();
        assert_eq!(data.len(), 100);
        assert_eq!(data[0], json!({"id": "u0000", "name": "User 0000"}));
        assert_eq!(page(Some(0)).await, first);

        let second = page(Some(100)).await;
        assert_eq!(second["data"].as_array().unwrap().len(), 100);
        assert_eq!(second["data"][0]["id"], json!("u0100"));
        let third = page(Some(200)).await;
        assert_eq!(third["count"], json!(250));
        assert_eq!(third["data"].as_array().unwrap().len(), 50);
        assert_eq!(third["data"][49]["id"], json!("u0249"));
        let odd = page(Some(245)).await;
        assert_eq!(odd["data"][0]["id"], json!("u0245"));
        let past = page(Some(1000)).await;
        assert_eq!(past, json!({"count": 250, "data": []}));

        let reply = call(&fake, Method::GET, "/v3/users?offset=-1", None).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        let reply = call(&fake, Method::GET, "/v3/users?offset=abc", None).await;
        reply.assert_error(400, "VALIDATION_ERROR");
    }

    #[tokio::test]
    async fn paged_list_of_nobody() {
        let fake = fake().await;
        fake.set_list_shape(ListShape::Paged);
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(reply.json(), json!({"count": 0, "data": []}));
        fake.set_list_shape(ListShape::BareArray);
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(reply.json(), json!([]));
    }

    // --- GET / DELETE /v3/users/{id} ------------------------------------------------------

    #[tokio::test]
    async fn get_one_user_with_and_without_phone() {
        let fake = fake().await;
        fake.insert_user(user("with", "With Phone", Some("79261234567")));
        fake.insert_user(user("without", "No Phone", None));
        let reply = call(&fake, Method::GET, "/v3/users/with", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json(),
            json!({"id": "with", "name": "With Phone", "phone": "79261234567"})
        );
        let reply = call(&fake, Method::GET, "/v3/users/without", None).await;
        assert_eq!(reply.json(), json!({"id": "without", "name": "No Phone"}));
        let reply = call(&fake, Method::GET, "/v3/users/nobody", None).await;
        reply.assert_error(404, "USER_NOT_FOUND");
    }

    #[tokio::test]
    async fn ids_in_paths_are_percent_decoded() {
        let fake = fake().await;
        let odd_id = "a/b c?d#é%";
        fake.insert_user(user(odd_id, "Odd", None));
        let path = "/v3/users/a%2Fb%20c%3Fd%23%C3%A9%25";
        let reply = call(&fake, Method::GET, path, None).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["id"], json!(odd_id));
        assert_eq!(fake.requests()[0].path, path, "recorded raw");
        let reply = call(&fake, Method::DELETE, path, None).await;
        assert_eq!(reply.status, 200);
        assert!(fake.users().is_empty());
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[tokio::test]
    async fn delete_existing_then_unknown() {
        let fake = fake().await;
        fake.insert_user(user("a", "A", None));
        fake.insert_user(user("b", "B", None));
        let reply = call(&fake, Method::DELETE, "/v3/users/a", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "");
        assert_eq!(fake.users(), vec![user("b", "B", None)]);
        let reply = call(&fake, Method::DELETE, "/v3/users/a", None).await;
        reply.assert_error(404, "USER_NOT_FOUND");
    }

    // --- PATCH /v3/users/bulk_delete ------------------------------------------------------

    #[tokio::test]
    async fn bulk_delete_reports_unknown_ids() {
        let fake = fake().await;
        seed(&fake, 3);
        let reply = call(
            &fake,
            Method::PATCH,
            "/v3/users/bulk_delete",
            Some(json!([
                "u0000", "ghost", "u0001", "ghost", "u0000", "phantom"
            ])),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!(["ghost", "phantom"]));
        assert_eq!(fake.users(), vec![user("u0002", "User 0002", None)]);

        let reply = call(
            &fake,
            Method::PATCH,
            "/v3/users/bulk_delete",
            Some(json!(["u0002"])),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!([]));
        assert!(fake.users().is_empty());

        let reply = call(
            &fake,
            Method::PATCH,
            "/v3/users/bulk_delete",
            Some(json!([])),
        )
        .await;
        assert_eq!(reply.json(), json!([]));
    }

    #[tokio::test]
    async fn bulk_delete_rejects_a_body_that_is_not_an_array_of_strings() {
        let fake = fake().await;
        seed(&fake, 1);
        for body in [
            json!({"ids": ["u0000"]}),
            json!(["u0000", 5]),
            json!("u0000"),
        ] {
            let reply = call(&fake, Method::PATCH, "/v3/users/bulk_delete", Some(body)).await;
            reply.assert_error(400, "INVALID_USERS_DATA");
        }
        let reply = call(&fake, Method::PATCH, "/v3/users/bulk_delete", None).await;
        reply.assert_error(400, "INVALID_USERS_DATA");
        assert_eq!(fake.users().len(), 1, "nothing deleted");
    }

    // --- anything else --------------------------------------------------------------------

    #[tokio::test]
    async fn unknown_routes_are_json_404() {
        let fake = fake().await;
        fake.insert_user(user("a", "A", None));
        for (method, path) in [
            (Method::GET, "/"),
            (Method::GET, "/v3/user"),
            (Method::GET, "/v3/users/"),
            (Method::GET, "/v3/users/a/b"),
            (Method::PUT, "/v3/users"),
            (Method::DELETE, "/v3/users"),
            (Method::PATCH, "/v3/users/a"),
            (Method::POST, "/v3/users/bulk_delete"),
            (Method::GET, "/v2/users"),
        ] {
            let reply = call(&fake, method.clone(), path, None).await;
            let body = reply.assert_error(404, "NOT_FOUND");
            assert!(body.get("data").is_none(), "{method} {path}");
        }
        assert!(fake.user("a").is_some());
    }

    // --- faults ---------------------------------------------------------------------------

    #[tokio::test]
    async fn status_faults_are_fifo_with_retry_after_and_come_before_auth() {
        let fake = fake().await;
        fake.push_fault(Fault::Status {
            status: 429,
            retry_after: Some(7),
        });
        fake.push_fault(Fault::Status {
            status: 503,
            retry_after: None,
        });

        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        reply.assert_error(429, "FAULT_INJECTED");
        assert_eq!(
            reply
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
        // Applied before auth: a wrong key still gets the fault.
        let reply = send(&fake, Method::GET, "/v3/users", Some("Bearer wrong"), None)
            .await
            .unwrap();
        reply.assert_error(503, "FAULT_INJECTED");
        assert!(reply.headers.get("retry-after").is_none());

        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        assert_eq!(reply.status, 200, "faults are used up");

        let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![429, 503, 200]);
    }

    #[tokio::test]
    async fn status_fault_does_not_apply_the_request() {
        let fake = fake().await;
        fake.push_fault(Fault::Status {
            status: 500,
            retry_after: None,
        });
        let reply = post_users(&fake, json!([{"id": "a", "name": "A"}])).await;
        reply.assert_error(500, "FAULT_INJECTED");
        assert!(fake.users().is_empty());
        assert_eq!(fake.requests().len(), 1);
        assert_eq!(
            fake.requests()[0].body,
            Some(json!([{"id": "a", "name": "A"}]))
        );
    }

    #[tokio::test]
    async fn delay_fault_sleeps_then_handles_normally() {
        let fake = fake().await;
        fake.push_fault(Fault::Delay(Duration::from_millis(300)));
        let started = Instant::now();
        let reply = post_users(&fake, json!([{"id": "a", "name": "A"}])).await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(reply.status, 200);
        assert!(fake.user("a").is_some());
        assert_eq!(fake.requests()[0].status, 200);

        // A client timeout shorter than the delay sees a timeout.
        fake.push_fault(Fault::Delay(Duration::from_secs(5)));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let result = client
            .get(format!("{}/v3/users", fake.url()))
            .bearer_auth(KEY)
            .send()
            .await;
        assert!(result.unwrap_err().is_timeout());
    }

    #[tokio::test]
    async fn delayed_request_is_recorded_on_arrival() {
        let fake = fake().await;
        fake.push_fault(Fault::Delay(Duration::from_millis(800)));
        let slow = tokio::spawn({
            let url = fake.url();
            async move {
                reqwest::Client::new()
                    .get(format!("{url}/v3/users/slow"))
                    .bearer_auth(KEY)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        call(&fake, Method::GET, "/v3/users/fast", None).await;
        let paths: Vec<(String, u16)> = fake
            .requests()
            .into_iter()
            .map(|r| (r.path, r.status))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("/v3/users/slow".to_owned(), 0),
                ("/v3/users/fast".to_owned(), 404)
            ]
        );
        assert_eq!(slow.await.unwrap(), 404);
        assert_eq!(fake.requests()[0].status, 404);
    }

    #[tokio::test]
    async fn disconnect_fault_drops_the_connection_without_a_response() {
        let fake = fake().await;
        fake.push_fault(Fault::Disconnect);
        let client = reqwest::Client::new();
        let result = client
            .post(format!("{}/v3/users", fake.url()))
            .bearer_auth(KEY)
            .json(&json!([{"id": "a", "name": "A"}]))
            .send()
            .await;
        let err = result.unwrap_err();
        assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
        assert!(fake.users().is_empty(), "nothing applied");
        assert_eq!(fake.requests().len(), 1);
        assert_eq!(fake.requests()[0].status, 0);

        // The same client recovers on a fresh connection.
        let reply = client
            .get(format!("{}/v3/users", fake.url()))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200);
    }

    #[tokio::test]
    async fn out_of_range_fault_status_is_answered_500() {
        let fake = fake().await;
        fake.push_fault(Fault::Status {
            status: 42,
            retry_after: None,
        });
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        reply.assert_error(500, "FAULT_INJECTED");
    }

    // --- lifecycle ------------------------------------------------------------------------

    #[tokio::test]
    async fn start_on_binds_the_given_address_and_drop_stops_the_server() {
        let fake = WazzupFake::start_on("127.0.0.1:0".parse().unwrap(), &[KEY])
            .await
            .unwrap();
        let addr = fake.addr();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        assert_eq!(fake.url(), format!("http://127.0.0.1:{}", addr.port()));

        // A pooled keep-alive connection must not outlive the fake.
        let client = reqwest::Client::new();
        let url = format!("{}/v3/users", fake.url());
        let ok = client.get(&url).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(ok.status().as_u16(), 200);
        drop(fake);

        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let connect = TcpStream::connect(addr).await;
            let request = client.get(&url).bearer_auth(KEY).send().await;
            if connect.is_err() && request.is_err() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "server still answering after drop"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn concurrent_upserts_all_land() {
        let fake = fake().await;
        let url = fake.url();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{url}/v3/users"))
                    .bearer_auth(KEY)
                    .json(&json!([{"id": format!("c{i}"), "name": "C"}]))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), 200);
        }
        assert_eq!(fake.users().len(), 20);
        assert_eq!(fake.requests().len(), 20);
    }

    #[test]
    fn request_ids_are_32_hex_digits_and_differ() {
        let a = request_id();
        let b = request_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn query_param_reads_the_named_pair() {
        assert_eq!(
            query_param(Some("a=1&offset=20"), "offset").as_deref(),
            Some("20")
        );
        assert_eq!(query_param(Some("offset="), "offset"), None);
        assert_eq!(query_param(Some("offsets=3"), "offset"), None);
        assert_eq!(query_param(None, "offset"), None);
        assert_eq!(
            query_param(Some("offset=%31"), "offset").as_deref(),
            Some("1")
        );
    }
}

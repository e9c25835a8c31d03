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

mod connection;
mod limits;
mod respond;
mod routes;
mod state;
#[cfg(test)]
mod test_support;
mod types;
mod upsert;
mod url;
mod users;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use limits::{DEFAULT_USER_LIMIT, MAX_FIELD_CHARS, MAX_USERS_PER_REQUEST, PAGE_SIZE};
pub use types::{FakeUser, Fault, ListShape, RecordedRequest};

use connection::{ConnKill, KillableListener};
use routes::handle;
use state::{State, StoredUser, key_set, lock};

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

    /// The recorded requests that change users (every method but `GET`), in order of arrival:
    /// what a client wrote, whatever it read to decide.
    pub fn writes(&self) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|r| r.method != "GET");
        requests
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

    /// Seeds users directly, as an account made by hand before any sync holds them.
    pub fn insert_users(&self, users: impl IntoIterator<Item = FakeUser>) {
        for user in users {
            self.insert_user(user);
        }
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

    /// Queues a fault for the requests that write (any method but `GET`), first in, first out:
    /// the reads a client makes to decide (the list, a user's phone) pass by it.
    pub fn push_write_fault(&self, fault: Fault) {
        self.lock().write_faults.push_back(fault);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::json;
    use tokio::net::TcpStream;

    use super::WazzupFake;
    use super::test_support::{KEY, fake};

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
}

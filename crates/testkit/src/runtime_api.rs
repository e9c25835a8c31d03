//! A minimal Lambda Runtime API on loopback, for the cold-start bench: it hands the function one
//! event at a time (`GET .../invocation/next`, held open until there is one, over HTTP/1.1
//! keep-alive as Lambda's own is), takes its answer (`.../response` or `.../error`), and notes
//! when each step happened, so that a bench can time init, each invocation and the whole.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::sync::{Notify, mpsc, oneshot};

/// What the function answered to one event, and when.
#[derive(Debug)]
pub struct Invocation {
    /// When the event left the emulator (its `next` call was answered).
    pub handed: Instant,
    /// When the function's answer arrived.
    pub answered: Instant,
    /// The answer's body.
    pub body: Bytes,
    /// Whether the function reported an error (`.../error`) rather than an answer.
    pub error: bool,
}

impl Invocation {
    /// The time the function took, from getting the event to answering it.
    pub fn latency(&self) -> Duration {
        self.answered.saturating_duration_since(self.handed)
    }
}

struct Event {
    id: String,
    body: Bytes,
}

struct Waiting {
    handed: Option<Instant>,
    reply: oneshot::Sender<Invocation>,
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    waiting: Mutex<HashMap<String, Waiting>>,
    first_poll: Mutex<Option<Instant>>,
    polled: Notify,
    init_error: Mutex<Option<String>>,
}

/// The emulator, serving until dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    sender: mpsc::UnboundedSender<Event>,
    next_id: Mutex<u64>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts the emulator on a free loopback port.
    pub async fn start() -> io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            polled: Notify::new(),
            init_error: Mutex::new(None),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        // No Nagle delay: an answer held back 40 ms for an ACK would stall the bench's next
        // invocation (Lambda's own Runtime API answers at once).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            addr,
            shared,
            sender,
            next_id: Mutex::new(0),
            server,
        })
    }

    /// The value for the function's `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits until the function first asks for an event (its init is over), and says when that
    /// was. Fails with the function's own init error, or after `timeout`.
    pub async fn first_poll(&self, timeout: Duration) -> Result<Instant, String> {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.shared.polled.notified();
                if let Some(at) = *lock(&self.shared.first_poll) {
                    return Ok(at);
                }
                if let Some(error) = lock(&self.shared.init_error).clone() {
                    return Err(format!("the function failed its init: {error}"));
                }
                notified.await;
            }
        })
        .await;
        waited.unwrap_or_else(|_| Err(format!("the function did not poll within {timeout:?}")))
    }

    /// Hands the function one event and waits for its answer.
    pub async fn invoke(&self, event: Bytes, timeout: Duration) -> Result<Invocation, String> {
        let id = {
            let mut next = lock(&self.next_id);
            *next += 1;
            format!("bench-{:08}", *next)
        };
        let (reply, answer) = oneshot::channel();
        lock(&self.shared.waiting).insert(
            id.clone(),
            Waiting {
                handed: None,
                reply,
            },
        );
        self.sender
            .send(Event {
                id: id.clone(),
                body: event,
            })
            .map_err(|_| "the emulator has stopped".to_owned())?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(invocation)) => Ok(invocation),
            Ok(Err(_)) => Err("the emulator has stopped".to_owned()),
            Err(_) => {
                lock(&self.shared.waiting).remove(&id);
                Err(format!("no answer to {id} within {timeout:?}"))
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut first = lock(&shared.first_poll);
        if first.is_none() {
            *first = Some(Instant::now());
            shared.polled.notify_waiters();
        }
    }
    let Some(event) = shared.events.lock().await.recv().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| now.as_millis() + 30_000);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", event.id.clone());
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-central-1:123456789012:function:bench".to_owned(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".to_owned(),
    );
    set("content-type", "application/json".to_owned());
    if let Some(waiting) = lock(&shared.waiting).get_mut(&event.id) {
        waiting.handed = Some(Instant::now());
    }
    (StatusCode::OK, headers, event.body).into_response()
}

fn answer(shared: &Shared, id: &str, body: Bytes, error: bool) -> StatusCode {
    let answered = Instant::now();
    let Some(waiting) = lock(&shared.waiting).remove(id) else {
        return StatusCode::BAD_REQUEST;
    };
    let _ = waiting.reply.send(Invocation {
        handed: waiting.handed.unwrap_or(answered),
        answered,
        body,
        error,
    });
    StatusCode::ACCEPTED
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, body, false)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, body, true)
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *lock(&shared.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
    shared.polled.notify_waiters();
    StatusCode::ACCEPTED
}

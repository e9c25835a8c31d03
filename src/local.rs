//! Local runs: the real handler served over plain HTTP on localhost, and replay of the test
//! events in `events/`. No AWS account and no network beyond loopback are needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use crate::handler::App;

/// Serves `app` on `listener` until the process ends. Any method and path reach the handler,
/// as they would through a Lambda Function URL.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    max_body_bytes: usize,
) -> std::io::Result<()> {
    let router = axum::Router::new()
        .fallback(forward)
        .with_state((app, max_body_bytes));
    axum::serve(listener, router).await
}

async fn forward(
    State((app, max_body_bytes)): State<(Arc<App>, usize)>,
    request: AxumRequest,
) -> AxumResponse {
    let (parts, body) = request.into_parts();
    // One byte over the limit is enough for the handler to answer 413 itself.
    let bytes = match to_bytes(body, max_body_bytes.saturating_add(1)).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return into_axum(crate::outcome::error_response(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("the body is larger than {max_body_bytes} bytes"),
                None,
            ));
        }
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let response = app.handle(Request::from_parts(parts, body)).await;
    into_axum(response)
}

fn into_axum(response: Response<Body>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}

/// One replayed event and what the handler answered.
pub struct Replayed {
    pub file: PathBuf,
    pub status: u16,
    pub body: Value,
}

/// Reads a Lambda HTTP event (API Gateway REST or HTTP API, Function URL, ALB) as
/// `cargo lambda invoke --data-file` and `sam local invoke -e` would send it.
pub fn read_event(path: &Path) -> Result<Request, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    lambda_http::request::from_str(&text)
        .map_err(|e| format!("{} is not a Lambda HTTP event: {e}", path.display()))
}

/// Replays every `*.json` file of `dir`, in name order, through the handler.
pub async fn replay_dir(app: &App, dir: &Path) -> Result<Vec<Replayed>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut replayed = Vec::new();
    for file in files {
        let request = read_event(&file)?;
        let response = app.handle(request).await;
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::String(text.clone())),
            Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        replayed.push(Replayed { file, status, body });
    }
    Ok(replayed)
}

/// The address the local server listens on.
pub fn local_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

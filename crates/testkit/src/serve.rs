//! A Lambda HTTP handler served over plain HTTP on loopback, as a Function URL would call it:
//! any method and path reach the handler. For the local runner and tests that need a real
//! HTTP client (curl, scim2-tester).

use std::future::Future;
use std::net::SocketAddr;

use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

/// Serves `handler` on `listener` until the process ends. Bodies over `max_body_bytes` are
/// answered 413 without reaching the handler (one byte over is passed on, so that the handler
/// answers the limit itself, as it would behind a Function URL).
pub async fn serve<H, F>(
    handler: H,
    listener: tokio::net::TcpListener,
    max_body_bytes: usize,
) -> std::io::Result<()>
where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let router = axum::Router::new()
        .fallback(forward::<H, F>)
        .with_state((handler, max_body_bytes));
    axum::serve(listener, router).await
}

async fn forward<H, F>(
    State((handler, max_body_bytes)): State<(H, usize)>,
    request: AxumRequest,
) -> AxumResponse
where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, max_body_bytes.saturating_add(1)).await {
        Ok(bytes) => bytes,
        Err(_) => return too_large(max_body_bytes),
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    into_axum(handler(Request::from_parts(parts, body)).await)
}

fn too_large(max_body_bytes: usize) -> AxumResponse {
    let text = serde_json::json!({
        "error": "PAYLOAD_TOO_LARGE",
        "message": format!("the body is larger than {max_body_bytes} bytes"),
    })
    .to_string();
    let mut response = AxumResponse::new(AxumBody::from(text));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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

/// The loopback address for `port`.
pub fn local_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

//! Which workflow serves a request: `POST /sync`, or the source the registry names for the
//! path (its webhook, or its own protocol).

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use tokio::time::Instant;

use super::request::{path_of, unix_now};
use super::response::error_response;
use super::{App, full_sync, protocol, webhook};
use crate::sources::contract::Inbound;
use crate::sources::registry;

/// The full sync's path.
const SYNC_PATH: &str = "/sync";

pub async fn route(
    app: &App,
    request: Request,
    request_id: &str,
    deadline: Option<Instant>,
) -> Response<Body> {
    let path = path_of(&request);
    let (parts, body) = request.into_parts();
    let inbound = Inbound {
        parts: &parts,
        body: body.as_ref(),
        now: unix_now(),
    };
    if path.trim_end_matches('/') == SYNC_PATH {
        return full_sync::serve(app, &inbound, request_id, deadline).await;
    }
    let found = registry::by_path(&path);
    match found.map(|(source, rest)| (source, source.protocol(), source.webhook(), rest)) {
        Some((_, Some(served), _, rest)) => {
            protocol::serve(app, served, &inbound, rest, deadline).await
        }
        Some((source, None, Some(served), _)) => {
            webhook::serve(app, (source.name(), served), &inbound, request_id, deadline).await
        }
        _ => {
            let mut endpoints = registry::endpoints();
            endpoints.push(format!("POST {SYNC_PATH}"));
            error_response(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!(
                    "no endpoint at {path}; the endpoints are {}",
                    endpoints.join(", ")
                ),
                None,
            )
        }
    }
}

//! A source with a protocol of its own (SCIM) under its path prefix: it answers in its own
//! format, and its answer is handed back as it is.

use http::StatusCode;
use lambda_http::{Body, Response};
use tokio::time::Instant;

use super::App;
use crate::sources::contract::{Inbound, Protocol};

pub async fn serve(
    app: &App,
    protocol: &dyn Protocol,
    request: &Inbound<'_>,
    sub_path: &str,
    deadline: Option<Instant>,
) -> Response<Body> {
    let settings = app.source_settings();
    let answer = protocol
        .serve(request, sub_path, &app.service, deadline, &settings)
        .await;
    let (parts, text) = answer.into_parts();
    let body = if parts.status == StatusCode::NO_CONTENT || text.is_empty() {
        Body::Empty
    } else {
        Body::Text(text)
    };
    Response::from_parts(parts, body)
}

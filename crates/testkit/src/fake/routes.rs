//! The request handler: records every request, applies a queued fault, checks auth, routes.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::body::to_bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State as AxumState};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::Value;

use super::connection::ConnKill;
use super::limits::MAX_BODY_BYTES;
use super::respond::{error, fault_response, not_found, user_not_found};
use super::state::{Shared, State, lock};
use super::types::{Fault, RecordedRequest};
use super::upsert::upsert_users;
use super::url::percent_decode;
use super::users::{bulk_delete, delete_user, get_user, list_users};

pub(super) async fn handle(AxumState(state): AxumState<Shared>, request: Request) -> Response {
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
    let writes = parts.method != Method::GET;
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
        } else if writes && !st.write_faults.is_empty() {
            st.write_faults.pop_front()
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use http::Method;
    use serde_json::{Value, json};

    use crate::fake::WazzupFake;
    use crate::fake::test_support::{KEY, call, fake, post_users, send, user};
    use crate::fake::types::Fault;

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
    async fn out_of_range_fault_status_is_answered_500() {
        let fake = fake().await;
        fake.push_fault(Fault::Status {
            status: 42,
            retry_after: None,
        });
        let reply = call(&fake, Method::GET, "/v3/users", None).await;
        reply.assert_error(500, "FAULT_INJECTED");
    }
}

//! The real handler, driven with requests in the shapes Lambda delivers, against a loopback
//! Wazzup fake that enforces the documented limits and records every call.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use lambda_http::RequestExt;
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, Fault, WazzupFake};
use wazzup_user_sync::credentials::{
    BoxFuture, CredentialProvider, Credentials, SecretError, StaticCredentials, parse_secret_value,
};
use wazzup_user_sync::handler::App;

fn posts(fake: &WazzupFake) -> Vec<serde_json::Value> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.body.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_created_employee_becomes_a_wazzup_user_with_a_digits_only_phone() {
    let (fake, app) = fake_and_app().await;
    let body = created("emp-1", "Alex Salesman", Some("+7 (926) 333-45-67")).to_string();
    let response = app.handle(authorized(&body)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer = json_body(&response);
    assert_eq!(answer["status"], "ok");
    assert_eq!(ids(&answer, "upserted"), ["emp-1"]);
    assert_eq!(
        fake.user("emp-1"),
        Some(FakeUser {
            id: "emp-1".into(),
            name: "Alex Salesman".into(),
            phone: Some("79263334567".into())
        })
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer test-api-key")
    );
    assert_eq!(
        requests[0].body,
        Some(json!([{"id": "emp-1", "name": "Alex Salesman", "phone": "79263334567"}]))
    );
}

#[tokio::test]
async fn an_update_replaces_the_name_and_a_delete_removes_the_user() {
    let (fake, app) = fake_and_app().await;
    app.handle(authorized(&created("emp-1", "Alex", None).to_string()))
        .await;
    let update = json!({"event": "employee.updated", "employee": {"id": "emp-1", "name": "Alex (Lead)", "phone": "89261234567"}});
    let response = app.handle(authorized(&update.to_string())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(fake.user("emp-1").unwrap().name, "Alex (Lead)");
    assert_eq!(
        fake.user("emp-1").unwrap().phone.as_deref(),
        Some("79261234567")
    );

    let response = app.handle(authorized(&deleted("emp-1").to_string())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(ids(&json_body(&response), "deleted"), ["emp-1"]);
    assert_eq!(fake.user("emp-1"), None);
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("DELETE", "/v3/users/emp-1")
    );
}

#[tokio::test]
async fn deleting_an_absent_user_is_success_reported_as_already_absent() {
    let (fake, app) = fake_and_app().await;
    let response = app.handle(authorized(&deleted("ghost").to_string())).await;
    assert_eq!(response.status(), 200);
    let answer = json_body(&response);
    assert_eq!(ids(&answer, "alreadyAbsent"), ["ghost"]);
    assert!(ids(&answer, "deleted").is_empty());

    fake.insert_user(FakeUser {
        id: "real".into(),
        name: "Real".into(),
        phone: None,
    });
    let response = app
        .handle(authorized(&batch(vec![deleted("real"), deleted("ghost2")])))
        .await;
    let answer = json_body(&response);
    assert_eq!(ids(&answer, "deleted"), ["real"]);
    assert_eq!(ids(&answer, "alreadyAbsent"), ["ghost2"]);
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("PATCH", "/v3/users/bulk_delete")
    );
}

#[tokio::test]
async fn a_batch_is_coalesced_by_id_and_invalid_events_are_reported_not_sent() {
    let (fake, app) = fake_and_app().await;
    let body = batch(vec![
        created("a", "First name", Some("+7 926 111-22-33")),
        created("b", "", None),
        created("c", "Olga", Some("12345")),
        json!({"event": "employee.updated", "employee": {"id": "a", "name": "Second name", "phone": "+7 926 111-22-33"}}),
        json!({"event": "employee.renamed", "employee": {"id": "d"}}),
        created(&"x".repeat(201), "Too long id", None),
    ]);
    let response = app.handle(authorized(&body)).await;
    assert_eq!(response.status(), 200);
    let answer = json_body(&response);
    assert_eq!(answer["status"], "partial");
    assert_eq!(ids(&answer, "upserted"), ["a", "c"]);
    let rejected: Vec<_> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (1, "EMPTY_FIELD".to_string()),
            (4, "UNKNOWN_EVENT".to_string()),
            (5, "FIELD_TOO_LONG".to_string())
        ]
    );
    let warnings: Vec<_> = answer["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap().to_string(),
                w["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            ("c".to_string(), "INVALID_PHONE".to_string()),
            ("a".to_string(), "SUPERSEDED".to_string())
        ]
    );
    // One request, each id once, the last event winning, no invalid phone sent.
    assert_eq!(
        posts(&fake),
        [json!([
            {"id": "a", "name": "Second name", "phone": "79261112233"},
            {"id": "c", "name": "Olga"}
        ])]
    );
}

#[tokio::test]
async fn large_batches_respect_the_100_per_request_limit() {
    let (fake, app) = fake_and_app().await;
    let events = (0..250)
        .map(|i| created(&format!("u{i:03}"), &format!("User {i}"), None))
        .collect();
    let response = app.handle(authorized(&batch(events))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(ids(&json_body(&response), "upserted").len(), 250);
    let sizes: Vec<usize> = posts(&fake)
        .iter()
        .map(|b| b.as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(fake.users().len(), 250);

    fake.clear_requests();
    let events = (0..150).map(|i| deleted(&format!("u{i:03}"))).collect();
    let response = app.handle(authorized(&batch(events))).await;
    assert_eq!(response.status(), 200);
    let bulk: Vec<usize> = fake
        .requests()
        .iter()
        .map(|r| {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("PATCH", "/v3/users/bulk_delete")
            );
            r.body.as_ref().unwrap().as_array().unwrap().len()
        })
        .collect();
    assert_eq!(bulk, [100, 50]);
    assert_eq!(fake.users().len(), 100);
}

#[tokio::test]
async fn signed_requests_are_accepted_and_bad_signatures_get_401_without_calling_wazzup() {
    let (fake, app) = fake_and_app().await;
    let body = created("emp-s", "Signed", None).to_string();
    assert_eq!(app.handle(signed(&body, now())).await.status(), 200);
    assert!(fake.user("emp-s").is_some());
    fake.clear_requests();

    // Signed, then the body changed in transit.
    let mut tampered = signed(&body, now());
    *tampered.body_mut() = created("emp-s", "Mallory", None).to_string().into();
    let stale = signed(&body, now() - 600);
    let unsigned = function_url_request("POST", "/", &[JSON], &body);
    let wrong_token = function_url_request(
        "POST",
        "/",
        &[JSON, ("authorization", "Bearer nope")],
        &body,
    );
    for (what, request, reason) in [
        ("tampered", tampered, "no webhook signature matches"),
        ("stale", stale, "5 minutes"),
        ("unsigned", unsigned, "no credentials"),
        ("wrong token", wrong_token, "bearer token is not valid"),
    ] {
        let response = app.handle(request).await;
        assert_eq!(response.status(), 401, "{what}");
        let answer = json_body(&response);
        assert_eq!(answer["error"], "UNAUTHENTICATED", "{what}");
        assert!(
            answer["message"].as_str().unwrap().contains(reason),
            "{what}: {answer}"
        );
    }
    assert!(
        fake.requests().is_empty(),
        "Wazzup was called for an unauthenticated request"
    );
    assert_eq!(fake.user("emp-s").unwrap().name, "Signed");
}

#[tokio::test]
async fn the_reference_standard_webhooks_signer_interoperates() {
    // Sign with the Standard Webhooks reference library (Python, from PyPI).
    let (fake, app) = fake_and_app().await;
    let body = created("emp-py", "Signed by Python", None).to_string();
    let ts = now();
    let script = format!(
        "from standardwebhooks import Webhook\nimport datetime,sys\nprint(Webhook('{SIGNING_SECRET}').sign('msg_py', datetime.datetime.fromtimestamp({ts}, tz=datetime.timezone.utc), sys.stdin.read()))"
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 must be installed");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the standardwebhooks package is required (pip install -r requirements-dev.txt)"
    );
    let signature = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let ts = ts.to_string();
    let request = function_url_request(
        "POST",
        "/",
        &[
            JSON,
            ("webhook-id", "msg_py"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &signature),
        ],
        &body,
    );
    let response = app.handle(request).await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert_eq!(fake.user("emp-py").unwrap().name, "Signed by Python");
}

#[tokio::test]
async fn base64_bodies_and_rest_api_payloads_work() {
    let (fake, app) = fake_and_app().await;
    let body = created("emp-b64", "Base Sixtyfour", None).to_string();
    let request = function_url_request_encoded("POST", "/", &[JSON, BEARER], &body, true);
    assert_eq!(app.handle(request).await.status(), 200);
    assert!(fake.user("emp-b64").is_some());

    let body = created("emp-rest", "Rest Api", None).to_string();
    let request = rest_v1_request(
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer test-webhook-token"),
        ],
        &body,
    );
    let response = app.handle(request).await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert!(fake.user("emp-rest").is_some());
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors_and_never_reach_wazzup() {
    let (fake, app) = fake_and_app().await;
    let valid = created("x", "X", None).to_string();
    let huge = format!(
        r#"{{"events":[{}]}}"#,
        vec![created("y", &"y".repeat(150), None).to_string(); 8000].join(",")
    );
    let cases = vec![
        (
            "GET",
            function_url_request("GET", "/", &[BEARER], ""),
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            "path",
            function_url_request("POST", "/admin", &[JSON, BEARER], &valid),
            404,
            "NOT_FOUND",
        ),
        ("huge", authorized(&huge), 413, "PAYLOAD_TOO_LARGE"),
        (
            "text",
            function_url_request(
                "POST",
                "/",
                &[("content-type", "text/plain"), BEARER],
                &valid,
            ),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "no type",
            function_url_request("POST", "/", &[BEARER], &valid),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "truncated",
            authorized(r#"{"event": "employee.created", "employee": "#),
            400,
            "MALFORMED_BODY",
        ),
        ("array", authorized("[1,2]"), 400, "MALFORMED_BODY"),
        (
            "no event",
            authorized(r#"{"employee": {"id": "1"}}"#),
            400,
            "MALFORMED_BODY",
        ),
        (
            "empty batch",
            authorized(r#"{"events": []}"#),
            422,
            "NO_VALID_EVENTS",
        ),
        (
            "all invalid",
            authorized(&batch(vec![
                created("", "No id", None),
                created("z", " ", None),
            ])),
            422,
            "NO_VALID_EVENTS",
        ),
    ];
    for (what, request, status, code) in cases {
        let response = app.handle(request).await;
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{what}"
        );
        let answer = json_body(&response);
        assert_eq!(answer["error"], code, "{what}: {answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty(), "{what}");
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_422_for_an_all_invalid_batch_says_why_each_was_rejected() {
    let (_fake, app) = fake_and_app().await;
    let response = app
        .handle(authorized(&batch(vec![created("q", "", None)])))
        .await;
    let answer = json_body(&response);
    assert_eq!(answer["rejected"][0]["id"], "q");
    assert_eq!(answer["rejected"][0]["reason"], "EMPTY_FIELD");
    assert_eq!(answer["rejected"][0]["message"], "name is empty");
}

#[tokio::test]
async fn transient_failures_are_retried_until_they_pass() {
    let (fake, app) = fake_and_app().await;
    fake.push_fault(Fault::Status {
        status: 503,
        retry_after: None,
    });
    fake.push_fault(Fault::Status {
        status: 429,
        retry_after: Some(0),
    });
    fake.push_fault(Fault::Status {
        status: 500,
        retry_after: None,
    });
    let response = app
        .handle(authorized(&created("r", "Retried", None).to_string()))
        .await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 429, 500, 200]);
    assert!(fake.user("r").is_some());
}

#[tokio::test]
async fn persistent_outages_answer_503_so_the_crm_retries() {
    let (fake, app) = fake_and_app().await;
    for _ in 0..10 {
        fake.push_fault(Fault::Status {
            status: 502,
            retry_after: None,
        });
    }
    let response = app
        .handle(authorized(&batch(vec![
            deleted("d1"),
            created("u1", "U", None),
        ])))
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let answer = json_body(&response);
    assert_eq!(answer["error"], "WAZZUP_SERVER_ERROR");
    assert_eq!(ids(&answer, "notApplied"), ["d1", "u1"]);
    // Four tries of the first call (the policy's limit), then it stopped.
    assert_eq!(fake.requests().len(), 4);

    // Nothing listening at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let app = app_with(
        &format!("http://{closed}"),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
    );
    let response = app
        .handle(authorized(&created("u2", "U", None).to_string()))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(json_body(&response)["error"], "WAZZUP_UNREACHABLE");
}

#[tokio::test]
async fn retries_stop_before_the_lambda_deadline() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    for _ in 0..20 {
        fake.push_fault(Fault::Status {
            status: 429,
            retry_after: Some(3),
        });
    }
    // The production retry policy would wait 3 s a try, 4 times.
    let app = App::new(
        settings(),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        client(
            &fake.url(),
            wazzup_user_sync::wazzup::RetryPolicy::default(),
        ),
    );
    let deadline_ms = (std::time::SystemTime::now() + Duration::from_secs(2))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = lambda_runtime::Context::default();
    context.request_id = "req-deadline".into();
    context.deadline = deadline_ms;
    let request =
        authorized(&created("late", "Late", None).to_string()).with_lambda_context(context);
    let started = Instant::now();
    let response = app.handle(request).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered after the deadline"
    );
    assert_eq!(response.status(), 503);
    let answer = json_body(&response);
    assert_eq!(answer["error"], "WAZZUP_RATE_LIMITED");
    assert_eq!(answer["requestId"], "req-deadline");
}

#[tokio::test]
async fn a_duplicate_phone_is_reported_with_the_employee_and_the_rest_still_goes_through() {
    let (fake, app) = fake_and_app().await;
    fake.insert_user(FakeUser {
        id: "old".into(),
        name: "Old".into(),
        phone: Some("79261234567".into()),
    });
    let body = batch(vec![
        created("new", "New", Some("+7 926 123-45-67")),
        created("other", "Other", Some("+7 926 765-43-21")),
    ]);
    let response = app.handle(authorized(&body)).await;
    assert_eq!(response.status(), 200);
    let answer = json_body(&response);
    assert_eq!(answer["status"], "partial");
    assert_eq!(ids(&answer, "upserted"), ["other"]);
    assert_eq!(answer["rejected"][0]["id"], "new");
    assert_eq!(answer["rejected"][0]["reason"], "DUPLICATE_PHONE_NUMBER");
    // Without a state table a takeover could not be recorded, so none is made (nor is the
    // account read to find whose phone it is); the phone is shown masked.
    let message = answer["rejected"][0]["message"].as_str().unwrap();
    assert!(message.contains("without the state table"), "{message}");
    assert!(message.contains("79*******67"), "{message}");
    assert!(!message.contains("79261234567"), "{message}");
    // The refused request was not retried as it was: the second POST leaves "new" out.
    let sent = posts(&fake);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1],
        json!([{"id": "other", "name": "Other", "phone": "79267654321"}])
    );
}

/// Sends three employees, one with a phone another Wazzup user holds, while Wazzup's first
/// refusal names that phone as `written`; returns the fake and the (200) answer.
async fn duplicate_phone_in_another_form(written: &str) -> (WazzupFake, Value) {
    let (fake, app) = fake_and_app().await;
    fake.insert_user(FakeUser {
        id: "owner".into(),
        name: "Owner".into(),
        phone: Some("79031112233".into()),
    });
    fake.push_fault(Fault::Json {
        status: 400,
        body: json!({"error": "DUPLICATE_PHONE_NUMBER", "description": "taken",
                     "data": {"phone": written}}),
    });
    let body = batch(vec![
        created("emp-1", "Taken", Some("+7 903 111-22-33")),
        created("emp-2", "Two", None),
        created("emp-3", "Three", Some("+7 903 444-55-66")),
    ]);
    let response = app.handle(authorized(&body)).await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    (fake, answer)
}

#[tokio::test]
async fn a_duplicate_phone_named_in_another_form_refuses_only_its_employee() {
    let (fake, answer) = duplicate_phone_in_another_form("+7 (903) 111-22-33").await;
    assert_eq!(ids(&answer, "upserted"), ["emp-2", "emp-3"], "{answer}");
    assert_eq!(answer["rejectedCount"], 1);
    assert_eq!(answer["rejected"][0]["id"], "emp-1");
    assert_eq!(posts(&fake).len(), 2);
}

#[tokio::test]
async fn a_duplicate_phone_no_employee_sends_is_found_one_call_at_a_time() {
    // A national form: no employee of the call sends these digits.
    let (fake, answer) = duplicate_phone_in_another_form("8 903 111 22 33").await;
    let mut upserted = ids(&answer, "upserted");
    upserted.sort();
    assert_eq!(upserted, ["emp-2", "emp-3"], "{answer}");
    assert_eq!(answer["rejectedCount"], 1);
    assert_eq!(answer["rejected"][0]["id"], "emp-1");
    assert_eq!(answer["rejected"][0]["reason"], "DUPLICATE_PHONE_NUMBER");
    // The refused call, then one per employee.
    assert_eq!(posts(&fake).len(), 4);
    assert_eq!(
        fake.user("emp-3").unwrap().phone.as_deref(),
        Some("79034445566")
    );
}

#[tokio::test]
async fn every_employee_refused_by_wazzup_is_a_422() {
    let (fake, app) = fake_and_app().await;
    fake.insert_user(FakeUser {
        id: "old".into(),
        name: "Old".into(),
        phone: Some("79261234567".into()),
    });
    let response = app
        .handle(authorized(
            &created("new", "New", Some("89261234567")).to_string(),
        ))
        .await;
    assert_eq!(response.status(), 422);
    let answer = json_body(&response);
    assert_eq!(answer["error"], "WAZZUP_REFUSED");
    assert_eq!(answer["rejected"][0]["reason"], "DUPLICATE_PHONE_NUMBER");
    assert_eq!(posts(&fake).len(), 1);
}

#[tokio::test]
async fn the_user_limit_refuses_only_the_employees_beyond_it() {
    let (fake, app) = fake_and_app().await;
    fake.set_user_limit(2);
    fake.insert_user(FakeUser {
        id: "a".into(),
        name: "A".into(),
        phone: None,
    });
    // One call: an update of a user the account holds, and two hires where one fits.
    let response = app
        .handle(authorized(&batch(vec![
            created("a", "A Renamed", None),
            created("b", "B", None),
            created("c", "C", None),
        ])))
        .await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(answer["status"], "partial");
    assert_eq!(ids(&answer, "upserted"), ["a", "b"]);
    assert_eq!(answer["rejectedCount"], 1);
    assert_eq!(answer["rejected"][0]["id"], "c");
    assert_eq!(answer["rejected"][0]["reason"], "USER_LIMIT_EXCEEDED");
    assert!(
        answer["rejected"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 2 users"),
        "{answer}"
    );
    assert!(answer.get("notApplied").is_none(), "{answer}");
    assert_eq!(fake.user("a").unwrap().name, "A Renamed");
    // The refused call, then one per employee; none retried as it was.
    assert_eq!(posts(&fake).len(), 4);
}

#[tokio::test]
async fn a_call_wazzup_refuses_for_good_does_not_stop_the_calls_after_it() {
    let (fake, app) = fake_and_app().await;
    // 150 employees go in two calls, 100 and 50: Wazzup refuses the first for its size.
    fake.push_fault(Fault::Json {
        status: 400,
        body: json!({"error": "TOO_MANY_ENTITIES", "data": {"count": 100, "limit": 50}}),
    });
    let events: Vec<Value> = (0..150)
        .map(|i| created(&format!("e{i:03}"), "N", None))
        .collect();
    let response = app.handle(authorized(&batch(events))).await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(answer["status"], "partial");
    assert_eq!(answer["rejectedCount"], 100);
    assert_eq!(answer["rejected"][0]["reason"], "TOO_MANY_ENTITIES");
    assert_eq!(ids(&answer, "upserted").len(), 50);
    assert!(answer.get("notApplied").is_none(), "{answer}");
    assert_eq!(fake.users().len(), 50);
    assert_eq!(posts(&fake).len(), 2);
}

/// A provider whose secret was rotated: it hands out `first` until asked to refresh.
struct Rotating {
    first: Arc<Credentials>,
    after_refresh: Arc<Credentials>,
    refreshes: AtomicUsize,
}

impl Rotating {
    fn new(first_key: &str, key_after_refresh: &str) -> Arc<Self> {
        Arc::new(Self {
            first: Arc::new(credentials(first_key)),
            after_refresh: Arc::new(credentials(key_after_refresh)),
            refreshes: AtomicUsize::new(0),
        })
    }
}

impl CredentialProvider for Rotating {
    fn current(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        let current = if self.refreshes.load(Ordering::SeqCst) == 0 {
            Arc::clone(&self.first)
        } else {
            Arc::clone(&self.after_refresh)
        };
        Box::pin(async move { Ok(current) })
    }
    fn refresh(
        &self,
        _stale: Arc<Credentials>,
    ) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let next = Arc::clone(&self.after_refresh);
        Box::pin(async move { Ok(next) })
    }
}

#[tokio::test]
async fn a_401_from_wazzup_refreshes_the_secret_once_and_retries() {
    let fake = WazzupFake::start(&["rotated-key"]).await.unwrap();
    let provider = Rotating::new("old-key", "rotated-key");
    let app = app_with(&fake.url(), provider.clone());
    let response = app
        .handle(authorized(&created("k", "Key", None).to_string()))
        .await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
    let seen: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| (r.authorization.clone().unwrap(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("Bearer old-key".to_string(), 401),
            ("Bearer rotated-key".to_string(), 200)
        ]
    );
}

#[tokio::test]
async fn a_key_still_refused_after_the_refresh_is_a_503_after_one_refresh() {
    let fake = WazzupFake::start(&["the-right-key"]).await.unwrap();
    let provider = Rotating::new("wrong-1", "wrong-2");
    let app = app_with(&fake.url(), provider.clone());
    let response = app
        .handle(authorized(&created("k", "Key", None).to_string()))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(json_body(&response)["error"], "WAZZUP_UNAUTHORIZED");
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(fake.requests().len(), 2);
}

struct Down;

impl CredentialProvider for Down {
    fn current(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        Box::pin(async { Err(SecretError::Unavailable("connection refused".into())) })
    }
    fn refresh(
        &self,
        _stale: Arc<Credentials>,
    ) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        self.current()
    }
}

#[tokio::test]
async fn secrets_manager_down_is_a_503_and_nothing_is_sent() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let app = app_with(&fake.url(), Arc::new(Down));
    let response = app
        .handle(authorized(&created("s", "S", None).to_string()))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(json_body(&response)["error"], "SECRETS_UNAVAILABLE");
    assert!(fake.requests().is_empty());
    // At start it is not fatal: the function waits for Secrets Manager to come back.
    assert!(app.preflight().await.is_ok());
}

#[tokio::test]
async fn without_webhook_credentials_the_function_refuses_to_serve_unless_allowed() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let bare = parse_secret_value(API_KEY).unwrap();
    let provider: Arc<dyn CredentialProvider> = Arc::new(StaticCredentials::new(bare));
    let closed = App::new(
        settings(),
        Arc::clone(&provider),
        client(&fake.url(), fast_retry()),
    );
    let error = closed.preflight().await.unwrap_err().to_string();
    assert!(error.contains("ALLOW_UNAUTHENTICATED"), "{error}");
    let response = closed
        .handle(function_url_request(
            "POST",
            "/",
            &[JSON],
            &created("o", "O", None).to_string(),
        ))
        .await;
    // Should the credentials disappear from the secret at run time: the endpoint is off.
    assert_eq!(response.status(), 404);
    assert_eq!(json_body(&response)["error"], "SOURCE_NOT_ENABLED");
    assert!(fake.requests().is_empty());

    let mut open_settings = settings();
    open_settings.allow_unauthenticated = true;
    let open = App::new(open_settings, provider, client(&fake.url(), fast_retry()));
    assert!(open.preflight().await.is_ok());
    let response = open
        .handle(function_url_request(
            "POST",
            "/",
            &[JSON],
            &created("o", "O", None).to_string(),
        ))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_api_key_goes_only_in_the_authorization_header() {
    let (fake, app) = fake_and_app().await;
    app.handle(authorized(&created("h", "H", None).to_string()))
        .await;
    let request = &fake.requests()[0];
    assert_eq!(
        request.authorization.as_deref(),
        Some("Bearer test-api-key")
    );
    assert!(
        !request.path.contains(API_KEY)
            && request
                .query
                .as_deref()
                .is_none_or(|q| !q.contains(API_KEY))
    );
}

#[tokio::test]
async fn fields_wazzup_refuses_are_reported_per_employee_and_the_rest_is_sent_again() {
    let (fake, app) = fake_and_app().await;
    fake.push_fault(Fault::Json {
        status: 400,
        body: json!({"status": 400, "error": "INVALID_USERS_DATA", "description": "Some fields are invalid",
                     "data": [{"index": 1, "fields": ["name"]}]}),
    });
    let body = batch(vec![
        created("ok-1", "Fine", None),
        created("bad", "Refused By Wazzup", None),
        created("ok-2", "Fine Too", None),
    ]);
    let response = app.handle(authorized(&body)).await;
    assert_eq!(response.status(), 200);
    let answer = json_body(&response);
    assert_eq!(ids(&answer, "upserted"), ["ok-1", "ok-2"]);
    assert_eq!(answer["rejected"][0]["id"], "bad");
    assert_eq!(answer["rejected"][0]["reason"], "INVALID_USERS_DATA");
    assert!(
        answer["rejected"][0]["message"]
            .as_str()
            .unwrap()
            .contains("name")
    );
    let sent = posts(&fake);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].as_array().unwrap().len(), 2);
    assert!(fake.user("bad").is_none());
}

#[tokio::test]
async fn a_key_wazzup_forbids_is_a_503_naming_the_problem() {
    let (fake, app) = fake_and_app().await;
    fake.push_fault(Fault::Json {
        status: 403,
        body: json!({"error": "FORBIDDEN", "description": "This API key cannot manage users"}),
    });
    let response = app
        .handle(authorized(&created("f", "F", None).to_string()))
        .await;
    assert_eq!(response.status(), 503);
    let answer = json_body(&response);
    assert_eq!(answer["error"], "WAZZUP_FORBIDDEN");
    assert!(answer["message"].as_str().unwrap().contains("API key"));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn two_employees_of_one_request_with_the_same_phone_keep_the_first() {
    let (fake, app) = fake_and_app().await;
    let body = batch(vec![
        created("first", "First", Some("+7 926 000-11-22")),
        created("second", "Second", Some("8 926 000 11 22")),
        created("third", "Third", None),
    ]);
    let response = app.handle(authorized(&body)).await;
    assert_eq!(response.status(), 200);
    let answer = json_body(&response);
    let mut upserted = ids(&answer, "upserted");
    upserted.sort();
    assert_eq!(upserted, ["first", "third"]);
    assert_eq!(answer["rejected"][0]["id"], "second");
    assert!(
        answer["rejected"][0]["message"]
            .as_str()
            .unwrap()
            .contains("earlier employee")
    );
    assert_eq!(
        fake.user("first").unwrap().phone.as_deref(),
        Some("79260001122")
    );
    assert_eq!(posts(&fake).len(), 2);
}

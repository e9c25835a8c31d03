//! What the logs show: one structured line per change, the request id on every line, and
//! never the API key, the webhook token or a whole phone number.

mod common;

use std::sync::Arc;

use common::*;
use lambda_http::RequestExt;
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::telemetry;

#[tokio::test]
async fn logs_carry_each_change_but_no_secret_or_whole_phone() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The function's own JSON lines, as in Lambda.
    telemetry::init_json_with(move || writer.clone(), "debug");

    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    fake.insert_user(FakeUser {
        id: "taken".into(),
        name: "T".into(),
        phone: Some("79031112233".into()),
    });
    let app = app_with(
        &fake.url(),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
    );
    let body = batch(vec![
        created("emp-1", "Alex", Some("+7 (926) 333-45-67")),
        created("emp-2", "Dup", Some("+7 903 111-22-33")),
        deleted("emp-9"),
    ]);
    let mut context = lambda_runtime::Context::default();
    context.request_id = "0f1e2d3c-request".into();
    let response = app
        .handle(authorized(&body).with_lambda_context(context))
        .await;
    assert_eq!(response.status(), 200);
    // A request with a wrong token, whose value must not be echoed either.
    let wrong = function_url_request(
        "POST",
        "/",
        &[JSON, ("authorization", "Bearer guess-0451")],
        &body,
    );
    assert_eq!(app.handle(wrong).await.status(), 401);

    let text = captured.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let changes: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l.get("action").is_some())
        .map(|l| {
            (
                l["action"].as_str().unwrap().into(),
                l["user_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("delete".to_string(), "emp-9".to_string()),
            ("upsert".to_string(), "emp-2".to_string()),
            ("upsert".to_string(), "emp-1".to_string()),
        ]
    );
    // At INFO, one line per change and one per request, which carries what it came to.
    let info: Vec<&str> = lines
        .iter()
        .filter(|l| l["level"] == "INFO")
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        info,
        [
            "user already absent",
            "user upserted",
            "request answered",
            "request answered"
        ],
        "{text}"
    );
    let answered = lines
        .iter()
        .find(|l| l["message"] == "request answered")
        .unwrap();
    assert_eq!(answered["status"], 200);
    assert_eq!(answered["upserted"], 1);
    assert_eq!(answered["already_absent"], 1);
    assert_eq!(answered["rejected"], 1);
    assert_eq!(answered["not_applied"], 0);
    assert!(answered.get("queued").is_none(), "{answered}");
    let upsert = lines.iter().find(|l| l["user_id"] == "emp-1").unwrap();
    assert_eq!(upsert["phone"], "79*******67");
    assert_eq!(upsert["span"]["request_id"], "0f1e2d3c-request");

    for secret in [
        API_KEY,
        TOKEN,
        "guess-0451",
        "79263334567",
        "79031112233",
        "9263334567",
    ] {
        assert!(!text.contains(secret), "the logs contain {secret}:\n{text}");
    }
}

//! No phone number and no e-mail address in the logs, at any level: the function's own
//! telemetry set-up at TRACE, the phone library included, while a webhook with phones and a
//! SCIM user whose id is an e-mail address go through.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use wazzup_testkit::fake::WazzupFake;
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::telemetry;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn at_trace_level_no_phone_or_email_reaches_the_logs() {
    // The level is this test's: nothing from the caller's environment.
    // SAFETY: this test binary runs this one test, before it starts any thread of its own.
    unsafe {
        for name in ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_LOG_FORMAT"] {
            std::env::remove_var(name);
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    telemetry::init_with(move || writer.clone(), "trace");

    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let credentials = credentials_with(API_KEY, json!({"scimToken": "test-scim-token"}));
    let app = app_with(&fake.url(), Arc::new(StaticCredentials::new(credentials)));
    let body = batch(vec![
        created("emp-1", "Alex", Some("+7 (926) 333-45-67")),
        created("emp-2", "Kate", Some("12345")),
    ]);
    assert_eq!(app.handle(authorized(&body)).await.status(), 200);
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "kate.supportics@example.com",
        "name": {"givenName": "Kate", "familyName": "Supportics"},
        "phoneNumbers": [{"value": "+7 903 111-22-33", "type": "work"}],
        "active": true
    });
    let scim = [
        ("authorization", "Bearer test-scim-token"),
        ("content-type", "application/scim+json"),
    ];
    let created = app
        .handle(function_url_request(
            "POST",
            "/scim/v2/Users",
            &scim,
            &user.to_string(),
        ))
        .await;
    assert_eq!(created.status(), 201, "{}", json_body(&created));
    let gone = app
        .handle(function_url_request(
            "DELETE",
            "/scim/v2/Users/kate.supportics@example.com",
            &scim[..1],
            "",
        ))
        .await;
    assert_eq!(gone.status(), 204);

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("user upserted"),
        "the changes are logged:\n{text}"
    );
    assert!(
        text.contains("sha256:"),
        "the e-mail id is logged as a hash:\n{text}"
    );
    for personal in [
        "79263334567",
        "9263334567",
        "926) 333",
        "79031112233",
        "903 111-22-33",
        "kate.supportics",
        "example.com",
    ] {
        assert!(
            !text.contains(personal),
            "the logs contain {personal}:\n{text}"
        );
    }
}

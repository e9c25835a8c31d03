//! No phone number and no e-mail address in the logs, at any level: the function's own
//! telemetry set-up at TRACE, the phone library included, while a webhook with phones, a SCIM
//! user whose id is an e-mail address, a hire that takes a hand-made user over by its phone
//! and a dismissal of a user nobody owns go through.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::adapters::memory::MemoryStateStore;
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::handler::{App, service_settings};
use wazzup_user_sync::service::SyncService;
use wazzup_user_sync::telemetry;

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

    // An account with its staff (the template's defaults, ownership recorded in process): a
    // hire whose id is an e-mail address takes over the hand-made user with its phone, and a
    // dismissal finds no user while the account holds users nobody owns.
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    fake.insert_user(FakeUser {
        id: "hand-made-77".into(),
        name: "Ivan Ivanov".into(),
        phone: Some("79261112233".into()),
    });
    fake.insert_user(FakeUser {
        id: "hand-made-88".into(),
        name: "Petr Petrov".into(),
        phone: Some("79261114455".into()),
    });
    let service = SyncService::new(
        client(&fake.url(), fast_retry()),
        Arc::new(StaticCredentials::new(common::credentials(API_KEY))),
        service_settings(&owned_settings()),
    )
    .with_state(Arc::new(MemoryStateStore::default()));
    let app = App::with_service(owned_settings(), service);
    let body = batch(vec![
        common::created(
            "ivan.ivanov@example.com",
            "Ivan Ivanov",
            Some("+7 926 111-22-33"),
        ),
        deleted("petr.petrov@example.com"),
    ]);
    let response = app.handle(authorized(&body)).await;
    let answer = json_body(&response);
    let codes: Vec<&str> = (answer["warnings"].as_array().unwrap().iter())
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ADOPTED", "NOT_FOUND_UNOWNED"], "{answer}");

    let text = captured.text();
    assert!(
        text.contains("existing Wazzup user taken over"),
        "the takeover is logged:\n{text}"
    );
    assert!(
        text.contains("the account has users nobody owns"),
        "the unowned dismissal is logged:\n{text}"
    );
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
        "79261112233",
        "111-22-33",
        "79261114455",
        "ivan.ivanov",
        "petr.petrov",
    ] {
        assert!(
            !text.contains(personal),
            "the logs contain {personal}:\n{text}"
        );
    }
}

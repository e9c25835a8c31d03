//! The native sources end to end through the handler: Pipedrive's webhooks (v2 and v1, HTTP
//! Basic) and Bitrix24's ONUSERADD (form-encoded, application token), each replayed from the
//! request files in `events/`, against the loopback Wazzup fake.

mod common;

use std::sync::Arc;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use wazzup_testkit::events::read_event;
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::credentials::{StaticCredentials, parse_secret_value};
use wazzup_user_sync::handler::App;

fn event(name: &str) -> lambda_http::Request {
    read_event(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("events")
            .join(name),
    )
    .expect("a Lambda HTTP event")
}

/// The native sources' credentials the `events/` files are made with.
fn local_sources() -> Value {
    json!({
        "pipedriveHttpUser": "local-pipedrive",
        "pipedriveHttpPassword": "local-pipedrive-password",
        "bitrix24ApplicationToken": "local-bitrix24-token",
    })
}

async fn fake_and_app_with(sources: Value) -> (WazzupFake, App) {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let app = app_with(
        &fake.url(),
        Arc::new(StaticCredentials::new(credentials_with(API_KEY, sources))),
    );
    (fake, app)
}

/// The request of `name`, its body replaced.
fn with_body(name: &str, body: &str) -> lambda_http::Request {
    let mut request = event(name);
    *request.body_mut() = body.to_string().into();
    request
}

/// The request of `name`, its Authorization header replaced (or removed).
fn with_authorization(name: &str, value: Option<&str>) -> lambda_http::Request {
    let mut request = event(name);
    match value {
        Some(value) => {
            request
                .headers_mut()
                .insert("authorization", value.parse().unwrap());
        }
        None => {
            request.headers_mut().remove("authorization");
        }
    }
    request
}

#[tokio::test]
async fn pipedrive_creates_then_a_v1_deactivation_deletes() {
    let (fake, app) = fake_and_app_with(local_sources()).await;
    let response = app.handle(event("pipedrive-user-created-v2.json")).await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert_eq!(ids(&json_body(&response), "upserted"), ["5001"]);
    assert_eq!(
        fake.user("5001"),
        Some(FakeUser {
            id: "5001".into(),
            name: "Olga Managerova".into(),
            phone: Some("79265550102".into())
        })
    );

    let response = app
        .handle(event("pipedrive-user-deactivated-v1.json"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(ids(&json_body(&response), "deleted"), ["5001"]);
    assert!(fake.user("5001").is_none());
}

#[tokio::test]
async fn pipedrive_reactivation_and_deletion() {
    let (fake, app) = fake_and_app_with(local_sources()).await;
    let reactivated = json!({
        "meta": {"action": "change", "entity": "user", "entity_id": "5001", "version": "2.0"},
        "data": {"id": 5001, "name": "Olga Back", "phone": null, "active_flag": true},
        "previous": {"active_flag": false}
    });
    let response = app
        .handle(with_body(
            "pipedrive-user-created-v2.json",
            &reactivated.to_string(),
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(fake.user("5001").unwrap().name, "Olga Back");

    let deleted = json!({
        "meta": {"action": "delete", "entity": "user", "entity_id": "5001", "version": "2.0"},
        "data": null,
        "previous": {"id": 5001, "name": "Olga Back"}
    });
    let response = app
        .handle(with_body(
            "pipedrive-user-created-v2.json",
            &deleted.to_string(),
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert!(fake.user("5001").is_none());
}

#[tokio::test]
async fn pipedrive_events_for_other_entities_are_acknowledged_and_ignored() {
    let (fake, app) = fake_and_app_with(local_sources()).await;
    let response = app.handle(event("pipedrive-deal-ignored.json")).await;
    assert_eq!(response.status(), 200);
    let answer = json_body(&response);
    assert_eq!(answer["status"], "ignored");
    assert!(answer["reason"].as_str().unwrap().contains("deal"));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn pipedrive_with_wrong_or_missing_basic_credentials_is_refused() {
    let (fake, app) = fake_and_app_with(local_sources()).await;
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("local-pipedrive:guess")
    );
    for value in [Some(wrong.as_str()), None, Some("Bearer local-dev-token")] {
        let response = app
            .handle(with_authorization("pipedrive-user-created-v2.json", value))
            .await;
        assert_eq!(response.status(), 401, "{value:?}");
        assert_eq!(json_body(&response)["error"], "UNAUTHENTICATED");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn bitrix24_onuseradd_creates_the_user() {
    let (fake, app) = fake_and_app_with(local_sources()).await;
    let response = app.handle(event("bitrix24-onuseradd.json")).await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert_eq!(
        fake.user("301"),
        Some(FakeUser {
            id: "301".into(),
            name: "Иван Петров".into(),
            phone: Some("79267778899".into())
        })
    );
}

#[tokio::test]
async fn bitrix24_with_a_wrong_token_or_type_is_refused() {
    let (fake, app) = fake_and_app_with(local_sources()).await;
    let original = String::from_utf8(event("bitrix24-onuseradd.json").body().to_vec()).unwrap();
    let wrong = original.replace("local-bitrix24-token", "local-bitrix24-tokem");
    let response = app
        .handle(with_body("bitrix24-onuseradd.json", &wrong))
        .await;
    assert_eq!(response.status(), 401);
    let missing = original.replace("auth%5Bapplication_token%5D=local-bitrix24-token", "");
    assert_ne!(missing, original);
    let response = app
        .handle(with_body("bitrix24-onuseradd.json", &missing))
        .await;
    assert_eq!(response.status(), 401);

    let mut json_typed = event("bitrix24-onuseradd.json");
    json_typed
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_eq!(app.handle(json_typed).await.status(), 415);

    let update = original.replace("ONUSERADD", "ONUSERUPDATE");
    let response = app
        .handle(with_body("bitrix24-onuseradd.json", &update))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(&response)["status"], "ignored");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_source_without_its_credential_is_not_served() {
    let (fake, app) = fake_and_app_with(json!({})).await;
    for name in ["pipedrive-user-created-v2.json", "bitrix24-onuseradd.json"] {
        let response = app.handle(event(name)).await;
        assert_eq!(response.status(), 404, "{name}");
        assert_eq!(
            json_body(&response)["error"],
            "SOURCE_NOT_ENABLED",
            "{name}"
        );
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_deployment_with_only_a_source_credential_starts() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let credentials =
        parse_secret_value(r#"{"apiKey": "test-api-key", "bitrix24ApplicationToken": "t"}"#)
            .unwrap();
    let app = app_with(&fake.url(), Arc::new(StaticCredentials::new(credentials)));
    assert!(app.preflight().await.is_ok());
    // The generic webhook, with nothing configured for it, stays closed.
    let response = app
        .handle(authorized(&created("x", "X", None).to_string()))
        .await;
    assert_eq!(response.status(), 404);
}

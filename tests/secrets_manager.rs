//! The real Secrets Manager client against moto_server on loopback: reading the secret in both
//! forms, caching, rotation (a 401 from Wazzup makes the function read the secret again), and
//! Secrets Manager being away.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use secrecy::ExposeSecret;
use wazzup_testkit::fake::WazzupFake;
use wazzup_testkit::moto::{Moto, client_for, free_port};
use wazzup_user_sync::credentials::{CredentialProvider, SecretError, SecretsManagerCredentials};
use wazzup_user_sync::handler::App;
use wazzup_user_sync::wiring::StartupError;

async fn create_secret(moto: &Moto, name: &str, value: &str) {
    moto.client()
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create the secret in moto");
}

async fn put_secret(moto: &Moto, name: &str, value: &str) {
    moto.client()
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .expect("update the secret in moto");
}

fn json_secret(api_key: &str, token: &str) -> String {
    serde_json::json!({"apiKey": api_key, "webhookSecret": SIGNING_SECRET, "webhookToken": token})
        .to_string()
}

/// The webhook token the provider hands out now.
async fn token(provider: &SecretsManagerCredentials) -> String {
    let credentials = provider.current().await.expect("read the secret");
    let token = credentials.fields.text("webhookToken").unwrap();
    token.expect("a webhook token").expose_secret().to_owned()
}

fn provider(moto: &Moto, name: &str, ttl: Duration) -> Arc<SecretsManagerCredentials> {
    Arc::new(SecretsManagerCredentials::new(moto.client(), name, ttl))
}

#[tokio::test]
async fn a_rotated_api_key_is_picked_up_after_wazzup_answers_401() {
    let moto = Moto::start();
    create_secret(&moto, "wazzup/rotate", &json_secret("key-v1", TOKEN)).await;
    let fake = WazzupFake::start(&["key-v1"]).await.unwrap();
    let app = app_with(
        &fake.url(),
        provider(&moto, "wazzup/rotate", Duration::from_secs(300)),
    );
    app.preflight().await.unwrap();

    let response = app
        .handle(authorized(&created("a", "A", None).to_string()))
        .await;
    assert_eq!(response.status(), 200);

    // The key is rotated in Secrets Manager and Wazzup; the function's cache still holds v1.
    put_secret(&moto, "wazzup/rotate", &json_secret("key-v2", TOKEN)).await;
    fake.set_api_keys(&["key-v2"]);
    let response = app
        .handle(authorized(&created("b", "B", None).to_string()))
        .await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    let response = app
        .handle(authorized(&created("c", "C", None).to_string()))
        .await;
    assert_eq!(response.status(), 200);

    let seen: Vec<(String, u16)> = fake
        .requests()
        .iter()
        .map(|r| (r.authorization.clone().unwrap(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("Bearer key-v1".to_string(), 200),
            ("Bearer key-v1".to_string(), 401),
            ("Bearer key-v2".to_string(), 200),
            ("Bearer key-v2".to_string(), 200),
        ]
    );
    assert_eq!(fake.users().len(), 3);
}

#[tokio::test]
async fn the_secret_is_cached_for_its_ttl_and_read_again_after() {
    let moto = Moto::start();
    create_secret(&moto, "wazzup/ttl", &json_secret("k", "token-1")).await;
    let cached = provider(&moto, "wazzup/ttl", Duration::from_secs(300));
    let short = provider(&moto, "wazzup/ttl", Duration::ZERO);
    assert_eq!(token(&cached).await, "token-1");
    assert_eq!(token(&short).await, "token-1");

    put_secret(&moto, "wazzup/ttl", &json_secret("k", "token-2")).await;
    assert_eq!(
        token(&cached).await,
        "token-1",
        "a fresh cache must not call Secrets Manager"
    );
    assert_eq!(
        token(&short).await,
        "token-2",
        "an expired cache must read the new version"
    );

    // The rotated webhook token is what callers must now present.
    let fake = WazzupFake::start(&["k"]).await.unwrap();
    let app = app_with(&fake.url(), short);
    let old = function_url_request(
        "POST",
        "/",
        &[JSON, ("authorization", "Bearer token-1")],
        &created("x", "X", None).to_string(),
    );
    assert_eq!(app.handle(old).await.status(), 401);
    let new = function_url_request(
        "POST",
        "/",
        &[JSON, ("authorization", "Bearer token-2")],
        &created("x", "X", None).to_string(),
    );
    assert_eq!(app.handle(new).await.status(), 200);
}

#[tokio::test]
async fn a_bare_secret_is_the_api_key_and_needs_explicit_unauthenticated_mode() {
    let moto = Moto::start();
    create_secret(&moto, "wazzup/bare", "bare-api-key").await;
    let provider = provider(&moto, "wazzup/bare", Duration::from_secs(60));
    let credentials = provider.current().await.unwrap();
    assert_eq!(credentials.api_key.expose_secret(), "bare-api-key");
    assert!(credentials.fields.names().is_empty());

    let fake = WazzupFake::start(&["bare-api-key"]).await.unwrap();
    let app = app_with(&fake.url(), provider.clone());
    assert!(matches!(
        app.preflight().await,
        Err(StartupError::NoWebhookCredentials)
    ));

    let mut open = settings();
    open.allow_unauthenticated = true;
    let app = App::new(open, provider, client(&fake.url(), fast_retry()));
    app.preflight().await.unwrap();
    let request = function_url_request(
        "POST",
        "/",
        &[JSON],
        &created("o", "Open", None).to_string(),
    );
    assert_eq!(app.handle(request).await.status(), 200);
    assert_eq!(
        fake.requests()[0].authorization.as_deref(),
        Some("Bearer bare-api-key")
    );
}

#[tokio::test]
async fn a_missing_secret_stops_the_function_at_start_with_a_clear_error() {
    let moto = Moto::start();
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let app = app_with(
        &fake.url(),
        provider(&moto, "wazzup/does-not-exist", Duration::from_secs(60)),
    );
    let error = app.preflight().await.unwrap_err();
    assert!(
        matches!(error, StartupError::Secret(SecretError::Refused(_))),
        "{error}"
    );
    assert!(error.to_string().contains("ResourceNotFound"), "{error}");
}

#[tokio::test]
async fn secrets_manager_unreachable_is_a_503_and_nothing_reaches_wazzup() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let provider = Arc::new(SecretsManagerCredentials::new(
        client_for(&nobody),
        "wazzup/x",
        Duration::from_secs(60),
    ));
    let app = app_with(&fake.url(), provider);
    let response = app
        .handle(authorized(&created("a", "A", None).to_string()))
        .await;
    assert_eq!(response.status(), 503);
    let answer = json_body(&response);
    assert_eq!(answer["error"], "SECRETS_UNAVAILABLE");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_cached_secret_keeps_working_while_secrets_manager_is_down() {
    let mut moto = Moto::start();
    create_secret(&moto, "wazzup/stale", &json_secret(API_KEY, TOKEN)).await;
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let app = app_with(&fake.url(), provider(&moto, "wazzup/stale", Duration::ZERO));
    assert_eq!(
        app.handle(authorized(&created("a", "A", None).to_string()))
            .await
            .status(),
        200
    );
    moto.stop();
    let response = app
        .handle(authorized(&created("b", "B", None).to_string()))
        .await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert!(fake.user("b").is_some());
}

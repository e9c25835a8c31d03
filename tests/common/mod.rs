//! Shared helpers for the integration tests: requests in the shapes Lambda delivers, the app
//! wired to a loopback Wazzup fake, and readers for the answers.
#![allow(dead_code)]

pub mod directory;
pub mod esm;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use url::Url;
use wazzup_testkit::fake::WazzupFake;
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::{
    CredentialProvider, Credentials, StaticCredentials, parse_secret_value,
};
use wazzup_user_sync::domain::{PhoneRegion, Scope};
use wazzup_user_sync::handler::{App, Settings};
use wazzup_user_sync::sources::generic::signature::WebhookSecret;
use wazzup_user_sync::wazzup::{ClientConfig, RetryPolicy, WazzupClient};

/// Log lines written in memory, for a test to read (give a clone to the telemetry set-up).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub const API_KEY: &str = "test-api-key";
pub const TOKEN: &str = "test-webhook-token";
pub const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The administrator's token for `POST /sync`.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The API key, the generic webhook's signing secret and token, the administrator's token,
/// and `more` fields.
pub fn credentials_with(api_key: &str, more: Value) -> Credentials {
    let mut document = json!({
        "apiKey": api_key,
        "webhookSecret": SIGNING_SECRET,
        "webhookToken": TOKEN,
        "adminToken": ADMIN_TOKEN,
    });
    if let (Some(document), Value::Object(more)) = (document.as_object_mut(), more) {
        document.extend(more);
    }
    parse_secret_value(&document.to_string()).unwrap()
}

pub fn credentials(api_key: &str) -> Credentials {
    credentials_with(api_key, json!({}))
}

/// Retries fast enough for tests, with the production shape.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        rate_limit_wait: Duration::from_millis(50),
    }
}

pub fn client(url: &str, retry: RetryPolicy) -> WazzupClient {
    let mut config = ClientConfig::new(Url::parse(url).unwrap());
    config.retry = retry;
    config.request_timeout = Duration::from_secs(5);
    WazzupClient::new(config).unwrap()
}

/// The settings of a deployment that manages every Wazzup user (so that webhook deletions
/// reach Wazzup), with the defaults' limits.
pub fn settings() -> Settings {
    Settings {
        allow_unauthenticated: false,
        max_body_bytes: 1024 * 1024,
        max_events: 1000,
        request_budget: Duration::from_secs(8),
        phone_region: PhoneRegion::default(),
        sync: SyncSettings {
            scope: Scope::All,
            max_delete_share: 0.10,
        },
        adopt_on_conflict: true,
        message_days: 7,
        seats: Default::default(),
    }
}

/// The settings of a deployment with the template's defaults: no id prefix, no manage-all
/// (deletions reach the users it owns), takeovers on a hire's duplicate phone on.
pub fn owned_settings() -> Settings {
    Settings {
        sync: SyncSettings::default(),
        ..settings()
    }
}

/// The SCIM token [`credentials_with`] is given by the tests that serve SCIM, and its header.
pub const SCIM_TOKEN: &str = "test-scim-token";
pub const SCIM: (&str, &str) = ("authorization", "Bearer test-scim-token");

pub fn app_with(url: &str, provider: Arc<dyn CredentialProvider>) -> App {
    App::new(settings(), provider, client(url, fast_retry()))
}

/// The fake accepting [`API_KEY`], and the app talking to it with static credentials.
pub async fn fake_and_app() -> (WazzupFake, App) {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let app = app_with(
        &fake.url(),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
    );
    (fake, app)
}

/// A request as a Lambda Function URL (API Gateway HTTP API v2 payload) delivers it.
pub fn function_url_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Request {
    function_url_request_encoded(method, path, headers, body, false)
}

pub fn function_url_request_encoded(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    base64: bool,
) -> Request {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.to_string())))
        .collect();
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        body.to_string()
    };
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.eu-central-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "crm/1.0"},
            "requestId": "6f1d3c2a-0000-4000-8000-000000000001",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:06:00:00 +0000",
            "timeEpoch": 1_795_413_600_000u64
        },
        "body": body,
        "isBase64Encoded": base64
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// A request as API Gateway's REST API (v1 proxy payload) delivers it.
pub fn rest_v1_request(headers: &[(&str, &str)], body: &str) -> Request {
    let single: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let multi: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!([v])))
        .collect();
    let event = json!({
        "resource": "/",
        "path": "/",
        "httpMethod": "POST",
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "resourcePath": "/",
            "httpMethod": "POST",
            "path": "/prod/",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "123456789012",
            "apiId": "1234567890",
            "identity": {"sourceIp": "203.0.113.7"}
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

pub const JSON: (&str, &str) = ("content-type", "application/json");
pub const BEARER: (&str, &str) = ("authorization", "Bearer test-webhook-token");
pub const ADMIN: (&str, &str) = ("authorization", "Bearer test-admin-token");

/// A POST / with the bearer token and a JSON body.
pub fn authorized(body: &str) -> Request {
    function_url_request("POST", "/", &[JSON, BEARER], body)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A POST / signed the Standard Webhooks way with [`SIGNING_SECRET`].
pub fn signed(body: &str, timestamp: i64) -> Request {
    signed_to("/", body, timestamp)
}

/// A POST to `path` signed the Standard Webhooks way with [`SIGNING_SECRET`].
pub fn signed_to(path: &str, body: &str, timestamp: i64) -> Request {
    signed_message(path, "msg_2pQ8bU9pZb2cNq5tLx0mVq", body, timestamp)
}

/// A POST / signed as the message `id`.
pub fn signed_with_id(id: &str, body: &str, timestamp: i64) -> Request {
    signed_message("/", id, body, timestamp)
}

fn signed_message(path: &str, id: &str, body: &str, timestamp: i64) -> Request {
    let secret = WebhookSecret::parse(SIGNING_SECRET).unwrap();
    let signature = secret.sign(id, timestamp, body.as_bytes());
    let ts = timestamp.to_string();
    function_url_request(
        "POST",
        path,
        &[
            JSON,
            ("webhook-id", id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &signature),
        ],
        body,
    )
}

pub fn json_body(response: &Response<Body>) -> Value {
    let bytes: &[u8] = response.body().as_ref();
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "answer is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

pub fn created(id: &str, name: &str, phone: Option<&str>) -> Value {
    let mut employee = json!({"id": id, "name": name});
    if let Some(phone) = phone {
        employee["phone"] = json!(phone);
    }
    json!({"event": "employee.created", "employee": employee})
}

pub fn deleted(id: &str) -> Value {
    json!({"event": "employee.deleted", "employee": {"id": id}})
}

pub fn batch(events: Vec<Value>) -> String {
    json!({ "events": events }).to_string()
}

/// The ids the answer lists under `field`.
pub fn ids(body: &Value, field: &str) -> Vec<String> {
    body[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

//! Helpers for the fake's tests: a started fake, and requests sent to it over real HTTP.

use http::Method;
use serde_json::{Value, json};

use super::WazzupFake;
use super::types::FakeUser;

pub(super) const KEY: &str = "test-key";

pub(super) async fn fake() -> WazzupFake {
    WazzupFake::start(&[KEY]).await.unwrap()
}

#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: reqwest::header::HeaderMap,
    pub(super) body: String,
}

impl Reply {
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// Asserts a Wazzup error body with this status and code; returns the body.
    pub(super) fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        assert_eq!(body["status"], json!(status), "{body}");
        assert_eq!(body["error"], json!(code), "{body}");
        assert!(body["description"].is_string(), "{body}");
        let request_id = body["requestId"].as_str().unwrap();
        assert!(
            !request_id.is_empty() && request_id.chars().all(|c| c.is_ascii_hexdigit()),
            "{body}"
        );
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        body
    }
}

pub(super) async fn send(
    fake: &WazzupFake,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Vec<u8>>,
) -> reqwest::Result<Reply> {
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{}{path}", fake.url()));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

pub(super) async fn call(
    fake: &WazzupFake,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let auth = format!("Bearer {KEY}");
    let body = body.map(|b| serde_json::to_vec(&b).unwrap());
    send(fake, method, path, Some(&auth), body).await.unwrap()
}

pub(super) async fn post_users(fake: &WazzupFake, users: Value) -> Reply {
    call(fake, Method::POST, "/v3/users", Some(users)).await
}

pub(super) fn user(id: &str, name: &str, phone: Option<&str>) -> FakeUser {
    FakeUser {
        id: id.to_owned(),
        name: name.to_owned(),
        phone: phone.map(str::to_owned),
    }
}

pub(super) fn seed(fake: &WazzupFake, count: usize) {
    for i in 0..count {
        fake.insert_user(user(&format!("u{i:04}"), &format!("User {i:04}"), None));
    }
}

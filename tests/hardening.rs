//! Inputs as an attacker would send them, through the real handler: each class of defect the
//! hardening closed, answered with a clear 4xx (or a 503 in time), with bounded answers and no
//! panic or abort. The figures (time, memory, answer size) are in `benches/hardening.rs`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, Fault, WazzupFake};
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::domain::Scope;
use wazzup_user_sync::handler::{App, Settings};

/// The app with `settings`, SCIM enabled, against a fresh fake.
async fn app_with_settings(settings: Settings) -> (WazzupFake, App) {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let credentials = credentials_with(API_KEY, json!({"scimToken": "test-scim-token"}));
    let app = App::new(
        settings,
        Arc::new(StaticCredentials::new(credentials)),
        client(&fake.url(), fast_retry()),
    );
    (fake, app)
}

fn scoped(scope: Option<Scope>) -> Settings {
    let mut settings = settings();
    settings.sync = SyncSettings {
        scope: scope.unwrap_or_default(),
        max_delete_share: 0.10,
    };
    settings
}

fn seed(fake: &WazzupFake, id: &str) {
    fake.insert_user(FakeUser {
        id: id.into(),
        name: id.into(),
        phone: None,
    });
}

#[tokio::test]
async fn a_thousand_signature_candidates_are_refused_before_any_hmac() {
    let (fake, app) = app_with_settings(settings()).await;
    let body = "x".repeat(512 * 1024);
    let candidates = vec!["v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; 1000].join(" ");
    let ts = now().to_string();
    let request = function_url_request(
        "POST",
        "/",
        &[
            JSON,
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &candidates),
        ],
        &body,
    );
    let response = app.handle(request).await;
    assert_eq!(response.status(), 401);
    let message = json_body(&response)["message"].as_str().unwrap().to_owned();
    assert!(message.contains("more than 10 signatures"), "{message}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn extreme_signed_timestamps_are_refused_not_overflowed() {
    let (_, app) = app_with_settings(settings()).await;
    for ts in ["-9223372036854775808", "9223372036854775807"] {
        let request = function_url_request(
            "POST",
            "/",
            &[
                JSON,
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", ts),
                (
                    "webhook-signature",
                    "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                ),
            ],
            "{}",
        );
        let response = app.handle(request).await;
        assert_eq!(response.status(), 401, "{ts}");
    }
}

#[tokio::test]
async fn deep_long_and_multibyte_scim_filters_are_clear_400s() {
    let (fake, app) = app_with_settings(settings()).await;
    let encode =
        |filter: &str| url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>();
    let deep = format!("{}userName eq \"a\"{}", "(".repeat(400), ")".repeat(400));
    let not_deep = format!(
        "{}userName eq \"a\"{}",
        "not (".repeat(400),
        ")".repeat(400)
    );
    // (A URL longer than 64 KiB does not even reach a Lambda function; the search body below
    // carries what a URL cannot.)
    let chain = vec!["userName eq \"a\""; 1000].join(" or ");
    let long = format!("userName eq \"{}\"", "a".repeat(5000));
    for filter in [
        deep.as_str(),
        not_deep.as_str(),
        chain.as_str(),
        long.as_str(),
        "aéé pr",
        "ü",
    ] {
        let started = Instant::now();
        let path = format!("/scim/v2/Users?filter={}", encode(filter));
        let response = app
            .handle(function_url_request("GET", &path, &[SCIM], ""))
            .await;
        assert_eq!(
            response.status(),
            400,
            "{}",
            &filter[..filter.len().min(40)]
        );
        let body = json_body(&response);
        assert_eq!(body["scimType"], "invalidFilter");
        assert!(started.elapsed() < Duration::from_secs(2));
        // The same through a search body.
        let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
        let response = app
            .handle(function_url_request(
                "POST",
                "/scim/v2/Users/.search",
                &[SCIM, JSON],
                &search.to_string(),
            ))
            .await;
        assert_eq!(response.status(), 400);
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn patches_with_too_many_changes_are_refused_before_anything() {
    let (fake, app) = app_with_settings(settings()).await;
    seed(&fake, "u1");
    let wide: serde_json::Map<String, Value> = (0..20_000)
        .map(|i| (format!("attr{i}"), json!(i)))
        .collect();
    let many: Vec<Value> = (0..5_000)
        .map(|i| json!({"op": "add", "path": format!("nickName{i}"), "value": "x"}))
        .collect();
    for operations in [json!([{"op": "replace", "value": wide}]), json!(many)] {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
        let started = Instant::now();
        let response = app
            .handle(function_url_request(
                "PATCH",
                "/scim/v2/Users/u1",
                &[SCIM, JSON],
                &body.to_string(),
            ))
            .await;
        assert_eq!(response.status(), 400);
        assert_eq!(json_body(&response)["scimType"], "invalidValue");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert!(fake.requests().is_empty(), "refused before Wazzup is read");
}

#[tokio::test]
async fn a_megabyte_of_invalid_events_gets_a_small_answer() {
    let mut settings = settings();
    settings.max_body_bytes = 2 * 1024 * 1024;
    let (fake, app) = app_with_settings(settings).await;
    // 1,000 events (the limit), each with a 1,000-character id and no name.
    let long_id = "i".repeat(1000);
    let events: Vec<Value> = (0..1000)
        .map(|_| json!({"event": "employee.created", "employee": {"id": long_id}}))
        .collect();
    let body = batch(events);
    assert!(body.len() > 1_000_000);
    let response = app.handle(authorized(&body)).await;
    let size = match response.body() {
        lambda_http::Body::Text(text) => text.len(),
        _ => panic!("a text answer"),
    };
    assert_eq!(response.status(), 422);
    assert!(size < 64 * 1024, "the answer is {size} bytes");
    let answer = json_body(&response);
    assert_eq!(answer["rejectedCount"], 1000);
    assert_eq!(answer["rejected"].as_array().unwrap().len(), 100);
    assert!(
        answer["rejected"][0]["id"]
            .as_str()
            .unwrap()
            .chars()
            .count()
            <= 201
    );
    assert!(fake.requests().is_empty());

    // More events than a request may carry: refused whole.
    let over: Vec<Value> = (0..1001)
        .map(|i| created(&format!("e{i}"), "N", None))
        .collect();
    let response = app.handle(authorized(&batch(over))).await;
    assert_eq!(response.status(), 413);
    assert_eq!(json_body(&response)["error"], "TOO_MANY_EVENTS");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn ids_a_url_path_would_eat_are_refused_and_nothing_is_reported_done() {
    let (fake, app) = app_with_settings(settings()).await;
    seed(&fake, "kept");
    let response = app
        .handle(authorized(&batch(vec![deleted(".."), deleted(".")])))
        .await;
    assert_eq!(response.status(), 422, "{}", json_body(&response));
    let answer = json_body(&response);
    let reasons: Vec<&str> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["INVALID_ID", "INVALID_ID"]);
    assert!(answer["alreadyAbsent"].as_array().unwrap().is_empty());
    assert!(fake.requests().is_empty());
    assert!(fake.user("kept").is_some());
}

#[tokio::test]
async fn webhook_and_scim_deletions_stay_inside_the_managed_scope() {
    let (fake, app) = app_with_settings(scoped(Some(Scope::Prefix("crm-".into())))).await;
    for id in ["crm-1", "manual-boss"] {
        seed(&fake, id);
    }
    let response = app
        .handle(authorized(&batch(vec![
            deleted("manual-boss"),
            deleted("crm-1"),
        ])))
        .await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    let answer = json_body(&response);
    assert_eq!(answer["status"], "partial");
    assert_eq!(answer["deleted"], json!(["crm-1"]));
    assert_eq!(answer["rejected"][0]["reason"], "UNOWNED_USER");
    assert!(fake.user("manual-boss").is_some());

    // SCIM: a DELETE of an unmanaged user is refused, and the user stays.
    let response = app
        .handle(function_url_request(
            "DELETE",
            "/scim/v2/Users/manual-boss",
            &[SCIM],
            "",
        ))
        .await;
    assert_eq!(response.status(), 403);
    assert!(fake.user("manual-boss").is_some());

    // Without a scope or records of what it owns, a deployment deletes nobody, and says how
    // to take a user over.
    let (fake, app) = app_with_settings(scoped(None)).await;
    seed(&fake, "anyone");
    let response = app
        .handle(authorized(&batch(vec![deleted("anyone")])))
        .await;
    assert_eq!(response.status(), 422);
    let message = json_body(&response)["rejected"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("wazzup-sync adopt"), "{message}");
    assert!(fake.user("anyone").is_some());
}

#[tokio::test]
async fn a_slow_wazzup_is_answered_503_within_the_callers_budget() {
    let mut settings = settings();
    settings.request_budget = Duration::from_secs(1);
    let (fake, app) = app_with_settings(settings).await;
    for _ in 0..8 {
        fake.push_fault(Fault::Delay(Duration::from_secs(3)));
    }
    let started = Instant::now();
    let response = app
        .handle(authorized(&created("emp-1", "Alex", None).to_string()))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 503, "{}", json_body(&response));
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        elapsed < Duration::from_millis(2500),
        "answered after {elapsed:?}"
    );
}

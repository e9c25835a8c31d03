//! The scheduled full sync against loopback fakes of the CRMs' users APIs (Pipedrive's
//! `GET /v1/users`, Bitrix24's `user.get` through an inbound webhook) and of Wazzup.

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use common::*;
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::domain::Scope;
use wazzup_user_sync::scheduled::{ScheduledError, ScheduledFunction, ScheduledSync};
use wazzup_user_sync::service::{ServiceSettings, SyncService};

/// What a CRM fake received, for assertions.
type Seen = Arc<Mutex<Vec<Value>>>;

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Pipedrive's `GET /v1/users`, answering only to the right token.
async fn pipedrive_fake(users: Value) -> String {
    let router = axum::Router::new().route(
        "/v1/users",
        get(move |headers: HeaderMap| {
            let users = users.clone();
            async move {
                if headers.get("x-api-token").and_then(|v| v.to_str().ok()) != Some("pd-token") {
                    return (
                        axum::http::StatusCode::UNAUTHORIZED,
                        Json(json!({"success": false, "error": "unauthorized access"})),
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    Json(json!({"success": true, "data": users})),
                )
            }
        }),
    );
    serve(router).await
}

/// Bitrix24's `user.get` through an inbound webhook, 50 users a page with `next`.
async fn bitrix24_fake(users: Vec<Value>, seen: Seen) -> String {
    let router = axum::Router::new()
        .route(
            "/rest/1/hook-code/user.get.json",
            post(
                |State((users, seen)): State<(Vec<Value>, Seen)>, Json(body): Json<Value>| async move {
                    seen.lock().unwrap().push(body.clone());
                    let start = body["start"].as_u64().unwrap_or(0) as usize;
                    let page: Vec<Value> = users.iter().skip(start).take(50).cloned().collect();
                    let mut answer = json!({"result": page, "total": users.len()});
                    if start + 50 < users.len() {
                        answer["next"] = json!(start + 50);
                    }
                    Json(answer)
                },
            ),
        )
        .with_state((users, seen));
    serve(router).await
}

/// The scheduled function with the CRM's fields `crm` in its secret.
fn app(fake: &WazzupFake, crm: Value, scope: Option<Scope>) -> ScheduledFunction {
    let settings = ServiceSettings {
        phone_region: settings().phone_region,
        sync: SyncSettings {
            scope: scope.unwrap_or_default(),
            max_delete_share: 0.10,
        },
        adopt_on_conflict: true,
        message_days: 7,
    };
    let service = SyncService::new(
        client(&fake.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials_with(API_KEY, crm))),
        settings,
    );
    ScheduledFunction::new(Arc::new(service)).unwrap()
}

fn input(crm: &str, dry_run: bool) -> ScheduledSync {
    ScheduledSync {
        crm: crm.into(),
        dry_run,
        force_deletes: false,
        resend: false,
        adopt: false,
    }
}

fn pipedrive(url: String) -> Value {
    json!({"pipedriveApiToken": "pd-token", "pipedriveApiUrl": url})
}

#[tokio::test]
async fn pipedrive_active_users_are_reconciled_and_deactivated_ones_removed() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    for i in 0..12 {
        wazzup.insert_user(FakeUser {
            id: format!("{}", 100 + i),
            name: format!("User {i}"),
            phone: None,
        });
    }
    wazzup.insert_user(FakeUser {
        id: "owner".into(),
        name: "Owner".into(),
        phone: None,
    });
    let mut users: Vec<Value> = (0..12)
        .map(|i| json!({"id": 100 + i, "name": format!("User {i}"), "email": "x@example.com", "phone": null, "active_flag": true}))
        .collect();
    users[0]["active_flag"] = json!(false); // deactivated in Pipedrive
    users[1]["name"] = json!("User 1 (renamed)");
    users.push(
        json!({"id": 112, "name": "New Hire", "phone": "+7 926 100-20-30", "active_flag": true}),
    );
    let crm = pipedrive(pipedrive_fake(Value::Array(users)).await);
    let app = app(&wazzup, crm, Some(Scope::Prefix("1".into())));

    let report = app.run(&input("pipedrive", true), None).await.unwrap();
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["plan"]["create"], json!(["112"]));
    assert_eq!(report["plan"]["update"], json!(["101"]));
    assert_eq!(report["plan"]["delete"], json!(["100"]));
    assert_eq!(report["plan"]["unmanaged"], 1);
    assert!(
        wazzup.requests().iter().all(|r| r.method == "GET"),
        "a dry run changes nothing"
    );

    let report = app.run(&input("pipedrive", false), None).await.unwrap();
    assert_eq!(report["applied"]["deleted"], json!(["100"]));
    assert!(wazzup.user("100").is_none());
    assert_eq!(wazzup.user("101").unwrap().name, "User 1 (renamed)");
    assert_eq!(
        wazzup.user("112").unwrap().phone.as_deref(),
        Some("79261002030")
    );
    assert!(wazzup.user("owner").is_some());
}

#[tokio::test]
async fn a_crm_user_outside_the_scope_stops_the_run() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let users = json!([
        {"id": 100, "name": "In", "active_flag": true},
        {"id": 200, "name": "Out", "active_flag": true}
    ]);
    let app = app(
        &wazzup,
        pipedrive(pipedrive_fake(users).await),
        Some(Scope::Prefix("1".into())),
    );
    let error = app.run(&input("pipedrive", false), None).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("200") && text.contains("scope"), "{text}");
    assert!(wazzup.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn bitrix24_users_are_read_page_by_page_and_imported() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let users: Vec<Value> = (0..120)
        .map(|i| json!({"ID": format!("{}", 1000 + i), "NAME": "Сотрудник", "LAST_NAME": format!("{i}"), "ACTIVE": true,
                        "PERSONAL_MOBILE": "", "WORK_PHONE": if i == 0 { "+7 495 555-35-35" } else { "" }}))
        .collect();
    let seen = Seen::default();
    let base = bitrix24_fake(users, seen.clone()).await;
    let crm = json!({"bitrix24WebhookUrl": format!("{base}/rest/1/hook-code/")});
    let app = app(&wazzup, crm, Some(Scope::Prefix("1".into())));
    let report = app.run(&input("bitrix24", false), None).await.unwrap();
    assert_eq!(report["fetched"], 120);
    assert_eq!(wazzup.users().len(), 120);
    assert_eq!(wazzup.user("1000").unwrap().name, "Сотрудник 0");
    assert_eq!(
        wazzup.user("1000").unwrap().phone.as_deref(),
        Some("74955553535")
    );
    let starts: Vec<u64> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["start"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [0, 50, 100]);
    assert_eq!(seen.lock().unwrap()[0]["FILTER"]["ACTIVE"], true);
    // The Wazzup side: 120 users in two upserts of 100 and 20.
    let posts: Vec<usize> = wazzup
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.body.as_ref().unwrap().as_array().unwrap().len())
        .collect();
    assert_eq!(posts, [100, 20]);
}

#[tokio::test]
async fn a_wrong_crm_token_or_missing_configuration_fails_the_run_without_touching_wazzup() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let crm =
        json!({"pipedriveApiToken": "wrong", "pipedriveApiUrl": pipedrive_fake(json!([])).await});
    let app = app(&wazzup, crm, Some(Scope::All));
    let error = app.run(&input("pipedrive", false), None).await.unwrap_err();
    assert!(matches!(error, ScheduledError::Crm(_)), "{error}");
    let error = app.run(&input("bitrix24", false), None).await.unwrap_err();
    assert!(error.to_string().contains("bitrix24WebhookUrl"), "{error}");
    let off = self::app(&wazzup, json!({}), None);
    assert!(matches!(
        off.run(&input("pipedrive", false), None).await,
        Err(ScheduledError::NotEnabled)
    ));
    assert!(wazzup.requests().is_empty());
}

#[test]
fn the_scheduler_input_is_read_as_documented() {
    let input: ScheduledSync =
        serde_json::from_str(r#"{"crm": "bitrix24", "dryRun": true}"#).unwrap();
    assert_eq!(input.crm, "bitrix24");
    assert!(input.dry_run && !input.force_deletes);
    assert!(serde_json::from_str::<ScheduledSync>(r#"{"crm": "kommo"}"#).is_err());
}

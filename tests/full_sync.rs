//! `POST /sync`: the full sync over HTTP, against the loopback Wazzup fake.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::domain::Scope;
use wazzup_user_sync::handler::App;

async fn fake_and_sync_app(scope: Option<Scope>) -> (WazzupFake, App) {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let mut settings = settings();
    settings.sync = SyncSettings {
        scope: scope.unwrap_or_default(),
        max_delete_share: 0.10,
    };
    let app = App::new(
        settings,
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        client(&fake.url(), fast_retry()),
    );
    (fake, app)
}

fn staff(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": format!("crm-{i:02}"), "name": format!("Employee {i:02}")}))
        .collect()
}

fn sync_request(employees: &[Value], extra: Value) -> lambda_http::Request {
    let mut body = json!({ "employees": employees });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    function_url_request("POST", "/sync", &[JSON, ADMIN], &body.to_string())
}

fn writes(fake: &WazzupFake) -> usize {
    fake.requests().iter().filter(|r| r.method != "GET").count()
}

#[tokio::test]
async fn a_dry_run_plans_and_changes_nothing_then_apply_and_a_second_run_is_a_noop() {
    let (fake, app) = fake_and_sync_app(Some(Scope::Prefix("crm-".into()))).await;
    let response = app
        .handle(sync_request(&staff(20), json!({"dryRun": true})))
        .await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    let answer = json_body(&response);
    assert_eq!(answer["status"], "planned");
    assert_eq!(answer["plan"]["create"].as_array().unwrap().len(), 20);
    assert_eq!(writes(&fake), 0);

    let response = app.handle(sync_request(&staff(20), json!({}))).await;
    assert_eq!(json_body(&response)["status"], "applied");
    assert_eq!(fake.users().len(), 20);

    fake.clear_requests();
    let response = app.handle(sync_request(&staff(20), json!({}))).await;
    let answer = json_body(&response);
    assert_eq!(answer["status"], "unchanged");
    assert_eq!(answer["plan"]["unchanged"], 20);
    assert_eq!(writes(&fake), 0);

    // A changed phone is not in Wazzup's list: "resend" sends everyone again.
    let mut with_phone = staff(20);
    with_phone[0]["phone"] = json!("+7 926 555-00-11");
    let response = app
        .handle(sync_request(&with_phone, json!({"resend": true})))
        .await;
    assert_eq!(
        json_body(&response)["plan"]["update"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert_eq!(
        fake.user("crm-00").unwrap().phone.as_deref(),
        Some("79265550011")
    );
}

#[tokio::test]
async fn removed_employees_are_deleted_but_unmanaged_users_never() {
    let (fake, app) = fake_and_sync_app(Some(Scope::Prefix("crm-".into()))).await;
    fake.insert_user(FakeUser {
        id: "owner".into(),
        name: "The Owner".into(),
        phone: None,
    });
    app.handle(sync_request(&staff(20), json!({}))).await;
    let mut fewer = staff(20);
    fewer.remove(7);
    fewer.remove(3);
    let response = app.handle(sync_request(&fewer, json!({}))).await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    let answer = json_body(&response);
    assert_eq!(answer["plan"]["delete"], json!(["crm-03", "crm-07"]));
    assert_eq!(answer["plan"]["unmanaged"], 1);
    assert!(fake.user("crm-03").is_none() && fake.user("crm-07").is_none());
    assert!(fake.user("owner").is_some());
}

#[tokio::test]
async fn deleting_half_the_staff_is_refused_unless_forced() {
    let (fake, app) = fake_and_sync_app(Some(Scope::Prefix("crm-".into()))).await;
    app.handle(sync_request(&staff(20), json!({}))).await;
    fake.clear_requests();
    let half = staff(10);
    let response = app.handle(sync_request(&half, json!({}))).await;
    assert_eq!(response.status(), 422);
    let answer = json_body(&response);
    assert_eq!(answer["error"], "SYNC_REFUSED");
    assert!(
        answer["message"].as_str().unwrap().contains("50 %"),
        "{answer}"
    );
    assert_eq!(writes(&fake), 0);
    assert_eq!(fake.users().len(), 20);

    let response = app
        .handle(sync_request(&half, json!({"forceDeletes": true})))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(fake.users().len(), 10);
}

#[tokio::test]
async fn an_invalid_employee_refuses_the_whole_list() {
    let (fake, app) = fake_and_sync_app(Some(Scope::Prefix("crm-".into()))).await;
    let mut employees = staff(3);
    employees.push(json!({"id": "crm-99", "name": " "}));
    let response = app.handle(sync_request(&employees, json!({}))).await;
    assert_eq!(response.status(), 422);
    let answer = json_body(&response);
    assert_eq!(answer["error"], "INVALID_EMPLOYEES");
    assert_eq!(answer["rejected"][0]["id"], "crm-99");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_sync_is_off_without_a_scope_and_closed_without_credentials() {
    let (fake, app) = fake_and_sync_app(None).await;
    let response = app.handle(sync_request(&staff(2), json!({}))).await;
    assert_eq!(response.status(), 404);
    assert_eq!(json_body(&response)["error"], "SYNC_NOT_ENABLED");

    let (_, app) = fake_and_sync_app(Some(Scope::All)).await;
    let body = json!({"employees": staff(2)}).to_string();
    let unsigned = function_url_request("POST", "/sync", &[JSON], &body);
    assert_eq!(app.handle(unsigned).await.status(), 401);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_crm_credential_can_never_run_the_full_sync_nor_force_mass_deletions() {
    let (fake, app) = fake_and_sync_app(Some(Scope::All)).await;
    app.handle(sync_request(&staff(20), json!({}))).await;
    fake.clear_requests();
    // Whoever holds the CRM's webhook token or signing secret: refused before anything.
    let body = json!({"employees": [], "forceDeletes": true}).to_string();
    let with_crm_token = function_url_request("POST", "/sync", &[JSON, BEARER], &body);
    let response = app.handle(with_crm_token).await;
    assert_eq!(response.status(), 401, "{}", json_body(&response));
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"admin\""
    );
    assert_eq!(
        app.handle(signed_to("/sync", &body, now())).await.status(),
        401
    );
    assert!(fake.requests().is_empty());
    assert_eq!(fake.users().len(), 20);

    // A deployment whose secret has no administrator token does not serve POST /sync.
    let no_admin = App::new(
        settings(),
        Arc::new(StaticCredentials::new(
            wazzup_user_sync::credentials::parse_secret_value(
                &json!({"apiKey": API_KEY, "webhookToken": TOKEN}).to_string(),
            )
            .unwrap(),
        )),
        client(&fake.url(), fast_retry()),
    );
    let response = no_admin.handle(sync_request(&staff(2), json!({}))).await;
    assert_eq!(response.status(), 404);
    assert_eq!(json_body(&response)["error"], "SYNC_NOT_ENABLED");
}

/// A full sync races a webhook: the CRM's list was read a moment before a hire, whose webhook
/// was applied meanwhile. The plan deletes the hire (it is not in the list), but that deletion
/// is older than the hire: the state table drops it, and the new employee stays.
#[tokio::test]
async fn a_snapshot_taken_before_a_hire_never_deletes_the_new_hire() {
    use wazzup_user_sync::adapters::memory::MemoryStateStore;
    use wazzup_user_sync::domain::{EmployeeRow, SourceTime};
    use wazzup_user_sync::handler::service_settings;
    use wazzup_user_sync::service::{FullSyncRequest, StateStore, SyncService};

    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    for id in ["crm-01", "crm-02"] {
        fake.insert_user(FakeUser {
            id: id.into(),
            name: id.into(),
            phone: None,
        });
    }
    let mut settings = settings();
    settings.sync = SyncSettings {
        scope: Scope::Prefix("crm-".into()),
        max_delete_share: 1.0,
    };
    let state: Arc<dyn StateStore> = Arc::new(MemoryStateStore::default());
    let service = || {
        SyncService::new(
            client(&fake.url(), fast_retry()),
            Arc::new(StaticCredentials::new(credentials(API_KEY))),
            service_settings(&settings),
        )
        .with_state(Arc::clone(&state))
    };
    let app = App::with_service(settings.clone(), service());

    // The CRM's list was read two seconds ago; a second later, a hire, whose webhook arrives
    // now.
    let snapshot = SourceTime::from_millis(SourceTime::now().millis() - 2000);
    let hired_at = SourceTime::from_millis(snapshot.millis() + 1000);
    let hire = json!({"event": "employee.created", "employee": {"id": "crm-new", "name": "New Hire"},
                      "occurredAt": hired_at.to_string()});
    assert_eq!(
        app.handle(authorized(&hire.to_string())).await.status(),
        200
    );
    assert!(fake.user("crm-new").is_some());

    // The full sync of the list as of the snapshot: the old staff only.
    let sync = service();
    let rows = ["crm-01", "crm-02"].map(|id| EmployeeRow {
        id: id.into(),
        name: Some(id.into()),
        phone: None,
        wazzup_id: None,
    });
    let roster = sync.roster(rows.into_iter().enumerate()).unwrap();
    let mut session = sync.session(None).await.unwrap();
    let request = FullSyncRequest {
        as_of: Some(snapshot),
        ..FullSyncRequest::default()
    };
    let report = sync
        .full_sync(&mut session, &roster, request)
        .await
        .unwrap();
    assert_eq!(
        report.plan.delete.len(),
        1,
        "the plan saw the hire as extra"
    );
    assert!(report.applied.deleted.is_empty(), "{:?}", report.applied);
    assert_eq!(report.applied.warnings[0].code, "STALE");
    assert_eq!(fake.user("crm-new").unwrap().name, "New Hire");
}

/// The same race over HTTP: the caller says when its list was read (`asOf`), and a change a
/// webhook applied after that stays.
#[tokio::test]
async fn a_list_read_before_a_rename_does_not_undo_it() {
    use wazzup_user_sync::adapters::memory::MemoryStateStore;
    use wazzup_user_sync::domain::SourceTime;
    use wazzup_user_sync::handler::service_settings;
    use wazzup_user_sync::service::SyncService;

    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let settings = settings();
    let service = SyncService::new(
        client(&fake.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        service_settings(&settings),
    )
    .with_state(Arc::new(MemoryStateStore::default()));
    let app = App::with_service(settings, service);

    // The list is read; a second later the employee is renamed, and the webhook applied.
    let read = SourceTime::from_millis(SourceTime::now().millis() - 60_000);
    let renamed_at = SourceTime::from_millis(read.millis() + 1000);
    let rename = json!({"event": "employee.updated", "employee": {"id": "crm-01", "name": "Renamed"},
                        "occurredAt": renamed_at.to_string()});
    assert_eq!(
        app.handle(authorized(&rename.to_string())).await.status(),
        200
    );

    let list = [json!({"id": "crm-01", "name": "Before"})];
    let response = app
        .handle(sync_request(
            &list,
            json!({"asOf": read.to_string(), "resend": true}),
        ))
        .await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(
        answer["applied"]["warnings"][0]["code"], "STALE",
        "{answer}"
    );
    assert_eq!(fake.user("crm-01").unwrap().name, "Renamed");

    // A time that is not one, or in the future, is refused before anything is done.
    for bad in [json!("yesterday"), json!("2099-01-01T00:00:00Z"), json!(12)] {
        let response = app.handle(sync_request(&list, json!({"asOf": bad}))).await;
        assert_eq!(response.status(), 400, "{}", json_body(&response));
    }
    assert_eq!(fake.user("crm-01").unwrap().name, "Renamed");
}

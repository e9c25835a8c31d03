//! Who gets a seat: the seat rules (`SEAT_RULES`) decide, per source, on what the source knows of
//! a person. The same rules hold for a source's webhooks and for its full sync; an employee who
//! leaves the rules is dismissed in Wazzup as one who left, through the full sync's fences.

mod common;

use std::sync::Arc;

use common::directory::{google_user, planned, scheduled, sync, wazzup_writes};
use common::*;
use serde_json::{Value, json};
use wazzup_testkit::crm::google::{GROUP_SCOPE, GoogleFake};
use wazzup_testkit::fake::WazzupFake;
use wazzup_user_sync::adapters::memory::{MemoryQueue, MemoryStateStore};
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::domain::SeatPolicy;
use wazzup_user_sync::handler::{App, Settings, service_settings};
use wazzup_user_sync::service::SyncService;
use wazzup_user_sync::sources::registry;

/// The app with `rules` as its `SEAT_RULES`.
fn app_with_rules(wazzup: &WazzupFake, rules: &str) -> App {
    let settings = Settings {
        seats: Arc::new(SeatPolicy::parse(rules).unwrap()),
        ..settings()
    };
    App::new(
        settings,
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        client(&wazzup.url(), fast_retry()),
    )
}

fn employee(event: &str, id: &str, facts: Value) -> Value {
    let mut employee = json!({"id": id, "name": format!("Employee {id}")});
    if let (Some(employee), Value::Object(facts)) = (employee.as_object_mut(), facts) {
        employee.extend(facts);
    }
    json!({"event": event, "employee": employee})
}

/// The warnings' codes and the refusals' reasons of an answer, by employee.
fn codes(answer: &Value) -> Vec<(String, String)> {
    let mut codes: Vec<(String, String)> = ["warnings", "rejected"]
        .iter()
        .flat_map(|list| answer[list].as_array().cloned().unwrap_or_default())
        .map(|w| {
            (
                w["id"].as_str().unwrap_or("").to_owned(),
                w["code"]
                    .as_str()
                    .or(w["reason"].as_str())
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn a_webhook_seats_only_the_employees_the_rules_admit() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let app = app_with_rules(
        &wazzup,
        r#"{"generic": {"include": [{"department": ["Sales", "Support*"]}],
                        "exclude": [{"group": "contractors"}]}}"#,
    );
    let body = batch(vec![
        employee(
            "employee.created",
            "e-1",
            json!({"department": "Sales", "groups": []}),
        ),
        employee(
            "employee.created",
            "e-2",
            json!({"department": "support (night)", "groups": ["Support"]}),
        ),
        employee("employee.created", "e-3", json!({"department": "Finance"})),
        employee("employee.created", "e-6", json!({"department": "Sales"})),
        employee(
            "employee.created",
            "e-4",
            json!({"department": "Sales", "groups": ["Contractors"]}),
        ),
        employee("employee.created", "e-5", json!({"title": "Manager"})),
    ]);
    let response = app.handle(authorized(&body)).await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert!(wazzup.user("e-1").is_some() && wazzup.user("e-2").is_some());
    for id in ["e-3", "e-4", "e-5", "e-6"] {
        assert!(wazzup.user(id).is_none(), "{id} got a seat: {answer}");
    }
    assert_eq!(
        codes(&answer),
        [
            ("e-3".to_owned(), "NO_SEAT".to_owned()),
            ("e-4".to_owned(), "NO_SEAT".to_owned()),
            ("e-5".to_owned(), "SEAT_UNDECIDED".to_owned()),
            ("e-6".to_owned(), "SEAT_UNDECIDED".to_owned()),
        ],
        "{answer}"
    );

    // Moved to Finance: the update is a dismissal (its groups are not needed to tell). A
    // deletion needs no facts.
    let body = batch(vec![
        employee("employee.updated", "e-1", json!({"department": "Finance"})),
        json!({"event": "employee.deleted", "employee": {"id": "e-2"}}),
    ]);
    let answer = json_body(&app.handle(authorized(&body)).await);
    assert!(wazzup.user("e-1").is_none(), "{answer}");
    assert!(wazzup.user("e-2").is_none(), "{answer}");
    assert_eq!(
        codes(&answer),
        [("e-1".to_owned(), "NO_SEAT".to_owned())],
        "{answer}"
    );
}

#[tokio::test]
async fn a_request_of_only_hires_outside_the_rules_is_done_not_refused() {
    let rules = r#"{"generic": {"include": [{"department": "Sales"}]}}"#;
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let direct = app_with_rules(&wazzup, rules);
    let settings = Settings {
        seats: Arc::new(SeatPolicy::parse(rules).unwrap()),
        ..settings()
    };
    let queue = Arc::new(MemoryQueue::default());
    let service = SyncService::new(
        client(&wazzup.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        service_settings(&settings),
    )
    .with_state(Arc::new(MemoryStateStore::default()))
    .with_queue(Arc::clone(&queue) as _);
    let queued = App::with_service(settings, service);
    let body = employee("employee.created", "e-9", json!({"department": "Finance"})).to_string();
    for (mode, app) in [("direct", direct), ("queued", queued)] {
        let response = app.handle(authorized(&body)).await;
        let answer = json_body(&response);
        assert_eq!(response.status(), 200, "{mode}: {answer}");
        assert_eq!(answer["status"], "ok", "{mode}: {answer}");
        assert_eq!(
            codes(&answer),
            [("e-9".to_owned(), "NO_SEAT".to_owned())],
            "{mode}: {answer}"
        );
    }
    assert!(queue.take(10).is_empty(), "nothing to queue");
    assert!(wazzup.users().is_empty());
}

#[tokio::test]
async fn leaving_the_rules_removes_the_deployments_user_and_warns_of_nothing_else() {
    let rules = r#"{"generic": {"include": [{"department": "Sales"}]}}"#;
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    // The account's administrator, made by hand: a user nobody owns.
    wazzup.insert_user(wazzup_testkit::fake::FakeUser {
        id: "a1b2c3".into(),
        name: "Administrator".into(),
        phone: None,
    });
    let settings = Settings {
        seats: Arc::new(SeatPolicy::parse(rules).unwrap()),
        ..owned_settings()
    };
    let service = SyncService::new(
        client(&wazzup.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        service_settings(&settings),
    )
    .with_state(Arc::new(MemoryStateStore::default()));
    let app = App::with_service(settings, service);
    let hire = employee("employee.created", "e-1", json!({"department": "Sales"}));
    assert_eq!(
        app.handle(authorized(&hire.to_string())).await.status(),
        200
    );
    assert!(wazzup.user("e-1").is_some());

    // Someone in finance, never seated, is edited in the CRM: nothing to remove, and no
    // warning of access that may remain (the alarm on those would fire at every edit).
    let edit = employee("employee.updated", "e-2", json!({"department": "Finance"}));
    let answer = json_body(&app.handle(authorized(&edit.to_string())).await);
    assert_eq!(
        codes(&answer),
        [("e-2".to_owned(), "NO_SEAT".to_owned())],
        "{answer}"
    );
    // The one who had a seat moves to finance: the user made for them is removed.
    let moved = employee("employee.updated", "e-1", json!({"department": "Finance"}));
    let answer = json_body(&app.handle(authorized(&moved.to_string())).await);
    assert_eq!(answer["deleted"], json!(["e-1"]), "{answer}");
    assert!(wazzup.user("e-1").is_none());
    assert!(wazzup.user("a1b2c3").is_some(), "the hand-made user stays");
}

/// Twenty people in sales, five in support; one sales contractor.
fn workspace(google: &GoogleFake) -> Vec<Value> {
    let mut users: Vec<Value> = (0..20)
        .map(|i| google_user(&format!("s{i:02}"), &format!("Seller {i}"), "/Sales/Moscow"))
        .chain((0..5).map(|i| google_user(&format!("h{i:02}"), &format!("Helper {i}"), "/Support")))
        .collect();
    users[3]["orgUnitPath"] = json!("/Sales");
    google.set_users(users.clone());
    google.set_group("contractors@example.com", &["s19"]);
    users
}

const RULES: &str = r#"{"google": {"include": [{"orgUnit": ["/Sales", "/Sales/*"]}],
                                   "exclude": [{"group": "contractors@example.com"}]}}"#;

#[tokio::test]
async fn an_employee_moved_out_of_the_rules_is_removed_and_one_moved_in_is_added() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let google = GoogleFake::start("admin@example.com").await.unwrap();
    google.grant(GROUP_SCOPE);
    let mut users = workspace(&google);
    let app = scheduled(&wazzup, google.secret(), RULES);

    let report = app.run(&sync("google", false), None).await.unwrap();
    assert_eq!(report["fetched"], 25, "{report}");
    assert_eq!(
        report["unseated"], 6,
        "5 in support, 1 contractor: {report}"
    );
    assert_eq!(wazzup.users().len(), 19);
    assert!(wazzup.user("s19").is_none() && wazzup.user("h00").is_none());

    // s05 moves to support, h02 to sales.
    users[5]["orgUnitPath"] = json!("/Support");
    users[22]["orgUnitPath"] = json!("/Sales/Kazan");
    google.set_users(users);
    let report = app.run(&sync("google", true), None).await.unwrap();
    assert_eq!(planned(&report, "delete"), ["s05"], "{report}");
    assert_eq!(planned(&report, "create"), ["h02"], "{report}");
    assert_eq!(report["plan"]["seatsLeft"], 1000 - 19, "{report}");
    let report = app.run(&sync("google", false), None).await.unwrap();
    assert_eq!(report["applied"]["deleted"], json!(["s05"]), "{report}");
    assert!(wazzup.user("s05").is_none());
    assert_eq!(wazzup.user("h02").unwrap().name, "Helper 2 Test");
    assert_eq!(wazzup.users().len(), 19);
}

#[tokio::test]
async fn a_mass_move_out_of_the_rules_is_held_by_the_deletion_share_fence() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let google = GoogleFake::start("admin@example.com").await.unwrap();
    google.grant(GROUP_SCOPE);
    let mut users = workspace(&google);
    let app = scheduled(&wazzup, google.secret(), RULES);
    app.run(&sync("google", false), None).await.unwrap();
    assert_eq!(wazzup.users().len(), 19);

    // A reorganization renames the sales unit: 19 would lose their seats.
    for user in users.iter_mut().take(20) {
        user["orgUnitPath"] = json!("/Revenue");
    }
    google.set_users(users);
    wazzup.clear_requests();
    let error = app
        .run(&sync("google", false), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("19") && error.contains("10"),
        "the fence names the deletions and the limit: {error}"
    );
    assert_eq!(wazzup_writes(&wazzup), 0, "nothing applied");
    assert_eq!(wazzup.users().len(), 19);

    // Deliberately, with force: the rules are what the company wants.
    let mut forced = sync("google", false);
    forced.force_deletes = true;
    let report = app.run(&forced, None).await.unwrap();
    assert_eq!(report["applied"]["deleted"].as_array().unwrap().len(), 19);
    assert!(wazzup.users().is_empty());
}

#[test]
fn rules_a_source_cannot_decide_are_refused_before_anything_runs() {
    for (rules, needle) in [
        (
            r#"{"scim": {"include": [{"group": "Sales"}]}}"#,
            "\"scim\" gives no facts",
        ),
        (
            r#"{"pipedrive": {"include": [{"orgUnit": "/Sales"}]}}"#,
            "\"pipedrive\" does not give the fact \"orgUnit\"",
        ),
        (
            r#"{"google": {"include": [{"group": "sales*"}]}}"#,
            "name it exactly",
        ),
        (
            r#"{"google": {"include": [{"attribute.seat": "yes"}]}}"#,
            "attribute.<schema>.<field>",
        ),
        (
            r#"{"hubspot": {"include": [{"group": "Sales"}]}}"#,
            "\"hubspot\" is not a source",
        ),
    ] {
        let policy = SeatPolicy::parse(rules).unwrap();
        let error = registry::check_seats(&policy).unwrap_err();
        assert!(error.contains(needle), "{rules}: {error}");
    }
    for (rules, needle) in [
        (r#"{"google": {"include": {"orgUnit": "/Sales"}}}"#, "array"),
        (r#"{"google": {"inclde": []}}"#, "inclde"),
        (r#"{"google": {"include": [{"orgUnit": 7}]}}"#, "orgUnit"),
    ] {
        let error = SeatPolicy::parse(rules).unwrap_err();
        assert!(error.contains(needle), "{rules}: {error}");
    }
    let fine = SeatPolicy::parse(RULES).unwrap();
    assert!(registry::check_seats(&fine).is_ok());
}

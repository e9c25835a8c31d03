//! The sources Wazzup does not integrate with, read by the scheduled full sync from loopback
//! fakes written from each vendor's documentation: Google Workspace (a service account's signed
//! assertion, `users.list` page by page), Keycloak (client credentials, `first`/`max`), and
//! any users API by a recipe (HubSpot, Kommo, Freshsales and an in-house API, each recipe read
//! from docs/sources.md as a customer would copy it). Each is dry run, applied, and refused
//! clearly when its credential is wrong, without a change reaching Wazzup.

mod common;

use common::API_KEY;
use common::directory::{
    documented_recipe, google_user, planned, run_error, scheduled, sync, wazzup_writes,
};
use serde_json::{Value, json};
use wazzup_testkit::crm::custom::{UsersApiFake, Vendor};
use wazzup_testkit::crm::google::{GROUP_SCOPE, GoogleFake};
use wazzup_testkit::crm::keycloak::KeycloakFake;
use wazzup_testkit::fake::WazzupFake;

/// Fourteen Workspace users: twelve active (two with phones), one suspended, one archived.
fn workspace() -> Vec<Value> {
    let mut users: Vec<Value> = (0..14)
        .map(|i| google_user(&format!("10{i:02}"), &format!("Person {i}"), "/Sales"))
        .collect();
    users[0]["phones"] = json!([{"value": "+7 495 000-00-01", "type": "work"}, {"value": "+7 926 000-00-01", "type": "mobile", "primary": true}]);
    users[1]["phones"] = json!([{"value": "+7 926 000-00-02", "type": "mobile"}]);
    users[12]["suspended"] = json!(true);
    users[13]["archived"] = json!(true);
    users
}

#[tokio::test]
async fn google_workspace_is_read_page_by_page_as_a_delegated_service_account() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let google = GoogleFake::start("admin@example.com").await.unwrap();
    google.page_size(5);
    let mut users = workspace();
    google.set_users(users.clone());
    let app = scheduled(&wazzup, google.secret(), "");

    let report = app.run(&sync("google", true), None).await.unwrap();
    assert_eq!(report["fetched"], 14, "{report}");
    assert_eq!(report["inactive"], 2, "suspended and archived: {report}");
    assert_eq!(planned(&report, "create").len(), 12, "{report}");
    assert!(!planned(&report, "create").contains(&"1012".to_owned()));
    assert_eq!(wazzup_writes(&wazzup), 0, "a dry run changes nothing");
    let lists: Vec<String> = google
        .log()
        .all()
        .into_iter()
        .filter(|s| s.uri.starts_with("/admin/directory/v1/users"))
        .map(|s| s.uri)
        .collect();
    assert_eq!(lists.len(), 3, "14 users, 5 a page: {lists:?}");
    assert!(lists.iter().all(|u| u.contains("customer=my_customer")
        && u.contains("maxResults=500")
        && u.contains("projection=basic")));
    assert!(lists[1].contains("pageToken=page-5") && lists[2].contains("pageToken=page-10"));

    let report = app.run(&sync("google", false), None).await.unwrap();
    assert_eq!(wazzup.users().len(), 12, "{report}");
    assert_eq!(wazzup.user("1000").unwrap().name, "Person 0 Test");
    assert_eq!(
        wazzup.user("1000").unwrap().phone.as_deref(),
        Some("79260000001"),
        "the primary phone"
    );
    assert_eq!(
        wazzup.user("1001").unwrap().phone.as_deref(),
        Some("79260000002")
    );

    // Suspended in Google: dismissed in Wazzup, through a 429 Google asks to wait on.
    users[4]["suspended"] = json!(true);
    google.set_users(users);
    google.throttle(1);
    let report = app.run(&sync("google", false), None).await.unwrap();
    assert_eq!(report["applied"]["deleted"], json!(["1004"]), "{report}");
    assert!(wazzup.user("1004").is_none());
    assert_eq!(
        google.tokens_issued(),
        1,
        "one token for three runs: it is cached until it expires"
    );
    assert_eq!(google.log().count("/admin/directory/v1/users"), 10);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_not_held_until_it_expires() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let google = GoogleFake::start("admin@example.com").await.unwrap();
    google.set_users(workspace());
    let app = scheduled(&wazzup, google.secret(), "");
    app.run(&sync("google", true), None).await.unwrap();
    google.revoke_tokens();
    let report = app.run(&sync("google", true), None).await.unwrap();
    assert_eq!(report["fetched"], 14, "{report}");
    assert_eq!(google.tokens_issued(), 2, "a new token after the 401");
}

#[tokio::test]
async fn a_list_that_would_not_end_or_an_answer_too_large_stops_the_run() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    // An API that ignores the recipe's paging parameter gives its first page forever.
    let hr = UsersApiFake::start(Vendor::InHouse, "hr-key")
        .await
        .unwrap();
    hr.set_users(
        (0..450)
            .map(|i| json!({"employeeId": format!("E{i:04}"), "firstName": "Staff"}))
            .collect(),
    );
    let mut recipe = documented_recipe("An in-house API", hr.url());
    recipe["paging"]["param"] = json!("skip");
    let error = run_error(
        &wazzup,
        custom_secret(&recipe, json!({"customApiToken": "hr-key"})),
        "",
        "custom",
    )
    .await;
    assert!(error.contains("the same page twice"), "{error}");
    assert_eq!(hr.log().all().len(), 2, "found on the second page");

    // An answer of 40 MiB is refused, not held.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let huge = axum::Router::new().route(
        "/api/staff",
        axum::routing::get(|| async { "x".repeat(40 * 1024 * 1024) }),
    );
    tokio::spawn(async move { axum::serve(listener, huge).await.unwrap() });
    let recipe = documented_recipe("An in-house API", &format!("http://{addr}"));
    let error = run_error(
        &wazzup,
        custom_secret(&recipe, json!({"customApiToken": "hr-key"})),
        "",
        "custom",
    )
    .await;
    assert!(error.contains("larger than 32 MiB"), "{error}");
    assert_eq!(wazzup_writes(&wazzup), 0);
}

#[tokio::test]
async fn google_refusals_say_what_to_fix_and_nothing_reaches_wazzup() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let google = GoogleFake::start("admin@example.com").await.unwrap();
    google.set_users(workspace());
    let key = google.key_file();
    let private_key = key["private_key"].as_str().unwrap().to_owned();
    let with = |change: Value| {
        let mut secret = google.secret();
        if let (Some(secret), Value::Object(change)) = (secret.as_object_mut(), change) {
            secret.extend(change);
        }
        secret
    };
    let groups = r#"{"google": {"include": [{"group": "wazzup@example.com"}]}}"#;
    for (what, secret, rules, needles) in [
        (
            "a deleted key",
            with(json!({"googleServiceAccount": google.unknown_key_file()})),
            "",
            vec!["invalid_grant", "Invalid JWT Signature", "current key"],
        ),
        (
            "an address without delegation",
            with(json!({"googleAdminEmail": "someone@example.com"})),
            "",
            vec![
                "unauthorized_client",
                "Domain-wide delegation",
                "user.readonly",
            ],
        ),
        (
            "a group rule without the group scope granted",
            google.secret(),
            groups,
            vec!["unauthorized_client", "group.member.readonly"],
        ),
        (
            "a key file as text that is not one",
            with(json!({"googleServiceAccount": "{\"client_email\": \"x\"}"})),
            "",
            vec!["googleServiceAccount", "not a service account key file"],
        ),
    ] {
        let error = run_error(&wazzup, secret, rules, "google").await;
        for needle in needles {
            assert!(error.contains(needle), "{what}: {error}");
        }
        assert!(!error.contains(&private_key[40..80]), "{what}: {error}");
    }
    assert_eq!(google.log().count("/admin/directory/v1/users"), 0);
    assert_eq!(wazzup_writes(&wazzup), 0);
    assert_eq!(google.tokens_issued(), 0);

    // Granted, the same group rule reads the group's members with the group scope.
    google.grant(GROUP_SCOPE);
    google.set_group("wazzup@example.com", &["1000", "1001", "1013"]);
    let report = scheduled(&wazzup, google.secret(), groups)
        .run(&sync("google", true), None)
        .await
        .unwrap();
    assert_eq!(planned(&report, "create"), ["1000", "1001"], "{report}");
    assert_eq!(report["unseated"], 10, "{report}");
    assert!(
        google
            .log()
            .count("/admin/directory/v1/groups/wazzup@example.com/members")
            == 1
    );
}

/// A Keycloak user as the Admin API lists it (`briefRepresentation=false`).
fn keycloak_user(i: usize) -> Value {
    json!({
        "id": format!("0b5c{i:04}-7c1e-4b1a-9f2e-5a0d3c2b1a00"),
        "username": format!("user{i}"),
        "firstName": "Person",
        "lastName": format!("{i}"),
        "email": format!("user{i}@example.com"),
        "emailVerified": true,
        "enabled": true,
        "createdTimestamp": 1_700_000_000_000_u64,
        "attributes": {"department": ["Sales"]},
    })
}

fn kc_id(i: usize) -> String {
    format!("0b5c{i:04}-7c1e-4b1a-9f2e-5a0d3c2b1a00")
}

#[tokio::test]
async fn keycloak_users_are_read_with_client_credentials_and_disabled_ones_dismissed() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let keycloak = KeycloakFake::start("acme", "wazzup-sync", "kc-secret")
        .await
        .unwrap();
    let mut users: Vec<Value> = (0..130).map(keycloak_user).collect();
    users[1]["attributes"]["phoneNumber"] = json!(["+7 926 111-22-33"]);
    users[7]["enabled"] = json!(false);
    users.push(
        json!({"id": "sa-1", "username": "service-account-wazzup-sync", "enabled": true,
                      "serviceAccountClientLink": "wazzup-sync"}),
    );
    keycloak.set_users(users);
    keycloak.set_role(
        "wazzup-agent",
        &[&kc_id(1), &kc_id(2), &kc_id(3), &kc_id(7)],
    );
    keycloak.set_group("/Contractors", &[&kc_id(3)]);
    let app = scheduled(&wazzup, keycloak.secret(), "");

    let report = app.run(&sync("keycloak", true), None).await.unwrap();
    assert_eq!(
        report["fetched"], 130,
        "the service account is no person: {report}"
    );
    assert_eq!(report["inactive"], 1, "{report}");
    assert_eq!(planned(&report, "create").len(), 129, "{report}");
    let pages: Vec<String> = keycloak
        .log()
        .all()
        .into_iter()
        .filter(|s| s.uri.starts_with("/admin/realms/acme/users"))
        .map(|s| s.uri)
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[0].contains("first=0&max=100") && pages[1].contains("first=100&max=100"));
    assert_eq!(wazzup_writes(&wazzup), 0);

    // Seats by realm role, minus a group.
    let rules = r#"{"keycloak": {"include": [{"role": "wazzup-agent"}],
                                 "exclude": [{"group": "/Contractors"}]}}"#;
    let app = scheduled(&wazzup, keycloak.secret(), rules);
    let report = app.run(&sync("keycloak", false), None).await.unwrap();
    assert_eq!(report["unseated"], 127, "{report}");
    let mut made: Vec<String> = wazzup.users().into_iter().map(|u| u.id).collect();
    made.sort();
    assert_eq!(made, [kc_id(1), kc_id(2)], "{report}");
    assert_eq!(
        wazzup.user(&kc_id(1)).unwrap().phone.as_deref(),
        Some("79261112233")
    );
    assert_eq!(wazzup.user(&kc_id(2)).unwrap().name, "Person 2");
    assert_eq!(keycloak.tokens_issued(), 1, "the token is cached");

    // A wrong client secret, an unknown realm, a role the realm lacks: clear, nothing written.
    wazzup.clear_requests();
    let mut wrong = keycloak.secret();
    wrong["keycloakClientSecret"] = json!("not-it");
    let mut realm = keycloak.secret();
    realm["keycloakRealm"] = json!("acme-typo");
    for (what, secret, rules, needle) in [
        ("secret", wrong, "", "unauthorized_client"),
        ("realm", realm, "", "Realm does not exist"),
        (
            "role",
            keycloak.secret(),
            r#"{"keycloak": {"include": [{"role": "wazzup-agents"}]}}"#,
            "the realm does not have",
        ),
    ] {
        let error = run_error(&wazzup, secret, rules, "keycloak").await;
        assert!(error.contains(needle), "{what}: {error}");
        assert!(
            !error.contains("not-it") && !error.contains("kc-secret"),
            "{error}"
        );
    }
    assert_eq!(wazzup_writes(&wazzup), 0);
}

/// The custom source's secret: the recipe and its credential fields.
fn custom_secret(recipe: &Value, credential: Value) -> Value {
    let mut secret = json!({"customUsersApi": recipe});
    if let (Some(secret), Value::Object(credential)) = (secret.as_object_mut(), credential) {
        secret.extend(credential);
    }
    secret
}

/// HubSpot owners: ids, first and last names, teams, `archived`.
fn hubspot_owners(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let team = if i % 13 == 0 { "Partners" } else { "Sales" };
            json!({"id": format!("{}", 41_629_000 + i), "email": format!("owner{i}@example.com"),
                   "type": "PERSON", "firstName": "Owner", "lastName": format!("{i}"),
                   "userId": 9_586_000 + i, "userIdIncludingInactive": 9_586_000 + i,
                   "createdAt": "2024-01-10T10:00:00Z", "updatedAt": "2025-01-10T10:00:00Z",
                   "archived": false,
                   "teams": [{"id": "368389", "name": team, "primary": true}]})
        })
        .collect()
}

#[tokio::test]
async fn the_hubspot_recipe_reads_every_owner_page_and_seats_a_team() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let hubspot = UsersApiFake::start(Vendor::HubSpot, "pat-na1-test")
        .await
        .unwrap();
    let mut owners = hubspot_owners(130);
    hubspot.set_users(owners.clone());
    let recipe = documented_recipe("HubSpot", hubspot.url());
    let secret = custom_secret(&recipe, json!({"customApiToken": "pat-na1-test"}));
    let rules = r#"{"custom": {"include": [{"group": "Sales"}]}}"#;
    let app = scheduled(&wazzup, secret.clone(), rules);

    hubspot.throttle(1);
    let report = app.run(&sync("custom", true), None).await.unwrap();
    assert_eq!(report["fetched"], 130, "{report}");
    assert_eq!(report["unseated"], 10, "the Partners team: {report}");
    assert_eq!(planned(&report, "create").len(), 120);
    let seen: Vec<String> = hubspot.log().all().into_iter().map(|s| s.uri).collect();
    assert_eq!(seen.len(), 3, "a 429, then two pages: {seen:?}");
    assert!(seen[2].contains("after=100"), "{seen:?}");
    assert!(
        hubspot
            .log()
            .all()
            .iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer pat-na1-test"))
    );

    app.run(&sync("custom", false), None).await.unwrap();
    assert_eq!(wazzup.users().len(), 120);
    assert_eq!(wazzup.user("41629001").unwrap().name, "Owner 1");

    // Two owners archived in HubSpot leave the list: their Wazzup users are removed.
    owners[1]["archived"] = json!(true);
    owners[2]["archived"] = json!(true);
    hubspot.set_users(owners);
    let report = app.run(&sync("custom", false), None).await.unwrap();
    assert_eq!(
        report["applied"]["deleted"],
        json!(["41629001", "41629002"]),
        "{report}"
    );

    let wrong = custom_secret(&recipe, json!({"customApiToken": "pat-na1-revoked"}));
    wazzup.clear_requests();
    let error = run_error(&wazzup, wrong, rules, "custom").await;
    assert!(
        error.contains("401") && error.contains("INVALID_AUTHENTICATION"),
        "{error}"
    );
    assert!(!error.contains("pat-na1"), "{error}");
    assert_eq!(wazzup_writes(&wazzup), 0);
}

/// Kommo users: `rights.is_active`, a phone when asked `with=phone_number`.
fn kommo_users(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            json!({"id": 8_000_000 + i, "name": format!("Agent {i}"), "email": format!("agent{i}@example.com"),
                   "lang": "en", "phone_number": format!("+7 926 {:03}-{:02}-{:02}", i / 100, i % 100, 77),
                   "rights": {"leads": {"view": "A"}, "is_admin": i == 0, "is_free": false,
                              "is_active": i % 50 != 49, "group_id": null, "role_id": 3},
                   "_links": {"self": {"href": format!("https://example.kommo.com/api/v4/users/{}", 8_000_000 + i)}}})
        })
        .collect()
}

#[tokio::test]
async fn the_kommo_recipe_pages_until_no_content_and_dismisses_inactive_users() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let kommo = UsersApiFake::start(Vendor::Kommo, "kommo-long-lived")
        .await
        .unwrap();
    kommo.set_users(kommo_users(250));
    let recipe = documented_recipe("Kommo", kommo.url());
    let secret = custom_secret(&recipe, json!({"customApiToken": "kommo-long-lived"}));
    let app = scheduled(&wazzup, secret, "");

    let report = app.run(&sync("custom", true), None).await.unwrap();
    assert_eq!(report["fetched"], 250, "{report}");
    assert_eq!(report["inactive"], 5, "{report}");
    let seen: Vec<String> = kommo.log().all().into_iter().map(|s| s.uri).collect();
    assert_eq!(seen.len(), 2, "a full page, then 204: {seen:?}");
    assert!(seen[1].contains("page=2"), "{seen:?}");
    app.run(&sync("custom", false), None).await.unwrap();
    assert_eq!(wazzup.users().len(), 245);
    assert_eq!(
        wazzup.user("8000101").unwrap().phone.as_deref(),
        Some("79260010177")
    );
    assert!(wazzup.user("8000049").is_none(), "inactive in Kommo");
}

#[tokio::test]
async fn a_next_link_is_followed_on_the_recipes_host_only() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let kommo = UsersApiFake::start(Vendor::Kommo, "kommo-long-lived")
        .await
        .unwrap();
    kommo.set_users(kommo_users(120));
    let mut recipe = documented_recipe("Kommo", kommo.url());
    recipe["paging"] = json!({"type": "nextLink", "next": "/_links/next/href"});
    recipe["query"]["limit"] = json!("50");
    let secret = custom_secret(&recipe, json!({"customApiToken": "kommo-long-lived"}));
    let report = scheduled(&wazzup, secret.clone(), "")
        .run(&sync("custom", true), None)
        .await
        .unwrap();
    assert_eq!(
        report["fetched"], 120,
        "three pages by their links: {report}"
    );
    assert_eq!(kommo.log().all().len(), 3);

    // An answer whose next link names another host: the token is not sent there.
    kommo.link_base("https://collector.example.net");
    let error = run_error(&wazzup, secret, "", "custom").await;
    assert!(error.contains("another host"), "{error}");
    assert_eq!(wazzup_writes(&wazzup), 0);
}

#[tokio::test]
async fn the_freshsales_recipe_sends_its_token_header_and_reads_one_answer() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let freshsales = UsersApiFake::start(Vendor::Freshsales, "fs-api-key")
        .await
        .unwrap();
    freshsales.set_users(vec![
        json!({"id": 9001, "display_name": "Ivan Petrov", "email": "ivan@example.com", "is_active": true,
               "work_number": "+7 495 100-00-01", "mobile_number": "+7 926 100-00-01"}),
        json!({"id": 9002, "display_name": "Olga Sidorova", "email": "olga@example.com", "is_active": true,
               "work_number": null, "mobile_number": null}),
        json!({"id": 9003, "display_name": "Left Company", "email": "left@example.com", "is_active": false,
               "work_number": null, "mobile_number": "+7 926 100-00-03"}),
    ]);
    let recipe = documented_recipe("Freshsales", freshsales.url());
    let secret = custom_secret(&recipe, json!({"customApiToken": "fs-api-key"}));
    let app = scheduled(&wazzup, secret, "");
    let report = app.run(&sync("custom", false), None).await.unwrap();
    assert_eq!(report["inactive"], 1, "{report}");
    let mut made: Vec<String> = wazzup.users().into_iter().map(|u| u.id).collect();
    made.sort();
    assert_eq!(made, ["9001", "9002"]);
    assert_eq!(
        wazzup.user("9001").unwrap().phone.as_deref(),
        Some("79261000001")
    );
    assert_eq!(
        freshsales.log().all()[0].authorization.as_deref(),
        Some("Token token=fs-api-key")
    );
}

#[tokio::test]
async fn an_in_house_api_is_read_by_offset_through_a_busy_answer() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let hr = UsersApiFake::start(Vendor::InHouse, "hr-key")
        .await
        .unwrap();
    let staff: Vec<Value> = (0..450)
        .map(|i| {
            json!({"employeeId": format!("E{i:04}"), "firstName": "Staff", "lastName": format!("{i}"),
                   "contacts": {"mobile": if i < 3 { json!(format!("+7 926 200-00-0{i}")) } else { Value::Null }},
                   "terminated": i == 10,
                   "department": if i % 3 == 0 { "Support" } else { "Sales" },
                   "office": {"city": "Moscow"}})
        })
        .collect();
    hr.set_users(staff);
    let recipe = documented_recipe("An in-house API", hr.url());
    let secret = custom_secret(&recipe, json!({"customApiToken": "hr-key"}));
    let rules =
        r#"{"custom": {"include": [{"department": "Sales", "attribute.location": "Moscow"}]}}"#;
    hr.throttle(1);
    let report = scheduled(&wazzup, secret, rules)
        .run(&sync("custom", false), None)
        .await
        .unwrap();
    assert_eq!(report["fetched"], 450, "{report}");
    assert_eq!(report["inactive"], 1, "{report}");
    assert_eq!(report["unseated"], 150, "Support: {report}");
    assert_eq!(wazzup.users().len(), 299);
    assert_eq!(
        wazzup.user("E0001").unwrap().phone.as_deref(),
        Some("79262000001")
    );
    let seen: Vec<String> = hr.log().all().into_iter().map(|s| s.uri).collect();
    assert_eq!(seen.len(), 4, "a 503, then offsets 0, 200, 400: {seen:?}");
    assert!(seen[3].contains("offset=400") && seen[3].contains("limit=200"));
}

#[tokio::test]
async fn an_api_giving_fewer_a_page_than_the_recipe_asks_is_still_read_to_the_end() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let hr = UsersApiFake::start(Vendor::InHouse, "hr-key")
        .await
        .unwrap();
    hr.set_users(
        (0..450)
            .map(|i| json!({"employeeId": format!("E{i:04}"), "firstName": "Staff", "lastName": format!("{i}")}))
            .collect(),
    );
    // The recipe asks 200 a page; the API gives 150 at most.
    hr.cap_page(150);
    let recipe = documented_recipe("An in-house API", hr.url());
    let secret = custom_secret(&recipe, json!({"customApiToken": "hr-key"}));
    let report = scheduled(&wazzup, secret, "")
        .run(&sync("custom", true), None)
        .await
        .unwrap();
    assert_eq!(report["fetched"], 450, "no page lost: {report}");
    let seen: Vec<String> = hr.log().all().into_iter().map(|s| s.uri).collect();
    assert_eq!(seen.len(), 4, "150, 150, 150, then an empty page: {seen:?}");
    assert!(seen[3].contains("offset=450"), "{seen:?}");
}

#[tokio::test]
async fn a_recipe_that_cannot_work_is_refused_before_any_call() {
    let wazzup = WazzupFake::start(&[API_KEY]).await.unwrap();
    let hr = UsersApiFake::start(Vendor::InHouse, "hr-key")
        .await
        .unwrap();
    let recipe = documented_recipe("An in-house API", hr.url());
    let mut plain_http = recipe.clone();
    plain_http["url"] = json!("http://hr.example.com/api/staff");
    let mut bad_pointer = recipe.clone();
    bad_pointer["phone"] = json!("contacts/mobile");
    for (what, secret, rules, needle) in [
        (
            "plain http to another machine",
            custom_secret(&plain_http, json!({"customApiToken": "hr-key"})),
            "",
            "https",
        ),
        (
            "a pointer without its slash",
            custom_secret(&bad_pointer, json!({"customApiToken": "hr-key"})),
            "",
            "customUsersApi\".phone is not a JSON Pointer",
        ),
        (
            "no token",
            custom_secret(&recipe, json!({})),
            "",
            "customApiToken",
        ),
        (
            "a rule on a fact the recipe does not map",
            custom_secret(&recipe, json!({"customApiToken": "hr-key"})),
            r#"{"custom": {"include": [{"role": "agent"}]}}"#,
            "does not map",
        ),
    ] {
        let error = run_error(&wazzup, secret, rules, "custom").await;
        assert!(error.contains(needle), "{what}: {error}");
    }
    assert!(hr.log().all().is_empty(), "no call was made");
    assert_eq!(wazzup_writes(&wazzup), 0);

    // A pointer to an id the users do not have: the run stops rather than dismiss everyone.
    hr.set_users(vec![json!({"employeeId": "E1", "firstName": "A"})]);
    let mut wrong_id = recipe.clone();
    wrong_id["id"] = json!("/id");
    let error = run_error(
        &wazzup,
        custom_secret(&wrong_id, json!({"customApiToken": "hr-key"})),
        "",
        "custom",
    )
    .await;
    assert!(error.contains("user 1 of the list has no id"), "{error}");
    assert_eq!(wazzup_writes(&wazzup), 0);
}

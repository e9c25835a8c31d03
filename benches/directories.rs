//! Figures for the sources read by the scheduled full sync, printed (run with `cargo bench
//! --bench directories`): a dry run over 1,000 people read from each new source's loopback fake
//! (Google Workspace 500 a page, Keycloak 100 a page, a Kommo recipe 250 a page), seat rules
//! applied, against a Wazzup already holding them all; and the cost of signing one service-
//! account assertion (RS256, 2048-bit key). Each figure is the median of several runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wazzup_testkit::crm::custom::{UsersApiFake, Vendor};
use wazzup_testkit::crm::google::{GoogleFake, KEY_FILE};
use wazzup_testkit::crm::keycloak::KeycloakFake;
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::{StaticCredentials, parse_secret_value};
use wazzup_user_sync::domain::{PhoneRegion, Scope, SeatPolicy};
use wazzup_user_sync::scheduled::{ScheduledFunction, ScheduledSync};
use wazzup_user_sync::service::{ServiceSettings, SyncService};
use wazzup_user_sync::sources::google::jwt::ServiceAccount;
use wazzup_user_sync::wazzup::{ClientConfig, WazzupClient};

const KEY: &str = "bench-key";
const PEOPLE: usize = 1000;

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let median = samples[samples.len() / 2];
    println!(
        "{what:<62} median {:>9.3} ms   min {:>9.3} ms   max {:>9.3} ms   ({} runs)",
        median.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
        samples.len()
    );
}

/// The scheduled function over `wazzup`, with `secret`'s source fields and `rules`.
fn function(wazzup: &WazzupFake, secret: Value, rules: &str) -> ScheduledFunction {
    let mut document = json!({"apiKey": KEY});
    if let (Some(document), Value::Object(secret)) = (document.as_object_mut(), secret) {
        document.extend(secret);
    }
    let credentials = parse_secret_value(&document.to_string()).expect("credentials");
    let client = WazzupClient::new(ClientConfig::new(
        Url::parse(&wazzup.url()).expect("fake url"),
    ))
    .expect("client");
    let settings = ServiceSettings {
        phone_region: PhoneRegion::default(),
        sync: SyncSettings {
            scope: Scope::All,
            max_delete_share: 0.10,
        },
        adopt_on_conflict: true,
        message_days: 7,
    };
    let service = SyncService::new(
        client,
        Arc::new(StaticCredentials::new(credentials)),
        settings,
    );
    ScheduledFunction::new(Arc::new(service))
        .expect("scheduled function")
        .with_seats(SeatPolicy::parse(rules).expect("rules"))
}

/// Wazzup holding the users a run would make, so that the dry run plans nothing but reads all.
async fn wazzup_with(ids: impl Iterator<Item = (String, String)>) -> WazzupFake {
    let wazzup = WazzupFake::start(&[KEY]).await.expect("fake");
    for (id, name) in ids {
        wazzup.insert_user(FakeUser {
            id,
            name,
            phone: None,
        });
    }
    wazzup
}

async fn dry_runs(what: &str, function: &ScheduledFunction, crm: &str) {
    let input = ScheduledSync {
        crm: crm.into(),
        dry_run: true,
        force_deletes: false,
        resend: false,
        adopt: false,
    };
    // The first run takes the token (and signs Google's assertion); the figures are warm.
    let first = function.run(&input, None).await.expect("first run");
    assert_eq!(first["fetched"], PEOPLE, "{first}");
    let mut samples = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let report = function.run(&input, None).await.expect("run");
        samples.push(started.elapsed());
        assert_eq!(report["plan"]["create"].as_array().map(Vec::len), Some(0));
    }
    report(what, samples);
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");

    let account =
        ServiceAccount::from_key_file(&SecretString::from(KEY_FILE.to_owned()), "key").unwrap();
    let samples = (0..100)
        .map(|i| {
            let started = Instant::now();
            let jwt = account
                .assertion("admin@example.com", "scope", 1_800_000_000 + i)
                .expect("signed");
            assert_eq!(jwt.split('.').count(), 3);
            started.elapsed()
        })
        .collect();
    report(
        "sign one service-account assertion (RS256, 2048 bits)",
        samples,
    );

    runtime.block_on(async {
        let google = GoogleFake::start("admin@example.com").await.expect("google");
        google.set_users(
            (0..PEOPLE)
                .map(|i| {
                    json!({"id": format!("g{i:04}"), "name": {"fullName": format!("Person {i}")},
                           "orgUnitPath": "/Sales", "suspended": false})
                })
                .collect(),
        );
        let wazzup = wazzup_with((0..PEOPLE).map(|i| (format!("g{i:04}"), format!("Person {i}")))).await;
        let rules = r#"{"google": {"include": [{"orgUnit": "/Sales*"}]}}"#;
        dry_runs(
            "Google Workspace, 1,000 users (2 pages), orgUnit rule",
            &function(&wazzup, google.secret(), rules),
            "google",
        )
        .await;

        let keycloak = KeycloakFake::start("acme", "sync", "secret").await.expect("keycloak");
        keycloak.set_users(
            (0..PEOPLE)
                .map(|i| json!({"id": format!("k{i:04}"), "firstName": "Person", "lastName": format!("{i}"), "enabled": true}))
                .collect(),
        );
        let wazzup = wazzup_with((0..PEOPLE).map(|i| (format!("k{i:04}"), format!("Person {i}")))).await;
        dry_runs(
            "Keycloak, 1,000 users (10 pages and an empty one)",
            &function(&wazzup, keycloak.secret(), "{}"),
            "keycloak",
        )
        .await;

        let kommo = UsersApiFake::start(Vendor::Kommo, "token").await.expect("kommo");
        kommo.set_users(
            (0..PEOPLE)
                .map(|i| json!({"id": 8_000_000 + i, "name": format!("Agent {i}"),
                                "rights": {"is_active": true, "group_id": 7}}))
                .collect(),
        );
        let recipe = json!({"url": format!("{}/api/v4/users", kommo.url()), "auth": {"type": "bearer"},
            "paging": {"type": "page", "param": "page", "first": 1, "sizeParam": "limit", "size": 250},
            "list": "/_embedded/users", "id": "/id", "name": "/name", "active": "/rights/is_active",
            "facts": {"group": "/rights/group_id"}});
        let wazzup = wazzup_with((0..PEOPLE).map(|i| (format!("{}", 8_000_000 + i), format!("Agent {i}")))).await;
        dry_runs(
            "a Kommo recipe, 1,000 users (4 pages + 204), group rule",
            &function(
                &wazzup,
                json!({"customUsersApi": recipe, "customApiToken": "token"}),
                r#"{"custom": {"include": [{"group": "7"}]}}"#,
            ),
            "custom",
        )
        .await;
    });
}

//! The scheduled function as Lambda runs it: the release binary in `WAZZUP_FUNCTION_MODE=
//! scheduled`, served events by the Lambda Runtime API emulator the benches use, reading each
//! new source from its loopback fake with the credentials a local run gives as variables. Each
//! source is dry run with its `events/scheduled/` input, then applied, with its state table in
//! moto_server as deployed; seat rules a source cannot decide stop the function at init.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::directory::{documented_recipe, google_user};
use serde_json::{Value, json};
use wazzup_testkit::crm::custom::{UsersApiFake, Vendor};
use wazzup_testkit::crm::google::GoogleFake;
use wazzup_testkit::crm::keycloak::KeycloakFake;
use wazzup_testkit::fake::WazzupFake;
use wazzup_testkit::moto::Moto;
use wazzup_testkit::runtime_api::RuntimeApi;

const KEY: &str = "local-dev-key";
const STATE_TABLE: &str = "wazzup-user-sync-state";

/// The function, killed when dropped.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the scheduled function against `wazzup` with `vars` (the source's credentials), its
/// state table in `moto` when given, and waits for its init: `Err` is what it printed when it
/// stopped instead (Lambda reports such an exit as the init's failure).
async fn start(
    wazzup: &WazzupFake,
    moto: Option<&Moto>,
    vars: &[(&str, String)],
) -> Result<(RuntimeApi, Function), String> {
    let api = RuntimeApi::start().await.unwrap();
    let log = std::env::temp_dir().join(format!(
        "scheduled-function-{}-{}.log",
        std::process::id(),
        api.address().replace([':', '.'], "-")
    ));
    let file = std::fs::File::create(&log).expect("the function's log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wazzup-user-sync"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "scheduled-test")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("WAZZUP_FUNCTION_MODE", "scheduled")
        .env("WAZZUP_API_URL", wazzup.url())
        .env("WAZZUP_API_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("the function's log"))
        .stderr(file);
    if let Some(moto) = moto {
        moto.state_table(STATE_TABLE).await;
        command
            .env("AWS_ENDPOINT_URL", moto.url())
            .env("STATE_TABLE", STATE_TABLE);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut function = Function(command.spawn().expect("start the function"));
    for _ in 0..400 {
        if api.first_poll(Duration::from_millis(50)).await.is_ok() {
            return Ok((api, function));
        }
        if let Ok(Some(status)) = function.0.try_wait() {
            let printed = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{status}: {printed}"));
        }
    }
    panic!("the function neither polled nor stopped within 20 s");
}

/// One scheduled run: the report, or the error the function reported.
async fn invoke(api: &RuntimeApi, input: &Value) -> Result<Value, Value> {
    let invocation = api
        .invoke(input.to_string().into(), Duration::from_secs(30))
        .await
        .expect("the function answers");
    let body: Value = serde_json::from_slice(&invocation.body).expect("a JSON answer");
    if invocation.error {
        Err(body)
    } else {
        Ok(body)
    }
}

/// The `events/scheduled/` input for `source`: a dry run.
fn event(source: &str) -> Value {
    let path = format!(
        "{}/events/scheduled/{source}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let input: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read the event")).unwrap();
    assert_eq!(input["crm"], source, "{path}");
    assert_eq!(input["dryRun"], true, "{path}: events dry run");
    input
}

/// The plan's counts, printed (the test's output shows each source's dry run).
fn summary(source: &str, report: &Value) -> String {
    let count = |field: &str| report["plan"][field].as_array().map_or(0, Vec::len);
    let line = format!(
        "{source}: dryRun={} fetched={} inactive={} unseated={} create={} update={} delete={} \
         seatsLeft={}",
        report["dryRun"],
        report["fetched"],
        report["inactive"],
        report["unseated"],
        count("create"),
        count("update"),
        count("delete"),
        report["plan"]["seatsLeft"],
    );
    println!("{line}");
    line
}

/// Dry run with the source's event, then apply: the plan of each, and what Wazzup holds.
async fn dry_run_then_apply(
    source: &str,
    vars: &[(&str, String)],
    creates: usize,
) -> (Value, WazzupFake) {
    let wazzup = WazzupFake::start(&[KEY]).await.unwrap();
    let moto = Moto::start();
    let (api, _function) = start(&wazzup, Some(&moto), vars)
        .await
        .expect("the function starts");
    let dry = invoke(&api, &event(source)).await.expect("the dry run");
    summary(source, &dry);
    assert_eq!(
        dry["plan"]["create"].as_array().map(Vec::len),
        Some(creates),
        "{dry}"
    );
    assert!(wazzup.users().is_empty(), "a dry run changes nothing");
    let applied = invoke(&api, &json!({"crm": source, "dryRun": false}))
        .await
        .expect("the run");
    summary(source, &applied);
    assert_eq!(wazzup.users().len(), creates, "{applied}");
    (applied, wazzup)
}

#[tokio::test]
async fn google_workspace_through_the_scheduled_function() {
    let google = GoogleFake::start("admin@example.com").await.unwrap();
    let mut users: Vec<Value> = (0..7)
        .map(|i| google_user(&format!("20{i}"), &format!("Agent {i}"), "/Sales"))
        .collect();
    users[6]["suspended"] = json!(true);
    users[5]["orgUnitPath"] = json!("/Interns");
    google.set_users(users);
    google.page_size(3);
    let vars = [
        ("GOOGLE_SERVICE_ACCOUNT", google.key_file().to_string()),
        ("GOOGLE_ADMIN_EMAIL", "admin@example.com".to_owned()),
        ("GOOGLE_API_URL", google.url().to_owned()),
        (
            "SEAT_RULES",
            r#"{"google": {"exclude": [{"orgUnit": "/Interns"}]}}"#.to_owned(),
        ),
    ];
    let (report, wazzup) = dry_run_then_apply("google", &vars, 5).await;
    assert_eq!(report["inactive"], 1, "{report}");
    assert_eq!(report["unseated"], 1, "{report}");
    assert_eq!(wazzup.user("200").unwrap().name, "Agent 0 Test");
    assert_eq!(google.tokens_issued(), 1, "one token for both runs");
}

#[tokio::test]
async fn keycloak_through_the_scheduled_function() {
    let keycloak = KeycloakFake::start("acme", "wazzup-sync", "kc-secret")
        .await
        .unwrap();
    keycloak.set_users(
        (0..4)
            .map(|i| {
                json!({"id": format!("kc-{i}"), "username": format!("u{i}"), "firstName": "Agent",
                       "lastName": format!("{i}"), "enabled": i != 3,
                       "attributes": {"mobile": [format!("+7 926 300-00-0{i}")]}})
            })
            .collect(),
    );
    let vars = [
        ("KEYCLOAK_URL", keycloak.url().to_owned()),
        ("KEYCLOAK_REALM", "acme".to_owned()),
        ("KEYCLOAK_CLIENT_ID", "wazzup-sync".to_owned()),
        ("KEYCLOAK_CLIENT_SECRET", "kc-secret".to_owned()),
        ("KEYCLOAK_PHONE_ATTRIBUTE", "mobile".to_owned()),
    ];
    let (report, wazzup) = dry_run_then_apply("keycloak", &vars, 3).await;
    assert_eq!(report["inactive"], 1, "{report}");
    assert_eq!(
        wazzup.user("kc-1").unwrap().phone.as_deref(),
        Some("79263000001")
    );
}

#[tokio::test]
async fn a_hubspot_recipe_through_the_scheduled_function() {
    let hubspot = UsersApiFake::start(Vendor::HubSpot, "pat-na1-test")
        .await
        .unwrap();
    hubspot.set_users(
        (0..3)
            .map(|i| {
                json!({"id": format!("7{i}"), "firstName": "Owner", "lastName": format!("{i}"),
                       "email": format!("o{i}@example.com"), "archived": false,
                       "teams": [{"id": "1", "name": "Sales", "primary": true}]})
            })
            .collect(),
    );
    let recipe = documented_recipe("HubSpot", hubspot.url());
    let vars = [
        ("CUSTOM_USERS_API", recipe.to_string()),
        ("CUSTOM_API_TOKEN", "pat-na1-test".to_owned()),
    ];
    let (_, wazzup) = dry_run_then_apply("custom", &vars, 3).await;
    assert_eq!(wazzup.user("71").unwrap().name, "Owner 1");
}

#[tokio::test]
async fn seat_rules_a_source_cannot_decide_stop_the_function_at_init() {
    let wazzup = WazzupFake::start(&[KEY]).await.unwrap();
    let Err(error) = start(
        &wazzup,
        None,
        &[(
            "SEAT_RULES",
            r#"{"keycloak": {"include": [{"orgUnit": "/Sales"}]}}"#.to_owned(),
        )],
    )
    .await
    else {
        panic!("the function started with rules it cannot decide");
    };
    assert!(
        error.contains("SEAT_RULES")
            && error.contains("keycloak")
            && error.contains("does not give the fact"),
        "{error}"
    );
    assert!(wazzup.requests().is_empty());
}

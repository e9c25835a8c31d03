//! The built function, end to end, as Lambda runs it: `cargo lambda watch` emulates the Lambda
//! runtime API and `cargo lambda invoke --data-file` replays every file in `events/`. The
//! function reads its key from Secrets Manager (moto_server on loopback, through the SDK's
//! standard configuration chain) and calls a loopback Wazzup fake. Fails loudly when
//! cargo-lambda or moto_server is missing.

mod common;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_testkit::moto::{Moto, free_port};

const FUNCTION: &str = "wazzup-user-sync";

/// The expected HTTP status for every event file. A new file in `events/` must be added here.
const EXPECTED: &[(&str, u16)] = &[
    ("account-1-sync-dry-run.json", 200),
    ("account-2-hire-existing-phone.json", 200),
    ("account-3-dismissal.json", 200),
    ("account-4-unknown-dismissal.json", 200),
    ("api-gateway-rest-v1.json", 200),
    ("bad-signature.json", 401),
    ("batch-base64.json", 200),
    ("batch.json", 200),
    ("bitrix24-onuseradd.json", 200),
    ("employee-created.json", 200),
    ("employee-deleted.json", 200),
    ("employee-updated.json", 200),
    ("malformed.json", 400),
    ("pipedrive-deal-ignored.json", 200),
    ("pipedrive-user-created-v2.json", 200),
    ("pipedrive-user-deactivated-v1.json", 200),
    ("scim-create-user-okta.json", 201),
    ("scim-deactivate-user-entra.json", 200),
];

/// Stops `cargo lambda watch` and the function it started (one process group).
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        // The group is the watch's own session (setsid); "--" keeps procps' kill from
        // reading "-PID" as an option (without it, it signals the caller's own group).
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &group])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `cargo` command without the variables `cargo test` sets for this test, so that the build
/// `cargo lambda watch` runs sees the same environment as `cargo build` and reuses its
/// artifacts (some build scripts rerun when CARGO_MANIFEST_DIR changes).
///
/// It runs in a session of its own (`setsid`): without a controlling terminal, so that
/// `cargo lambda` cannot change the terminal of whoever runs the tests, and as the leader of a
/// process group that can be stopped whole.
fn cargo() -> Command {
    let mut command = Command::new("setsid");
    command.arg("cargo");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_TARGET_TMPDIR",
            "CARGO_PRIMARY_PACKAGE",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}

fn invoke(port: u16, file: &Path) -> Value {
    invoke_with(
        port,
        &["--data-file".as_ref(), file.as_os_str()],
        &file.display().to_string(),
    )
}

/// `cargo lambda invoke` with the payload options `data`, and the function's answer.
fn invoke_with(port: u16, data: &[&std::ffi::OsStr], what: &str) -> Value {
    let output = cargo()
        .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &port.to_string()])
        .args(data)
        .arg(FUNCTION)
        .current_dir(manifest_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run cargo lambda invoke");
    assert!(
        output.status.success(),
        "cargo lambda invoke {what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "cargo lambda invoke printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Starts `cargo lambda watch` on `port`, the function reading its secret
/// `wazzup-user-sync/e2e` from `moto`, with the extra environment `env`; waits until it
/// listens. Returns the guard that stops it and the file its output goes to.
fn start_watch(port: u16, moto: &Moto, env: &[(&str, String)]) -> (Watch, PathBuf) {
    let log_path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cargo-lambda-watch-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("create the watch log");
    let mut command = cargo();
    command
        .args([
            "lambda",
            "watch",
            "--bin",
            FUNCTION,
            "--ignore-changes",
            "--quiet",
        ])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .current_dir(manifest_dir())
        .env("WAZZUP_SECRET_ID", "wazzup-user-sync/e2e")
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url())
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("clone the log handle")))
        .stderr(Stdio::from(log));
    let watch = Watch(command.spawn().expect("start cargo lambda watch"));
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "cargo lambda watch did not listen within 300 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (watch, log_path)
}

fn require_cargo_lambda() {
    let version = Command::new("cargo")
        .args(["lambda", "--version"])
        .stdin(Stdio::null())
        .output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "cargo-lambda is required: `pip install -r requirements-dev.txt` or run `bash scripts/test.sh`"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_file_through_cargo_lambda() {
    require_cargo_lambda();

    let moto = Moto::start();
    moto.client()
        .create_secret()
        .name("wazzup-user-sync/e2e")
        // The local secret: the credentials every file of events/ is made with.
        .secret_string(include_str!("../events/local/secret.json"))
        .send()
        .await
        .expect("create the secret");
    moto.state_table("wazzup-user-sync-e2e").await;
    // The account as a company made it by hand, as the local run holds it.
    let fake = WazzupFake::start(&["local-dev-key"]).await.unwrap();
    let account: Vec<FakeUser> =
        serde_json::from_str(include_str!("../events/local/wazzup-users.json")).unwrap();
    fake.insert_users(account);

    let port = free_port();
    // The template's defaults: the state table, no id prefix, no manage-all.
    let (_watch, log_path) = start_watch(
        port,
        &moto,
        &[
            ("WAZZUP_API_URL", fake.url()),
            ("STATE_TABLE", "wazzup-user-sync-e2e".into()),
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.url()),
        ],
    );

    let dir = manifest_dir().join("events");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let expected: BTreeMap<&str, u16> = EXPECTED.iter().copied().collect();
    assert_eq!(
        files.iter().map(String::as_str).collect::<Vec<_>>(),
        expected.keys().copied().collect::<Vec<_>>(),
        "every file in events/ needs an expected status here, and every listed file must exist"
    );

    // The account's own staff first; created before updated, so that the final state is the
    // updated one.
    let order = [
        "account-1-sync-dry-run.json",
        "account-2-hire-existing-phone.json",
        "account-3-dismissal.json",
        "account-4-unknown-dismissal.json",
        "employee-created.json",
        "employee-updated.json",
        "employee-deleted.json",
        "batch.json",
        "batch-base64.json",
        "api-gateway-rest-v1.json",
        "bad-signature.json",
        "malformed.json",
        "pipedrive-user-created-v2.json",
        "pipedrive-deal-ignored.json",
        "bitrix24-onuseradd.json",
        "scim-create-user-okta.json",
    ];
    for name in order {
        let answer = invoke(port, &dir.join(name));
        let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
        let body: Value = answer["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        assert_eq!(status, expected[name], "{name}: {answer}");
        assert!(body.is_object(), "{name}: the body must be JSON: {answer}");
        if status >= 400 {
            assert!(body["error"].is_string(), "{name}: {body}");
        }
        let warning = body["warnings"][0]["code"].as_str().unwrap_or("");
        match name {
            "account-1-sync-dry-run.json" => {
                let by: Vec<&str> = (body["plan"]["matches"].as_array().unwrap().iter())
                    .map(|m| m["by"].as_str().unwrap())
                    .collect();
                assert_eq!(by, ["phone", "name", "name"], "{body}");
                assert_eq!(body["plan"]["create"], serde_json::json!(["crm-7004"]));
            }
            "account-2-hire-existing-phone.json" => assert_eq!(warning, "ADOPTED", "{body}"),
            "account-3-dismissal.json" => {
                assert_eq!(body["deleted"], serde_json::json!(["crm-7001"]), "{body}");
                assert!(fake.user("2f5c6a10-0001-4b1e-9c2a-5d0e7f3a0001").is_none());
            }
            "account-4-unknown-dismissal.json" | "employee-deleted.json" => {
                assert_eq!(warning, "NOT_FOUND_UNOWNED", "{name}: {body}")
            }
            _ => {}
        }
        if name == "bad-signature.json" {
            // Checked against the configured secret, not refused for want of one.
            assert!(
                body["message"].as_str().unwrap_or("").contains("5 minutes"),
                "{body}"
            );
        }
    }

    let users: BTreeMap<String, (String, Option<String>)> = fake
        .users()
        .into_iter()
        .map(|u| (u.id, (u.name, u.phone)))
        .collect();
    let user = |id: &str| users.get(id).cloned();
    assert_eq!(
        user("emp-1001"),
        Some((
            "Alex Salesman (Team Lead)".into(),
            Some("79263334567".into())
        ))
    );
    assert_eq!(
        user("emp-1002"),
        None,
        "employee-deleted.json creates nothing"
    );
    assert!(
        user("2f5c6a10-0002-4b1e-9c2a-5d0e7f3a0002").is_some()
            && user("2f5c6a10-0004-4b1e-9c2a-5d0e7f3a0004").is_some(),
        "the hand-made users stay"
    );
    assert_eq!(
        user("emp-2001"),
        Some(("Kate Supportics-Ivanova".into(), Some("79261234567".into())))
    );
    assert_eq!(
        user("emp-2002").map(|u| u.1),
        Some(Some("74955553535".into()))
    );
    assert_eq!(
        user("emp-2004"),
        None,
        "an employee with an empty name is rejected"
    );
    assert_eq!(
        user("emp-2005").map(|u| u.1),
        Some(None),
        "an invalid phone is left out"
    );
    assert!(user("emp-3001").is_some() && user("emp-4001").is_some());
    assert_eq!(
        user("5001"),
        Some(("Olga Managerova".into(), Some("79265550102".into()))),
        "Pipedrive's user 5001, created through webhooks v2"
    );
    assert_eq!(
        user("301"),
        Some(("Иван Петров".into(), Some("79267778899".into()))),
        "Bitrix24's ONUSERADD"
    );

    assert_eq!(
        user("00ujl29u0le5T6Aj10h7").map(|u| u.0),
        Some("Test User".into()),
        "Okta's SCIM create"
    );

    // Entra deactivates it over SCIM (PATCH Replace active "False"): Wazzup loses it.
    let answer = invoke(port, &dir.join("scim-deactivate-user-entra.json"));
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert!(fake.user("00ujl29u0le5T6Aj10h7").is_none());

    // Pipedrive deactivates the user (webhooks v1): Wazzup loses it.
    let answer = invoke(port, &dir.join("pipedrive-user-deactivated-v1.json"));
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert!(fake.user("5001").is_none());

    // The same function through the Function URL emulation, as a CRM (or curl) would call it.
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/lambda-url/{FUNCTION}/"))
        .header("authorization", "Bearer local-dev-token")
        .header("content-type", "application/json")
        .body(r#"{"event":"employee.created","employee":{"id":"emp-url","name":"Via URL"}}"#)
        .send()
        .await
        .expect("call the function URL");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["upserted"], serde_json::json!(["emp-url"]));
    assert!(fake.user("emp-url").is_some());

    // What the function logged, as Lambda would store it: JSON lines, one per change, with the
    // invocation's request id, and no key, token or whole phone number.
    let logs = std::fs::read_to_string(&log_path).expect("read the watch log");
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let upsert = lines
        .iter()
        .find(|l| l["message"] == "user upserted" && l["user_id"] == "emp-1001")
        .unwrap_or_else(|| panic!("no JSON log line for the upsert of emp-1001:\n{logs}"));
    assert_eq!(upsert["phone"], "79*******67");
    assert!(
        upsert["span"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{upsert}"
    );
    for secret in [
        "local-dev-key",
        "local-dev-token",
        "79263334567",
        "74955553535",
    ] {
        assert!(
            !logs.contains(secret),
            "the function logged {secret}:\n{logs}"
        );
    }
}

/// The scheduled mode of the same binary (`WAZZUP_FUNCTION_MODE=scheduled`), invoked as
/// EventBridge Scheduler would, with a JSON input: it reads Pipedrive's users (a loopback fake
/// of `GET /v1/users`, token from the secret) and reconciles Wazzup.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_full_sync_through_cargo_lambda() {
    require_cargo_lambda();
    let users: Vec<Value> = (0..12)
        .map(|i| serde_json::json!({"id": 100 + i, "name": format!("User {i}"), "active_flag": i != 11}))
        .chain([serde_json::json!({"id": 112, "name": "New Hire", "phone": "+7 926 100-20-30", "active_flag": true})])
        .collect();
    let pipedrive = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().route(
            "/v1/users",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let users = users.clone();
                async move {
                    let authorized = headers.get("x-api-token").is_some_and(|t| t == "pd-token");
                    let status = if authorized { 200 } else { 401 };
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        axum::Json(serde_json::json!({"success": authorized, "data": users})),
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}")
    };
    let moto = Moto::start();
    moto.client()
        .create_secret()
        .name("wazzup-user-sync/e2e")
        .secret_string(
            serde_json::json!({"apiKey": "local-dev-key", "pipedriveApiToken": "pd-token", "pipedriveApiUrl": pipedrive})
                .to_string(),
        )
        .send()
        .await
        .expect("create the secret");
    let fake = WazzupFake::start(&["local-dev-key"]).await.unwrap();
    for i in 0..12 {
        fake.insert_user(FakeUser {
            id: format!("{}", 100 + i),
            name: format!("User {i}"),
            phone: None,
        });
    }

    let port = free_port();
    let (_watch, log_path) = start_watch(
        port,
        &moto,
        &[
            ("WAZZUP_API_URL", fake.url()),
            ("WAZZUP_FUNCTION_MODE", "scheduled".into()),
            ("SYNC_MANAGE_ALL", "true".into()),
        ],
    );
    let input = r#"{"crm": "pipedrive", "dryRun": false}"#;
    let report = invoke_with(port, &["--data-ascii".as_ref(), input.as_ref()], input);
    assert_eq!(report["crm"], "pipedrive", "{report}");
    assert_eq!(
        report["fetched"], 13,
        "every Pipedrive user is read: {report}"
    );
    assert_eq!(
        report["inactive"], 1,
        "the deactivated Pipedrive user counts as dismissed: {report}"
    );
    assert_eq!(report["plan"]["create"], serde_json::json!(["112"]));
    assert_eq!(report["plan"]["delete"], serde_json::json!(["111"]));
    assert!(fake.user("111").is_none());
    assert_eq!(
        fake.user("112").unwrap().phone.as_deref(),
        Some("79261002030")
    );
    let logs = std::fs::read_to_string(&log_path).expect("read the watch log");
    assert!(logs.contains("scheduled full sync finished"), "{logs}");
    assert!(
        !logs.contains("pd-token"),
        "the CRM token was logged:\n{logs}"
    );
}

/// The built binary in its worker mode, as the SQS event source mapping invokes it: the
/// messages of `events/worker/sqs-batch.json` applied in order, recorded in a DynamoDB state
/// table (moto), none reported failed; the same batch delivered again (SQS delivers at least
/// once) leaves Wazzup as it was.
#[tokio::test(flavor = "multi_thread")]
async fn the_queue_worker_through_cargo_lambda() {
    require_cargo_lambda();
    let moto = Moto::start();
    moto.client()
        .create_secret()
        .name("wazzup-user-sync/e2e")
        .secret_string(include_str!("../events/local/secret.json"))
        .send()
        .await
        .expect("create the secret");
    moto.state_table("wazzup-user-sync-state").await;
    let fake = WazzupFake::start(&["local-dev-key"]).await.unwrap();
    fake.insert_user(FakeUser {
        id: "6003".into(),
        name: "Leaving".into(),
        phone: None,
    });
    let port = free_port();
    let (_watch, log_path) = start_watch(
        port,
        &moto,
        &[
            ("WAZZUP_API_URL", fake.url()),
            ("WAZZUP_FUNCTION_MODE", "worker".into()),
            ("SYNC_MANAGE_ALL", "true".into()),
            ("STATE_TABLE", "wazzup-user-sync-state".into()),
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.url()),
        ],
    );
    let file = manifest_dir().join("events/worker/sqs-batch.json");
    let answer = invoke(port, &file);
    assert_eq!(
        answer,
        serde_json::json!({"batchItemFailures": []}),
        "{answer}"
    );
    assert_eq!(fake.user("6001").unwrap().name, "Queued Renamed");
    assert_eq!(
        fake.user("6001").unwrap().phone.as_deref(),
        Some("79265550301")
    );
    assert!(fake.user("6002").is_some() && fake.user("6003").is_none());
    let before = fake.users();
    let again = invoke(port, &file);
    assert_eq!(again, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(fake.users(), before);
    let logs = std::fs::read_to_string(&log_path).expect("read the watch log");
    assert!(logs.contains("\"_aws\""), "a metrics line: {logs}");
    // A line per change applied (the batch's own counts are in the metrics line).
    assert!(logs.contains("user upserted"), "{logs}");
}

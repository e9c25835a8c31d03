//! The operators' tool `wazzup-sync`, run as the real binary against a loopback Wazzup fake:
//! the full sync's done-when items (1,000 employees in 10 upserts, a second run that changes
//! nothing, exactly the removed rows deleted, a mass deletion refused unless forced), the
//! safety rules, the file formats, `list` and `get`, the key from Secrets Manager, and the exit
//! codes scripts rely on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, Fault, RecordedRequest, WazzupFake};
use wazzup_testkit::moto::Moto;

const KEY: &str = "cli-test-key";
const BIN: &str = env!("CARGO_BIN_EXE_wazzup-sync");

/// What one run of the tool did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// The settings the tool reads from the environment, removed so the developer's own never leak
/// into a test.
const TOOL_VARIABLES: [&str; 13] = [
    "QUEUE_URL",
    "STATE_TABLE",
    "CRM_SECRET_ID",
    "DLQ_URL",
    "WAZZUP_API_KEY",
    "WAZZUP_SECRET_ID",
    "WAZZUP_API_URL",
    "SYNC_ID_PREFIX",
    "SYNC_MAX_DELETE_SHARE",
    "SYNC_MANAGE_ALL",
    "DEFAULT_PHONE_REGION",
    "WAZZUP_TIMEOUT_SECONDS",
    "RUST_LOG",
];

/// Runs the binary (off the async runtime, so the fake keeps serving) with `WAZZUP_API_URL`
/// set to `url`, the given extra environment and, optionally, standard input.
async fn run_with(url: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut command = Command::new(BIN);
    for name in TOOL_VARIABLES {
        command.env_remove(name);
    }
    command
        .env("WAZZUP_API_URL", url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.map(str::to_owned);
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("start wazzup-sync");
        if let Some(text) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("wait for wazzup-sync")
    })
    .await
    .expect("join");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the binary with `--key` against `fake`, with the extra environment `env`.
async fn run_in(fake: &WazzupFake, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all = vec!["--key", KEY];
    all.extend_from_slice(args);
    run_with(&fake.url(), &all, env, None).await
}

/// Runs the binary with `--key` against `fake`.
async fn run(fake: &WazzupFake, args: &[&str]) -> Run {
    let mut all = vec!["--key", KEY];
    all.extend_from_slice(args);
    run_with(&fake.url(), &all, &[], None).await
}

/// A fresh directory for one test's files.
fn temp_dir(test: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/cli/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn id(i: usize) -> String {
    format!("crm-{i:04}")
}

fn name(i: usize) -> String {
    format!("Employee {i}")
}

/// A valid Russian mobile number, different for every `i`.
fn phone(i: usize) -> String {
    format!("7926{i:07}")
}

/// Writes a CSV of the employees `ids` (as `id`, `name`, `phone` written as people write it).
fn write_csv(dir: &Path, file: &str, ids: impl IntoIterator<Item = usize>) -> String {
    let mut text = String::from("id,name,phone\n");
    for i in ids {
        let p = phone(i);
        text.push_str(&format!(
            "{},{},+{} ({}) {}-{}-{}\n",
            id(i),
            name(i),
            &p[..1],
            &p[1..4],
            &p[4..7],
            &p[7..9],
            &p[9..]
        ));
    }
    let path = dir.join(file);
    std::fs::write(&path, text).expect("write the CSV");
    path.display().to_string()
}

/// Seeds the fake with the employees `ids` as a previous sync left them.
fn seed(fake: &WazzupFake, ids: impl IntoIterator<Item = usize>) {
    for i in ids {
        fake.insert_user(FakeUser {
            id: id(i),
            name: name(i),
            phone: Some(phone(i)),
        });
    }
}

fn writes(fake: &WazzupFake) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// The number on the summary line of the plan table that starts with `what`.
fn count(table: &str, what: &str) -> Option<usize> {
    table.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(what))
            .then(|| words.next()?.parse().ok())
            .flatten()
    })
}

async fn fake() -> WazzupFake {
    WazzupFake::start(&[KEY]).await.expect("start the fake")
}

#[tokio::test]
async fn importing_1000_employees_takes_10_upserts_and_a_second_run_changes_nothing() {
    let fake = fake().await;
    let dir = temp_dir("import");
    let file = write_csv(&dir, "employees.csv", 1..=1000);

    let started = Instant::now();
    let first = run(&fake, &["apply", "--file", &file, "--prefix", "crm-"]).await;
    let elapsed = started.elapsed();
    first.expect(0);
    println!(
        "import of 1,000 employees from a CSV into the loopback fake: {:.2} s (the whole process)",
        elapsed.as_secs_f64()
    );
    assert!(first.stdout.contains("1000 upserted"), "{}", first.stdout);

    let requests = fake.requests();
    let posts: Vec<&RecordedRequest> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 10, "{requests:#?}");
    for post in &posts {
        assert_eq!(post.path, "/v3/users");
        assert_eq!(post.status, 200);
        assert_eq!(
            post.body.as_ref().and_then(Value::as_array).map(Vec::len),
            Some(100)
        );
    }
    assert_eq!(requests.len(), 11, "one list and ten upserts");
    let users = fake.users();
    assert_eq!(users.len(), 1000);
    assert_eq!(
        fake.user("crm-0007"),
        Some(FakeUser {
            id: "crm-0007".into(),
            name: "Employee 7".into(),
            phone: Some("79260000007".into())
        })
    );

    // The same file again: a plan with nothing to do, and no write request.
    fake.clear_requests();
    let plan = run(&fake, &["plan", "--file", &file, "--prefix", "crm-"]).await;
    plan.expect(0);
    assert!(plan.stdout.contains("Nothing to change"), "{}", plan.stdout);
    let plan = run(
        &fake,
        &["--json", "plan", "--file", &file, "--prefix", "crm-"],
    )
    .await;
    let report = plan.expect(0).json();
    assert_eq!(
        report["counts"],
        json!({"create": 0, "update": 0, "delete": 0, "unchanged": 1000, "unmanaged": 0,
               "matches": 0, "ambiguous": 0, "conflicts": 0})
    );
    let again = run(&fake, &["apply", "--file", &file, "--prefix", "crm-"]).await;
    again.expect(0);
    assert!(writes(&fake).is_empty(), "{:#?}", writes(&fake));
    assert!(fake.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn removing_5_rows_deletes_exactly_those_5_in_one_bulk_delete() {
    let fake = fake().await;
    seed(&fake, 1..=1000);
    let removed = [3, 100, 500, 777, 1000];
    let dir = temp_dir("remove-5");
    let file = write_csv(
        &dir,
        "employees.csv",
        (1..=1000).filter(|i| !removed.contains(i)),
    );

    let result = run(
        &fake,
        &["--json", "apply", "--file", &file, "--prefix", "crm-"],
    )
    .await;
    let report = result.expect(0).json();
    let expected: Vec<String> = removed.iter().map(|i| id(*i)).collect();
    assert_eq!(strings(&report["delete"]), expected);
    assert_eq!(strings(&report["result"]["deleted"]), expected);
    assert_eq!(report["counts"]["create"], 0);
    assert_eq!(report["counts"]["update"], 0);

    let writes = writes(&fake);
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(
        (writes[0].method.as_str(), writes[0].path.as_str()),
        ("PATCH", "/v3/users/bulk_delete")
    );
    assert_eq!(writes[0].body, Some(json!(expected)));
    assert_eq!(fake.users().len(), 995);
    assert!(removed.iter().all(|i| fake.user(&id(*i)).is_none()));
}

#[tokio::test]
async fn a_file_that_would_delete_half_the_staff_is_refused_unless_forced() {
    let fake = fake().await;
    seed(&fake, 1..=1000);
    let dir = temp_dir("half");
    let file = write_csv(&dir, "employees.csv", 1..=500);

    let refused = run(&fake, &["apply", "--file", &file, "--prefix", "crm-"]).await;
    refused.expect(3);
    assert!(
        refused.stderr.contains("refusing to delete 500 of 1000"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("50 %"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--force-deletes"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("crm-0501"), "{}", refused.stderr);

    let refused = run(
        &fake,
        &["--json", "apply", "--file", &file, "--prefix", "crm-"],
    )
    .await;
    let error = refused.expect(3).json();
    assert_eq!(error["error"], "TOO_MANY_DELETIONS");
    assert_eq!(error["deletes"], 500);
    assert_eq!(error["wouldDelete"].as_array().map(Vec::len), Some(500));
    assert!(writes(&fake).is_empty(), "{:#?}", writes(&fake));
    assert_eq!(fake.users().len(), 1000);

    let forced = run(
        &fake,
        &[
            "apply",
            "--file",
            &file,
            "--prefix",
            "crm-",
            "--force-deletes",
        ],
    )
    .await;
    forced.expect(0);
    assert!(forced.stdout.contains("500 deleted"), "{}", forced.stdout);
    let writes = writes(&fake);
    assert_eq!(writes.len(), 5, "five bulk deletions of 100");
    assert!(writes.iter().all(|w| w.path == "/v3/users/bulk_delete"
        && w.body.as_ref().and_then(Value::as_array).map(Vec::len) == Some(100)));
    assert_eq!(fake.users().len(), 500);
    assert!(fake.user("crm-0500").is_some() && fake.user("crm-0501").is_none());
}

#[tokio::test]
async fn plan_and_dry_run_print_the_plan_and_change_nothing() {
    let fake = fake().await;
    seed(&fake, 1..=20);
    fake.insert_user(FakeUser {
        id: id(5),
        name: "Old name".into(),
        phone: None,
    });
    fake.insert_user(FakeUser {
        id: "manual-boss".into(),
        name: "The Boss".into(),
        phone: None,
    });
    let dir = temp_dir("dry-run");
    // 1..=19 stay (5 renamed back), 20 goes, 21 and 22 are new.
    let file = write_csv(&dir, "employees.csv", (1..=19).chain(21..=22));

    let plan = run(&fake, &["plan", "--file", &file, "--prefix", "crm-"]).await;
    plan.expect(0);
    for (what, n) in [
        ("create", 2),
        ("update", 1),
        ("delete", 1),
        ("unchanged", 18),
        ("unmanaged", 1),
    ] {
        assert_eq!(
            count(&plan.stdout, what),
            Some(n),
            "{what}:\n{}",
            plan.stdout
        );
    }
    for expected in [
        "crm-0021  Employee 21",
        "crm-0005  Old name -> Employee 5",
        "To delete (1):\n  crm-0020\n",
        "Dry run: nothing was changed",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected}:\n{}",
            plan.stdout
        );
    }

    for args in [
        vec!["--json", "plan", "--file", &file, "--prefix", "crm-"],
        vec![
            "apply",
            "--dry-run",
            "--json",
            "--file",
            &file,
            "--prefix",
            "crm-",
        ],
    ] {
        let report = run(&fake, &args).await.expect(0).json();
        assert_eq!(report["dryRun"], true);
        assert_eq!(
            report["counts"],
            json!({"create": 2, "update": 1, "delete": 1, "unchanged": 18, "unmanaged": 1,
                   "matches": 0, "ambiguous": 0, "conflicts": 0})
        );
        assert_eq!(strings(&report["create"]), ["crm-0021", "crm-0022"]);
        assert_eq!(strings(&report["update"]), ["crm-0005"]);
        assert_eq!(strings(&report["delete"]), ["crm-0020"]);
        assert_eq!(report["scope"], json!({"prefix": "crm-"}));
        assert!(report.get("result").is_none());
    }
    assert!(writes(&fake).is_empty(), "{:#?}", writes(&fake));
    assert_eq!(
        fake.user("crm-0005").map(|u| u.name),
        Some("Old name".into())
    );

    // Applied for real, it does exactly what the plan said.
    let applied = run(
        &fake,
        &[
            "--json",
            "apply",
            "--file",
            &file,
            "--prefix",
            "crm-",
            "--max-delete-share",
            "10%",
        ],
    )
    .await;
    let report = applied.expect(0).json();
    assert_eq!(strings(&report["result"]["deleted"]), ["crm-0020"]);
    assert_eq!(
        strings(&report["result"]["upserted"]),
        ["crm-0021", "crm-0022", "crm-0005"]
    );
    assert_eq!(fake.user("crm-0005").map(|u| u.name), Some(name(5)));
    assert!(fake.user("manual-boss").is_some());
}

#[tokio::test]
async fn an_invalid_row_refuses_the_whole_file_with_its_line_and_reason() {
    let fake = fake().await;
    let file = fixture("invalid-row.csv");
    let refused = run(&fake, &["apply", "--file", &file, "--prefix", "crm-"]).await;
    refused.expect(3);
    assert!(
        refused
            .stderr
            .contains("line 4 (id crm-3): name is empty [EMPTY_FIELD]"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("nothing was changed"),
        "{}",
        refused.stderr
    );

    let refused = run(
        &fake,
        &["--json", "apply", "--file", &file, "--prefix", "crm-"],
    )
    .await;
    let error = refused.expect(3).json();
    assert_eq!(error["error"], "INVALID_ROWS");
    assert_eq!(
        error["rejected"],
        json!([{"index": 2, "line": 4, "id": "crm-3", "code": "EMPTY_FIELD", "message": "name is empty"}])
    );
    // The invalid phone is only a warning.
    assert_eq!(error["warnings"][0]["code"], "INVALID_PHONE");
    assert_eq!(error["warnings"][0]["line"], 5);
    assert!(fake.requests().is_empty(), "Wazzup is not even read");

    // Duplicates inside the file are refused before any call too.
    let dir = temp_dir("duplicates");
    let path = dir.join("duplicates.csv");
    std::fs::write(
        &path,
        "id,name,phone\ncrm-1,A,+79261112233\ncrm-2,B,89261112233\ncrm-1,C,\n",
    )
    .unwrap();
    let refused = run(
        &fake,
        &[
            "apply",
            "--file",
            path.to_str().unwrap(),
            "--prefix",
            "crm-",
        ],
    )
    .await;
    refused.expect(3);
    assert!(
        refused
            .stderr
            .contains("line 3 (id crm-2): the phone 79*******33 is already crm-1's (line 2)"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("line 4 (id crm-1): the same id is already on line 2"),
        "{}",
        refused.stderr
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn users_outside_the_prefix_are_never_deleted_nor_written() {
    let fake = fake().await;
    seed(&fake, 1..=3);
    for other in ["manual-boss", "hr-0001"] {
        fake.insert_user(FakeUser {
            id: other.into(),
            name: "Not the CRM's".into(),
            phone: None,
        });
    }
    let dir = temp_dir("scope");
    let file = write_csv(&dir, "employees.csv", 1..=2);
    let result = run(
        &fake,
        &[
            "--json",
            "apply",
            "--file",
            &file,
            "--prefix",
            "crm-",
            "--max-delete-share",
            "0.5",
        ],
    )
    .await;
    let report = result.expect(0).json();
    assert_eq!(strings(&report["result"]["deleted"]), ["crm-0003"]);
    assert_eq!(report["counts"]["unmanaged"], 2);
    assert!(fake.user("manual-boss").is_some() && fake.user("hr-0001").is_some());
    let writes = writes(&fake);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].path, "/v3/users/crm-0003");

    // The prefix from the environment works the same; an employee outside it is refused.
    let outside = dir.join("outside.csv");
    std::fs::write(&outside, "id,name\ncrm-0001,Employee 1\nhr-0001,Someone\n").unwrap();
    fake.clear_requests();
    let refused = run_with(
        &fake.url(),
        &["--key", KEY, "apply", "--file", outside.to_str().unwrap()],
        &[("SYNC_ID_PREFIX", "crm-")],
        None,
    )
    .await;
    refused.expect(3);
    assert!(
        refused.stderr.contains("OUT_OF_SCOPE"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("hr-0001"), "{}", refused.stderr);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn list_and_get_show_wazzups_users_and_an_unknown_id_exits_5() {
    let fake = fake().await;
    fake.insert_user(FakeUser {
        id: "crm-1".into(),
        name: "Alex Salesman".into(),
        phone: Some("79263334567".into()),
    });
    fake.insert_user(FakeUser {
        id: "crm-2".into(),
        name: "Kate Supportics".into(),
        phone: None,
    });

    let list = run(&fake, &["list"]).await;
    list.expect(0);
    assert!(list.stdout.starts_with("ID     NAME\n"), "{}", list.stdout);
    assert!(
        list.stdout.contains("crm-1  Alex Salesman\n"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("(2 users)"), "{}", list.stdout);
    let list = run(&fake, &["list", "--json"]).await.expect(0).json();
    assert_eq!(
        list,
        json!([{"id": "crm-1", "name": "Alex Salesman"}, {"id": "crm-2", "name": "Kate Supportics"}])
    );

    let get = run(&fake, &["get", "crm-1"]).await;
    get.expect(0);
    assert_eq!(
        get.stdout,
        "id     crm-1\nname   Alex Salesman\nphone  79263334567\n"
    );
    let get = run(&fake, &["--json", "get", "crm-2"])
        .await
        .expect(0)
        .json();
    assert_eq!(
        get,
        json!({"id": "crm-2", "name": "Kate Supportics", "phone": null})
    );

    let missing = run(&fake, &["get", "crm-404"]).await;
    missing.expect(5);
    assert!(
        missing.stderr.contains("no user with the id \"crm-404\""),
        "{}",
        missing.stderr
    );
    let missing = run(&fake, &["get", "crm-404", "--json"]).await;
    assert_eq!(missing.expect(5).json()["error"], "NOT_FOUND");
    assert!(writes(&fake).is_empty());
}

#[tokio::test]
async fn usage_errors_exit_2_before_anything_is_read() {
    let fake = fake().await;
    let file = fixture("employees.json");

    let no_scope = run(&fake, &["apply", "--file", &file]).await;
    no_scope.expect(2);
    for expected in [
        "deletions must be fenced",
        "--state-table",
        "--prefix",
        "--all",
    ] {
        assert!(
            no_scope.stderr.contains(expected),
            "{expected}: {}",
            no_scope.stderr
        );
    }
    let both = run(
        &fake,
        &["plan", "--file", &file, "--all", "--prefix", "crm-"],
    )
    .await;
    both.expect(2);
    let empty = run(&fake, &["plan", "--file", &file, "--prefix", " "]).await;
    empty.expect(2);
    assert!(empty.stderr.contains("--all"), "{}", empty.stderr);

    let no_key = run_with(&fake.url(), &["plan", "--file", &file, "--all"], &[], None).await;
    no_key.expect(2);
    assert!(
        no_key.stderr.contains("WAZZUP_API_KEY"),
        "{}",
        no_key.stderr
    );
    assert!(
        no_key.stderr.contains("WAZZUP_SECRET_ID"),
        "{}",
        no_key.stderr
    );

    let bad_share = run(
        &fake,
        &["plan", "--file", &file, "--all", "--max-delete-share", "10"],
    )
    .await;
    bad_share.expect(2);
    let stdin_without_format = run(&fake, &["plan", "--file", "-", "--all"]).await;
    stdin_without_format.expect(2);
    let unknown = run(&fake, &["frobnicate"]).await;
    unknown.expect(2);

    let missing_file = run(
        &fake,
        &["plan", "--file", "/nonexistent/employees.csv", "--all"],
    )
    .await;
    missing_file.expect(1);

    let help = run(&fake, &["--help"]).await;
    help.expect(0);
    assert!(help.stdout.contains("Exit codes:"), "{}", help.stdout);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_1001_row_file_is_refused_by_the_user_limit_before_any_write() {
    let fake = fake().await;
    let dir = temp_dir("limit");
    let file = write_csv(&dir, "employees.csv", 1..=1001);
    let refused = run(&fake, &["apply", "--file", &file, "--prefix", "crm-"]).await;
    refused.expect(3);
    assert!(refused.stderr.contains("1001 users"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("limit of 1000"),
        "{}",
        refused.stderr
    );
    let error = run(
        &fake,
        &["--json", "apply", "--file", &file, "--prefix", "crm-"],
    )
    .await
    .expect(3)
    .json();
    assert_eq!(error["error"], "USER_LIMIT");
    assert!(writes(&fake).is_empty());
    assert!(fake.users().is_empty());
}

#[tokio::test]
async fn spreadsheet_csv_json_and_stdin_inputs_are_read_as_operators_write_them() {
    let fake = fake().await;
    let csv = fixture("spreadsheet-semicolon.csv");
    run(&fake, &["apply", "--file", &csv, "--all"])
        .await
        .expect(0);
    assert_eq!(
        fake.users(),
        [
            FakeUser {
                id: "00042".into(),
                name: "Иван Петров".into(),
                phone: Some("79261112233".into())
            },
            FakeUser {
                id: "00043".into(),
                name: "Smith; John".into(),
                phone: None
            }
        ]
    );

    let fake = self::fake().await;
    let json_file = fixture("employees.json");
    run_with(
        &fake.url(),
        &["--key", KEY, "apply", "--file", &json_file],
        &[("SYNC_MANAGE_ALL", "true")],
        None,
    )
    .await
    .expect(0);
    let ids: Vec<String> = fake.users().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, ["1001", "1002", "1003"]);
    assert_eq!(
        fake.user("1001").and_then(|u| u.phone),
        Some("79263334567".into())
    );

    let fake = self::fake().await;
    let rows = r#"[{"id": "crm-1", "name": "From stdin", "phone": "+44 20 7183 8750"}]"#;
    let piped = run_with(
        &fake.url(),
        &[
            "--key", KEY, "apply", "--file", "-", "--format", "json", "--prefix", "crm-",
        ],
        &[],
        Some(rows),
    )
    .await;
    piped.expect(0);
    assert_eq!(
        fake.user("crm-1").and_then(|u| u.phone),
        Some("442071838750".into())
    );
}

#[tokio::test]
async fn a_refused_key_exits_4_and_a_phone_wazzup_refuses_exits_6() {
    let fake = fake().await;
    let file = fixture("employees.json");
    let refused = run_with(
        &fake.url(),
        &["--key", "wrong-key", "apply", "--file", &file, "--all"],
        &[],
        None,
    )
    .await;
    refused.expect(4);
    assert!(
        refused.stderr.contains("refused the API key"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("wrong-key"),
        "the key is never printed"
    );
    assert!(writes(&fake).is_empty());

    // Another employee's Wazzup user (in the prefix: crm-9's) already has the phone of crm-1.
    fake.insert_user(FakeUser {
        id: "crm-9".into(),
        name: "Nine".into(),
        phone: Some("79263334567".into()),
    });
    let dir = temp_dir("duplicate-phone");
    let path = dir.join("employees.csv");
    std::fs::write(
        &path,
        "id,name,phone\ncrm-1,Alex,+7 926 333-45-67\ncrm-2,Kate,+7 926 123-45-67\ncrm-9,Nine,\n",
    )
    .unwrap();
    let partial = run(
        &fake,
        &[
            "--json",
            "apply",
            "--file",
            path.to_str().unwrap(),
            "--prefix",
            "crm-",
        ],
    )
    .await;
    let report = partial.expect(6).json();
    assert_eq!(strings(&report["result"]["upserted"]), ["crm-2"]);
    assert_eq!(report["result"]["rejected"][0]["id"], "crm-1");
    assert_eq!(
        report["result"]["rejected"][0]["reason"],
        "DUPLICATE_PHONE_NUMBER"
    );
    let message = report["result"]["rejected"][0]["message"].as_str().unwrap();
    assert!(message.contains("belongs to employee crm-9"), "{message}");
    assert_eq!(report["error"]["error"], "REFUSED_BY_WAZZUP");
    assert!(fake.user("crm-2").is_some() && fake.user("crm-1").is_none());
}

#[tokio::test]
async fn the_key_can_come_from_secrets_manager() {
    let fake = fake().await;
    fake.insert_user(FakeUser {
        id: "crm-1".into(),
        name: "Alex".into(),
        phone: None,
    });
    let moto = Moto::start();
    moto.client()
        .create_secret()
        .name("wazzup/cli")
        .secret_string(json!({"apiKey": KEY, "webhookToken": "t"}).to_string())
        .send()
        .await
        .expect("create the secret");
    let aws = [
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url()),
        ("AWS_REGION", "eu-central-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ];
    let env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let list = run_with(
        &fake.url(),
        &["--secret-id", "wazzup/cli", "list", "--json"],
        &env,
        None,
    )
    .await;
    assert_eq!(
        list.expect(0).json(),
        json!([{"id": "crm-1", "name": "Alex"}])
    );

    // On the command line, the secret wins over a key from the environment.
    let mut with_key = env.clone();
    with_key.push(("WAZZUP_API_KEY", "stale-key"));
    let list = run_with(
        &fake.url(),
        &["list", "--secret-id", "wazzup/cli"],
        &with_key,
        None,
    )
    .await;
    list.expect(0);

    let missing = run_with(
        &fake.url(),
        &["--secret-id", "wazzup/none", "list"],
        &env,
        None,
    )
    .await;
    missing.expect(4);
    assert!(
        missing.stderr.contains("Secrets Manager"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn an_apply_stopped_by_wazzup_exits_4_lists_what_was_applied_and_can_be_run_again() {
    let fake = fake().await;
    let dir = temp_dir("stopped");
    let file = write_csv(&dir, "employees.csv", 1..=250);
    // The list and the first upsert go through; the second upsert is refused.
    fake.push_fault(Fault::Delay(Duration::ZERO));
    fake.push_fault(Fault::Delay(Duration::ZERO));
    fake.push_fault(Fault::Json {
        status: 403,
        body: json!({"error": "FORBIDDEN", "description": "not now"}),
    });
    let stopped = run(
        &fake,
        &["--json", "apply", "--file", &file, "--prefix", "crm-"],
    )
    .await;
    let report = stopped.expect(4).json();
    assert_eq!(report["error"]["error"], "WAZZUP_FORBIDDEN");
    assert_eq!(
        report["result"]["upserted"].as_array().map(Vec::len),
        Some(100)
    );
    assert_eq!(
        report["result"]["notApplied"].as_array().map(Vec::len),
        Some(150)
    );
    assert!(
        stopped
            .stderr
            .contains("running the same command again is safe"),
        "{}",
        stopped.stderr
    );
    assert_eq!(fake.users().len(), 100);
    assert_eq!(
        fake.requests().len(),
        3,
        "nothing is sent after the refusal"
    );

    let again = run(&fake, &["apply", "--file", &file, "--prefix", "crm-"]).await;
    again.expect(0);
    assert_eq!(
        count(&again.stdout, "create"),
        Some(150),
        "{}",
        again.stdout
    );
    assert_eq!(
        count(&again.stdout, "unchanged"),
        Some(100),
        "{}",
        again.stdout
    );
    assert_eq!(fake.users().len(), 250);

    // An unreachable Wazzup (after the client's retries) is the same exit code.
    let unreachable = run_with("http://127.0.0.1:9", &["--key", KEY, "list"], &[], None).await;
    unreachable.expect(4);
    assert!(
        unreachable.stderr.contains("could not be reached"),
        "{}",
        unreachable.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dlq_list_shows_what_the_worker_gave_up_on_and_redrive_moves_it_back() {
    use wazzup_user_sync::adapters::sqs::SqsQueue;
    use wazzup_user_sync::domain::{Change, SourceTime, SyncEvent, UserId};
    use wazzup_user_sync::service::ChangeQueue;

    let moto = Moto::start();
    let (queue_url, dlq_url) = moto.fifo_queue("cli", 1).await;
    let change = Change {
        event: SyncEvent::Delete(UserId::parse("crm-0007").unwrap()),
        at: SourceTime::from_unix_seconds(1_795_413_600),
        key: "k-cli-1".into(),
        source: None,
    };
    SqsQueue::new(moto.sqs(), &queue_url)
        .send(std::slice::from_ref(&change))
        .await
        .unwrap();
    // Received once and not deleted: the next receive moves it to the dead-letter queue.
    for _ in 0..2 {
        moto.sqs()
            .receive_message()
            .queue_url(&queue_url)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    let aws = [
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_REGION", "eu-central-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("DLQ_URL", dlq_url.clone()),
    ];
    let env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listed = run_with(
        "https://unused.invalid",
        &["--json", "dlq", "list"],
        &env,
        None,
    )
    .await;
    listed.expect(0);
    let messages = listed.json()["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
    assert_eq!(messages[0]["id"], "crm-0007");
    assert_eq!(messages[0]["action"], "delete");
    assert_eq!(messages[0]["madeAt"], "2026-11-23T06:00:00Z");
    let table = run_with("https://unused.invalid", &["dlq", "list"], &env, None).await;
    table.expect(0);
    assert!(
        table.stdout.contains("crm-0007") && table.stdout.contains("(1 waiting)"),
        "{}",
        table.stdout
    );

    let moved = run_with(
        "https://unused.invalid",
        &["dlq", "redrive", "--queue-url", &queue_url],
        &env,
        None,
    )
    .await;
    moved.expect(0);
    assert!(moved.stdout.contains("Moved 1 message"), "{}", moved.stdout);
    let back = moto
        .sqs()
        .receive_message()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap();
    let body = back.messages()[0].body().unwrap();
    assert!(body.contains("crm-0007"), "{body}");
    let empty = run_with(
        "https://unused.invalid",
        &["--json", "dlq", "list"],
        &env,
        None,
    )
    .await;
    assert_eq!(empty.json()["messages"], json!([]));
}

#[tokio::test]
async fn adopt_shows_the_matches_takes_them_over_with_apply_and_then_apply_keeps_them() {
    let fake = fake().await;
    let moto = Moto::start();
    moto.state_table("adopt").await;
    for (id, name, phone) in [
        ("9f1c-hand-1", "Anna Ivanova", Some("79260000001")),
        ("9f1c-hand-2", "Boris Petrov", None),
        ("9f1c-hand-3", "Olga", None),
        ("9f1c-hand-4", "OLGA", None),
        ("9f1c-admin", "Administrator", Some("79990000000")),
    ] {
        fake.insert_user(FakeUser {
            id: id.into(),
            name: name.into(),
            phone: phone.map(str::to_owned),
        });
    }
    let dir = temp_dir("adopt");
    let path = dir.join("staff.csv");
    let staff = "id,name,phone\n\
                 crm-1,Anna Ivanova (Sales),+7 926 000-00-01\n\
                 crm-2,boris  petrov,\n\
                 crm-3,Olga,\n\
                 crm-4,New Hire,+7 926 000-00-04\n";
    std::fs::write(&path, staff).unwrap();
    let file = path.to_str().unwrap();
    let aws = [
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_REGION", "eu-central-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("STATE_TABLE", "adopt".to_owned()),
    ];
    let env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // The dry run: a table, nothing written.
    let shown = run_in(&fake, &env, &["adopt", "--file", file]).await;
    shown.expect(0);
    // Words as the table lays them out, spaces aside.
    let out = shown
        .stdout
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for expected in [
        "crm-1 Anna Ivanova (Sales) -> 9f1c-hand-1 Anna Ivanova by phone",
        "crm-2 boris petrov -> 9f1c-hand-2 Boris Petrov by name",
        "Ambiguous: left alone (pair them with a wazzupId column) (1): crm-3 Olga could be:",
        "9f1c-hand-3 \"Olga\"",
        "9f1c-hand-4 \"OLGA\"",
        "Employees without a Wazzup user: `apply` creates them (1): crm-4 New Hire",
        "Wazzup users without an employee (never deleted) (1): 9f1c-admin Administrator",
        "the API cannot set them",
        "`wazzup-sync adopt --apply` with the same options takes the 2 matched users over",
    ] {
        assert!(out.contains(expected), "{expected}:\n{}", shown.stdout);
    }
    let report = run_in(&fake, &env, &["--json", "adopt", "--file", file])
        .await
        .json();
    assert_eq!(report["counts"]["matches"], 2, "{report}");
    assert_eq!(report["ambiguous"][0]["employee"], "crm-3");
    assert!(writes(&fake).is_empty(), "a dry run writes nothing");

    // Applied: two users taken over, with the CRM's names; nothing created or deleted.
    run_in(&fake, &env, &["adopt", "--file", file, "--apply"])
        .await
        .expect(0);
    assert_eq!(fake.users().len(), 5);
    assert_eq!(
        fake.user("9f1c-hand-1").unwrap().name,
        "Anna Ivanova (Sales)"
    );
    assert!(fake.user("crm-1").is_none());

    // Now the full sync creates the hire only, and the taken-over users are its employees':
    // when Anna leaves the CRM, her (hand-made) user goes; the administrator never does.
    run_in(&fake, &env, &["apply", "--file", file])
        .await
        .expect(0);
    assert!(fake.user("crm-4").is_some());
    assert_eq!(fake.users().len(), 6);
    let left = dir.join("left.csv");
    std::fs::write(
        &left,
        staff.replace("crm-1,Anna Ivanova (Sales),+7 926 000-00-01\n", ""),
    )
    .unwrap();
    let report = run_in(
        &fake,
        &env,
        &[
            "--json",
            "apply",
            "--file",
            left.to_str().unwrap(),
            "--force-deletes",
        ],
    )
    .await;
    let report = report.expect(0).json();
    assert_eq!(strings(&report["delete"]), ["crm-1"], "{report}");
    assert!(fake.user("9f1c-hand-1").is_none());
    assert!(fake.user("9f1c-admin").is_some());
}

#[tokio::test]
async fn an_apply_and_the_queued_changes_never_undo_each_others_newer_changes() {
    use std::sync::Arc;
    use wazzup_user_sync::adapters::dynamodb::DynamoStateStore;
    use wazzup_user_sync::config::SyncSettings;
    use wazzup_user_sync::credentials::{StaticCredentials, parse_secret_value};
    use wazzup_user_sync::domain::{Change, PhoneRegion, SourceTime, SyncEvent, User};
    use wazzup_user_sync::service::{ServiceSettings, SyncService};
    use wazzup_user_sync::wazzup::{ClientConfig, WazzupClient};

    let fake = fake().await;
    let moto = Moto::start();
    moto.state_table("order").await;
    // The deployment's worker, on the same state table.
    let worker = SyncService::new(
        WazzupClient::new(ClientConfig::new(fake.url().parse().unwrap())).unwrap(),
        Arc::new(StaticCredentials::new(parse_secret_value(KEY).unwrap())),
        ServiceSettings {
            phone_region: PhoneRegion::default(),
            sync: SyncSettings::default(),
            adopt_on_conflict: true,
            message_days: 7,
        },
    )
    .with_state(Arc::new(DynamoStateStore::new(moto.dynamodb(), "order")));
    let change = |name: &str, at: SourceTime, key: &str| Change {
        event: SyncEvent::Upsert(User {
            id: wazzup_user_sync::domain::UserId::parse("crm-1").unwrap(),
            name: wazzup_user_sync::domain::UserName::parse(name).unwrap(),
            phone: None,
        }),
        at,
        key: key.into(),
        source: Some("generic".into()),
    };
    let ago = |seconds: i64| SourceTime::from_millis(SourceTime::now().millis() - seconds * 1000);
    let aws = [
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_REGION", "eu-central-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("STATE_TABLE", "order".to_owned()),
    ];
    let env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = temp_dir("order");
    let file = dir.join("staff.csv");
    std::fs::write(&file, "id,name,phone\ncrm-1,From The File,\n").unwrap();
    let file = file.to_str().unwrap();

    // A change made ten minutes ago still waits in the queue while the operator applies the
    // list, read now: when the worker gets to it, it is older, and dropped.
    run_in(&fake, &env, &["apply", "--file", file])
        .await
        .expect(0);
    let report = worker
        .deliver(&[change("Queued", ago(600), "q-1")], None)
        .await;
    assert_eq!(report.stale, 1, "{:?}", report.summary);
    assert_eq!(fake.user("crm-1").unwrap().name, "From The File");

    // The other way: the worker applies a change made now; a list exported five minutes ago,
    // applied after, is older for that employee, and does not undo it.
    let report = worker
        .deliver(&[change("Newest", ago(0), "q-2")], None)
        .await;
    assert_eq!(report.summary.upserted, ["crm-1"]);
    let as_of = ago(300).to_string();
    let older = dir.join("older.csv");
    std::fs::write(&older, "id,name,phone\ncrm-1,Stale Name,\n").unwrap();
    let applied = run_in(
        &fake,
        &env,
        &[
            "--json",
            "apply",
            "--file",
            older.to_str().unwrap(),
            "--as-of",
            &as_of,
        ],
    )
    .await;
    let report = applied.expect(0).json();
    assert_eq!(report["result"]["warnings"][0]["code"], "STALE", "{report}");
    assert_eq!(fake.user("crm-1").unwrap().name, "Newest");
}

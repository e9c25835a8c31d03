//! Real accounts, deployed with the template's defaults (no id prefix, no manage-all): the
//! README's "Taking over an existing account". With real parts: DynamoDB and SQS from
//! `moto_server` (the state table records whose user is whose; the queue and the real worker
//! in queued mode), the Wazzup fake seeded with the users a company made by hand, with Wazzup's
//! own ids. A dismissal removes the user the deployment created or took over, on every path;
//! a user nobody owns is never deleted; a hire whose phone a hand-made user has takes that user
//! over and says so; an account of 30 existing users is matched, taken over, and kept in step.

mod common;

use std::sync::Arc;

use common::esm::Esm;
use common::*;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_testkit::moto::Moto;
use wazzup_user_sync::adapters::dynamodb::DynamoStateStore;
use wazzup_user_sync::adapters::sqs::SqsQueue;
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::handler::{App, Settings, service_settings};
use wazzup_user_sync::service::SyncService;
use wazzup_user_sync::worker::{Worker, WorkerCounts};

/// A deployment over moto: the HTTP function, and in queued mode the queue and its worker.
struct Deployment {
    moto: Moto,
    fake: WazzupFake,
    app: App,
    /// Queued mode: the worker and its queue's URL.
    lane: Option<(Worker, String)>,
}

async fn deployment(name: &str, queued: bool, settings: Settings) -> Deployment {
    let moto = Moto::start();
    moto.state_table(name).await;
    let queue_url = match queued {
        true => Some(moto.fifo_queue(name, 5).await.0),
        false => None,
    };
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let service = || {
        let service = SyncService::new(
            client(&fake.url(), fast_retry()),
            Arc::new(StaticCredentials::new(credentials_with(
                API_KEY,
                json!({"scimToken": SCIM_TOKEN}),
            ))),
            service_settings(&settings),
        )
        .with_state(Arc::new(DynamoStateStore::new(moto.dynamodb(), name)));
        match &queue_url {
            Some(url) => service.with_queue(Arc::new(SqsQueue::new(moto.sqs(), url.clone()))),
            None => service,
        }
    };
    let app = App::with_service(settings.clone(), service());
    let lane = (queue_url.clone()).map(|url| (Worker::new(Arc::new(service()), 5), url));
    Deployment {
        moto,
        fake,
        app,
        lane,
    }
}

impl Deployment {
    /// Handles `request`; in queued mode the worker then applies what it accepted. Returns the
    /// answer and what the worker did.
    async fn send(&self, request: Request) -> (Response<Body>, WorkerCounts) {
        let response = self.app.handle(request).await;
        let counts = match &self.lane {
            Some((worker, url)) => {
                Esm {
                    sqs: self.moto.sqs(),
                    url,
                    worker,
                    worker_delays: false,
                }
                .drain()
                .await
            }
            None => WorkerCounts::default(),
        };
        (response, counts)
    }

    async fn webhook(&self, body: &str) -> (Response<Body>, WorkerCounts) {
        self.send(authorized(body)).await
    }

    fn seed(&self, id: &str, name: &str, phone: Option<&str>) {
        self.fake.insert_user(FakeUser {
            id: id.into(),
            name: name.into(),
            phone: phone.map(str::to_owned),
        });
    }
}

fn scim(method: &str, path: &str, body: &Value) -> Request {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    function_url_request(
        method,
        &format!("/scim/v2{path}"),
        &[SCIM, ("content-type", "application/scim+json")],
        &body,
    )
}

fn full_sync(employees: &[Value], extra: Value) -> Request {
    let mut body = json!({ "employees": employees });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    function_url_request("POST", "/sync", &[JSON, ADMIN], &body.to_string())
}

const HAND_MADE: &str = "7c1e9a20-5b4d-4e1f-9a3c-2f0d8e6b1a01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_template_defaults_a_dismissal_removes_the_user_and_a_hand_made_one_stays() {
    for queued in [false, true] {
        let d = deployment(&format!("defaults-{queued}"), queued, owned_settings()).await;
        d.seed(HAND_MADE, "The Boss (made by hand)", Some("79990001122"));
        let mode = if queued { "queued" } else { "direct" };

        // A webhook hire, then its dismissal: the user is gone.
        let (hire, _) = d
            .webhook(&created("emp-1", "Alex", Some("+7 926 333-45-67")).to_string())
            .await;
        assert!(hire.status().is_success(), "{mode}: {}", json_body(&hire));
        assert!(d.fake.user("emp-1").is_some(), "{mode}");
        let (dismissal, _) = d.webhook(&deleted("emp-1").to_string()).await;
        assert!(dismissal.status().is_success(), "{mode}");
        if !queued {
            assert_eq!(ids(&json_body(&dismissal), "deleted"), ["emp-1"]);
        }
        assert!(d.fake.user("emp-1").is_none(), "{mode}: still there");

        // A SCIM create, then its deactivation and deletion (Okta's and Entra's ways).
        for (external, deactivate) in [("00u-okta-1", false), ("entra-2", true)] {
            let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                              "userName": format!("{external}@example.com"), "externalId": external,
                              "name": {"formatted": "Kate Support"}, "active": true});
            let (created, _) = d.send(scim("POST", "/Users", &user)).await;
            assert_eq!(created.status(), 201, "{mode}: {}", json_body(&created));
            assert!(d.fake.user(external).is_some(), "{mode}");
            let (gone, _) = match deactivate {
                true => {
                    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                       "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
                    d.send(scim("PATCH", &format!("/Users/{external}"), &patch))
                        .await
                }
                false => {
                    d.send(scim("DELETE", &format!("/Users/{external}"), &Value::Null))
                        .await
                }
            };
            assert!(gone.status().is_success(), "{mode}: {}", gone.status());
            assert!(d.fake.user(external).is_none(), "{mode}: {external} kept");
        }

        // The hand-made user is never deleted: not by a webhook, nor SCIM, nor a full sync.
        let (refused, counts) = d.webhook(&deleted(HAND_MADE).to_string()).await;
        if queued {
            assert_eq!(counts.ownership.unowned_dismissals, 1, "{counts:?}");
        } else {
            let answer = json_body(&refused);
            assert_eq!(answer["rejected"][0]["reason"], "UNOWNED_USER", "{answer}");
        }
        let (scim_refused, _) = d
            .send(scim("DELETE", &format!("/Users/{HAND_MADE}"), &Value::Null))
            .await;
        assert_eq!(scim_refused.status(), 403, "{mode}");
        let roster = [json!({"id": "emp-2", "name": "Kate"})];
        let (synced, _) = d.send(full_sync(&roster, json!({}))).await;
        let answer = json_body(&synced);
        assert!(synced.status().is_success(), "{mode}: {answer}");
        assert_eq!(answer["plan"]["delete"], json!([]), "{mode}: {answer}");
        assert_eq!(answer["plan"]["unowned"][0]["id"], HAND_MADE, "{answer}");
        assert!(
            d.fake.user(HAND_MADE).is_some(),
            "{mode}: the hand-made user was deleted"
        );
        assert!(d.fake.user("emp-2").is_some(), "{mode}");
    }
}

/// The account a company made by hand before deploying: 25 staff with phones, one without a
/// phone, two with the same name, one made by an earlier integration with the CRM's id, and
/// the administrator. Wazzup-style ids.
fn existing_account(d: &Deployment) {
    for n in 1..=25 {
        d.seed(
            &format!("5f0c{n:04}-8a1b-4c2d-9e3f-00000000aa{n:02}"),
            &format!("Staff {n}"),
            Some(&format!("7926000{n:04}")),
        );
    }
    d.seed("0b9e0001-1111-4a4a-8b8b-000000000026", "Olga Petrova", None);
    d.seed(
        "0b9e0002-2222-4a4a-8b8b-000000000027",
        "Anna Smirnova",
        Some("79031110027"),
    );
    d.seed(
        "0b9e0003-3333-4a4a-8b8b-000000000028",
        "anna smirnova",
        Some("79031110028"),
    );
    d.seed("crm-28", "Boris (old integration)", Some("79031110029"));
    d.seed(HAND_MADE, "Administrator", Some("79990001122"));
}

/// The CRM's employees: the 25 staff (phones written the CRM's way, names the CRM's), Olga,
/// an Anna, the employee the old integration made, and a new hire.
fn crm_employees() -> Vec<Value> {
    let mut employees: Vec<Value> = (1..=25)
        .map(|n| {
            json!({"id": format!("crm-{n:02}"), "name": format!("Staff Member {n}"),
                   "phone": format!("+7 (926) 000-{:02}-{:02}", n / 100, n % 100)})
        })
        .collect();
    employees.push(json!({"id": "crm-26", "name": "  olga  PETROVA "}));
    employees.push(json!({"id": "crm-27", "name": "Anna Smirnova"}));
    employees.push(json!({"id": "crm-28", "name": "Boris"}));
    employees.push(json!({"id": "crm-29", "name": "New Hire", "phone": "+7 926 555-00-29"}));
    employees
}

fn strings(value: &Value) -> Vec<String> {
    let mut found: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_of_thirty_existing_users_is_matched_taken_over_and_kept_in_step() {
    let d = deployment("thirty", false, owned_settings()).await;
    existing_account(&d);
    assert_eq!(d.fake.users().len(), 30);
    let employees = crm_employees();

    // The dry run: exactly these matches and this ambiguity.
    let (planned, _) = d.send(full_sync(&employees, json!({"dryRun": true}))).await;
    let answer = json_body(&planned);
    assert_eq!(planned.status(), 200, "{answer}");
    let plan = &answer["plan"];
    let mut matches: Vec<(String, String, String)> = (plan["matches"].as_array().unwrap())
        .iter()
        .map(|m| {
            let text = |k: &str| m[k].as_str().unwrap().to_owned();
            (text("employee"), text("wazzupId"), text("by"))
        })
        .collect();
    matches.sort();
    let mut expected: Vec<(String, String, String)> = (1..=25)
        .map(|n| {
            (
                format!("crm-{n:02}"),
                format!("5f0c{n:04}-8a1b-4c2d-9e3f-00000000aa{n:02}"),
                "phone".to_owned(),
            )
        })
        .collect();
    expected.push((
        "crm-26".into(),
        "0b9e0001-1111-4a4a-8b8b-000000000026".into(),
        "name".into(),
    ));
    expected.push(("crm-28".into(), "crm-28".into(), "id".into()));
    assert_eq!(matches, expected, "{answer}");
    assert_eq!(plan["ambiguous"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(plan["ambiguous"][0]["employee"], "crm-27");
    let candidates: Vec<&str> = (plan["ambiguous"][0]["candidates"].as_array().unwrap())
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        candidates.len(),
        2,
        "both Annas are candidates: {candidates:?}"
    );
    assert_eq!(strings(&plan["create"]), ["crm-29"]);
    assert_eq!(plan["delete"], json!([]));
    assert_eq!(plan["unowned"][0]["id"], HAND_MADE);
    assert_eq!(plan["unowned"].as_array().unwrap().len(), 1);
    assert_eq!(plan["seatsLeft"], 1000 - 31);
    assert!(d.fake.writes().is_empty(), "a dry run writes nothing");

    // Applied with adopt: the 27 are taken over (their ids kept), the new hire created, nobody
    // deleted, no duplicate made.
    let (applied, _) = d.send(full_sync(&employees, json!({"adopt": true}))).await;
    let answer = json_body(&applied);
    assert_eq!(applied.status(), 200, "{answer}");
    assert_eq!(answer["adopted"].as_array().unwrap().len(), 27, "{answer}");
    assert_eq!(d.fake.users().len(), 31);
    let staff_5 = "5f0c0005-8a1b-4c2d-9e3f-00000000aa05";
    assert_eq!(d.fake.user(staff_5).unwrap().name, "Staff Member 5");
    assert!(
        d.fake.user("crm-05").is_none(),
        "no duplicate of a taken-over user"
    );
    assert!(d.fake.user("crm-29").is_some());

    // The next full sync: nothing to create, nothing to delete, nothing left to match.
    let (again, _) = d.send(full_sync(&employees, json!({"dryRun": true}))).await;
    let plan = &json_body(&again)["plan"];
    assert_eq!(plan["create"], json!([]), "{plan}");
    assert_eq!(plan["delete"], json!([]), "{plan}");
    assert_eq!(plan["update"], json!([]), "{plan}");
    assert_eq!(plan["matches"], json!([]), "{plan}");

    // Each employee's later update reaches its one user.
    let taken: Vec<String> = (1..=26)
        .map(|n| format!("crm-{n:02}"))
        .chain(["crm-28".to_owned()])
        .collect();
    let updates: Vec<Value> = (taken.iter())
        .map(|id| json!({"event": "employee.updated", "employee": {"id": id, "name": format!("{id} renamed")}}))
        .collect();
    let (updated, _) = d.webhook(&batch(updates)).await;
    let answer = json_body(&updated);
    assert_eq!(updated.status(), 200, "{answer}");
    assert_eq!(strings(&answer["upserted"]), taken, "{answer}");
    assert_eq!(
        answer["warnings"],
        json!([]),
        "updates take nothing over: {answer}"
    );
    assert_eq!(d.fake.users().len(), 31, "updates created no user");
    assert_eq!(d.fake.user(staff_5).unwrap().name, "crm-05 renamed");
    assert_eq!(
        d.fake
            .user("0b9e0001-1111-4a4a-8b8b-000000000026")
            .unwrap()
            .name,
        "crm-26 renamed"
    );

    // An employee who leaves the CRM's list: the full sync deletes the user taken over for
    // them (by its Wazzup id).
    let staying: Vec<Value> = employees[1..].to_vec();
    let (synced, _) = d.send(full_sync(&staying, json!({}))).await;
    let answer = json_body(&synced);
    assert_eq!(answer["plan"]["delete"], json!(["crm-01"]), "{answer}");
    assert!(
        d.fake
            .user("5f0c0001-8a1b-4c2d-9e3f-00000000aa01")
            .is_none()
    );

    // Each dismissal removes it: what is left is the two Annas, the administrator, the hire.
    let taken = &taken[1..];
    let dismissals: Vec<Value> = taken.iter().map(|id| deleted(id)).collect();
    let (dismissed, _) = d.webhook(&batch(dismissals)).await;
    let answer = json_body(&dismissed);
    assert_eq!(strings(&answer["deleted"]), taken, "{answer}");
    assert_eq!(answer["warnings"], json!([]), "{answer}");
    let mut left: Vec<String> = d.fake.users().into_iter().map(|u| u.id).collect();
    left.sort();
    assert_eq!(
        left,
        [
            "0b9e0002-2222-4a4a-8b8b-000000000027",
            "0b9e0003-3333-4a4a-8b8b-000000000028",
            HAND_MADE,
            "crm-29",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hire_whose_phone_a_hand_made_user_has_takes_it_over_and_its_dismissal_removes_it() {
    for queued in [false, true] {
        let d = deployment(&format!("phone-{queued}"), queued, owned_settings()).await;
        let mode = if queued { "queued" } else { "direct" };
        d.seed(HAND_MADE, "Ivan Ivanov", Some("79261112233"));
        let hire = created("emp-77", "Ivan Ivanov (Sales)", Some("8 926 111-22-33"));
        let (answer, counts) = d.webhook(&hire.to_string()).await;
        if queued {
            assert_eq!(answer.status(), 202);
            assert_eq!((counts.applied, counts.refused), (1, 0), "{counts:?}");
            assert_eq!(counts.ownership.adopted, 1, "{counts:?}");
        } else {
            let answer = json_body(&answer);
            assert_eq!(ids(&answer, "upserted"), ["emp-77"], "{answer}");
            let warning = &answer["warnings"][0];
            assert_eq!(warning["code"], "ADOPTED", "{answer}");
            assert_eq!(warning["id"], "emp-77");
            let message = warning["message"].as_str().unwrap();
            assert!(message.contains(HAND_MADE), "{message}");
            assert!(message.contains("Ivan Ivanov"), "{message}");
            assert!(
                !message.contains("111"),
                "no phone in the answer: {message}"
            );
        }
        // One user: the hand-made one, with the CRM's name; its id kept.
        assert_eq!(d.fake.users().len(), 1, "{mode}: {:?}", d.fake.users());
        assert_eq!(
            d.fake.user(HAND_MADE).unwrap().name,
            "Ivan Ivanov (Sales)",
            "{mode}"
        );
        // The next change goes to it, and the dismissal removes it.
        let renamed = json!({"event": "employee.updated",
                             "employee": {"id": "emp-77", "name": "Ivan Ivanov (Lead)"}});
        d.webhook(&renamed.to_string()).await;
        assert_eq!(d.fake.user(HAND_MADE).unwrap().name, "Ivan Ivanov (Lead)");
        assert!(
            d.fake.user("emp-77").is_none(),
            "{mode}: a duplicate was made"
        );
        d.webhook(&deleted("emp-77").to_string()).await;
        assert!(d.fake.users().is_empty(), "{mode}: access kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissal_the_deployment_never_applied_is_reported_not_called_done() {
    for queued in [false, true] {
        let d = deployment(&format!("unowned-{queued}"), queued, owned_settings()).await;
        d.seed(HAND_MADE, "Someone Made By Hand", None);
        let (answer, counts) = d.webhook(&deleted("emp-404").to_string()).await;
        if queued {
            assert_eq!(counts.ownership.unowned_dismissals, 1, "{counts:?}");
        } else {
            assert_eq!(answer.status(), 200, "a warning, not a refusal");
            let answer = json_body(&answer);
            assert_eq!(answer["status"], "ok", "{answer}");
            assert_eq!(answer["alreadyAbsent"], json!([]), "{answer}");
            assert_eq!(
                answer["warnings"][0]["code"], "NOT_FOUND_UNOWNED",
                "{answer}"
            );
            let message = answer["warnings"][0]["message"].as_str().unwrap();
            assert!(
                message.contains("1 users this deployment does not own"),
                "{message}"
            );
        }
        assert!(d.fake.user(HAND_MADE).is_some());
    }
    // With every user of the account its own, the same dismissal is simply already done.
    let d = deployment("all-owned", false, owned_settings()).await;
    d.webhook(&created("emp-1", "Alex", None).to_string()).await;
    let (answer, _) = d.webhook(&deleted("emp-404").to_string()).await;
    let answer = json_body(&answer);
    assert_eq!(ids(&answer, "alreadyAbsent"), ["emp-404"], "{answer}");
    assert_eq!(answer["warnings"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_another_employee_has_or_a_takeover_turned_off_refuses_the_hire_naming_the_user() {
    let d = deployment("refuse", false, owned_settings()).await;
    d.webhook(&created("emp-1", "Alex", Some("+7 926 333-45-67")).to_string())
        .await;
    let (answer, _) = d
        .webhook(&created("emp-2", "Someone Else", Some("+7 926 333-45-67")).to_string())
        .await;
    let answer = json_body(&answer);
    assert_eq!(answer["rejected"][0]["reason"], "DUPLICATE_PHONE_NUMBER");
    let message = answer["rejected"][0]["message"].as_str().unwrap();
    assert!(message.contains("belongs to employee emp-1"), "{message}");
    assert!(d.fake.user("emp-2").is_none());

    let mut off = owned_settings();
    off.adopt_on_conflict = false;
    let d = deployment("adopt-off", false, off).await;
    d.seed(HAND_MADE, "Ivan Ivanov", Some("79261112233"));
    let (answer, _) = d
        .webhook(&created("emp-77", "Ivan", Some("+7 926 111-22-33")).to_string())
        .await;
    let answer = json_body(&answer);
    assert_eq!(answer["rejected"][0]["reason"], "DUPLICATE_PHONE_NUMBER");
    let message = answer["rejected"][0]["message"].as_str().unwrap();
    assert!(message.contains("ADOPT_ON_CONFLICT=false"), "{message}");
    assert_eq!(d.fake.users().len(), 1);
    // No takeover could be made: no user was read one by one to find the phone.
    let reads = (d.fake.requests().iter())
        .filter(|r| r.method == "GET" && r.path.starts_with("/v3/users/"))
        .count();
    assert_eq!(reads, 0, "{:?}", d.fake.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hires_beyond_the_seats_left_are_refused_before_the_call_saying_how_many_are_left() {
    let d = deployment("seats", false, owned_settings()).await;
    d.fake.insert_users((0..998).map(|i| FakeUser {
        id: format!("hand-{i:03}"),
        name: format!("Hand {i}"),
        phone: None,
    }));
    let (response, _) = d
        .webhook(&batch(vec![
            created("emp-1", "One", None),
            created("emp-2", "Two", None),
            created("emp-3", "Three", None),
        ]))
        .await;
    let answer = json_body(&response);
    assert_eq!(ids(&answer, "upserted"), ["emp-1", "emp-2"], "{answer}");
    assert_eq!(answer["rejected"][0]["id"], "emp-3");
    assert_eq!(answer["rejected"][0]["reason"], "USER_LIMIT_EXCEEDED");
    let message = answer["rejected"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("998 of its 1000 users: 2 seats"),
        "{message}"
    );
    // Refused before the call: Wazzup never saw emp-3.
    let sent: Vec<Value> = (d.fake.writes().into_iter())
        .flat_map(|r| {
            r.body
                .and_then(|b| b.as_array().cloned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|u| u["id"] != "emp-3"));
    // The seats are counted where a plan is made too.
    let (planned, _) = d
        .send(full_sync(
            &[
                json!({"id": "emp-1", "name": "One"}),
                json!({"id": "emp-2", "name": "Two"}),
                json!({"id": "emp-4", "name": "Four"}),
            ],
            json!({"dryRun": true}),
        ))
        .await;
    let answer = json_body(&planned);
    assert_eq!(answer["error"], "SYNC_REFUSED", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("0 seats are left now"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hire_whose_phone_holder_is_not_found_in_time_is_kept_for_a_retry_not_refused() {
    let mut short = owned_settings();
    // Two seconds for the call, less the second kept for recording: no time for a search.
    short.request_budget = std::time::Duration::from_secs(3);
    let d = deployment("holder-late", false, short).await;
    d.seed(HAND_MADE, "Someone Else", Some("79261112233"));
    let hire = created("emp-77", "Ivan Ivanov", Some("+7 926 111-22-33"));
    let (response, _) = d.webhook(&hire.to_string()).await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 503, "{answer}");
    assert_eq!(answer["error"], "PHONE_HOLDER_UNKNOWN", "{answer}");
    assert_eq!(ids(&answer, "notApplied"), ["emp-77"], "{answer}");
    assert_eq!(
        answer["rejected"],
        json!([]),
        "not refused for good: {answer}"
    );
}

#[tokio::test]
async fn a_plan_made_before_another_request_took_a_user_over_writes_that_user_not_a_second_one() {
    use wazzup_user_sync::adapters::memory::MemoryStateStore;
    use wazzup_user_sync::service::{FullSyncRequest, Quiet};

    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    fake.insert_user(FakeUser {
        id: HAND_MADE.into(),
        name: "A. Petrova".into(),
        phone: Some("79261112233".into()),
    });
    let state = Arc::new(MemoryStateStore::default());
    let service = SyncService::new(
        client(&fake.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        service_settings(&owned_settings()),
    )
    .with_state(Arc::clone(&state) as _);
    let app = App::with_service(
        owned_settings(),
        SyncService::new(
            client(&fake.url(), fast_retry()),
            Arc::new(StaticCredentials::new(credentials(API_KEY))),
            service_settings(&owned_settings()),
        )
        .with_state(state as _),
    );
    // A full sync plans crm-1 without its phone: a new employee.
    let roster = service
        .roster([(
            0,
            wazzup_user_sync::domain::EmployeeRow::named("crm-1", "Anna", None),
        )])
        .unwrap();
    let mut session = service.session(None).await.unwrap();
    let (plan, _, _) = service
        .plan_full_sync(&mut session, &roster, FullSyncRequest::default())
        .await
        .unwrap();
    assert_eq!(plan.create.len(), 1);
    // Meanwhile the CRM's hire, with the phone, takes the hand-made user over.
    let hire = created("crm-1", "Anna", Some("+7 926 111-22-33"));
    let answer = json_body(&app.handle(authorized(&hire.to_string())).await);
    assert_eq!(answer["warnings"][0]["code"], "ADOPTED", "{answer}");
    // The plan, applied now, writes crm-1's user: the one taken over.
    let summary = service
        .apply_full_plan(
            &mut session,
            &plan,
            wazzup_user_sync::domain::SourceTime::now(),
            &mut Quiet,
        )
        .await
        .unwrap();
    assert_eq!(summary.upserted, ["crm-1"]);
    assert_eq!(fake.users().len(), 1, "{:?}", fake.users());
    // And its dismissal removes it.
    let gone = json_body(&app.handle(authorized(&deleted("crm-1").to_string())).await);
    assert_eq!(gone["deleted"], json!(["crm-1"]), "{gone}");
    assert!(fake.users().is_empty());
}

/// What both state stores promise of ownership: one employee per user, one user per employee,
/// the first record kept, and giving up only one's own.
async fn ownership_rules(store: &dyn wazzup_user_sync::service::StateStore) {
    use wazzup_user_sync::domain::{Basis, Owner, UserId};
    let id = |text: &str| UserId::parse(text).unwrap();
    let anna = Owner::new(id("crm-1"), "generic", Basis::Phone);
    assert_eq!(store.take(&id("hand-7"), &anna).await.unwrap(), None);
    // Another employee cannot take it; the owner is named.
    let boris = Owner::new(id("crm-2"), "generic", Basis::Created);
    let other = store.take(&id("hand-7"), &boris).await.unwrap().unwrap();
    assert_eq!(other.employee, id("crm-1"));
    // Anna's own id is not hers while she is linked to hand-7.
    let own = Owner::new(id("crm-1"), "generic", Basis::Created);
    assert!(store.take(&id("crm-1"), &own).await.is_err());
    // Taken again: the first record stays.
    let again = Owner::new(id("crm-1"), "scim", Basis::Id);
    assert_eq!(store.take(&id("hand-7"), &again).await.unwrap(), None);
    let found = store
        .ownerships(&[id("hand-7"), id("crm-1")])
        .await
        .unwrap();
    assert_eq!(found.owners[&id("hand-7")].basis, Basis::Phone);
    assert_eq!(found.links[&id("crm-1")], id("hand-7"));
    // Boris cannot give it up; Anna can.
    store.give_up(&id("hand-7"), &id("crm-2")).await.unwrap();
    assert_eq!(
        store
            .ownerships(&[id("hand-7")])
            .await
            .unwrap()
            .owners
            .len(),
        1
    );
    store.give_up(&id("hand-7"), &id("crm-1")).await.unwrap();
    let found = store
        .ownerships(&[id("hand-7"), id("crm-1")])
        .await
        .unwrap();
    assert!(
        found.owners.is_empty() && found.links.is_empty(),
        "{found:?}"
    );
    // Many at once (more than one transaction's worth), one of them another's: each answered.
    assert_eq!(store.take(&id("hand-30"), &boris).await.unwrap(), None);
    let takes: Vec<(UserId, Owner)> = (0..60)
        .map(|i| {
            let owner = Owner::new(id(&format!("emp-{i}")), "sync", Basis::Name);
            (id(&format!("hand-{i}")), owner)
        })
        .collect();
    let answers = store.take_all(&takes).await.unwrap();
    assert_eq!(answers.len(), 60);
    for (i, answer) in answers.iter().enumerate() {
        match i {
            30 => assert_eq!(answer.as_ref().map(|o| &o.employee), Some(&id("crm-2"))),
            _ => assert_eq!(answer, &None, "{i}"),
        }
    }
    let found = store
        .ownerships(&[id("emp-59"), id("hand-59")])
        .await
        .unwrap();
    assert_eq!(found.links[&id("emp-59")], id("hand-59"));
}

#[tokio::test]
async fn both_state_stores_keep_one_user_per_employee_and_one_employee_per_user() {
    ownership_rules(&wazzup_user_sync::adapters::memory::MemoryStateStore::default()).await;
    let moto = Moto::start();
    moto.state_table("ownership").await;
    ownership_rules(&DynamoStateStore::new(moto.dynamodb(), "ownership")).await;
}

//! Delivery rules that need no AWS (the in-process queue and state store): two requests
//! writing the same employee at once keep the newer change, the queue's worker hands back
//! every change it could not apply for a reason that can pass (including the ones it never
//! tried), and a repeated body is dropped as a duplicate only when it names the same events.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wazzup_testkit::fake::{Fault, WazzupFake};
use wazzup_user_sync::adapters::memory::{MemoryQueue, MemoryStateStore};
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::domain::SyncEvent;
use wazzup_user_sync::handler::{App, service_settings};
use wazzup_user_sync::service::SyncService;
use wazzup_user_sync::worker::Worker;

fn service(fake: &WazzupFake, state: &Arc<MemoryStateStore>) -> SyncService {
    SyncService::new(
        client(&fake.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        service_settings(&settings()),
    )
    .with_state(Arc::clone(state) as _)
}

/// An update of `id` to `name`, made by the CRM at `second` past a fixed minute.
fn renamed(id: &str, name: &str, second: u32) -> String {
    json!({"event": "employee.updated", "employee": {"id": id, "name": name},
           "occurredAt": format!("2026-11-24T10:00:{second:02}Z")})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_older_change_still_in_flight_never_lands_after_a_newer_one() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let app = Arc::new(App::with_service(settings(), service(&fake, &state)));
    // The older change's call to Wazzup is slow; the newer one arrives while it is in flight.
    fake.push_write_fault(Fault::Delay(Duration::from_millis(600)));
    let older = {
        let app = Arc::clone(&app);
        tokio::spawn(async move { app.handle(authorized(&renamed("emp-1", "Old", 1))).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let newer = app.handle(authorized(&renamed("emp-1", "New", 2))).await;
    let older = older.await.unwrap();
    assert_eq!(older.status(), 200, "{}", json_body(&older));
    assert_eq!(newer.status(), 200, "{}", json_body(&newer));
    assert_eq!(fake.user("emp-1").unwrap().name, "New");
    assert_eq!(fake.writes().len(), 2, "each change reached Wazzup once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_newer_change_waits_for_the_employee_then_an_older_one_is_stale() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let app = Arc::new(App::with_service(settings(), service(&fake, &state)));
    // The newer change holds the employee while its call is slow; the older one, arriving
    // then, waits, and is found stale.
    fake.push_write_fault(Fault::Delay(Duration::from_millis(600)));
    let newer = {
        let app = Arc::clone(&app);
        tokio::spawn(async move { app.handle(authorized(&renamed("emp-1", "New", 2))).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let older = app.handle(authorized(&renamed("emp-1", "Old", 1))).await;
    let newer = newer.await.unwrap();
    assert_eq!(newer.status(), 200);
    let answer = json_body(&older);
    assert_eq!(older.status(), 200, "{answer}");
    assert_eq!(answer["warnings"][0]["code"], "STALE", "{answer}");
    assert_eq!(fake.user("emp-1").unwrap().name, "New");
    assert_eq!(fake.writes().len(), 1);
}

/// An SQS event of one message per change, each in its employee's group.
fn sqs_event(changes: &[(&str, Value)]) -> aws_lambda_events::event::sqs::SqsEvent {
    let records: Vec<Value> = changes
        .iter()
        .enumerate()
        .map(|(i, (id, event))| {
            let change = json!({"event": event, "at": 1_795_413_600_000u64 + i as u64,
                                "key": format!("k{i}")});
            json!({"messageId": format!("m{i}"), "body": change.to_string(),
                   "attributes": {"MessageGroupId": id, "ApproximateReceiveCount": "1"},
                   "eventSource": "aws:sqs"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn an_answer_the_worker_does_not_know_hands_that_change_back_and_the_rest_applies() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let worker = Worker::new(Arc::new(service(&fake, &state)), 5);
    let changes = [
        ("gone", json!({"delete": "gone"})),
        ("emp-1", json!({"upsert": {"id": "emp-1", "name": "One"}})),
        ("emp-2", json!({"upsert": {"id": "emp-2", "name": "Two"}})),
    ];
    // The first write (the deletion) gets an answer the documentation does not list.
    fake.push_write_fault(Fault::Json {
        status: 409,
        body: json!({"error": "SOMETHING_NEW", "description": "?"}),
    });
    let (response, counts) = worker.handle_counted(sqs_event(&changes), None).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m0"], "{counts:?}");
    assert_eq!(counts.applied, 2);
    assert_eq!(fake.users().len(), 2);

    // Delivered again, it applies.
    let (response, counts) = worker.handle_counted(sqs_event(&changes[..1]), None).await;
    assert!(response.batch_item_failures.is_empty(), "{counts:?}");
    assert_eq!(counts.applied, 1);
}

#[tokio::test]
async fn an_unknown_answer_to_several_users_is_narrowed_down_one_user_at_a_time() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let worker = Worker::new(Arc::new(service(&fake, &state)), 5);
    let changes = [
        ("emp-1", json!({"upsert": {"id": "emp-1", "name": "One"}})),
        ("emp-2", json!({"upsert": {"id": "emp-2", "name": "Two"}})),
        ("emp-3", json!({"upsert": {"id": "emp-3", "name": "Three"}})),
    ];
    // The call of three is answered unexpectedly, and so is emp-2's own call.
    let unknown = || Fault::Json {
        status: 422,
        body: json!({"error": "SOMETHING_NEW"}),
    };
    fake.push_write_fault(unknown());
    fake.push_write_fault(Fault::Delay(Duration::ZERO));
    fake.push_write_fault(unknown());
    let (response, counts) = worker.handle_counted(sqs_event(&changes), None).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m1"], "{counts:?}");
    let mut held: Vec<String> = fake.users().into_iter().map(|u| u.id).collect();
    held.sort();
    assert_eq!(held, ["emp-1", "emp-3"]);
    // The call of three, then one per user.
    assert_eq!(fake.writes().len(), 4);
}

#[tokio::test]
async fn an_undated_change_back_to_an_earlier_value_is_queued_but_a_dated_repeat_is_not() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let queue = Arc::new(MemoryQueue::default());
    let app = App::with_service(
        settings(),
        service(&fake, &Arc::new(MemoryStateStore::default())).with_queue(Arc::clone(&queue) as _),
    );
    // Renamed to B, then back to A, then to B again: the third body repeats the first.
    let undated = |name: &str| {
        json!({"event": "employee.updated",
                                     "employee": {"id": "emp-1", "name": name}})
        .to_string()
    };
    for name in ["B", "A", "B"] {
        assert_eq!(app.handle(authorized(&undated(name))).await.status(), 202);
    }
    let names: Vec<String> = queue
        .take(10)
        .iter()
        .map(|change| match &change.event {
            SyncEvent::Upsert(user) => user.name.as_str().to_owned(),
            SyncEvent::Delete(_) | SyncEvent::Unseat(_) => "-".into(),
        })
        .collect();
    assert_eq!(names, ["B", "A", "B"]);

    // The same dated events delivered twice are the same changes: queued once.
    for _ in 0..2 {
        assert_eq!(
            app.handle(authorized(&renamed("emp-1", "C", 5)))
                .await
                .status(),
            202
        );
    }
    assert_eq!(queue.take(10).len(), 1);
}

#[tokio::test]
async fn an_event_dated_in_the_future_cannot_hold_later_changes_back() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let app = App::with_service(settings(), service(&fake, &state));
    let at = |name: &str, stamp: &str| {
        json!({"event": "employee.updated", "employee": {"id": "emp-1", "name": name},
               "occurredAt": stamp})
        .to_string()
    };
    // A CRM whose clock is years ahead.
    let response = app
        .handle(authorized(&at("Wrong Clock", "2099-01-01T00:00:00Z")))
        .await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(answer["warnings"][0]["code"], "TIME_IN_FUTURE", "{answer}");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let response = app.handle(authorized(&at("Right Clock", &now))).await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(fake.user("emp-1").unwrap().name, "Right Clock", "{answer}");
}

#[tokio::test]
async fn two_lists_read_at_the_same_time_queue_each_of_their_changes() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let queue = Arc::new(MemoryQueue::default());
    let app = App::with_service(
        settings(),
        service(&fake, &Arc::new(MemoryStateStore::default())).with_queue(Arc::clone(&queue) as _),
    );
    let sync = |employees: Value| {
        let body = json!({"employees": employees, "asOf": "2026-11-24T09:00:00Z"});
        function_url_request("POST", "/sync", &[JSON, ADMIN], &body.to_string())
    };
    let first = app
        .handle(sync(
            json!([{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]),
        ))
        .await;
    assert_eq!(first.status(), 202, "{}", json_body(&first));
    // A corrected list with the same time: its change is not the first list's first change.
    let second = app.handle(sync(json!([{"id": "c", "name": "C"}]))).await;
    assert_eq!(second.status(), 202, "{}", json_body(&second));
    // The same list again is the same changes: dropped as repeats.
    let again = app.handle(sync(json!([{"id": "c", "name": "C"}]))).await;
    assert_eq!(again.status(), 202);
    let mut ids: Vec<String> = queue
        .take(10)
        .iter()
        .map(|change| change.id().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_whose_answer_was_lost_keeps_the_employee_until_it_can_no_longer_land() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    // The client waits a second for an answer, then tries three more times.
    let mut config = wazzup_user_sync::wazzup::ClientConfig::new(fake.url().parse().unwrap());
    config.retry = fast_retry();
    config.request_timeout = Duration::from_secs(1);
    let service = SyncService::new(
        wazzup_user_sync::wazzup::WazzupClient::new(config).unwrap(),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        service_settings(&settings()),
    )
    .with_state(Arc::clone(&state) as _);
    let app = App::with_service(settings(), service);
    // The older change's first call reaches Wazzup, which answers too late (and applies it
    // then); its three retries fail. Its outcome cannot be told.
    fake.push_write_fault(Fault::Delay(Duration::from_millis(1500)));
    for _ in 0..3 {
        fake.push_write_fault(Fault::Status {
            status: 500,
            retry_after: None,
        });
    }
    let older = app.handle(authorized(&renamed("emp-1", "Old", 1))).await;
    assert_eq!(older.status(), 503, "{}", json_body(&older));
    // The newer change arrives at once, while the older call may still land.
    let newer = app.handle(authorized(&renamed("emp-1", "New", 2))).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let answer = json_body(&newer);
    // It must not be told it was applied while Wazzup ends with the older value.
    assert_eq!(newer.status(), 503, "{answer}");
    assert_eq!(answer["error"], "EMPLOYEE_BUSY", "{answer}");
    assert_eq!(ids(&answer, "notApplied"), ["emp-1"]);
}

#[tokio::test]
async fn a_source_clock_a_little_ahead_cannot_make_the_next_change_stale() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let app = App::with_service(settings(), service(&fake, &state));
    // A CRM clock two minutes fast: inside the tolerance, so no warning.
    let ahead = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
    let ahead = ahead
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let update = json!({"event": "employee.updated", "employee": {"id": "emp-1", "name": "Ahead"},
                        "occurredAt": ahead});
    let response = app.handle(authorized(&update.to_string())).await;
    assert_eq!(response.status(), 200, "{}", json_body(&response));
    // The employee is dismissed a moment later, by a source with a right clock.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let dismissal = json!({"event": "employee.deleted", "employee": {"id": "emp-1"}});
    let response = app.handle(authorized(&dismissal.to_string())).await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(ids(&answer, "deleted"), ["emp-1"], "{answer}");
    assert!(fake.user("emp-1").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_wazzup_leave_a_second_before_the_deadline_to_record_them() {
    use lambda_http::RequestExt;
    use std::time::{SystemTime, UNIX_EPOCH};

    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let app = App::with_service(settings(), service(&fake, &state));
    // Lambda stops the invocation in 2 s; Wazzup answers after 1.1 s, too late to leave the
    // answer's margin and a second to record what it applied.
    fake.push_write_fault(Fault::Delay(Duration::from_millis(1100)));
    let deadline = (SystemTime::now() + Duration::from_secs(2))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = lambda_runtime::Context::default();
    context.deadline = deadline;
    let request = authorized(&renamed("emp-1", "Late", 1)).with_lambda_context(context);
    let response = app.handle(request).await;
    let answer = json_body(&response);
    assert_eq!(response.status(), 503, "{answer}");
    assert_eq!(ids(&answer, "notApplied"), ["emp-1"]);
}

/// The in-process state store, whose reading of the ownership records fails once.
struct FlakyOwnership {
    inner: MemoryStateStore,
    failed: std::sync::atomic::AtomicBool,
}

mod flaky {
    use super::FlakyOwnership;
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;
    use wazzup_user_sync::credentials::BoxFuture;
    use wazzup_user_sync::domain::{Owner, SourceTime, UserId};
    use wazzup_user_sync::service::{Applied, Claim, Ownerships, Sight, StateStore, StoreError};

    impl StateStore for FlakyOwnership {
        fn last_applied<'a>(
            &'a self,
            ids: &'a [UserId],
        ) -> BoxFuture<'a, Result<HashMap<UserId, Applied>, StoreError>> {
            self.inner.last_applied(ids)
        }
        fn claim<'a>(
            &'a self,
            id: &'a UserId,
            owner: &'a str,
            until: SourceTime,
        ) -> BoxFuture<'a, Result<Claim, StoreError>> {
            self.inner.claim(id, owner, until)
        }
        fn record<'a>(
            &'a self,
            id: &'a UserId,
            applied: Applied,
            owner: &'a str,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.inner.record(id, applied, owner)
        }
        fn release<'a>(
            &'a self,
            id: &'a UserId,
            owner: &'a str,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.inner.release(id, owner)
        }
        fn ownerships<'a>(
            &'a self,
            ids: &'a [UserId],
        ) -> BoxFuture<'a, Result<Ownerships, StoreError>> {
            if !self.failed.swap(true, Ordering::SeqCst) {
                return Box::pin(async { Err(StoreError("throttled".into())) });
            }
            self.inner.ownerships(ids)
        }
        fn take<'a>(
            &'a self,
            wazzup: &'a UserId,
            owner: &'a Owner,
        ) -> BoxFuture<'a, Result<Option<Owner>, StoreError>> {
            self.inner.take(wazzup, owner)
        }
        fn give_up<'a>(
            &'a self,
            wazzup: &'a UserId,
            employee: &'a UserId,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.inner.give_up(wazzup, employee)
        }
        fn sight<'a>(
            &'a self,
            message: &'a str,
            at: SourceTime,
            until: SourceTime,
        ) -> BoxFuture<'a, Result<Sight, StoreError>> {
            self.inner.sight(message, at, until)
        }
        fn done<'a>(
            &'a self,
            message: &'a str,
            until: SourceTime,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.inner.done(message, until)
        }
    }
}

#[tokio::test]
async fn when_the_records_cannot_be_read_every_change_of_the_batch_comes_back_busy_ones_too() {
    use wazzup_user_sync::domain::{SourceTime, UserId};
    use wazzup_user_sync::service::StateStore;

    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let store = Arc::new(FlakyOwnership {
        inner: MemoryStateStore::default(),
        failed: Default::default(),
    });
    // Another request holds emp-2 for a while.
    let later = SourceTime::from_millis(SourceTime::now().millis() + 60_000);
    let busy = UserId::parse("emp-2").unwrap();
    store.inner.claim(&busy, "another", later).await.unwrap();
    let service = SyncService::new(
        client(&fake.url(), fast_retry()),
        Arc::new(StaticCredentials::new(credentials(API_KEY))),
        service_settings(&settings()),
    )
    .with_state(Arc::clone(&store) as _);
    let worker = Worker::new(Arc::new(service), 5);
    let changes = [
        ("emp-1", json!({"upsert": {"id": "emp-1", "name": "One"}})),
        ("emp-2", json!({"upsert": {"id": "emp-2", "name": "Two"}})),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    let (response, counts) = worker
        .handle_counted(sqs_event(&changes), Some(deadline))
        .await;
    let mut failed: Vec<&str> = (response.batch_item_failures.iter())
        .map(|f| f.item_identifier.as_str())
        .collect();
    failed.sort();
    assert_eq!(failed, ["m0", "m1"], "{counts:?}");
    assert!(fake.users().is_empty());
}

#[tokio::test]
async fn a_retry_of_a_change_that_failed_is_dated_when_its_message_was_first_seen() {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let state = Arc::new(MemoryStateStore::default());
    let app = App::with_service(settings(), service(&fake, &state));
    let renamed = |name: &str| {
        json!({"event": "employee.updated", "employee": {"id": "emp-1", "name": name}}).to_string()
    };
    // A's first try meets a Wazzup outage: not applied, but seen 4 minutes ago.
    fake.set_outage(true);
    let first = app
        .handle(signed_with_id("msg_older", &renamed("Old"), now() - 240))
        .await;
    assert_eq!(first.status(), 503);
    fake.set_outage(false);
    // B, the newer change, is applied.
    let newer = app
        .handle(signed_with_id("msg_newer", &renamed("New"), now() - 120))
        .await;
    assert_eq!(newer.status(), 200);
    // A's retry, signed now: its change is still the older one.
    let retry = app
        .handle(signed_with_id("msg_older", &renamed("Old"), now()))
        .await;
    let answer = json_body(&retry);
    assert_eq!(answer["warnings"][0]["code"], "STALE", "{answer}");
    assert_eq!(fake.user("emp-1").unwrap().name, "New");
    // And once applied, a message's next delivery is a duplicate.
    let again = json_body(
        &app.handle(signed_with_id("msg_newer", &renamed("New"), now()))
            .await,
    );
    assert_eq!(again["warnings"][0]["code"], "DUPLICATE", "{again}");
}

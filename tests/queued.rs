//! Queued mode end to end, with real parts: the SQS FIFO queue and the DynamoDB state table of
//! `moto_server` on loopback, the real handler answering the CRM, the real worker applying
//! what the queue hands it, and the Wazzup fake with outages. The test plays the event source
//! mapping: it receives up to 10 messages, invokes the worker with them as an SQS event,
//! deletes what the worker did not report failed, and lets the failed come back. moto hands a
//! FIFO group's messages out of order at times (it does not hold a group back while a message
//! is in flight): the order the tests check is the one the state table keeps. Its receive is not
//! atomic either (two concurrent calls can take the same message), so receives take turns.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::esm::Esm;
use common::*;
use serde_json::{Value, json};
use wazzup_testkit::fake::WazzupFake;
use wazzup_testkit::moto::Moto;
use wazzup_user_sync::adapters::dynamodb::DynamoStateStore;
use wazzup_user_sync::adapters::sqs::{DeadLetters, SqsQueue};
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::handler::{App, service_settings};
use wazzup_user_sync::service::SyncService;
use wazzup_user_sync::wazzup::RetryPolicy;
use wazzup_user_sync::worker::{Worker, WorkerCounts};

/// A deployment in queued mode over moto: the HTTP function, the worker, the queues.
struct Deployment {
    moto: Moto,
    fake: WazzupFake,
    app: App,
    worker: Worker,
    queue: SqsQueue,
    dlq_url: String,
}

/// Retries that give up at once: the queue retries, not the worker's invocation.
fn one_try() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        ..fast_retry()
    }
}

async fn deployment(name: &str, max_receive_count: u32) -> Deployment {
    let moto = Moto::start();
    let (queue_url, dlq_url) = moto.fifo_queue(name, max_receive_count).await;
    moto.state_table(name).await;
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let service = || {
        SyncService::new(
            client(&fake.url(), one_try()),
            Arc::new(StaticCredentials::new(credentials(API_KEY))),
            service_settings(&settings()),
        )
        .with_queue(Arc::new(SqsQueue::new(moto.sqs(), queue_url.clone())))
        .with_state(Arc::new(DynamoStateStore::new(moto.dynamodb(), name)))
    };
    let app = App::with_service(settings(), service());
    let queue = SqsQueue::new(moto.sqs(), queue_url.clone());
    // A failed message comes back after the worker's delay, as in Lambda.
    let worker = Worker::new(Arc::new(service()), max_receive_count)
        .with_redelivery(Arc::new(queue.clone()));
    Deployment {
        moto,
        fake,
        app,
        worker,
        queue,
        dlq_url,
    }
}

impl Deployment {
    fn esm(&self) -> Esm<'_> {
        Esm {
            sqs: self.moto.sqs(),
            url: self.queue.url(),
            worker: &self.worker,
            worker_delays: false,
        }
    }

    async fn round(&self, totals: &mut WorkerCounts) -> usize {
        self.esm().round(totals).await
    }

    async fn drain(&self) -> WorkerCounts {
        self.esm().drain().await
    }

    async fn dead_letters(&self) -> usize {
        DeadLetters::new(self.moto.sqs(), &self.dlq_url)
            .peek(100)
            .await
            .unwrap()
            .len()
    }
}

/// An event at a given second of the CRM's clock, with a name that says which event it is.
fn timed(kind: &str, id: &str, name: Option<&str>, second: u64) -> Value {
    let mut employee = json!({"id": id});
    if let Some(name) = name {
        employee["name"] = json!(name);
    }
    let at = 1_795_413_600 + second;
    let stamp = time_text(at);
    json!({"event": kind, "employee": employee, "occurredAt": stamp})
}

fn time_text(unix: u64) -> String {
    // 2026-11-23T06:00:00Z is 1,795,413,600: counting seconds from there keeps the text simple.
    let offset = unix - 1_795_413_600;
    let (hours, rest) = (6 + offset / 3600, offset % 3600);
    format!("2026-11-23T{hours:02}:{:02}:{:02}Z", rest / 60, rest % 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_changes_survive_an_outage_once_each_in_crm_order() {
    let d = deployment("mix", 1000).await;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut events = Vec::new();
    let mut last: HashMap<String, Option<String>> = HashMap::new();
    for i in 0..1000 {
        let id = format!("emp-{:03}", rng.usize(0..200));
        let event = match rng.u8(0..3) {
            0 => {
                last.insert(id.clone(), None);
                timed("employee.deleted", &id, None, i)
            }
            kind => {
                let name = format!("E{i}");
                last.insert(id.clone(), Some(name.clone()));
                let kind = if kind == 1 {
                    "employee.created"
                } else {
                    "employee.updated"
                };
                timed(kind, &id, Some(&name), i)
            }
        };
        events.push((id, event));
    }
    // Wazzup is down while the CRM sends, and for the worker's first rounds.
    d.fake.set_outage(true);
    let mut slowest = Duration::ZERO;
    for (_, event) in &events {
        let started = Instant::now();
        let response = d.app.handle(authorized(&event.to_string())).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(response.status(), 202, "{}", json_body(&response));
    }
    let mut totals = WorkerCounts::default();
    for _ in 0..5 {
        d.round(&mut totals).await;
    }
    assert!(totals.retried > 0 && totals.applied == 0, "{totals:?}");
    d.fake.set_outage(false);
    let after = d.drain().await;

    // Wazzup holds exactly each employee's last state.
    for (id, state) in &last {
        let user = d.fake.user(id);
        assert_eq!(user.map(|u| u.name), state.clone(), "{id}");
    }
    assert_eq!(
        d.fake.users().len(),
        last.values().filter(|s| s.is_some()).count()
    );
    // Each employee's writes happened in CRM order: every write is a later event than the one
    // before it (a deletion matched to the next deletion event after it).
    let mut written: HashMap<String, usize> = HashMap::new();
    for request in d.fake.requests().iter().filter(|r| r.status / 100 == 2) {
        let writes: Vec<(String, Option<usize>)> = match request.method.as_str() {
            "POST" => request
                .body
                .as_ref()
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|u| {
                    (
                        u["id"].as_str().unwrap().to_owned(),
                        u["name"].as_str().unwrap()[1..].parse().ok(),
                    )
                })
                .collect(),
            "DELETE" => vec![(request.path.rsplit('/').next().unwrap().to_owned(), None)],
            "PATCH" => request
                .body
                .as_ref()
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|id| (id.as_str().unwrap().to_owned(), None))
                .collect(),
            _ => Vec::new(),
        };
        for (id, index) in writes {
            let previous = written.get(&id).copied();
            let index = index.unwrap_or_else(|| {
                // The first deletion event of this employee after the previous write.
                events
                    .iter()
                    .enumerate()
                    .filter(|(i, (e, v))| {
                        *e == id
                            && v["event"] == "employee.deleted"
                            && previous.is_none_or(|p| *i > p)
                    })
                    .map(|(i, _)| i)
                    .next()
                    .unwrap_or_else(|| {
                        panic!("a deletion of {id} no event asked for after {previous:?}")
                    })
            });
            assert!(
                previous.is_none_or(|p| index > p),
                "{id}: event {index} written after {previous:?}"
            );
            written.insert(id, index);
        }
    }
    assert_eq!(d.dead_letters().await, 0);
    assert!(
        slowest < Duration::from_millis(500),
        "the slowest ingest took {slowest:?}"
    );
    println!(
        "1,000 events: slowest ingest {slowest:?}; worker: {} applied, {} stale, {} retried",
        after.applied,
        after.stale,
        totals.retried + after.retried
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_or_late_event_never_brings_a_deleted_employee_back() {
    let d = deployment("replay", 10).await;
    let updated =
        json!({"event": "employee.updated", "employee": {"id": "emp-7", "name": "Seven"}})
            .to_string();
    let replayed = signed(&updated, now() - 60);
    let first = signed(&updated, now() - 60);
    assert_eq!(d.app.handle(first).await.status(), 202);
    d.drain().await;
    assert!(d.fake.user("emp-7").is_some());
    let deleted = json!({"event": "employee.deleted", "employee": {"id": "emp-7"}}).to_string();
    let delete = signed_with_id("msg_delete", &deleted, now());
    assert_eq!(d.app.handle(delete).await.status(), 202);
    d.drain().await;
    assert!(d.fake.user("emp-7").is_none());

    // The same message again: the state table knows it was queued, so it is answered as a
    // duplicate (200) and nothing is queued, whatever SQS's deduplication window says.
    let answer = d.app.handle(replayed).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(json_body(&answer)["status"], "duplicate");
    let counts = d.drain().await;
    assert_eq!(counts.applied, 0, "{counts:?}");
    // Outside it (a new message id for the old change): the state table drops it as stale.
    let late = signed_with_id("msg_resent_later", &updated, now() - 60);
    assert_eq!(d.app.handle(late).await.status(), 202);
    let counts = d.drain().await;
    assert_eq!((counts.applied, counts.stale), (0, 1), "{counts:?}");
    assert!(
        d.fake.user("emp-7").is_none(),
        "a deleted employee came back"
    );
    assert_eq!(d.dead_letters().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_delivered_twice_is_queued_once() {
    let d = deployment("twice", 10).await;
    let body = created("emp-1", "Once", None).to_string();
    // Queued once (202); its two retries are known duplicates (200: the sender stops).
    for expected in [202, 200, 200] {
        let request = signed_with_id("msg_same_delivery", &body, now());
        assert_eq!(d.app.handle(request).await.status(), expected);
    }
    let counts = d.drain().await;
    assert_eq!((counts.applied, counts.stale), (1, 0), "{counts:?}");
    let posts = d
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1, "the change reached Wazzup once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_is_reported_not_retried_and_the_rest_applies() {
    let d = deployment("refused", 10).await;
    // The phone is another employee's, whose user this deployment created: no takeover.
    let owner = created("owner", "Owner", Some("+7 903 111-22-33")).to_string();
    assert_eq!(d.app.handle(authorized(&owner)).await.status(), 202);
    assert_eq!(d.drain().await.applied, 1);
    let body = batch(vec![
        created("emp-1", "Taken Phone", Some("+7 903 111-22-33")),
        created("emp-2", "Fine", None),
    ]);
    assert_eq!(d.app.handle(authorized(&body)).await.status(), 202);
    let counts = d.drain().await;
    assert_eq!(
        (counts.applied, counts.refused, counts.retried),
        (1, 1, 0),
        "{counts:?}"
    );
    assert!(d.fake.user("emp-2").is_some() && d.fake.user("emp-1").is_none());
    assert_eq!(d.dead_letters().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_keeps_failing_is_dead_lettered_then_redriven_once_fixed() {
    let d = deployment("poison", 3).await;
    // An API key Wazzup refuses: every try fails until an operator fixes it.
    d.fake.set_api_keys(&["rotated-key"]);
    let body = created("emp-9", "Nine", None).to_string();
    assert_eq!(d.app.handle(authorized(&body)).await.status(), 202);
    let counts = d.drain().await;
    assert_eq!(counts.applied, 0);
    assert_eq!(counts.dead_lettered, 1, "{counts:?}");
    assert_eq!(d.dead_letters().await, 1);
    assert!(d.fake.user("emp-9").is_none());

    d.fake.set_api_keys(&[API_KEY]);
    let report = DeadLetters::new(d.moto.sqs(), &d.dlq_url)
        .redrive(&d.queue, 100)
        .await
        .unwrap();
    assert_eq!((report.moved, report.left.len()), (1, 0));
    let counts = d.drain().await;
    assert_eq!(counts.applied, 1, "{counts:?}");
    assert_eq!(d.fake.user("emp-9").unwrap().name, "Nine");
    assert_eq!(d.dead_letters().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ingests_and_two_workers_stay_under_the_rate_limit() {
    let moto = Moto::start();
    let (queue_url, _) = moto.fifo_queue("rate", 100).await;
    moto.state_table("rate").await;
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    // Each worker container may send 4 calls per second; two of them, at most 8 together.
    let (limit, window) = (4, Duration::from_secs(1));
    let service = || {
        let mut config = wazzup_user_sync::wazzup::ClientConfig::new(fake.url().parse().unwrap());
        config.retry = one_try();
        config.rate_limit = limit;
        config.rate_window = window;
        SyncService::new(
            wazzup_user_sync::wazzup::WazzupClient::new(config).unwrap(),
            Arc::new(StaticCredentials::new(credentials(API_KEY))),
            service_settings(&settings()),
        )
        .with_queue(Arc::new(SqsQueue::new(moto.sqs(), queue_url.clone())))
        .with_state(Arc::new(DynamoStateStore::new(moto.dynamodb(), "rate")))
    };
    let app = Arc::new(App::with_service(settings(), service()));
    let ingests: Vec<_> = (0..300)
        .map(|i| {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                let body = created(&format!("emp-{i:03}"), "N", None).to_string();
                app.handle(authorized(&body)).await.status()
            })
        })
        .collect();
    for ingest in ingests {
        assert_eq!(ingest.await.unwrap(), 202);
    }
    let (first, second) = (
        Worker::new(Arc::new(service()), 100),
        Worker::new(Arc::new(service()), 100),
    );
    let esm = |worker| Esm {
        sqs: moto.sqs(),
        url: &queue_url,
        worker,
        worker_delays: false,
    };
    let (one, two) = (esm(&first), esm(&second));
    let (a, b) = tokio::join!(one.drain(), two.drain());
    assert_eq!(a.applied + b.applied, 300, "{a:?} {b:?}");
    assert_eq!(fake.users().len(), 300);
    let times: Vec<Instant> = fake.requests().iter().map(|r| r.received_at).collect();
    let busiest = times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t < *start + window)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(times.len() >= 30, "{} calls", times.len());
    assert!(
        busiest <= 2 * limit,
        "{busiest} calls in one {window:?} window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_table_grants_one_lease_and_never_moves_a_record_back() {
    use wazzup_user_sync::domain::{SourceTime, UserId};
    use wazzup_user_sync::service::{Applied, Claim, StateStore};

    let moto = Moto::start();
    moto.state_table("leases").await;
    let store = DynamoStateStore::new(moto.dynamodb(), "leases");
    let id = UserId::parse("emp-1").unwrap();
    let ids = std::slice::from_ref(&id);
    let now = SourceTime::now().millis();
    let later = SourceTime::from_millis(now + 60_000);
    let at = |ms, deleted| Applied {
        at: SourceTime::from_millis(ms),
        deleted,
    };

    assert_eq!(
        store.claim(&id, "one", later).await.unwrap(),
        Claim::Granted
    );
    assert_eq!(store.claim(&id, "two", later).await.unwrap(), Claim::Busy);
    // A claim alone records nothing; only the holder records, and that ends its lease.
    assert!(store.last_applied(ids).await.unwrap().is_empty());
    store.record(&id, at(20, true), "two").await.unwrap();
    assert!(store.last_applied(ids).await.unwrap().is_empty());
    store.record(&id, at(20, true), "one").await.unwrap();
    assert_eq!(store.last_applied(ids).await.unwrap()[&id], at(20, true));

    // Never back in time, even for the lease's holder.
    assert_eq!(
        store.claim(&id, "two", later).await.unwrap(),
        Claim::Granted
    );
    store.record(&id, at(10, false), "two").await.unwrap();
    assert_eq!(store.last_applied(ids).await.unwrap()[&id], at(20, true));
    store.release(&id, "two").await.unwrap();

    // A lease given back, or one that ended, lets the next claimant in.
    let ended = SourceTime::from_millis(now - 1);
    assert_eq!(
        store.claim(&id, "three", ended).await.unwrap(),
        Claim::Granted
    );
    assert_eq!(
        store.claim(&id, "four", later).await.unwrap(),
        Claim::Granted
    );
    store.release(&id, "three").await.unwrap();
    assert_eq!(store.claim(&id, "five", later).await.unwrap(), Claim::Busy);
    store.record(&id, at(30, false), "four").await.unwrap();
    assert_eq!(store.last_applied(ids).await.unwrap()[&id], at(30, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_moves_at_most_what_it_is_asked_and_leaves_what_it_cannot_read() {
    use wazzup_user_sync::adapters::sqs::group_of;
    use wazzup_user_sync::domain::{Change, SourceTime, SyncEvent, UserId};
    use wazzup_user_sync::service::ChangeQueue;

    let moto = Moto::start();
    let (queue_url, dlq_url) = moto.fifo_queue("redrive", 3).await;
    let change = |id: &str, key: &str| Change {
        event: SyncEvent::Delete(UserId::parse(id).unwrap()),
        at: SourceTime::from_unix_seconds(1_795_413_600),
        key: key.into(),
        source: None,
    };
    let dead = SqsQueue::new(moto.sqs(), &dlq_url);
    dead.send(&[change("emp-1", "k1"), change("emp-2", "k2")])
        .await
        .unwrap();
    // emp-3's first message was written by a newer version; its second waits behind it.
    moto.sqs()
        .send_message()
        .queue_url(&dlq_url)
        .message_body("written by a newer version")
        .message_group_id(group_of(&UserId::parse("emp-3").unwrap()))
        .message_deduplication_id("k3")
        .send()
        .await
        .unwrap();
    dead.send(&[change("emp-3", "k4")]).await.unwrap();
    let letters = DeadLetters::new(moto.sqs(), &dlq_url);
    let queue = SqsQueue::new(moto.sqs(), &queue_url);
    let waiting = || async {
        let attributes = moto
            .sqs()
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        attributes
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap()
    };

    let first = letters.redrive(&queue, 1).await.unwrap();
    assert_eq!(first.moved, 1, "{first:?}");
    // What was received and not moved is visible again at once.
    assert_eq!(waiting().await, 3);

    let rest = letters.redrive(&queue, 100).await.unwrap();
    assert_eq!(rest.moved, 1, "{rest:?}");
    assert_eq!(rest.left.len(), 1, "{rest:?}");
    assert_eq!(waiting().await, 2, "emp-3's messages stay, in order");
    let left = letters.peek(10).await.unwrap();
    let unreadable: Vec<&str> = left
        .iter()
        .filter(|letter| letter.change.is_none())
        .map(|letter| letter.message_id.as_str())
        .collect();
    assert_eq!(unreadable, [rest.left[0].as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_ten_second_outage_every_change_is_applied_within_a_minute() {
    let d = deployment("blip", 40).await;
    let esm = Esm {
        worker_delays: true,
        ..d.esm()
    };
    d.fake.set_outage(true);
    for i in 0..30 {
        let body = created(&format!("emp-{i:02}"), "Blip", None).to_string();
        assert_eq!(d.app.handle(authorized(&body)).await.status(), 202);
    }
    // Ten seconds of Wazzup answering 503: the worker's tries fail, each message coming back
    // after 2.5 to 5 s, then 5 to 10 s, then 10 to 20 s (the queue's own timeout is 900 s).
    let mut totals = WorkerCounts::default();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(10) {
        esm.round(&mut totals).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(totals.retried >= 30 && totals.applied == 0, "{totals:?}");
    d.fake.set_outage(false);
    let recovered = Instant::now();
    while d.fake.users().len() < 30 && recovered.elapsed() < Duration::from_secs(90) {
        esm.round(&mut totals).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let took = recovered.elapsed();
    println!(
        "30 changes queued during a 10-s outage: all applied {:.1} s after Wazzup recovered \
         ({} tries failed before)",
        took.as_secs_f64(),
        totals.retried
    );
    assert_eq!(d.fake.users().len(), 30, "{totals:?}");
    // About the third delay's longest (20 s), far under a minute (and the queue's 900 s).
    assert!(took < Duration::from_secs(60), "{took:?}");
    assert_eq!(d.dead_letters().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_senders_late_retry_of_an_older_change_never_undoes_the_newer_one() {
    let d = deployment("retry", 10).await;
    let renamed = |name: &str| {
        json!({"event": "employee.updated", "employee": {"id": "emp-1", "name": name}}).to_string()
    };
    // A: an undated change, signed 4 minutes ago; B, the newer one, 2 minutes ago.
    let older = renamed("Old");
    let sent = d
        .app
        .handle(signed_with_id("msg_older", &older, now() - 240))
        .await;
    assert_eq!(sent.status(), 202);
    d.drain().await;
    let newer = renamed("New");
    let sent = d
        .app
        .handle(signed_with_id("msg_newer", &newer, now() - 120))
        .await;
    assert_eq!(sent.status(), 202);
    d.drain().await;
    assert_eq!(d.fake.user("emp-1").unwrap().name, "New");
    // A's retry, re-signed now, after SQS's deduplication window (moto forgets a deduplication
    // id once its message is deleted, as SQS does after five minutes): a duplicate.
    let retry = d
        .app
        .handle(signed_with_id("msg_older", &older, now()))
        .await;
    let answer = json_body(&retry);
    assert_eq!(retry.status(), 200, "{answer}");
    assert_eq!(answer["status"], "duplicate", "{answer}");
    assert_eq!(answer["warnings"][0]["code"], "DUPLICATE", "{answer}");
    d.drain().await;
    assert_eq!(
        d.fake.user("emp-1").unwrap().name,
        "New",
        "the retry undid it"
    );
}

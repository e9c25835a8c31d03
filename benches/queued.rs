//! Queued mode's own cost, printed as figures (`cargo bench --bench queued`; release build,
//! loopback only): the HTTP function accepting a change (authentication, validation, the
//! queue's send), as latency and CPU per event, and the worker's throughput in changes per
//! second against the loopback Wazzup fake. The queue and the state store are the in-process
//! ones, so the figures are this code's, not SQS's or DynamoDB's round trips (about 5 ms each
//! from Lambda, which the ingest pays once per request and the worker three times per batch:
//! the leases, the records' read, the records, each in parallel over the batch's employees).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use wazzup_testkit::fake::WazzupFake;
use wazzup_testkit::proc_cpu;
use wazzup_user_sync::adapters::memory::{MemoryQueue, MemoryStateStore};
use wazzup_user_sync::adapters::sqs::group_of;
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::{StaticCredentials, parse_secret_value};
use wazzup_user_sync::domain::{PhoneRegion, Scope};
use wazzup_user_sync::handler::{App, Settings, service_settings};
use wazzup_user_sync::service::{ChangeQueue, StateStore, SyncService};
use wazzup_user_sync::wazzup::{ClientConfig, WazzupClient};
use wazzup_user_sync::worker::Worker;

const KEY: &str = "bench-key";

/// CPU time of this process so far (user + system).
fn cpu_time() -> Duration {
    proc_cpu::cpu_time("self")
        .map(|cpu| cpu.total())
        .unwrap_or_default()
}

fn settings() -> Settings {
    Settings {
        allow_unauthenticated: false,
        max_body_bytes: 1024 * 1024,
        max_events: 1000,
        request_budget: Duration::from_secs(8),
        phone_region: PhoneRegion::default(),
        sync: SyncSettings {
            scope: Scope::All,
            max_delete_share: 0.10,
        },
        adopt_on_conflict: true,
        message_days: 7,
        seats: Default::default(),
    }
}

fn service(url: &str, queue: &Arc<MemoryQueue>, state: &Arc<MemoryStateStore>) -> SyncService {
    let credentials =
        parse_secret_value(&json!({"apiKey": KEY, "webhookToken": "bench-token"}).to_string())
            .expect("credentials");
    let mut config = ClientConfig::new(url.parse().expect("url"));
    // The bench measures this code, not the rate limiter's waits.
    config.rate_limit = 100_000;
    SyncService::new(
        WazzupClient::new(config).expect("client"),
        Arc::new(StaticCredentials::new(credentials)),
        service_settings(&settings()),
    )
    .with_queue(Arc::clone(queue) as Arc<dyn ChangeQueue>)
    .with_state(Arc::clone(state) as Arc<dyn StateStore>)
}

fn request(body: &str) -> lambda_http::Request {
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": "Bearer bench-token"},
        "requestContext": {"accountId": "anonymous", "apiId": "bench", "domainName": "bench.lambda-url.eu-central-1.on.aws",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "24/Nov/2026:06:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fake = runtime.block_on(WazzupFake::start(&[KEY])).expect("fake");
    let queue = Arc::new(MemoryQueue::default());
    let state = Arc::new(MemoryStateStore::default());
    let app = App::with_service(settings(), service(&fake.url(), &queue, &state));

    // Ingest: one change per request, as Pipedrive sends them.
    let events = 5000;
    let bodies: Vec<String> = (0..events)
        .map(|i| {
            json!({"event": "employee.updated", "occurredAt": format!("2026-11-23T{:02}:{:02}:{:02}Z", 6 + i / 3600, (i / 60) % 60, i % 60),
                   "employee": {"id": format!("emp-{:04}", i % 1000), "name": format!("Employee {i}"),
                                "phone": format!("+7 926 {:03}-{:02}-{:02}", i % 1000, (i / 7) % 100, i % 97)}})
            .to_string()
        })
        .collect();
    // Warm the phone library once, as a container's first request does.
    let warm = json!({"event": "employee.created", "employee": {"id": "warm", "name": "W", "phone": "+7 926 000-00-01"}});
    runtime.block_on(app.handle(request(&warm.to_string())));
    let _ = queue.take(usize::MAX);
    let mut latencies = Vec::with_capacity(events);
    let cpu_before = cpu_time();
    let started = Instant::now();
    for body in &bodies {
        let request = request(body);
        let begun = Instant::now();
        let response = runtime.block_on(app.handle(request));
        latencies.push(begun.elapsed());
        assert_eq!(response.status(), 202);
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    latencies.sort();
    println!(
        "ingest: {events} requests of one change: latency median {:.3} ms, p99 {:.3} ms, max {:.3} ms; \
         CPU {:.1} us per event ({:.0} requests/s on one thread)",
        latencies[events / 2].as_secs_f64() * 1e3,
        latencies[events * 99 / 100].as_secs_f64() * 1e3,
        latencies[events - 1].as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e6 / events as f64,
        events as f64 / wall.as_secs_f64()
    );

    // The worker: batches of 10 from the queue, as the event source mapping hands them out.
    let worker = Worker::new(Arc::new(service(&fake.url(), &queue, &state)), 30);
    assert_eq!(queue.len(), events);
    let cpu_before = cpu_time();
    let started = Instant::now();
    let (mut applied, mut stale, mut sequence) = (0, 0, 0u64);
    while !queue.is_empty() {
        let changes = queue.take(10);
        let records: Vec<_> = changes
            .iter()
            .map(|change| {
                sequence += 1;
                json!({"messageId": format!("m-{sequence}"), "body": serde_json::to_string(change).expect("json"),
                       "attributes": {"MessageGroupId": group_of(change.id()), "ApproximateReceiveCount": "1"}})
            })
            .collect();
        let event = serde_json::from_value(json!({ "Records": records })).expect("an SQS event");
        let (response, counts) = runtime.block_on(worker.handle_counted(event, None));
        assert!(response.batch_item_failures.is_empty());
        applied += counts.applied;
        stale += counts.stale;
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    println!(
        "worker: {events} changes for 1,000 employees in batches of 10: {:.0} changes/s \
         ({applied} applied, {stale} stale; {} Wazzup calls), CPU {:.1} us per change",
        events as f64 / wall.as_secs_f64(),
        fake.requests().len(),
        cpu.as_secs_f64() * 1e6 / events as f64
    );
}

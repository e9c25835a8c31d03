//! Throughput figures, printed (run with `cargo bench --bench sync`): how long the function
//! takes for the work a large company sends it, against the loopback Wazzup fake, so that the
//! time measured is the function's and the fake's, not a network's.
//!
//! - parsing and planning a 1,000-event webhook batch (no I/O);
//! - a 1,000-event batch through the whole handler (10 upserts of 100);
//! - a full-sync import of 1,000 employees into an empty Wazzup, then the no-op second run.
//!
//! Each figure is the median of several runs, with the minimum and maximum.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use url::Url;
use wazzup_testkit::fake::WazzupFake;
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::{Credentials, StaticCredentials, parse_secret_value};
use wazzup_user_sync::domain::{EmployeeRow, PhoneRegion, Scope};
use wazzup_user_sync::handler::{App, Settings};
use wazzup_user_sync::plan::plan;
use wazzup_user_sync::service::{FullSyncRequest, ServiceSettings, SyncService};
use wazzup_user_sync::sources::generic::format as generic;
use wazzup_user_sync::wazzup::{ClientConfig, WazzupClient};

const KEY: &str = "bench-key";
const TOKEN: &str = "bench-token";

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let median = samples[samples.len() / 2];
    println!(
        "{what:<58} median {:>9.3} ms   min {:>9.3} ms   max {:>9.3} ms   ({} runs)",
        median.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
        samples.len()
    );
}

fn batch_body(n: usize) -> String {
    let events: Vec<_> = (0..n)
        .map(|i| json!({"event": "employee.created", "employee": {"id": format!("crm-{i:04}"), "name": format!("Employee {i}"), "phone": format!("+7 926 {:03}-{:02}-{:02}", i % 1000, (i / 7) % 100, i % 97)}}))
        .collect();
    json!({ "events": events }).to_string()
}

fn credentials() -> Credentials {
    parse_secret_value(&json!({"apiKey": KEY, "webhookToken": TOKEN}).to_string())
        .expect("credentials")
}

fn client(url: &str) -> WazzupClient {
    WazzupClient::new(ClientConfig::new(Url::parse(url).expect("fake url"))).expect("client")
}

fn app(url: &str) -> App {
    App::new(
        Settings {
            allow_unauthenticated: false,
            max_body_bytes: 4 * 1024 * 1024,
            max_events: 1000,
            request_budget: Duration::from_secs(8),
            phone_region: PhoneRegion::default(),
            sync: SyncSettings::default(),
            adopt_on_conflict: true,
            message_days: 7,
            seats: Default::default(),
        },
        Arc::new(StaticCredentials::new(credentials())),
        client(url),
    )
}

fn request(body: &str) -> lambda_http::Request {
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": format!("Bearer {TOKEN}")},
        "requestContext": {"accountId": "anonymous", "apiId": "bench", "domainName": "bench.lambda-url.eu-central-1.on.aws",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "23/Nov/2026:06:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event")
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let body = batch_body(1000);

    // Warm the phone library's global state, which costs a few ms once per container.
    let _ = generic::parse(
        body.as_bytes(),
        PhoneRegion::default(),
        1000,
        &Default::default(),
    );
    let samples = (0..30)
        .map(|_| {
            let started = Instant::now();
            let batch = generic::parse(
                body.as_bytes(),
                PhoneRegion::default(),
                1000,
                &Default::default(),
            )
            .expect("batch");
            let planned = plan(batch.events);
            assert_eq!(planned.upserts.len(), 1000);
            started.elapsed()
        })
        .collect();
    report("parse + plan, 1,000 events (phones included)", samples);

    runtime.block_on(async {
        let samples = {
            let mut samples = Vec::new();
            for _ in 0..10 {
                let fake = WazzupFake::start(&[KEY]).await.expect("fake");
                let app = app(&fake.url());
                let started = Instant::now();
                let response = app.handle(request(&body)).await;
                samples.push(started.elapsed());
                assert_eq!(response.status(), 200);
                assert_eq!(fake.requests().len(), 10, "10 upserts of 100");
            }
            samples
        };
        report(
            "webhook batch of 1,000 through the handler (10 upserts)",
            samples,
        );

        let rows: Vec<EmployeeRow> = (0..1000)
            .map(|i| EmployeeRow {
                id: format!("crm-{i:04}"),
                name: Some(format!("Employee {i}")),
                phone: None,
                wazzup_id: None,
            })
            .collect();
        let mut import = Vec::new();
        let mut noop = Vec::new();
        for _ in 0..5 {
            let fake = WazzupFake::start(&[KEY]).await.expect("fake");
            let service = SyncService::new(
                client(&fake.url()),
                Arc::new(StaticCredentials::new(credentials())),
                ServiceSettings {
                    phone_region: PhoneRegion::default(),
                    sync: SyncSettings {
                        scope: Scope::Prefix("crm-".into()),
                        max_delete_share: 0.10,
                    },
                    adopt_on_conflict: true,
                    message_days: 7,
                },
            );
            let roster = service
                .roster(rows.iter().cloned().enumerate())
                .expect("valid rows");
            let mut session = service.session(None).await.expect("credentials");
            let request = FullSyncRequest::default();
            let started = Instant::now();
            service
                .full_sync(&mut session, &roster, request)
                .await
                .expect("import");
            import.push(started.elapsed());
            let started = Instant::now();
            let report = service
                .full_sync(&mut session, &roster, request)
                .await
                .expect("no-op");
            noop.push(started.elapsed());
            assert!(report.plan.is_noop());
        }
        report("full sync: import 1,000 into an empty Wazzup", import);
        report(
            "full sync: second run, 1,000 unchanged (one list read)",
            noop,
        );
    });
}

//! What an attacker's request costs the function, printed as figures (run it with
//! `cargo bench --bench hardening`; release build, loopback only, bounded in count and time):
//! - an unauthenticated request with 1, 10 and 1,000 signature candidates over a 1 MiB body;
//! - the worst SCIM filters and PATCH bodies within the limits and within the size limit;
//! - a 1 MiB body of invalid events: peak memory (every allocation counted) and answer size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::config::SyncSettings;
use wazzup_user_sync::credentials::{StaticCredentials, parse_secret_value};
use wazzup_user_sync::domain::{PhoneRegion, Scope};
use wazzup_user_sync::handler::{App, Settings};
use wazzup_user_sync::wazzup::{ClientConfig, WazzupClient};

/// Counts the bytes allocated now and the most at any moment since the last reset.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the layout is passed on to the system allocator unchanged.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the pointer came from `alloc` above with this layout.
        unsafe { System.dealloc(pointer, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KEY: &str = "bench-key";
const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn app(url: &str) -> App {
    let credentials = parse_secret_value(
        &json!({"apiKey": KEY, "webhookToken": "bench-token", "webhookSecret": SIGNING_SECRET,
                "scimToken": "bench-scim"})
        .to_string(),
    )
    .expect("credentials");
    let client = WazzupClient::new(ClientConfig::new(url.parse().expect("url"))).expect("client");
    App::new(
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
        },
        Arc::new(StaticCredentials::new(credentials)),
        client,
    )
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": headers,
        "requestContext": {"accountId": "anonymous", "apiId": "bench", "domainName": "bench.lambda-url.eu-central-1.on.aws",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "24/Nov/2026:06:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event")
}

fn size(response: &Response<Body>) -> usize {
    let bytes: &[u8] = response.body().as_ref();
    bytes.len()
}

/// Median, min and max of `runs` timings of `make` -> handle, and the last answer.
fn time(
    runtime: &tokio::runtime::Runtime,
    app: &App,
    runs: usize,
    make: &dyn Fn() -> Request,
) -> (Duration, Duration, Duration, Response<Body>) {
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let request = make();
        let started = Instant::now();
        let response = runtime.block_on(app.handle(request));
        samples.push(started.elapsed());
        last = Some(response);
    }
    samples.sort();
    let response = last.expect("at least one run");
    (samples[runs / 2], samples[0], samples[runs - 1], response)
}

fn print(
    what: &str,
    (median, min, max, response): &(Duration, Duration, Duration, Response<Body>),
) {
    println!(
        "{what:<64} median {:>8.3} ms  min {:>8.3}  max {:>8.3}  -> {} ({} bytes)",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        response.status().as_u16(),
        size(response)
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fake = runtime.block_on(WazzupFake::start(&[KEY])).expect("fake");
    fake.insert_user(FakeUser {
        id: "u1".into(),
        name: "U".into(),
        phone: None,
    });
    let app = app(&fake.url());
    let body = "x".repeat(1024 * 1024 - 16);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();

    println!("Unauthenticated requests, 1 MiB body, a wrong signature:");
    for candidates in [1usize, 10, 1000] {
        let header = vec!["v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; candidates].join(" ");
        let make = || {
            request(
                "POST",
                "/",
                &[
                    ("content-type", "application/json"),
                    ("webhook-id", "msg_bench"),
                    ("webhook-timestamp", &now),
                    ("webhook-signature", &header),
                ],
                &body,
            )
        };
        print(
            &format!("  {candidates} candidate(s)"),
            &time(&runtime, &app, 15, &make),
        );
    }

    println!("SCIM filters and PATCH bodies (the worst within the limits, and over them):");
    let scim = [
        ("authorization", "Bearer bench-scim"),
        ("content-type", "application/scim+json"),
    ];
    let search = |filter: String| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter})
            .to_string()
    };
    let twenty_terms = vec!["displayName co \"é\""; 20].join(" or ");
    let deep = format!("{}displayName sw \"Я\"{}", "not (".repeat(5), ")".repeat(5));
    let megabyte_chain = vec!["userName eq \"x\""; 40_000].join(" or ");
    let megabyte_nest = format!("{}a pr{}", "(".repeat(480_000), ")".repeat(480_000));
    for (what, filter) in [
        ("  filter: 20 terms (the limit), multi-byte", twenty_terms),
        ("  filter: 5 levels of not (the limit)", deep),
        ("  filter: 1 MiB chain of or (refused)", megabyte_chain),
        ("  filter: 1 MiB of nesting (refused)", megabyte_nest),
    ] {
        let text = search(filter);
        let make = || request("POST", "/scim/v2/Users/.search", &scim, &text);
        print(what, &time(&runtime, &app, 9, &make));
    }
    let patch = |operations: Value| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
            .to_string()
    };
    let hundred: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("attr{i}"), json!("é".repeat(50))))
        .collect();
    let big_array: Vec<Value> = (0..15_000)
        .map(|i| json!({"value": format!("+7 926 {i:07}"), "type": "work", "primary": i % 2 == 0}))
        .collect();
    let filtered: Vec<Value> = (0..99)
        .map(|_| json!({"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+7 926 333-45-67"}))
        .chain(std::iter::once(json!({"op": "add", "path": "phoneNumbers", "value": big_array})))
        .collect();
    let too_many: serde_json::Map<String, Value> =
        (0..30_000).map(|i| (format!("a{i}"), json!(i))).collect();
    for (what, body) in [
        (
            "  PATCH: 100 path-less attributes (the limit)",
            patch(json!([{"op": "replace", "value": hundred}])),
        ),
        (
            "  PATCH: 15,000 phones then 99 filtered replaces",
            patch(json!(filtered)),
        ),
        (
            "  PATCH: 30,000 path-less attributes (refused)",
            patch(json!([{"op": "replace", "value": too_many}])),
        ),
    ] {
        let make = || request("PATCH", "/scim/v2/Users/u1", &scim, &body);
        print(
            &format!("{what} [{} KiB]", body.len() / 1024),
            &time(&runtime, &app, 9, &make),
        );
    }

    println!("A 1 MiB body of invalid events (peak memory counts every allocation):");
    let long_id = "i".repeat(950);
    let at_limit = json!({"events": (0..1000).map(|_| json!({"event": "employee.created", "employee": {"id": long_id}})).collect::<Vec<_>>()}).to_string();
    let tiny = json!({"events": (0..28_000).map(|_| json!({"event": "x", "employee": {}})).collect::<Vec<_>>()}).to_string();
    let objects = format!("{{\"events\":[{}]}}", vec!["{}"; 340_000].join(","));
    let token = [
        ("content-type", "application/json"),
        ("authorization", "Bearer bench-token"),
    ];
    for (what, body) in [
        (
            "  1,000 events (the limit) with 950-character ids",
            &at_limit,
        ),
        ("  28,000 small invalid events (over the limit)", &tiny),
        ("  340,000 empty objects (over the limit)", &objects),
    ] {
        assert!(body.len() <= 1024 * 1024, "{what}: {} bytes", body.len());
        let request = request("POST", "/", &token, body);
        let before = CURRENT.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let started = Instant::now();
        let response = runtime.block_on(app.handle(request));
        let elapsed = started.elapsed();
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
        println!(
            "{what:<64} {:>8.3} ms  peak {:>6.1} MiB above the idle heap  -> {} ({} bytes) [body {} KiB]",
            elapsed.as_secs_f64() * 1e3,
            peak as f64 / (1024.0 * 1024.0),
            response.status().as_u16(),
            size(&response),
            body.len() / 1024
        );
    }
}

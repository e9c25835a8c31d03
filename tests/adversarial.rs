//! Adversarial property tests: every parser of untrusted bytes (the generic webhook, Pipedrive's
//! JSON, Bitrix24's form, SCIM's filters, PATCH and JSON bodies, the Standard Webhooks headers),
//! fed through the real handler with inputs built to hurt: deep nesting, long chains, multi-byte
//! text, huge numbers, many parts. Each answer must be a clear client error (or a success for
//! what happens to be valid), never a 5xx, a panic or an abort, and come within a bound.
//!
//! The default run is short. A nightly run asks for more cases:
//! `WAZZUP_PROPTEST_CASES=5000 cargo test --release --test adversarial`.

mod common;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use common::*;
use lambda_http::{Body, Response};
use proptest::prelude::*;
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, WazzupFake};
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::handler::App;

/// How long one request may take, in the slowest build: generous, to catch work that grows out
/// of proportion with the input (seconds), not to measure speed (the benches do).
const BOUND: Duration = Duration::from_secs(2);

fn cases() -> u32 {
    std::env::var("WAZZUP_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48)
}

/// One runtime, one fake and one app for every case.
struct World {
    runtime: tokio::runtime::Runtime,
    app: App,
    _fake: WazzupFake,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (fake, app) = runtime.block_on(async {
        let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
        fake.insert_user(FakeUser {
            id: "u1".into(),
            name: "U".into(),
            phone: None,
        });
        let credentials = credentials_with(
            API_KEY,
            json!({
                "scimToken": "test-scim-token",
                "pipedriveHttpUser": "pd",
                "pipedriveHttpPassword": "pw",
                "bitrix24ApplicationToken": "b24",
            }),
        );
        let app = app_with(&fake.url(), Arc::new(StaticCredentials::new(credentials)));
        (fake, app)
    });
    World {
        runtime,
        app,
        _fake: fake,
    }
});

/// Sends the request, and checks the answer is a JSON client error or success, in time.
fn answer(request: lambda_http::Request) -> (u16, Value) {
    let world = &*WORLD;
    let started = Instant::now();
    let response: Response<Body> = world.runtime.block_on(world.app.handle(request));
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    assert!(elapsed < BOUND, "answered {status} after {elapsed:?}");
    assert!(
        status < 500,
        "a server error for a caller's input: {status}"
    );
    let bytes: &[u8] = response.body().as_ref();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("answer not JSON ({e})"))
    };
    if status >= 400 {
        let explained = body.get("error").is_some() || body.get("detail").is_some();
        assert!(explained, "a {status} without an explanation: {body}");
    }
    (status, body)
}

/// Text that hurts: multi-byte characters, controls, quotes, brackets, dots and percents.
fn nasty_text(max: usize) -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("é".to_string()),
        Just("я".to_string()),
        Just("😀".to_string()),
        Just("\u{0}".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("..".to_string()),
        Just("%2e".to_string()),
        Just("/".to_string()),
        Just(" ".to_string()),
        Just(" and ".to_string()),
        Just(" or ".to_string()),
        Just("not".to_string()),
        Just(" eq ".to_string()),
        Just("userName".to_string()),
        Just("urn:x:".to_string()),
        "[a-z]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(pieces, 0..max).prop_map(|parts| parts.concat())
}

/// JSON values that hurt: deep nesting, huge numbers, long arrays, nasty strings.
fn nasty_json() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..3000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        (1usize..3000).prop_map(|depth| format!(
            "{}1{}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        )),
        Just("1e400".to_string()),
        Just("-0".to_string()),
        Just("18446744073709551616".to_string()),
        Just("123456789012345678901234567890".to_string()),
        nasty_text(40).prop_map(|t| Value::String(t).to_string()),
        (0usize..5000).prop_map(|n| format!("[{}]", vec!["0"; n].join(","))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generic_bodies(
        envelope in prop_oneof![Just(0u8), Just(1), Just(2)],
        id in prop_oneof![nasty_json(), nasty_text(60).prop_map(|t| Value::String(t).to_string())],
        name in nasty_json(),
        phone in nasty_json(),
        copies in 1usize..50,
    ) {
        let event = format!(r#"{{"event":"employee.created","employee":{{"id":{id},"name":{name},"phone":{phone}}}}}"#);
        let body = match envelope {
            0 => event,
            1 => format!(r#"{{"events":[{}]}}"#, vec![event; copies].join(",")),
            _ => format!(r#"{{"events":{name}}}"#),
        };
        let (status, _) = answer(authorized(&body));
        prop_assert!([200, 400, 413, 422].contains(&status), "{status}");
    }

    #[test]
    fn pipedrive_bodies(
        entity in prop_oneof![Just("user".to_string()), nasty_text(20)],
        action in prop_oneof![Just("change".to_string()), Just("delete".to_string()), nasty_text(20)],
        data in nasty_json(),
        id in nasty_json(),
    ) {
        let body = format!(
            r#"{{"meta":{{"action":{},"entity":{},"entity_id":{id}}},"data":{data},"previous":{data}}}"#,
            Value::String(action), Value::String(entity)
        );
        let basic = ("authorization", "Basic cGQ6cHc=");
        let (status, _) = answer(function_url_request("POST", "/pipedrive", &[JSON, basic], &body));
        prop_assert!([200, 400, 422].contains(&status), "{status}");
    }

    #[test]
    fn bitrix24_forms(
        fields in proptest::collection::vec((nasty_text(12), nasty_text(30)), 0..300),
        event in prop_oneof![Just("ONUSERADD".to_string()), nasty_text(12)],
    ) {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("event", &event);
        form.append_pair("auth[application_token]", "b24");
        for (key, value) in &fields {
            form.append_pair(key, value);
        }
        let body = form.finish();
        let content = ("content-type", "application/x-www-form-urlencoded");
        let (status, _) = answer(function_url_request("POST", "/bitrix24", &[content], &body));
        prop_assert!([200, 400, 422].contains(&status), "{status}");
    }

    #[test]
    fn scim_filters(filter in prop_oneof![
        nasty_text(300),
        (1usize..2000).prop_map(|n| format!("{}userName eq \"x\"{}", "(".repeat(n), ")".repeat(n))),
        (1usize..2000).prop_map(|n| vec!["userName eq \"x\""; n].join(" and ")),
        (1usize..500).prop_map(|n| format!("emails[{}type eq \"work\"{}]", "not (".repeat(n), ")".repeat(n))),
    ]) {
        let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
        let scim = [("authorization", "Bearer test-scim-token"), JSON];
        let (status, _) = answer(function_url_request("POST", "/scim/v2/Users/.search", &scim, &search.to_string()));
        prop_assert!([200, 400].contains(&status), "{status}");
    }

    #[test]
    fn scim_patches(
        operations in proptest::collection::vec(
            (
                prop_oneof![Just("add".to_string()), Just("Replace".to_string()), Just("remove".to_string()), nasty_text(8)],
                proptest::option::of(prop_oneof![
                    nasty_text(60),
                    Just("phoneNumbers[type eq \"work\"].value".to_string()),
                    Just("name.givenName".to_string()),
                ]),
                nasty_json(),
            ),
            1..150,
        ),
    ) {
        let operations: Vec<Value> = operations
            .into_iter()
            .map(|(op, path, value)| {
                let value: Value = serde_json::from_str(&value).unwrap_or(Value::Null);
                match path {
                    Some(path) => json!({"op": op, "path": path, "value": value}),
                    None => json!({"op": op, "value": value}),
                }
            })
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
        let scim = [("authorization", "Bearer test-scim-token"), JSON];
        let (status, _) = answer(function_url_request("PATCH", "/scim/v2/Users/u1", &scim, &body.to_string()));
        prop_assert!([200, 400, 404, 409].contains(&status), "{status}");
    }

    #[test]
    fn scim_json_bodies(body in prop_oneof![
        nasty_json(),
        nasty_text(200),
        (nasty_text(40), nasty_json()).prop_map(|(name, value)| format!(r#"{{"userName":{},"name":{value},"phoneNumbers":{value}}}"#, Value::String(name))),
    ]) {
        let scim = [("authorization", "Bearer test-scim-token"), JSON];
        let (status, _) = answer(function_url_request("POST", "/scim/v2/Users", &scim, &body));
        prop_assert!([201, 400, 409].contains(&status), "{status}");
    }

    #[test]
    fn standard_webhooks_headers(
        id in nasty_text(30),
        timestamp in prop_oneof![
            any::<i64>().prop_map(|t| t.to_string()),
            Just("99999999999999999999999".to_string()),
            nasty_text(20),
        ],
        candidates in 0usize..2000,
        body in nasty_text(200),
    ) {
        let signature = vec!["v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; candidates].join(" ");
        // Header values are visible ASCII (what a client can send at all).
        let visible = |text: &str| -> String { text.chars().filter(char::is_ascii_graphic).collect() };
        let (id, timestamp) = (visible(&id), visible(&timestamp));
        let headers = [
            JSON,
            ("webhook-id", id.as_str()),
            ("webhook-timestamp", timestamp.as_str()),
            ("webhook-signature", signature.as_str()),
        ];
        let (status, _) = answer(function_url_request("POST", "/", &headers, &body));
        prop_assert_eq!(status, 401);
    }
}

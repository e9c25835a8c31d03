//! The SCIM 2.0 service provider through the real handler, against the loopback Wazzup fake:
//! the request sequences Okta's and Microsoft Entra ID's documentation publish (bodies in
//! `tests/fixtures/scim/`), then the protocol's edges one by one.

mod common;

use std::sync::Arc;

use common::*;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use wazzup_testkit::fake::{FakeUser, Fault, WazzupFake};
use wazzup_user_sync::credentials::StaticCredentials;
use wazzup_user_sync::handler::App;

const SCIM_TOKEN: &str = "test-scim-token";
const HOST: &str = "abcdefghij.lambda-url.eu-central-1.on.aws";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The fake, and the app with SCIM enabled (`token`) besides the usual webhook credentials.
async fn scim_app_with(token: Option<&str>) -> (WazzupFake, App) {
    let fake = WazzupFake::start(&[API_KEY]).await.unwrap();
    let credentials = credentials_with(API_KEY, json!({ "scimToken": token }));
    let app = app_with(&fake.url(), Arc::new(StaticCredentials::new(credentials)));
    (fake, app)
}

async fn scim_app() -> (WazzupFake, App) {
    scim_app_with(Some(SCIM_TOKEN)).await
}

/// A request as a Lambda Function URL delivers it; `target` is the path and the raw query.
fn request(method: &str, target: &str, headers: &[(&str, &str)], body: Option<&str>) -> Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut all: serde_json::Map<String, Value> = serde_json::Map::new();
    all.insert("host".into(), json!(HOST));
    for (k, v) in headers {
        all.insert(k.to_ascii_lowercase(), json!(v));
    }
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": HOST,
            "domainPrefix": "abcdefghij",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "Okta SCIM Client 1.0.0"},
            "requestId": "6f1d3c2a-0000-4000-8000-000000000002",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:06:00:00 +0000",
            "timeEpoch": 1_795_413_600_000u64
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

const AUTH: (&str, &str) = ("authorization", "Bearer test-scim-token");
const SCIM_JSON: (&str, &str) = ("content-type", "application/scim+json");

/// What the handler answered: status, the response, and the body as JSON (null when empty).
struct Answer {
    status: u16,
    response: Response<Body>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with this status (and `scimType`, when given).
    fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["schemas"], json!([ERROR_SCHEMA]), "{}", self.body);
        assert_eq!(self.body["status"], status.to_string());
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.body);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
    }

    fn ids(&self) -> Vec<String> {
        self.body["Resources"]
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {}", self.body))
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }
}

async fn send(app: &App, request: Request) -> Answer {
    let response = app.handle(request).await;
    let bytes: &[u8] = response.body().as_ref();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
    };
    Answer {
        status: response.status().as_u16(),
        response,
        body,
    }
}

/// An authorized SCIM call with an optional JSON body.
async fn call(app: &App, method: &str, target: &str, body: Option<&str>) -> Answer {
    send(app, request(method, target, &[AUTH, SCIM_JSON], body)).await
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/scim/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn writes(fake: &WazzupFake) -> usize {
    fake.requests().iter().filter(|r| r.method != "GET").count()
}

fn user(id: &str, name: &str, phone: Option<&str>) -> FakeUser {
    FakeUser {
        id: id.into(),
        name: name.into(),
        phone: phone.map(str::to_owned),
    }
}

#[tokio::test]
async fn okta_create_read_update_deactivate_and_reactivate() {
    let (fake, app) = scim_app().await;
    let id = "00ujl29u0le5T6Aj10h7";

    // Okta looks the user up by userName before creating it.
    let lookup = call(
        &app,
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        None,
    )
    .await;
    assert_eq!(lookup.status, 200);
    assert_eq!(lookup.header("content-type"), Some("application/scim+json"));
    assert_eq!(
        lookup.body,
        json!({"schemas": [LIST_SCHEMA], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );

    // Created under Okta's externalId; the name from given + family names.
    let created = call(
        &app,
        "POST",
        "/scim/v2/Users",
        Some(&fixture("okta-01-create-user.json")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let location = format!("https://{HOST}/scim/v2/Users/{id}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.body["id"], id);
    assert_eq!(created.body["userName"], "test.user@okta.local");
    assert_eq!(created.body["externalId"], id);
    assert_eq!(created.body["name"], json!({"formatted": "Test User"}));
    assert_eq!(created.body["displayName"], "Test User");
    assert_eq!(created.body["active"], true);
    assert_eq!(
        created.body["locale"], "en-US",
        "other attributes are echoed"
    );
    assert!(
        created.body.get("password").is_none(),
        "the password is never echoed"
    );
    assert_eq!(
        created.body["meta"],
        json!({"resourceType": "User", "location": location})
    );
    assert_eq!(fake.user(id), Some(user(id, "Test User", None)));

    // Okta's answer for an existing user: 409.
    let again = call(
        &app,
        "POST",
        "/scim/v2/Users",
        Some(&fixture("okta-01-create-user.json")),
    )
    .await;
    again.assert_error(409, Some("uniqueness"));

    let read = call(&app, "GET", &format!("/scim/v2/Users/{id}"), None).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.body,
        json!({
            "schemas": [USER_SCHEMA], "id": id, "externalId": id, "userName": id,
            "name": {"formatted": "Test User"}, "displayName": "Test User", "active": true,
            "meta": {"resourceType": "User", "location": location}
        })
    );
    let all = call(&app, "GET", "/scim/v2/Users?startIndex=1&count=100", None).await;
    assert_eq!(all.ids(), [id]);
    assert_eq!(all.body["totalResults"], 1);

    // PUT carries the whole user; the body's own id is Okta's example and is ignored.
    let put = call(
        &app,
        "PUT",
        &format!("/scim/v2/Users/{id}"),
        Some(&fixture("okta-02-update-user.json")),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["id"], id);
    assert_eq!(
        put.body["name"],
        json!({"formatted": "Another User", "middleName": "Excited"})
    );
    assert_eq!(fake.user(id).unwrap().name, "Another User");

    // Deactivation removes the user from Wazzup.
    let off = call(
        &app,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(&fixture("okta-03-deactivate-user.json")),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(off.body["id"], id);
    assert_eq!(fake.user(id), None);
    call(&app, "GET", &format!("/scim/v2/Users/{id}"), None)
        .await
        .assert_error(404, None);

    // Re-activation by PATCH carries no name: the user cannot be made again from it.
    let on = call(
        &app,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(&fixture("okta-04-activate-user.json")),
    )
    .await;
    on.assert_error(404, None);
    assert!(
        on.body["detail"]
            .as_str()
            .unwrap()
            .contains("PUT the whole user")
    );
    // A PUT (how Okta's app-wizard integrations re-activate) carries everything.
    let put = call(
        &app,
        "PUT",
        &format!("/scim/v2/Users/{id}"),
        Some(&fixture("okta-02-update-user.json")),
    )
    .await;
    assert_eq!(put.status, 200);
    assert_eq!(fake.user(id), Some(user(id, "Another User", None)));
}

#[tokio::test]
async fn entra_query_create_update_disable_and_delete() {
    let (fake, app) = scim_app().await;
    let id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
    let at = format!("/scim/v2/Users/{id}");

    let none = call(
        &app,
        "GET",
        &format!("/scim/v2/Users?filter=userName+eq+%22{user_name}%22"),
        None,
    )
    .await;
    assert_eq!(none.status, 200);
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));

    let created = call(
        &app,
        "POST",
        "/scim/v2/Users",
        Some(&fixture("entra-01-create-user.json")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["id"], id);
    assert_eq!(created.body["userName"], user_name);
    assert_eq!(
        created.body["name"],
        json!({"formatted": "givenName familyName"})
    );
    assert_eq!(
        created.body["schemas"],
        json!([USER_SCHEMA]),
        "the enterprise extension is not echoed when no extension attribute was sent"
    );
    assert_eq!(created.body["emails"][0]["type"], "work");
    assert_eq!(fake.user(id), Some(user(id, "givenName familyName", None)));

    let read = call(&app, "GET", &at, None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["externalId"], id);
    // Found by its externalId (the Wazzup id) ...
    let by_external_id = call(
        &app,
        "GET",
        &format!("/scim/v2/Users?filter=externalId+eq+%22{id}%22"),
        None,
    )
    .await;
    assert_eq!(by_external_id.ids(), [id]);
    assert_eq!(by_external_id.body["itemsPerPage"], 1);
    // ... but not by a userName Wazzup never stored: the documented limit.
    let by_user_name = call(
        &app,
        "GET",
        &format!("/scim/v2/Users?filter=userName+eq+%22{user_name}%22"),
        None,
    )
    .await;
    assert_eq!(by_user_name.body["totalResults"], 0);

    // A new family name alone cannot rename (the given name is not kept); nothing is written.
    let before = writes(&fake);
    let multi = call(
        &app,
        "PATCH",
        &at,
        Some(&fixture("entra-02-update-multi-valued.json")),
    )
    .await;
    assert_eq!(multi.status, 200, "{}", multi.body);
    assert_eq!(
        multi.body["emails"],
        json!([{"type": "work", "value": "updatedEmail@microsoft.com"}])
    );
    assert_eq!(
        multi.body["name"],
        json!({"formatted": "givenName familyName"})
    );
    assert_eq!(fake.user(id).unwrap().name, "givenName familyName");
    assert_eq!(writes(&fake), before);

    let renamed = call(
        &app,
        "PATCH",
        &at,
        Some(&fixture("entra-03-update-single-valued.json")),
    )
    .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(
        renamed.body["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    assert_eq!(renamed.body["id"], id, "the id never changes");
    assert_eq!(writes(&fake), before);

    // Given and family names together do rename; the new externalId is ignored.
    let legacy = call(
        &app,
        "PATCH",
        &at,
        Some(&fixture("entra-06-replace-attributes-without-flag.json")),
    )
    .await;
    assert_eq!(legacy.status, 200, "{}", legacy.body);
    assert_eq!(legacy.body["externalId"], id);
    assert_eq!(legacy.body["displayName"], "Pvlo");
    assert_eq!(
        legacy.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        json!({"employeeNumber": "Eqpj"})
    );
    assert_eq!(
        legacy.body["schemas"],
        json!([
            USER_SCHEMA,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ])
    );
    assert_eq!(fake.user(id).unwrap().name, "Gtfd Pkqf");

    // A PATCH that does not touch displayName answers with the name Wazzup now holds.
    let formatted =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "path": "name.formatted", "value": "Gtfd Pkqf-Lead"}
        ]})
        .to_string();
    let lead = call(&app, "PATCH", &at, Some(&formatted)).await;
    assert_eq!(lead.status, 200);
    assert_eq!(lead.body["displayName"], "Gtfd Pkqf-Lead");
    assert_eq!(fake.user(id).unwrap().name, "Gtfd Pkqf-Lead");

    let flagged = call(
        &app,
        "PATCH",
        &at,
        Some(&fixture("entra-07-replace-attributes-with-flag.json")),
    )
    .await;
    assert_eq!(flagged.status, 200, "{}", flagged.body);
    assert_eq!(flagged.body["name"]["formatted"], "Kkom Unua");
    assert_eq!(fake.user(id).unwrap().name, "Kkom Unua");

    let before = writes(&fake);
    let nick = call(
        &app,
        "PATCH",
        &at,
        Some(&fixture("entra-08-add-attribute-without-flag.json")),
    )
    .await;
    assert_eq!(nick.status, 200);
    assert_eq!(nick.body["nickName"], "Babs");
    assert_eq!(writes(&fake), before);

    // Entra's default disable: "Replace", the string "False".
    let off = call(
        &app,
        "PATCH",
        &at,
        Some(&fixture("entra-05-disable-user-without-flag.json")),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(fake.user(id), None);
    call(&app, "GET", &at, None).await.assert_error(404, None);
    // Disabled again, then deleted 30 days later: both succeed on the user already gone.
    let again = call(
        &app,
        "PATCH",
        &at,
        Some(&fixture("entra-04-disable-user.json")),
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["active"], false);
    let deleted = call(&app, "DELETE", &at, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, Value::Null);
}

#[tokio::test]
async fn every_published_disable_request_removes_the_user() {
    let (fake, app) = scim_app().await;
    for file in [
        "entra-04-disable-user.json",
        "entra-05-disable-user-without-flag.json",
        "okta-03-deactivate-user.json",
    ] {
        fake.insert_user(user("emp-1", "Alex", Some("79263334567")));
        let answer = call(&app, "PATCH", "/scim/v2/Users/emp-1", Some(&fixture(file))).await;
        assert_eq!(answer.status, 200, "{file}: {}", answer.body);
        assert_eq!(answer.body["active"], false, "{file}");
        assert_eq!(fake.user("emp-1"), None, "{file}");
        let last = fake.requests().pop().unwrap();
        assert_eq!(
            (last.method.as_str(), last.path.as_str()),
            ("DELETE", "/v3/users/emp-1")
        );
    }
    // PUT with active false, as Okta's app-wizard integrations deactivate.
    fake.insert_user(user("emp-1", "Alex", None));
    let body = json!({"schemas": [USER_SCHEMA], "userName": "emp-1", "active": false}).to_string();
    let answer = call(&app, "PUT", "/scim/v2/Users/emp-1", Some(&body)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(fake.user("emp-1"), None);
    // DELETE of a user Wazzup has.
    fake.insert_user(user("emp-2", "Bob", None));
    assert_eq!(
        call(&app, "DELETE", "/scim/v2/Users/emp-2", None)
            .await
            .status,
        204
    );
    assert_eq!(fake.user("emp-2"), None);
}

#[tokio::test]
async fn phone_numbers_map_to_the_one_wazzup_phone() {
    let (fake, app) = scim_app().await;
    let body = json!({
        "schemas": [USER_SCHEMA], "userName": "kate@example.com",
        "name": {"formatted": "Kate Supportics"},
        "phoneNumbers": [
            {"value": "+44 20 7183 8750", "type": "home"},
            {"value": "8 (926) 123-45-67", "type": "mobile"},
            {"value": "+7 495 555-35-35", "type": "work"}
        ]
    })
    .to_string();
    let created = call(&app, "POST", "/scim/v2/Users", Some(&body)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["phoneNumbers"],
        json!([{"value": "+74955553535", "type": "work", "primary": true}])
    );
    let id = "kate@example.com";
    assert_eq!(fake.user(id).unwrap().phone.as_deref(), Some("74955553535"));
    let read = call(&app, "GET", "/scim/v2/Users/kate%40example.com", None).await;
    assert_eq!(read.body["phoneNumbers"][0]["value"], "+74955553535");

    // Entra replaces the work number through a value filter. Wazzup does not keep the type, so
    // the stored number has none in a PATCH: the replace adds a work number, which is kept.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+7 926 333-45-67"}
    ]})
    .to_string();
    let answer = call(
        &app,
        "PATCH",
        "/scim/v2/Users/kate%40example.com",
        Some(&patch),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(fake.user(id).unwrap().phone.as_deref(), Some("79263334567"));

    // Removing the numbers removes the phone; the name stays.
    let patch =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "remove", "path": "phoneNumbers"}
        ]})
        .to_string();
    let answer = call(
        &app,
        "PATCH",
        "/scim/v2/Users/kate%40example.com",
        Some(&patch),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.get("phoneNumbers").is_none());
    assert_eq!(fake.user(id), Some(user(id, "Kate Supportics", None)));

    // A number that is not valid is left out, not refused.
    let body = json!({"schemas": [USER_SCHEMA], "userName": "olga", "displayName": "Olga",
        "phoneNumbers": [{"value": "12345", "primary": true}]})
    .to_string();
    let answer = call(&app, "POST", "/scim/v2/Users", Some(&body)).await;
    assert_eq!(answer.status, 201);
    assert!(answer.body.get("phoneNumbers").is_none());
    assert_eq!(fake.user("olga"), Some(user("olga", "Olga", None)));
}

#[tokio::test]
async fn wazzup_refusals_become_scim_errors() {
    let (fake, app) = scim_app().await;
    fake.insert_user(user("holder", "Holder", Some("79263334567")));
    let body = json!({"schemas": [USER_SCHEMA], "userName": "new", "displayName": "New",
        "phoneNumbers": [{"value": "+7 926 333-45-67", "type": "work"}]})
    .to_string();
    let answer = call(&app, "POST", "/scim/v2/Users", Some(&body)).await;
    answer.assert_error(409, Some("uniqueness"));
    assert!(
        !answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("79263334567"),
        "the phone is masked: {}",
        answer.body
    );
    assert_eq!(fake.user("new"), None);

    // Wazzup's user limit: a state conflict, not a malformed request.
    fake.set_user_limit(1);
    let body = json!({"schemas": [USER_SCHEMA], "userName": "one-too-many"}).to_string();
    let answer = call(&app, "POST", "/scim/v2/Users", Some(&body)).await;
    answer.assert_error(409, None);
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("USER_LIMIT_EXCEEDED")
    );

    // A name Wazzup would refuse never reaches it.
    let before = fake.requests().len();
    let body =
        json!({"schemas": [USER_SCHEMA], "userName": "long", "displayName": "x".repeat(201)})
            .to_string();
    let answer = call(&app, "POST", "/scim/v2/Users", Some(&body)).await;
    answer.assert_error(400, Some("invalidValue"));
    assert!(fake.requests()[before..].iter().all(|r| r.method == "GET"));

    // Wazzup down: 503 with Retry-After, after the client's own retries.
    for _ in 0..4 {
        fake.push_fault(Fault::Status {
            status: 503,
            retry_after: None,
        });
    }
    let answer = call(&app, "GET", "/scim/v2/Users/holder", None).await;
    answer.assert_error(503, None);
    assert_eq!(answer.header("retry-after"), Some("30"));
}

#[tokio::test]
async fn only_the_scim_token_opens_scim_and_nothing_reaches_wazzup_before() {
    let (fake, app) = scim_app().await;
    let body = fixture("okta-01-create-user.json");
    for (what, headers) in [
        ("no token", vec![SCIM_JSON]),
        (
            "wrong token",
            vec![SCIM_JSON, ("authorization", "Bearer nope")],
        ),
        ("webhook token", vec![SCIM_JSON, BEARER]),
        (
            "basic",
            vec![SCIM_JSON, ("authorization", "Basic dGVzdDp0ZXN0")],
        ),
    ] {
        let answer = send(
            &app,
            request("POST", "/scim/v2/Users", &headers, Some(&body)),
        )
        .await;
        answer.assert_error(401, None);
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer realm=\"scim\""),
            "{what}"
        );
        let answer = send(
            &app,
            request("GET", "/scim/v2/ServiceProviderConfig", &headers, None),
        )
        .await;
        assert_eq!(answer.status, 401, "{what}");
    }
    assert!(fake.requests().is_empty());

    // Without a scimToken in the secret, SCIM does not exist.
    let (fake, app) = scim_app_with(None).await;
    let answer = call(&app, "POST", "/scim/v2/Users", Some(&body)).await;
    answer.assert_error(404, None);
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("scimToken")
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn discovery_documents_describe_the_service() {
    let (fake, app) = scim_app().await;
    let config = call(&app, "GET", "/scim/v2/ServiceProviderConfig", None).await;
    assert_eq!(config.status, 200);
    assert_eq!(config.header("content-type"), Some("application/scim+json"));
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(
        config.body["filter"],
        json!({"supported": true, "maxResults": 1000})
    );
    for unsupported in ["bulk", "sort", "etag", "changePassword"] {
        assert_eq!(
            config.body[unsupported]["supported"], false,
            "{unsupported}"
        );
    }
    assert_eq!(
        config.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let types = call(&app, "GET", "/scim/v2/ResourceTypes", None).await;
    assert_eq!(types.body["totalResults"], 1);
    assert_eq!(types.body["Resources"][0]["endpoint"], "/Users");
    assert_eq!(types.body["Resources"][0]["schema"], USER_SCHEMA);
    assert_eq!(
        call(&app, "GET", "/scim/v2/ResourceTypes/User", None)
            .await
            .body["id"],
        "User"
    );
    call(&app, "GET", "/scim/v2/ResourceTypes/Group", None)
        .await
        .assert_error(404, None);

    let schemas = call(&app, "GET", "/scim/v2/Schemas", None).await;
    assert_eq!(schemas.body["Resources"][0]["id"], USER_SCHEMA);
    let schema = call(
        &app,
        "GET",
        &format!("/scim/v2/Schemas/{USER_SCHEMA}"),
        None,
    )
    .await;
    assert_eq!(schema.status, 200);
    let attributes: Vec<&str> = schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        attributes,
        [
            "userName",
            "externalId",
            "name",
            "displayName",
            "phoneNumbers",
            "active"
        ]
    );
    call(&app, "GET", "/scim/v2/Schemas/urn:example:nope", None)
        .await
        .assert_error(404, None);

    // Discovery is read-only, cannot be filtered; unknown paths and Groups are 404.
    for path in [
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/ResourceTypes",
        "/scim/v2/Schemas",
    ] {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let answer = call(&app, method, path, Some("{}")).await;
            answer.assert_error(405, None);
            assert_eq!(answer.header("allow"), Some("GET"));
        }
        let answer = call(&app, "GET", &format!("{path}?filter=id+eq+%22x%22"), None).await;
        answer.assert_error(403, None);
    }
    call(
        &app,
        "GET",
        "/scim/v2/0b6f5c44-3c1a-4d2e-9d55-6a0e1f2b3c4d",
        None,
    )
    .await
    .assert_error(404, None);
    call(&app, "GET", "/scim/v2", None)
        .await
        .assert_error(404, None);
    call(
        &app,
        "GET",
        "/scim/v2/Groups?filter=displayName+eq+%22x%22",
        None,
    )
    .await
    .assert_error(404, None);
    let answer = call(&app, "PUT", "/scim/v2/Users", Some("{}")).await;
    answer.assert_error(405, None);
    assert_eq!(answer.header("allow"), Some("GET, POST"));
    assert!(fake.requests().is_empty(), "discovery never calls Wazzup");
}

#[tokio::test]
async fn lists_page_filter_and_project() {
    let (fake, app) = scim_app().await;
    for (id, name) in [
        ("u5", "Eve"),
        ("u1", "Ann"),
        ("u3", "Cid"),
        ("u2", "Bob"),
        ("u4", "Dan"),
    ] {
        fake.insert_user(user(id, name, None));
    }
    // Ordered by id, whatever order Wazzup lists them in.
    let all = call(&app, "GET", "/scim/v2/Users", None).await;
    assert_eq!(all.ids(), ["u1", "u2", "u3", "u4", "u5"]);
    assert_eq!(
        (
            all.body["totalResults"].as_u64(),
            all.body["itemsPerPage"].as_u64()
        ),
        (Some(5), Some(5))
    );

    let page = call(&app, "GET", "/scim/v2/Users?startIndex=2&count=2", None).await;
    assert_eq!(page.ids(), ["u2", "u3"]);
    assert_eq!(page.body["totalResults"], 5);
    assert_eq!(page.body["startIndex"], 2);
    assert_eq!(page.body["itemsPerPage"], 2);
    let last = call(&app, "GET", "/scim/v2/Users?startIndex=5&count=100", None).await;
    assert_eq!(last.ids(), ["u5"]);
    let past = call(&app, "GET", "/scim/v2/Users?startIndex=9&count=100", None).await;
    assert!(past.ids().is_empty());
    assert_eq!(past.body["totalResults"], 5);
    let counted = call(&app, "GET", "/scim/v2/Users?count=0", None).await;
    assert!(counted.ids().is_empty());
    assert_eq!(counted.body["totalResults"], 5);

    // Filters Wazzup's list can answer.
    let named = call(
        &app,
        "GET",
        "/scim/v2/Users?filter=displayName+eq+%22bob%22+or+name.formatted+sw+%22E%22",
        None,
    )
    .await;
    assert_eq!(named.ids(), ["u2", "u5"]);
    let not = call(
        &app,
        "GET",
        "/scim/v2/Users?filter=not+(id+eq+%22u1%22)+and+active+eq+true&count=1",
        None,
    )
    .await;
    assert_eq!(not.ids(), ["u2"]);
    assert_eq!(not.body["totalResults"], 4);
    // An id lookup is one GET of that user.
    fake.clear_requests();
    let one = call(
        &app,
        "GET",
        "/scim/v2/Users?filter=id%20eq%20%22u3%22",
        None,
    )
    .await;
    assert_eq!(one.ids(), ["u3"]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v3/users/u3");

    // Filters on what Wazzup does not keep, or that are not filters.
    for bad in [
        "emails%5Btype+eq+%22work%22%5D.value+eq+%22a%40b.c%22",
        "title+eq+%22CEO%22",
        "userName+eq",
        "userName+equals+%22x%22",
    ] {
        call(&app, "GET", &format!("/scim/v2/Users?filter={bad}"), None)
            .await
            .assert_error(400, Some("invalidFilter"));
    }
    call(&app, "GET", "/scim/v2/Users?count=many", None)
        .await
        .assert_error(400, Some("invalidValue"));

    // attributes / excludedAttributes on lists, single reads and searches.
    let projected = call(
        &app,
        "GET",
        "/scim/v2/Users?attributes=userName&count=1",
        None,
    )
    .await;
    let mut keys: Vec<&String> = projected.body["Resources"][0]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    keys.sort();
    assert_eq!(keys, ["id", "schemas", "userName"]);
    let excluded = call(
        &app,
        "GET",
        "/scim/v2/Users/u1?excludedAttributes=name,meta",
        None,
    )
    .await;
    assert!(excluded.body.get("name").is_none() && excluded.body.get("meta").is_none());
    assert_eq!(excluded.body["displayName"], "Ann");
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "displayName eq \"Dan\"", "attributes": ["displayName"]})
    .to_string();
    for path in ["/scim/v2/Users/.search", "/scim/v2/.search"] {
        let found = call(&app, "POST", path, Some(&search)).await;
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(found.ids(), ["u4"]);
        assert!(found.body["Resources"][0].get("userName").is_none());
    }
}

#[tokio::test]
async fn malformed_requests_get_scim_errors_and_never_reach_wazzup() {
    let (fake, app) = scim_app().await;
    call(&app, "POST", "/scim/v2/Users", Some("{\"userName\": "))
        .await
        .assert_error(400, Some("invalidSyntax"));
    call(&app, "POST", "/scim/v2/Users", Some("[1, 2]"))
        .await
        .assert_error(400, Some("invalidSyntax"));
    call(
        &app,
        "POST",
        "/scim/v2/Users",
        Some(&json!({"schemas": [USER_SCHEMA], "displayName": "No login"}).to_string()),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    call(
        &app,
        "POST",
        "/scim/v2/Users",
        Some(&json!({"userName": "a", "active": "maybe"}).to_string()),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let text = send(
        &app,
        request(
            "POST",
            "/scim/v2/Users",
            &[AUTH, ("content-type", "text/plain")],
            Some("{}"),
        ),
    )
    .await;
    text.assert_error(415, None);
    let huge = json!({"userName": "big", "displayName": "x".repeat(1024 * 1024)}).to_string();
    call(&app, "POST", "/scim/v2/Users", Some(&huge))
        .await
        .assert_error(413, None);
    // Plain application/json is accepted too.
    let plain = send(
        &app,
        request(
            "POST",
            "/scim/v2/Users/.search",
            &[AUTH, ("content-type", "application/json; charset=utf-8")],
            Some("{\"count\": 0}"),
        ),
    )
    .await;
    assert_eq!(plain.status, 200);
    fake.clear_requests();

    fake.insert_user(user("emp-1", "Alex", None));
    for (body, scim_type) in [
        (
            json!({"Operations": [{"op": "jump", "path": "active"}]}),
            "invalidSyntax",
        ),
        (json!({"Operations": [{"op": "remove"}]}), "noTarget"),
        (
            json!({"Operations": [{"op": "add", "path": "emails[type eq", "value": "x"}]}),
            "invalidPath",
        ),
        (
            json!({"Operations": [{"op": "replace", "path": "active", "value": "perhaps"}]}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "Operations": []}),
            "invalidSyntax",
        ),
    ] {
        call(
            &app,
            "PATCH",
            "/scim/v2/Users/emp-1",
            Some(&body.to_string()),
        )
        .await
        .assert_error(400, Some(scim_type));
    }
    assert_eq!(writes(&fake), 0);
    assert_eq!(fake.user("emp-1").unwrap().name, "Alex");

    // Unknown ids: 404 for reads and updates; an id Wazzup could not hold is not looked up.
    call(&app, "GET", "/scim/v2/Users/ghost", None)
        .await
        .assert_error(404, None);
    let patch = json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Boo"}]})
        .to_string();
    call(&app, "PATCH", "/scim/v2/Users/ghost", Some(&patch))
        .await
        .assert_error(404, None);
    fake.clear_requests();
    let long = "x".repeat(201);
    call(&app, "GET", &format!("/scim/v2/Users/{long}"), None)
        .await
        .assert_error(404, None);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn inactive_creations_create_nothing_and_a_named_reactivation_creates_again() {
    let (fake, app) = scim_app().await;
    let body = json!({"schemas": [USER_SCHEMA], "userName": "sleeper", "displayName": "Sleeper", "active": false}).to_string();
    let answer = call(&app, "POST", "/scim/v2/Users", Some(&body)).await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.body["active"], false);
    assert_eq!(answer.body["id"], "sleeper");
    assert!(fake.users().is_empty());

    // PATCH active true with a name brings the user (back) into Wazzup.
    let patch =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "value": {"active": true, "displayName": "Sleeper Awake"}}
        ]})
        .to_string();
    let answer = call(&app, "PATCH", "/scim/v2/Users/sleeper", Some(&patch)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["active"], true);
    assert_eq!(
        fake.user("sleeper"),
        Some(user("sleeper", "Sleeper Awake", None))
    );
}

/// The two Lambda events in `events/` that the end-to-end test replays: their statuses.
#[tokio::test]
async fn the_scim_events_in_the_events_folder_replay_as_documented() {
    let (fake, app) = scim_app_with(Some("local-scim-token")).await;
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
    let replay = |name: &str| {
        wazzup_testkit::events::read_event(std::path::Path::new(&format!("{events}/{name}")))
            .unwrap()
    };
    let created = send(&app, replay("scim-create-user-okta.json")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["id"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(fake.user("00ujl29u0le5T6Aj10h7").unwrap().name, "Test User");
    let deactivated = send(&app, replay("scim-deactivate-user-entra.json")).await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    assert_eq!(deactivated.body["active"], false);
    assert!(fake.users().is_empty());
    // Replayed again, in the same order, from an empty Wazzup: the same statuses.
    assert_eq!(
        send(&app, replay("scim-create-user-okta.json"))
            .await
            .status,
        201
    );
    assert_eq!(
        send(&app, replay("scim-deactivate-user-entra.json"))
            .await
            .status,
        200
    );
    assert_eq!(
        send(&app, replay("scim-deactivate-user-entra.json"))
            .await
            .status,
        200
    );
}

//! The users APIs the custom recipes read, each in its documented shape: HubSpot's
//! `GET /crm/v3/owners` (bearer token, `limit` up to 500, cursor `paging.next.after`,
//! `archived` owners listed only when asked, teams; 429 with HubSpot's body), Kommo's
//! `GET /api/v4/users` (bearer, `page`/`limit` up to 250, `_embedded.users`, `_links.next.href`,
//! `204 No Content` past the last page, `rights.is_active`, the phone only `with=phone_number`),
//! Freshsales' `GET /api/selector/owners` (`Authorization: Token token=...`, one answer), and
//! an in-house API (`X-Api-Key`, `offset`/`limit` capped at 500 or less, `items`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Log, bearer, header, json, lock, serve, slice};

/// Which API the fake answers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    HubSpot,
    Kommo,
    Freshsales,
    InHouse,
}

impl Vendor {
    /// The path of its users list.
    pub fn path(self) -> &'static str {
        match self {
            Vendor::HubSpot => "/crm/v3/owners",
            Vendor::Kommo => "/api/v4/users",
            Vendor::Freshsales => "/crm/sales/api/selector/owners",
            Vendor::InHouse => "/api/staff",
        }
    }
}

struct Shared {
    vendor: Vendor,
    log: Log,
    credential: String,
    users: Mutex<Vec<Value>>,
    throttle: AtomicUsize,
    /// The origin the answers' links name (the fake's own unless changed).
    link_base: Mutex<String>,
    /// The most users a page holds, whatever the request asks (the in-house API).
    cap: AtomicUsize,
}

/// A running fake of one vendor's users API.
#[derive(Clone)]
pub struct UsersApiFake {
    url: String,
    shared: Arc<Shared>,
}

impl UsersApiFake {
    /// Starts the fake answering to `credential` (a token, or the in-house API's key).
    pub async fn start(vendor: Vendor, credential: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            vendor,
            log: Log::default(),
            credential: credential.to_owned(),
            users: Mutex::new(Vec::new()),
            throttle: AtomicUsize::new(0),
            link_base: Mutex::new(String::new()),
            cap: AtomicUsize::new(500),
        });
        let router = Router::new()
            .route(vendor.path(), get(list))
            .with_state(Arc::clone(&shared));
        let url = serve(router).await?;
        *lock(&shared.link_base) = url.clone();
        Ok(Self { url, shared })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn set_users(&self, users: Vec<Value>) {
        *lock(&self.shared.users) = users;
    }

    /// The next `count` requests get the vendor's 429.
    pub fn throttle(&self, count: usize) {
        self.shared.throttle.store(count, Ordering::SeqCst);
    }

    /// Gives at most `cap` users a page, whatever the request asks (the in-house API).
    pub fn cap_page(&self, cap: usize) {
        self.shared.cap.store(cap, Ordering::SeqCst);
    }

    /// Makes the answers' next links name another origin.
    pub fn link_base(&self, base: &str) {
        *lock(&self.shared.link_base) = base.to_owned();
    }

    pub fn log(&self) -> &Log {
        &self.shared.log
    }
}

type Params = HashMap<String, String>;

fn number(query: &Params, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<Params>,
) -> Response {
    shared.log.push("GET", &uri.to_string(), &headers);
    let throttled = shared
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let users = lock(&shared.users).clone();
    let base = lock(&shared.link_base).clone();
    match shared.vendor {
        Vendor::HubSpot => hubspot(&shared, &headers, &query, &users, &base, throttled),
        Vendor::Kommo => kommo(&shared, &headers, &query, &users, &base, throttled),
        Vendor::Freshsales => freshsales(&shared, &headers, &users, throttled),
        Vendor::InHouse => in_house(&shared, &headers, &query, &users, throttled),
    }
}

fn hubspot(
    shared: &Shared,
    headers: &HeaderMap,
    query: &Params,
    users: &[Value],
    base: &str,
    throttled: bool,
) -> Response {
    if throttled {
        return json(
            429,
            json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                   "errorType": "RATE_LIMIT", "correlationId": "fake", "policyName": "TEN_SECONDLY_ROLLING"}),
        );
    }
    if bearer(headers).as_deref() != Some(shared.credential.as_str()) {
        return json(
            401,
            json!({"status": "error", "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                   "correlationId": "fake", "category": "INVALID_AUTHENTICATION"}),
        );
    }
    let limit = number(query, "limit", 100);
    if limit > 500 {
        return json(
            400,
            json!({"status": "error", "message": "limit must be at most 500", "category": "VALIDATION_ERROR"}),
        );
    }
    let archived = query.get("archived").is_some_and(|a| a == "true");
    let owners: Vec<Value> = users
        .iter()
        .filter(|u| u["archived"].as_bool().unwrap_or(false) == archived)
        .cloned()
        .collect();
    let after = number(query, "after", 0);
    let mut answer = json!({"results": slice(&owners, after, limit)});
    if after + limit < owners.len() {
        let next = (after + limit).to_string();
        answer["paging"] = json!({"next": {"after": next,
            "link": format!("{base}/crm/v3/owners?limit={limit}&after={next}")}});
    }
    json(200, answer)
}

fn kommo(
    shared: &Shared,
    headers: &HeaderMap,
    query: &Params,
    users: &[Value],
    base: &str,
    throttled: bool,
) -> Response {
    if throttled {
        return (StatusCode::TOO_MANY_REQUESTS, "").into_response();
    }
    if bearer(headers).as_deref() != Some(shared.credential.as_str()) {
        return json(
            401,
            json!({"title": "Unauthorized", "type": "https://httpstatus.es/401", "status": 401,
                   "detail": "Invalid access token"}),
        );
    }
    let page = number(query, "page", 1).max(1);
    let limit = number(query, "limit", 50);
    if limit > 250 {
        return json(
            400,
            json!({"title": "Bad Request", "status": 400, "detail": "limit must not exceed 250"}),
        );
    }
    let with = query.get("with").cloned().unwrap_or_default();
    let phones = with.split(',').any(|w| w.trim() == "phone_number");
    let start = (page - 1) * limit;
    if start >= users.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let embedded: Vec<Value> = slice(users, start, limit)
        .into_iter()
        .map(|mut user| {
            if !phones && let Some(user) = user.as_object_mut() {
                user.remove("phone_number");
            }
            user
        })
        .collect();
    let pages = users.len().div_ceil(limit.max(1));
    let link = |p: usize| format!("{base}/api/v4/users?page={p}&limit={limit}&with={with}");
    let mut links = json!({"self": {"href": link(page)}});
    if page < pages {
        links["next"] = json!({"href": link(page + 1)});
    }
    json(
        200,
        json!({"_total_items": users.len(), "_page": page, "_page_count": pages,
               "_links": links, "_embedded": {"users": embedded}}),
    )
}

fn freshsales(shared: &Shared, headers: &HeaderMap, users: &[Value], throttled: bool) -> Response {
    if throttled {
        return json(
            429,
            json!({"errors": {"code": 429, "message": ["Too many requests"]}}),
        );
    }
    let expected = format!("Token token={}", shared.credential);
    if header(headers, "authorization").as_deref() != Some(expected.as_str()) {
        return json(
            401,
            json!({"login": "failed", "message": "Incorrect or expired API key"}),
        );
    }
    json(200, json!({"users": users}))
}

fn in_house(
    shared: &Shared,
    headers: &HeaderMap,
    query: &Params,
    users: &[Value],
    throttled: bool,
) -> Response {
    if throttled {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            "busy",
        )
            .into_response();
    }
    if header(headers, "x-api-key").as_deref() != Some(shared.credential.as_str()) {
        return json(403, json!({"message": "Forbidden"}));
    }
    let limit = number(query, "limit", 50).min(shared.cap.load(Ordering::SeqCst));
    let offset = number(query, "offset", 0);
    json(
        200,
        json!({"items": slice(users, offset, limit), "total": users.len()}),
    )
}

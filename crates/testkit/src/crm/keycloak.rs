//! Keycloak as its Admin REST API documents it: the realm's OpenID Connect token endpoint with
//! the client credentials grant (`401 unauthorized_client` for a wrong secret, `404` for an
//! unknown realm), `GET /admin/realms/{realm}/users` paged by `first`/`max`, a group looked up
//! by its path (`group-by-path`) and its direct `members`, and a realm role's `users`; every
//! admin call needs a token the endpoint issued (`401` otherwise).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Log, bearer, json, lock, serve, slice};

#[derive(Default)]
struct Data {
    users: Vec<Value>,
    /// Path (`/Sales/Moscow`) -> (id, member ids).
    groups: HashMap<String, (String, Vec<String>)>,
    /// Realm role -> user ids.
    roles: HashMap<String, Vec<String>>,
    tokens: Vec<String>,
}

struct Shared {
    log: Log,
    realm: String,
    client_id: String,
    client_secret: String,
    data: Mutex<Data>,
    issued: AtomicUsize,
}

/// A running fake Keycloak with one realm and one confidential client.
#[derive(Clone)]
pub struct KeycloakFake {
    url: String,
    shared: Arc<Shared>,
}

impl KeycloakFake {
    pub async fn start(realm: &str, client_id: &str, client_secret: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            log: Log::default(),
            realm: realm.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            data: Mutex::new(Data::default()),
            issued: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/realms/{realm}/protocol/openid-connect/token", post(token))
            .route("/admin/realms/{realm}/users", get(users))
            .route("/admin/realms/{realm}/group-by-path/{*path}", get(group))
            .route("/admin/realms/{realm}/groups/{id}/members", get(members))
            .route("/admin/realms/{realm}/roles/{role}/users", get(role_users))
            .with_state(Arc::clone(&shared));
        Ok(Self {
            url: serve(router).await?,
            shared,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The secret's Keycloak fields for this fake.
    pub fn secret(&self) -> Value {
        json!({
            "keycloakUrl": self.url,
            "keycloakRealm": self.shared.realm,
            "keycloakClientId": self.shared.client_id,
            "keycloakClientSecret": self.shared.client_secret,
        })
    }

    /// The realm's users (full representations).
    pub fn set_users(&self, users: Vec<Value>) {
        lock(&self.shared.data).users = users;
    }

    pub fn set_group(&self, path: &str, members: &[&str]) {
        let mut data = lock(&self.shared.data);
        let id = format!("group-{}", data.groups.len() + 1);
        data.groups.insert(
            path.to_owned(),
            (id, members.iter().map(|m| (*m).to_owned()).collect()),
        );
    }

    pub fn set_role(&self, role: &str, users: &[&str]) {
        lock(&self.shared.data).roles.insert(
            role.to_owned(),
            users.iter().map(|u| (*u).to_owned()).collect(),
        );
    }

    pub fn tokens_issued(&self) -> usize {
        self.shared.issued.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> &Log {
        &self.shared.log
    }
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    shared.log.push("POST", &uri.to_string(), &headers);
    if realm != shared.realm {
        return json(404, json!({"error": "Realm does not exist"}));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return json(
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}),
        );
    }
    if form.get("client_id") != Some(&shared.client_id)
        || form.get("client_secret") != Some(&shared.client_secret)
    {
        return json(
            401,
            json!({"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"}),
        );
    }
    let n = shared.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("eyJ.kc-{n}");
    lock(&shared.data).tokens.push(token.clone());
    json(
        200,
        json!({"access_token": token, "expires_in": 300, "refresh_expires_in": 0,
               "token_type": "Bearer", "not-before-policy": 0, "scope": "profile email"}),
    )
}

/// `Ok` for a known realm and a token the endpoint issued; Keycloak's answer otherwise.
fn authorize(shared: &Shared, realm: &str, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let known = bearer(headers).is_some_and(|t| lock(&shared.data).tokens.contains(&t));
    if !known {
        return Err(Box::new(json(
            401,
            json!({"error": "HTTP 401 Unauthorized"}),
        )));
    }
    if realm != shared.realm {
        return Err(Box::new(json(404, json!({"error": "Realm not found."}))));
    }
    Ok(())
}

/// `first`/`max` (Keycloak's default page is 100).
fn window(query: &HashMap<String, String>) -> (usize, usize) {
    let number = |k: &str, d: usize| query.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    (number("first", 0), number("max", 100))
}

/// A user as `briefRepresentation=true` shows it (no attributes).
fn brief(user: &Value) -> Value {
    let mut user = user.clone();
    if let Some(object) = user.as_object_mut() {
        object.remove("attributes");
    }
    user
}

fn listed(users: &[Value], query: &HashMap<String, String>) -> Response {
    let (first, max) = window(query);
    let brief_only = query
        .get("briefRepresentation")
        .is_some_and(|b| b == "true");
    let page: Vec<Value> = slice(users, first, max)
        .iter()
        .map(|u| if brief_only { brief(u) } else { u.clone() })
        .collect();
    json(200, json!(page))
}

async fn users(
    State(shared): State<Arc<Shared>>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.log.push("GET", &uri.to_string(), &headers);
    if let Err(answer) = authorize(&shared, &realm, &headers) {
        return *answer;
    }
    let users = lock(&shared.data).users.clone();
    listed(&users, &query)
}

async fn group(
    State(shared): State<Arc<Shared>>,
    Path((realm, path)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.log.push("GET", &uri.to_string(), &headers);
    if let Err(answer) = authorize(&shared, &realm, &headers) {
        return *answer;
    }
    let path = format!("/{}", path.trim_matches('/'));
    match lock(&shared.data).groups.get(&path) {
        Some((id, _)) => {
            let name = path.rsplit('/').next().unwrap_or("");
            json(
                200,
                json!({"id": id, "name": name, "path": path, "subGroupCount": 0}),
            )
        }
        None => json(404, json!({"error": "Group path does not exist"})),
    }
}

/// The users with these ids, in the realm's order.
fn users_with(data: &Data, ids: &[String]) -> Vec<Value> {
    data.users
        .iter()
        .filter(|u| {
            u["id"]
                .as_str()
                .is_some_and(|id| ids.iter().any(|i| i == id))
        })
        .cloned()
        .collect()
}

/// A list of the realm's users: those `ids` picks, or Keycloak's 404 saying `missing`.
fn users_of(
    shared: &Shared,
    realm: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    ids: impl FnOnce(&Data) -> Option<Vec<String>>,
    missing: &str,
) -> Response {
    if let Err(answer) = authorize(shared, realm, headers) {
        return *answer;
    }
    let data = lock(&shared.data);
    match ids(&data) {
        Some(ids) => listed(&users_with(&data, &ids), query),
        None => json(404, json!({ "error": missing })),
    }
}

async fn members(
    State(shared): State<Arc<Shared>>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.log.push("GET", &uri.to_string(), &headers);
    let group = |data: &Data| {
        (data.groups.values())
            .find(|(gid, _)| *gid == id)
            .map(|(_, ids)| ids.clone())
    };
    users_of(
        &shared,
        &realm,
        &headers,
        &query,
        group,
        "Could not find group by id",
    )
}

async fn role_users(
    State(shared): State<Arc<Shared>>,
    Path((realm, role)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.log.push("GET", &uri.to_string(), &headers);
    let users = |data: &Data| data.roles.get(&role).cloned();
    users_of(
        &shared,
        &realm,
        &headers,
        &query,
        users,
        "Could not find role",
    )
}

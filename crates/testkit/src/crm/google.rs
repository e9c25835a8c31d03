//! Google Workspace as the Directory API documents it: the OAuth 2.0 token endpoint for
//! service accounts (`POST /token`, grant `urn:ietf:params:oauth:grant-type:jwt-bearer`), which
//! verifies the assertion's RS256 signature with the test key's public half and refuses a wrong
//! audience, an expired or over-long assertion, a subject other than the administrator, and
//! scopes the administrator did not grant the service account's client (`invalid_grant` /
//! `unauthorized_client`, as Google answers); `users.list` (`customer`, `maxResults` up to 500,
//! `pageToken`/`nextPageToken`, `projection=basic` without `customSchemas`); and a group's
//! `members.list` (`includeDerivedMembership`), which needs the group scope.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::{Log, bearer, json, lock, serve, slice};

/// The service account key made for the tests (never a real one).
pub const KEY_FILE: &str = include_str!("../../../../tests/fixtures/google/service-account.json");

pub const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
pub const GROUP_SCOPE: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly";

/// How long a token lives (Google's).
const TOKEN_SECONDS: u64 = 3599;

#[derive(Default)]
struct Data {
    users: Vec<Value>,
    /// Group address -> member user ids (nested membership already flattened).
    groups: HashMap<String, Vec<String>>,
    /// Issued token -> its scopes.
    tokens: HashMap<String, HashSet<String>>,
}

struct Shared {
    log: Log,
    data: Mutex<Data>,
    client_email: String,
    admin: String,
    granted: Mutex<HashSet<String>>,
    public_key: Vec<u8>,
    page_size: AtomicUsize,
    throttle: AtomicUsize,
    issued: AtomicUsize,
    token_url: Mutex<String>,
}

/// A running fake of Google's token endpoint and Directory API.
#[derive(Clone)]
pub struct GoogleFake {
    url: String,
    shared: Arc<Shared>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    STANDARD.decode(body.trim()).unwrap_or_default()
}

/// A PKCS #8 PEM of a new RSA key: one Google does not know.
fn new_pem() -> String {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
    let der: Pkcs8V1Der = pair.as_der().expect("encode the key");
    let text = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

impl GoogleFake {
    /// Starts the fake for the test key's service account acting for `admin`, who granted it
    /// the user scope.
    pub async fn start(admin: &str) -> std::io::Result<Self> {
        let file: Value = serde_json::from_str(KEY_FILE)?;
        let private = pem_der(file["private_key"].as_str().unwrap_or(""));
        let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&private)
            .map_err(|_| std::io::Error::other("the test key is not PKCS #8"))?;
        let shared = Arc::new(Shared {
            log: Log::default(),
            data: Mutex::new(Data::default()),
            client_email: file["client_email"].as_str().unwrap_or("").to_owned(),
            admin: admin.to_owned(),
            granted: Mutex::new(HashSet::from([USER_SCOPE.to_owned()])),
            public_key: pair.public_key().as_ref().to_vec(),
            page_size: AtomicUsize::new(500),
            throttle: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            token_url: Mutex::new(String::new()),
        });
        let router = Router::new()
            .route("/token", post(token))
            .route("/admin/directory/v1/users", get(users))
            .route("/admin/directory/v1/groups/{group}/members", get(members))
            .with_state(Arc::clone(&shared));
        let url = serve(router).await?;
        *lock(&shared.token_url) = format!("{url}/token");
        Ok(Self { url, shared })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The test key file, its `token_uri` this fake's token endpoint.
    pub fn key_file(&self) -> Value {
        let mut file: Value = serde_json::from_str(KEY_FILE).unwrap_or_default();
        file["token_uri"] = json!(format!("{}/token", self.url));
        file
    }

    /// A key file of the same account with a key Google does not know (deleted, or never
    /// uploaded).
    pub fn unknown_key_file(&self) -> Value {
        let mut file = self.key_file();
        file["private_key"] = json!(new_pem());
        file
    }

    /// The secret's Google fields for this fake.
    pub fn secret(&self) -> Value {
        json!({
            "googleServiceAccount": self.key_file(),
            "googleAdminEmail": self.shared.admin,
            "googleApiUrl": self.url,
        })
    }

    /// The Workspace's users, in `users.list`'s full projection.
    pub fn set_users(&self, users: Vec<Value>) {
        lock(&self.shared.data).users = users;
    }

    /// A group and its members' user ids.
    pub fn set_group(&self, address: &str, members: &[&str]) {
        lock(&self.shared.data).groups.insert(
            address.to_lowercase(),
            members.iter().map(|m| (*m).to_owned()).collect(),
        );
    }

    /// Grants the service account's client a scope (Admin console, domain-wide delegation).
    pub fn grant(&self, scope: &str) {
        lock(&self.shared.granted).insert(scope.to_owned());
    }

    /// Users a page at most (Google's own limit is 500).
    pub fn page_size(&self, size: usize) {
        self.shared.page_size.store(size.max(1), Ordering::SeqCst);
    }

    /// The next `count` Directory API requests get 429 `rateLimitExceeded`.
    pub fn throttle(&self, count: usize) {
        self.shared.throttle.store(count, Ordering::SeqCst);
    }

    /// Revokes every token issued (an administrator removing the delegation and adding it
    /// back): the API answers 401 to them.
    pub fn revoke_tokens(&self) {
        lock(&self.shared.data).tokens.clear();
    }

    /// How many tokens the endpoint has issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.issued.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> &Log {
        &self.shared.log
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

fn api_error(status: u16, reason: &str, message: &str, state: &str) -> Response {
    json(
        status,
        json!({"error": {"code": status, "message": message, "status": state,
                         "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

fn decode(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.log.push("POST", "/token", &headers);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: ");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [head, claims, signature] = parts.as_slice() else {
        return oauth_error(400, "invalid_grant", "Invalid JWT.");
    };
    let (Some(head), Some(claims)) = (decode(head), decode(claims)) else {
        return oauth_error(400, "invalid_grant", "Invalid JWT.");
    };
    if head["alg"] != "RS256" {
        return oauth_error(400, "invalid_grant", "Invalid JWT: unsupported algorithm.");
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    let signed = format!("{}.{}", parts[0], parts[1]);
    let key = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &shared.public_key);
    if key.verify(signed.as_bytes(), &signature).is_err() {
        return oauth_error(400, "invalid_grant", "Invalid JWT Signature.");
    }
    if claims["aud"].as_str() != Some(lock(&shared.token_url).as_str()) {
        return oauth_error(400, "invalid_grant", "Invalid JWT: Failed audience check.");
    }
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    let now = now();
    if exp <= now || iat > now + 60 || exp - iat > 3600 {
        return oauth_error(
            400,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable \
             timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    if claims["iss"].as_str() != Some(shared.client_email.as_str()) {
        return oauth_error(400, "invalid_grant", "Invalid JWT: issuer unknown.");
    }
    let asked: HashSet<String> = claims["scope"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let granted = lock(&shared.granted).clone();
    if claims["sub"].as_str() != Some(shared.admin.as_str())
        || asked.is_empty()
        || !asked.is_subset(&granted)
    {
        return oauth_error(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not \
             authorized for any of the scopes requested.",
        );
    }
    let n = shared.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("ya29.fake-{n}");
    lock(&shared.data).tokens.insert(token.clone(), asked);
    json(
        200,
        json!({"access_token": token, "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}),
    )
}

/// `Ok` when the request's token was issued with `scope`; the answer Google gives otherwise.
fn authorize(shared: &Shared, headers: &HeaderMap, scope: &str) -> Result<(), Box<Response>> {
    if shared
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return Err(Box::new(api_error(
            429,
            "rateLimitExceeded",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.",
            "RESOURCE_EXHAUSTED",
        )));
    }
    let scopes = bearer(headers)
        .and_then(|t| lock(&shared.data).tokens.get(&t).cloned())
        .ok_or_else(|| {
            Box::new(api_error(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "UNAUTHENTICATED",
            ))
        })?;
    if !scopes.contains(scope) {
        return Err(Box::new(api_error(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
            "PERMISSION_DENIED",
        )));
    }
    Ok(())
}

fn offset(query: &HashMap<String, String>) -> usize {
    query
        .get("pageToken")
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

fn page_size(shared: &Shared, query: &HashMap<String, String>, default: usize) -> usize {
    let asked = query
        .get("maxResults")
        .and_then(|m| m.parse().ok())
        .unwrap_or(default);
    asked.min(shared.page_size.load(Ordering::SeqCst))
}

async fn users(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.log.push("GET", &uri.to_string(), &headers);
    if let Err(answer) = authorize(&shared, &headers, USER_SCOPE) {
        return *answer;
    }
    if !query.contains_key("customer") && !query.contains_key("domain") {
        return api_error(400, "badRequest", "Bad Request", "INVALID_ARGUMENT");
    }
    if query
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        > Some(500)
    {
        return api_error(
            400,
            "invalid",
            "Invalid value for: maxResults",
            "INVALID_ARGUMENT",
        );
    }
    let data = lock(&shared.data);
    let start = offset(&query);
    let size = page_size(&shared, &query, 100);
    let basic = query.get("projection").is_none_or(|p| p == "basic");
    let page: Vec<Value> = slice(&data.users, start, size)
        .into_iter()
        .map(|mut user| {
            if basic && let Some(user) = user.as_object_mut() {
                user.remove("customSchemas");
            }
            user
        })
        .collect();
    let mut answer = json!({"kind": "admin#directory#users", "etag": "\"fake\""});
    if !page.is_empty() {
        answer["users"] = json!(page);
    }
    if start + size < data.users.len() {
        answer["nextPageToken"] = json!(format!("page-{}", start + size));
    }
    json(200, answer)
}

async fn members(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.log.push("GET", &uri.to_string(), &headers);
    if let Err(answer) = authorize(&shared, &headers, GROUP_SCOPE) {
        return *answer;
    }
    let data = lock(&shared.data);
    let Some(ids) = data.groups.get(&group.to_lowercase()) else {
        return api_error(404, "notFound", "Resource Not Found: groupKey", "NOT_FOUND");
    };
    let start = offset(&query);
    let size = page_size(&shared, &query, 200);
    let members: Vec<Value> = ids
        .iter()
        .skip(start)
        .take(size)
        .map(|id| json!({"kind": "admin#directory#member", "id": id, "role": "MEMBER", "type": "USER", "status": "ACTIVE"}))
        .collect();
    let mut answer = json!({"kind": "admin#directory#members"});
    if !members.is_empty() {
        answer["members"] = json!(members);
    }
    if start + size < ids.len() {
        answer["nextPageToken"] = json!(format!("page-{}", start + size));
    }
    json(200, answer)
}

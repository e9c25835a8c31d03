//! SCIM 2.0 service provider for the Users resource (RFC 7643, RFC 7644), enough for Okta's and
//! Microsoft Entra ID's provisioning: the identity provider creates, updates, deactivates and
//! deletes the company's employees, and they become, change and leave Wazzup users.
//!
//! Served under `/scim/v2`: `GET`/`POST /Users`, `GET`/`PUT`/`PATCH`/`DELETE /Users/{id}`,
//! `POST /Users/.search` and `POST /.search`, and the discovery documents
//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`. Every answer is
//! `application/scim+json`; errors are SCIM error messages
//! (`urn:ietf:params:scim:api:messages:2.0:Error`, with `scimType` where RFC 7644 §3.12 has
//! one). There are no Groups (Wazzup has none; turn group provisioning off in the identity
//! provider), no bulk, no sorting and no ETags.
//!
//! # Authentication
//!
//! `Authorization: Bearer <scimToken>`, the token stored as `scimToken` in the function's
//! secret, compared in constant time before anything else is looked at; nothing reaches Wazzup
//! first. Without a `scimToken`, SCIM is not enabled and every path answers 404; a missing or
//! wrong token answers 401 with `WWW-Authenticate: Bearer`.
//!
//! # What Wazzup keeps, and the mapping
//!
//! Wazzup stores only a user's id, name (at most 200 characters) and one digits-only phone.
//!
//! - **`id`** is the Wazzup user id. A `POST` takes it from `externalId` when that is present
//!   and a usable id (trimmed, at most 200 characters, no control characters), else from
//!   `userName`. `externalId` is the identity provider's own immutable key for the person (Okta's
//!   user id, Entra's `objectId`/`mailNickname` mapping), so the id survives renames and e-mail
//!   changes, which change `userName`. The id never changes afterwards: `PUT` and `PATCH`
//!   address the user by it, and a new `userName` or `externalId` is accepted but not kept
//!   (`id` and `meta` in a body are ignored: the path names the user).
//! - **`userName` and `externalId`** are not stored. Reads return the id in both. Consequence,
//!   stated plainly: `filter=userName eq "x"` and `filter=externalId eq "x"` look up the Wazzup
//!   user whose id is `x`. A user created with an `externalId` is found by that `externalId`, not
//!   by its `userName`; and a user renamed in the identity provider is found by its id only.
//!   Okta and Entra look a user up by `userName` only before creating it (an empty answer makes
//!   them `POST`, and a `POST` of an id Wazzup already has answers 409 `uniqueness`); afterwards
//!   they address it by `id`.
//! - **The name** is `name.formatted`, else `name.givenName` and `name.familyName` joined by a
//!   space, else `displayName`, else `userName`. Reads return it as `name.formatted` and
//!   `displayName`; `givenName`/`familyName` are write-only (the schema says `returned: never`).
//!   A `PATCH` renames only from what it changed, in the same order; a new `givenName` or
//!   `familyName` alone (Entra's "multi-valued" example) does not rename, because the other half
//!   is not known; both together do.
//! - **The phone** is one entry of `phoneNumbers`: the primary one, else the first of type
//!   `work`, else `mobile`, else one without a type (a home, fax, pager or other number is used
//!   only when marked primary). It is parsed like every phone of this function
//!   (`DEFAULT_PHONE_REGION` for numbers without a country code; `tel:` URIs accepted) and
//!   returned as `+<digits>`, type `work`, primary. A number that is not valid is left out (the user is stored without a phone, and a
//!   warning is logged), as in the webhook. Wazzup refusing a phone another user has is 409
//!   `uniqueness`.
//! - **`active: false`** removes the user from Wazzup: Wazzup has no inactive users, and
//!   Okta and Entra deactivate rather than delete (Entra deletes only 30 days later). A
//!   deactivated user is therefore 404 afterwards, where RFC 7644 would still show it inactive.
//! - **Everything else** (`emails`, `title`, `locale`, extension attributes, ...) is accepted
//!   and echoed in the answer to the write that sent it, but not stored: a later `GET` does not
//!   return it. `password` is never echoed. The list of `GET /Users` carries no phone numbers,
//!   because Wazzup's user list has none; `GET /Users/{id}` does.
//!
//! # Decisions where the RFC or Wazzup leave a choice
//!
//! - `POST` of an id Wazzup already has: 409 `uniqueness` (checked with a read first).
//!   `POST` with `active: false`: nothing is created; 201 with the user echoed, `active: false`.
//! - `PUT` with `active: false`, or a `PATCH` leaving `active` false (`false`, or Entra's
//!   `"False"`, with or without a path, `op` in any case): the user is removed; 200 with the user
//!   echoed, `active: false`. Asked of a user that is already gone: the same 200 (the wanted
//!   state holds, and Entra deactivates before it deletes).
//! - A user that is gone (deactivated here, or deleted in Wazzup): `PUT` with `active` true or
//!   absent creates it again from the whole resource it carries (Okta's app-wizard integrations
//!   re-activate with `PUT`); `PATCH` with `active` true creates it again when the request also
//!   carries a name (or `userName`), else 404: Okta's re-activation carries only `active`, so the
//!   user comes back with the next `PUT` of its profile (how Okta sends profile updates). Any
//!   other `PATCH` or a `GET` of it: 404.
//! - `DELETE`: 204, also when Wazzup did not have the user (a delete is idempotent; Entra sends
//!   it 30 days after the deactivation that already removed the user).
//! - Filters: the whole RFC grammar is read. Filters on `id`, `userName` or `externalId` with
//!   `eq` (as Okta and Entra send) are one `GET /v3/users/{id}`; other filters over `id`,
//!   `userName`, `externalId`, `displayName`, `name.formatted` and `active` are evaluated over
//!   Wazzup's user list. A filter on any other attribute is 400 `invalidFilter`: Wazzup keeps
//!   nothing to compare it with. Ids compare case-sensitively (so does Wazzup), names not.
//! - Paging: `startIndex` (from 1) and `count` over the list ordered by id (stable between
//!   pages, as Okta requires), at most 1,000 a page (Wazzup's user limit); no `count` returns
//!   everything. `attributes` and `excludedAttributes` are honoured on every answer holding
//!   users.
//! - Errors: unknown id 404; Wazzup or Secrets Manager unavailable, or Wazzup refusing the API
//!   key: 503 with `Retry-After` (everything here is safe to retry); Wazzup's 1,000-user limit:
//!   409 without `scimType` (the request is valid and succeeds once a user is removed); fields
//!   Wazzup refuses or a name over 200 characters: 400 `invalidValue`; a body that is not JSON:
//!   400 `invalidSyntax`; a bad PATCH: 400 with `invalidSyntax`, `invalidPath`, `noTarget` or
//!   `invalidValue`; over `MAX_BODY_BYTES`: 413; a body that is not JSON by its content type
//!   (`application/scim+json` and `application/json` are accepted): 415; a method an endpoint
//!   does not serve: 405; `filter` on a discovery endpoint: 403 (RFC 7644 §4).
//!
//! # Tests
//!
//! `tests/scim.rs` replays the request sequences Okta's and Entra's documentation publish
//! (`tests/fixtures/scim/`) through the handler; `tests/scim_tester.rs` runs scim2-tester, an
//! independent SCIM client checking RFC 7643/7644, against the function served over HTTP, and
//! lists the checks that cannot pass when Wazzup keeps only an id, a name and a phone, each with
//! its reason.

mod discovery;
mod filter;
mod patch;
mod user;

use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use self::filter::{AttrPath, Filter, USER_SCHEMA, get_ci};
use self::user::{Base, Stored};
use crate::domain::{PhoneRegion, SyncEvent, mask_phone};
use crate::inbound::auth::{SourceAuthError, check_bearer};
use crate::inbound::{delete_event, upsert_event};
use crate::sync::{Applier, ApplyError};
use crate::wazzup::{RemoteUser, WazzupError};

/// What the SCIM endpoint needs from the function's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub phone_region: PhoneRegion,
    pub max_body_bytes: usize,
}

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SCIM_JSON: &str = "application/scim+json";
/// Attributes a filter may name: those Wazzup's list gives a value for.
const FILTERABLE: [&str; 6] = [
    "id",
    "username",
    "externalid",
    "displayname",
    "name.formatted",
    "active",
];

/// A SCIM error response (RFC 7644 §3.12).
pub fn error_response(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response<Body> {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type);
    }
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// An error on its way to becoming a SCIM error response.
#[derive(Debug)]
struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
    headers: Vec<(HeaderName, &'static str)>,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    fn into_response(self) -> Response<Body> {
        let mut response = error_response(self.status, self.scim_type, &self.detail);
        for (name, value) in self.headers {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

impl From<patch::PatchError> for ScimError {
    fn from(error: patch::PatchError) -> Self {
        Self::bad(error.scim_type, error.detail)
    }
}

type Answer = Result<Response<Body>, ScimError>;

/// Handles one request under `/scim/v2` (`path` is the rest, e.g. `/Users/42`).
pub async fn handle(
    request: &Request,
    path: &str,
    token: Option<&SecretString>,
    applier: &mut Applier<'_>,
    settings: &Settings,
) -> Response<Body> {
    match check_bearer(token, request.headers()) {
        Ok(()) => {}
        Err(SourceAuthError::NotConfigured) => {
            return error_response(
                StatusCode::NOT_FOUND,
                None,
                "SCIM is not enabled: the function's secret has no \"scimToken\"",
            );
        }
        Err(error) => {
            tracing::warn!(reason = %error, "SCIM request not authenticated");
            return ScimError::new(StatusCode::UNAUTHORIZED, None, error.to_string())
                .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"scim\"")
                .into_response();
        }
    }
    let context = Context {
        base: base_of(request),
        region: settings.phone_region,
        max_body_bytes: settings.max_body_bytes,
    };
    match route(request, path, applier, &context).await {
        Ok(response) => response,
        Err(error) => {
            if error.status.is_server_error() {
                tracing::warn!(status = error.status.as_u16(), detail = %error.detail, "SCIM request failed");
            }
            error.into_response()
        }
    }
}

/// What every handler needs besides the request.
struct Context {
    base: Base,
    region: PhoneRegion,
    max_body_bytes: usize,
}

/// The URL of `/scim/v2` as the client called it, for `meta.location`: the absolute URL Lambda
/// rebuilt, or the `Host` header over plain HTTP (the local server), or a relative path.
fn base_of(request: &Request) -> Base {
    let uri = request.uri();
    let path = uri.path();
    let prefix = match path.find("/scim/v2") {
        Some(at) => &path[..at + "/scim/v2".len()],
        None => "/scim/v2",
    };
    let host = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
        request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let scheme = uri.scheme_str().map(str::to_owned).or_else(|| {
        request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let url = match host {
        Some(host) => format!("{}://{host}{prefix}", scheme.as_deref().unwrap_or("http")),
        None => prefix.to_owned(),
    };
    Base { url }
}

async fn route(
    request: &Request,
    path: &str,
    applier: &mut Applier<'_>,
    context: &Context,
) -> Answer {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method();
    let is = |segment: &str, name: &str| segment.eq_ignore_ascii_case(name);
    match segments.as_slice() {
        [endpoint] if is(endpoint, "ServiceProviderConfig") => {
            only(method, &[Method::GET])?;
            no_filter(request)?;
            Ok(scim_json(
                StatusCode::OK,
                &discovery::service_provider_config(&context.base),
            ))
        }
        [endpoint] if is(endpoint, "ResourceTypes") => {
            only(method, &[Method::GET])?;
            no_filter(request)?;
            Ok(scim_json(
                StatusCode::OK,
                &list_response(vec![discovery::user_resource_type(&context.base)], 1, 1),
            ))
        }
        [endpoint, id] if is(endpoint, "ResourceTypes") => {
            only(method, &[Method::GET])?;
            if user::decode_segment(id).is_some_and(|id| id.eq_ignore_ascii_case("User")) {
                Ok(scim_json(
                    StatusCode::OK,
                    &discovery::user_resource_type(&context.base),
                ))
            } else {
                Err(ScimError::not_found(
                    "no such resource type: this service has only User",
                ))
            }
        }
        [endpoint] if is(endpoint, "Schemas") => {
            only(method, &[Method::GET])?;
            no_filter(request)?;
            Ok(scim_json(
                StatusCode::OK,
                &list_response(vec![discovery::user_schema(&context.base)], 1, 1),
            ))
        }
        [endpoint, id] if is(endpoint, "Schemas") => {
            only(method, &[Method::GET])?;
            if user::decode_segment(id).is_some_and(|id| id.eq_ignore_ascii_case(USER_SCHEMA)) {
                Ok(scim_json(
                    StatusCode::OK,
                    &discovery::user_schema(&context.base),
                ))
            } else {
                Err(ScimError::not_found(format!(
                    "no such schema: this service has only {USER_SCHEMA}"
                )))
            }
        }
        [endpoint] if is(endpoint, "Users") => {
            only(method, &[Method::GET, Method::POST])?;
            if method == Method::GET {
                let query = ListQuery::from_pairs(&query_pairs(request))?;
                list(applier, context, &query).await
            } else {
                create(request, applier, context).await
            }
        }
        [endpoint, dot_search] if is(endpoint, "Users") && *dot_search == ".search" => {
            search(request, applier, context).await
        }
        [dot_search] if *dot_search == ".search" => search(request, applier, context).await,
        [endpoint, id] if is(endpoint, "Users") => {
            only(
                method,
                &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
            )?;
            // An id that is not one Wazzup could hold is not there.
            let id = user::decode_segment(id)
                .filter(|id| crate::domain::UserId::parse(id).is_ok_and(|u| u.as_str() == id))
                .ok_or_else(|| ScimError::not_found("no user with this id"))?;
            match *method {
                Method::GET => get(request, &id, applier, context).await,
                Method::PUT => replace(request, &id, applier, context).await,
                Method::PATCH => modify(request, &id, applier, context).await,
                _ => remove(&id, applier).await,
            }
        }
        [endpoint, ..] if is(endpoint, "Groups") => Err(ScimError::not_found(
            "Groups are not supported: Wazzup has no groups. Turn group provisioning off in the identity provider",
        )),
        [endpoint] if is(endpoint, "Bulk") => Err(ScimError::new(
            StatusCode::NOT_IMPLEMENTED,
            None,
            "bulk operations are not supported",
        )),
        _ => Err(ScimError::not_found(format!(
            "no SCIM endpoint at {path}; this service has /Users, /ServiceProviderConfig, /ResourceTypes and /Schemas"
        ))),
    }
}

/// 405 unless `method` is one of `allowed`.
fn only(method: &Method, allowed: &[Method]) -> Result<(), ScimError> {
    if allowed.contains(method) {
        return Ok(());
    }
    let allow = match allowed {
        [Method::GET] => "GET",
        [Method::GET, Method::POST] => "GET, POST",
        [Method::POST] => "POST",
        _ => "GET, PUT, PATCH, DELETE",
    };
    Err(ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("{method} is not allowed here; use {allow}"),
    )
    .with_header(header::ALLOW, allow))
}

/// RFC 7644 §4: discovery endpoints answer a filter with 403.
fn no_filter(request: &Request) -> Result<(), ScimError> {
    if query_pairs(request)
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("filter"))
    {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            "discovery endpoints cannot be filtered",
        ));
    }
    Ok(())
}

fn query_pairs(request: &Request) -> Vec<(String, String)> {
    request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn scim_json(status: StatusCode, body: &Value) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The request body as a JSON object, after the size and content-type checks.
fn read_json(request: &Request, context: &Context) -> Result<Value, ScimError> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > context.max_body_bytes {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!(
                "the body is {} bytes; at most {} are accepted",
                body.len(),
                context.max_body_bytes
            ),
        ));
    }
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let mime = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let json = mime == "application/json"
            || mime == "text/json"
            || (mime.starts_with("application/") && mime.ends_with("+json"));
        if !json {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                "the body must be JSON, sent as application/scim+json or application/json",
            ));
        }
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ScimError::bad(
            "invalidSyntax",
            "the body must be a JSON object",
        ));
    }
    Ok(value)
}

// ---------------------------------------------------------------------------------------------
// Queries.

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5).
#[derive(Debug, Default)]
struct Projection {
    attributes: Vec<AttrPath>,
    excluded: Vec<AttrPath>,
}

impl Projection {
    fn parse_list(text: &str) -> Result<Vec<AttrPath>, ScimError> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| AttrPath::parse(s).map_err(|e| ScimError::bad("invalidPath", e)))
            .collect()
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ScimError> {
        let mut projection = Self::default();
        for (key, value) in pairs {
            if key.eq_ignore_ascii_case("attributes") {
                projection.attributes.extend(Self::parse_list(value)?);
            } else if key.eq_ignore_ascii_case("excludedAttributes") {
                projection.excluded.extend(Self::parse_list(value)?);
            }
        }
        Ok(projection)
    }

    /// Keeps only the attributes asked for, or drops those excluded; `schemas` and `id` stay.
    fn apply(&self, resource: &mut Map<String, Value>) {
        let always =
            |key: &str| key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("id");
        if !self.attributes.is_empty() {
            let keys: Vec<String> = resource.keys().cloned().collect();
            for key in keys {
                if always(&key) {
                    continue;
                }
                let wanted: Vec<&AttrPath> = self
                    .attributes
                    .iter()
                    .filter(|p| match &p.urn {
                        None => p.attr.eq_ignore_ascii_case(&key),
                        Some(urn) => urn.eq_ignore_ascii_case(&key),
                    })
                    .collect();
                if wanted.is_empty() {
                    resource.remove(&key);
                    continue;
                }
                let Some(value) = resource.get_mut(&key) else {
                    continue;
                };
                let is_extension = wanted.iter().any(|p| p.urn.is_some());
                if is_extension {
                    // Keep the named attributes of the extension object.
                    if let Value::Object(inner) = value {
                        inner.retain(|k, _| wanted.iter().any(|p| p.attr.eq_ignore_ascii_case(k)));
                    }
                } else if wanted.iter().all(|p| p.sub.is_some()) {
                    let subs: Vec<&str> = wanted.iter().filter_map(|p| p.sub.as_deref()).collect();
                    keep_subs(value, &subs);
                }
            }
        }
        for path in &self.excluded {
            let container = match &path.urn {
                None => Some(&mut *resource),
                Some(urn) => patch::key_ci(resource, urn)
                    .and_then(|k| resource.get_mut(&k))
                    .and_then(Value::as_object_mut),
            };
            let Some(container) = container else {
                continue;
            };
            if path.urn.is_none() && always(&path.attr) {
                continue;
            }
            match &path.sub {
                None => {
                    patch::remove_ci(container, &path.attr);
                }
                Some(sub) => {
                    if let Some(key) = patch::key_ci(container, &path.attr) {
                        match container.get_mut(&key) {
                            Some(Value::Object(object)) => {
                                patch::remove_ci(object, sub);
                            }
                            Some(Value::Array(items)) => {
                                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                                    patch::remove_ci(item, sub);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

fn keep_subs(value: &mut Value, subs: &[&str]) {
    let keep = |object: &mut Map<String, Value>| {
        object.retain(|k, _| subs.iter().any(|s| s.eq_ignore_ascii_case(k)));
    };
    match value {
        Value::Object(object) => keep(object),
        Value::Array(items) => {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                keep(item);
            }
        }
        _ => {}
    }
}

/// The parameters of a list or search.
#[derive(Debug)]
struct ListQuery {
    filter: Option<Filter>,
    /// 1-based.
    start_index: usize,
    count: usize,
    projection: Projection,
}

impl ListQuery {
    fn new(
        filter: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
        projection: Projection,
    ) -> Result<Self, ScimError> {
        let filter = filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| Filter::parse(f).map_err(|e| ScimError::bad("invalidFilter", e)))
            .transpose()?;
        if let Some(filter) = &filter
            && let Some(path) = filter
                .attributes()
                .into_iter()
                .find(|p| p.urn.is_some() || !FILTERABLE.contains(&p.key().as_str()))
        {
            return Err(ScimError::bad(
                "invalidFilter",
                format!(
                    "cannot filter on \"{}\": Wazzup keeps only an id and a name, so only id, userName, \
                     externalId, displayName, name.formatted and active can be filtered",
                    path.key()
                ),
            ));
        }
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
        let start_index = usize::try_from(start_index.unwrap_or(1).max(1)).unwrap_or(1);
        let count = count
            .map_or(discovery::MAX_RESULTS, |c| {
                usize::try_from(c.max(0)).unwrap_or(0)
            })
            .min(discovery::MAX_RESULTS);
        Ok(Self {
            filter,
            start_index,
            count,
            projection,
        })
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ScimError> {
        let find = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let number = |name: &'static str| -> Result<Option<i64>, ScimError> {
            find(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        ScimError::bad("invalidValue", format!("{name} must be an integer"))
                    })
                })
                .transpose()
        };
        Self::new(
            find("filter"),
            number("startIndex")?,
            number("count")?,
            Projection::from_pairs(pairs)?,
        )
    }

    /// A SearchRequest body (RFC 7644 §3.4.3).
    fn from_search(body: &Value) -> Result<Self, ScimError> {
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match get_ci(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::bad("invalidValue", format!("{name} must be an integer"))
                }),
            }
        };
        let paths = |name: &str| -> Result<Vec<AttrPath>, ScimError> {
            match get_ci(body, name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .ok_or_else(|| {
                                ScimError::bad("invalidValue", format!("{name} must list strings"))
                            })
                            .and_then(|s| {
                                AttrPath::parse(s).map_err(|e| ScimError::bad("invalidPath", e))
                            })
                    })
                    .collect(),
                Some(Value::String(list)) => Projection::parse_list(list),
                Some(_) => Err(ScimError::bad(
                    "invalidValue",
                    format!("{name} must be an array of attribute names"),
                )),
            }
        };
        let filter = match get_ci(body, "filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(filter)) => Some(filter.as_str()),
            Some(_) => {
                return Err(ScimError::bad(
                    "invalidFilter",
                    "the filter must be a string",
                ));
            }
        };
        Self::new(
            filter,
            number("startIndex")?,
            number("count")?,
            Projection {
                attributes: paths("attributes")?,
                excluded: paths("excludedAttributes")?,
            },
        )
    }
}

/// Ids compare exactly (Wazzup's are case-sensitive); names and the rest do not.
fn case_exact(path: &AttrPath) -> bool {
    path.is("id") || path.is("userName") || path.is("externalId")
}

async fn list(applier: &mut Applier<'_>, context: &Context, query: &ListQuery) -> Answer {
    let by_id = query.filter.as_ref().and_then(|filter| {
        filter
            .required_equalities()
            .into_iter()
            .find(|(path, _)| case_exact(path))
            .map(|(_, id)| id.to_owned())
    });
    let candidates: Vec<Map<String, Value>> = match by_id {
        Some(id) => {
            let usable = crate::domain::UserId::parse(&id).is_ok_and(|u| u.as_str() == id);
            let found = if usable {
                applier.get_user(&id).await.map_err(|e| apply_error(&e))?
            } else {
                None
            };
            found
                .map(|u| stored(&u, &context.base))
                .into_iter()
                .collect()
        }
        None => {
            let mut users = applier.list_users().await.map_err(|e| apply_error(&e))?;
            users.sort_by(|a, b| a.id.cmp(&b.id));
            users
                .iter()
                .map(|u| user::stored_view(&u.id, &u.name, None, &context.base))
                .collect()
        }
    };
    let matched: Vec<Map<String, Value>> = candidates
        .into_iter()
        .filter(|c| {
            query
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&Value::Object(c.clone()), &case_exact))
        })
        .collect();
    let total = matched.len();
    let page: Vec<Value> = matched
        .into_iter()
        .skip(query.start_index - 1)
        .take(query.count)
        .map(|mut resource| {
            query.projection.apply(&mut resource);
            Value::Object(resource)
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(page, total, query.start_index),
    ))
}

async fn search(request: &Request, applier: &mut Applier<'_>, context: &Context) -> Answer {
    only(request.method(), &[Method::POST])?;
    let body = read_json(request, context)?;
    let query = ListQuery::from_search(&body)?;
    list(applier, context, &query).await
}

// ---------------------------------------------------------------------------------------------
// One user.

/// The user as Wazzup holds it, as SCIM.
fn stored(remote: &RemoteUser, base: &Base) -> Map<String, Value> {
    user::stored_view(&remote.id, &remote.name, phone_digits(remote), base)
}

fn phone_digits(remote: &RemoteUser) -> Option<&str> {
    remote.phone.as_deref().filter(|p| !p.is_empty())
}

/// A resource answer: the body projected as the query asks, and `Location` on a 201.
fn resource_answer(
    request: &Request,
    status: StatusCode,
    mut resource: Map<String, Value>,
) -> Answer {
    Projection::from_pairs(&query_pairs(request))?.apply(&mut resource);
    let location = resource
        .get("meta")
        .and_then(|m| m.get("location"))
        .and_then(Value::as_str)
        .and_then(|l| HeaderValue::from_str(l).ok());
    let mut response = scim_json(status, &Value::Object(resource));
    if status == StatusCode::CREATED
        && let Some(location) = location
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn not_in_wazzup(id: &str) -> ScimError {
    ScimError::not_found(format!(
        "no user \"{id}\" in Wazzup (a user deactivated through SCIM is removed from Wazzup)"
    ))
}

async fn get(request: &Request, id: &str, applier: &mut Applier<'_>, context: &Context) -> Answer {
    match applier.get_user(id).await.map_err(|e| apply_error(&e))? {
        Some(remote) => resource_answer(request, StatusCode::OK, stored(&remote, &context.base)),
        None => Err(not_in_wazzup(id)),
    }
}

async fn create(request: &Request, applier: &mut Applier<'_>, context: &Context) -> Answer {
    let body = read_json(request, context)?;
    if user::text(get_ci(&body, "userName")).is_none() {
        return Err(ScimError::bad("invalidValue", "userName is required"));
    }
    let id = user::id_for_new_user(&body).ok_or_else(|| {
        ScimError::bad(
            "invalidValue",
            "neither externalId nor userName can be a Wazzup id: at most 200 characters, no control characters",
        )
    })?;
    let active = user::active_of(&body).map_err(|e| ScimError::bad("invalidValue", e))?;
    if applier
        .get_user(&id)
        .await
        .map_err(|e| apply_error(&e))?
        .is_some()
    {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!(
                "a user with id \"{id}\" (from externalId, else userName) already exists in Wazzup"
            ),
        ));
    }
    let sent = body.as_object().cloned().unwrap_or_default();
    if !active {
        tracing::info!(action = "scim_create", user_id = %id, "inactive user: nothing created in Wazzup");
        return resource_answer(
            request,
            StatusCode::CREATED,
            user::write_answer(&sent, &id, None, &context.base),
        );
    }
    let name = user::name_of(&body).unwrap_or_else(|| id.clone());
    let stored = store(applier, context, &id, &name, user::phone_of(&body), None).await?;
    tracing::info!(action = "scim_create", user_id = %id, "user created");
    resource_answer(
        request,
        StatusCode::CREATED,
        user::write_answer(&sent, &id, Some(&stored), &context.base),
    )
}

async fn replace(
    request: &Request,
    id: &str,
    applier: &mut Applier<'_>,
    context: &Context,
) -> Answer {
    let body = read_json(request, context)?;
    let active = user::active_of(&body).map_err(|e| ScimError::bad("invalidValue", e))?;
    let current = applier.get_user(id).await.map_err(|e| apply_error(&e))?;
    let sent = body.as_object().cloned().unwrap_or_default();
    if !active {
        if current.is_some() {
            remove_from_wazzup(id, applier).await?;
        }
        tracing::info!(action = "scim_deactivate", user_id = %id, "user deactivated by PUT");
        return resource_answer(
            request,
            StatusCode::OK,
            user::write_answer(&sent, id, None, &context.base),
        );
    }
    let name = user::name_of(&body).ok_or_else(|| {
        ScimError::bad(
            "invalidValue",
            "the user has no name: send name.formatted, name.givenName/familyName, displayName or userName",
        )
    })?;
    if current.is_none() {
        tracing::info!(action = "scim_replace", user_id = %id, "user not in Wazzup: created again from the PUT");
    }
    let stored = store(
        applier,
        context,
        id,
        &name,
        user::phone_of(&body),
        current.as_ref(),
    )
    .await?;
    resource_answer(
        request,
        StatusCode::OK,
        user::write_answer(&sent, id, Some(&stored), &context.base),
    )
}

async fn modify(
    request: &Request,
    id: &str,
    applier: &mut Applier<'_>,
    context: &Context,
) -> Answer {
    let body = read_json(request, context)?;
    let operations = patch::parse(&body)?;
    let current = applier.get_user(id).await.map_err(|e| apply_error(&e))?;
    let before = match &current {
        Some(remote) => user::patch_base(id, &remote.name, phone_digits(remote)),
        None => Map::new(),
    };
    let mut after = before.clone();
    patch::apply(&mut after, &operations)?;
    let (before, after) = (Value::Object(before), Value::Object(after));
    let active = user::active_of(&after).map_err(|e| ScimError::bad("invalidValue", e))?;
    let sent = after.as_object().cloned().unwrap_or_default();
    let Some(remote) = current else {
        let asked_active = get_ci(&after, "active").is_some_and(|a| !a.is_null());
        if !active {
            // Already gone: the wanted state holds.
            return resource_answer(
                request,
                StatusCode::OK,
                user::write_answer(&sent, id, None, &context.base),
            );
        }
        let name = user::name_of(&after).filter(|_| asked_active);
        let Some(name) = name else {
            return Err(ScimError::not_found(format!(
                "no user \"{id}\" in Wazzup. A user deactivated through SCIM is removed from Wazzup; \
                 to bring it back, PUT the whole user, or PATCH active true together with its name"
            )));
        };
        tracing::info!(action = "scim_patch", user_id = %id, "user not in Wazzup: created again by the PATCH");
        let stored = store(applier, context, id, &name, user::phone_of(&after), None).await?;
        return resource_answer(
            request,
            StatusCode::OK,
            user::write_answer(&sent, id, Some(&stored), &context.base),
        );
    };
    if !active {
        remove_from_wazzup(id, applier).await?;
        tracing::info!(action = "scim_deactivate", user_id = %id, "user deactivated by PATCH");
        return resource_answer(
            request,
            StatusCode::OK,
            user::write_answer(&sent, id, None, &context.base),
        );
    }
    let name = user::patched_name(&before, &after).unwrap_or_else(|| remote.name.clone());
    // A displayName the PATCH did not touch is Wazzup's old name: answer with the new one.
    let mut sent = sent;
    if get_ci(&after, "displayName") == get_ci(&before, "displayName") {
        patch::remove_ci(&mut sent, "displayName");
    }
    let stored = store(
        applier,
        context,
        id,
        &name,
        user::phone_of(&after),
        Some(&remote),
    )
    .await?;
    resource_answer(
        request,
        StatusCode::OK,
        user::write_answer(&sent, id, Some(&stored), &context.base),
    )
}

async fn remove(id: &str, applier: &mut Applier<'_>) -> Answer {
    remove_from_wazzup(id, applier).await?;
    tracing::info!(action = "scim_delete", user_id = %id, "user deleted");
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Writes to Wazzup.

/// Upserts the user unless Wazzup already holds exactly this, and says what it holds.
async fn store(
    applier: &mut Applier<'_>,
    context: &Context,
    id: &str,
    name: &str,
    phone: Option<String>,
    current: Option<&RemoteUser>,
) -> Result<Stored, ScimError> {
    let (event, warning) = upsert_event(0, id, Some(name), phone.as_deref(), context.region)
        .map_err(|rejection| ScimError::bad("invalidValue", rejection.message))?;
    if let Some(warning) = warning {
        tracing::warn!(user_id = %id, code = %warning.code, "phone number not valid: the user is stored without it");
    }
    let SyncEvent::Upsert(user) = &event else {
        return Err(ScimError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "an upsert was expected",
        ));
    };
    let stored = Stored {
        name: user.name.as_str().to_owned(),
        phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
    };
    if let Some(current) = current
        && current.name == stored.name
        && phone_digits(current) == stored.phone.as_deref()
    {
        return Ok(stored);
    }
    let (summary, result) = applier.apply_events(vec![event]).await;
    result.map_err(|e| apply_error(&e))?;
    if let Some(rejection) = summary.rejected.first() {
        return Err(match rejection.reason.as_str() {
            "DUPLICATE_PHONE_NUMBER" => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                format!(
                    "another Wazzup user already has the phone number {}",
                    stored.phone.as_deref().map(mask_phone).unwrap_or_default()
                ),
            ),
            _ => ScimError::bad(
                "invalidValue",
                format!("Wazzup refused the user: {}", rejection.message),
            ),
        });
    }
    Ok(stored)
}

async fn remove_from_wazzup(id: &str, applier: &mut Applier<'_>) -> Result<(), ScimError> {
    let event = delete_event(0, id).map_err(|_| not_in_wazzup(id))?;
    let (_, result) = applier.apply_events(vec![event]).await;
    result.map_err(|e| apply_error(&e))
}

/// A failed call to Wazzup or Secrets Manager, as a SCIM error.
fn apply_error(error: &ApplyError) -> ScimError {
    let retry = |detail: String| {
        ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
            .with_header(header::RETRY_AFTER, "30")
    };
    match error {
        ApplyError::Secret(error) => retry(format!(
            "the function's credentials cannot be read now ({error}); retry later"
        )),
        ApplyError::Wazzup(error) if error.is_transient() => {
            retry(format!("{error}; the request is safe to send again"))
        }
        ApplyError::Wazzup(error @ (WazzupError::Unauthorized | WazzupError::Forbidden { .. })) => {
            retry(format!(
                "{error}; check the Wazzup API key in the function's secret"
            ))
        }
        ApplyError::Wazzup(error @ WazzupError::UserLimitExceeded { .. }) => ScimError::new(
            StatusCode::CONFLICT,
            None,
            format!("{error}: remove a user from Wazzup first"),
        ),
        ApplyError::Wazzup(WazzupError::DuplicatePhoneNumber { phone }) => ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!(
                "another Wazzup user already has the phone number {}",
                mask_phone(phone)
            ),
        ),
        ApplyError::Wazzup(error @ WazzupError::InvalidUsersData { .. }) => {
            ScimError::bad("invalidValue", error.to_string())
        }
        ApplyError::Wazzup(error) => ScimError::new(
            StatusCode::BAD_GATEWAY,
            None,
            format!("Wazzup answered unexpectedly: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn list_queries_read_okta_and_entra_parameters() {
        // Okta percent-encodes, Entra uses '+' for spaces.
        let okta = ListQuery::from_pairs(&pairs(
            "filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        ))
        .unwrap();
        let equalities = okta.filter.as_ref().unwrap().required_equalities();
        assert_eq!(equalities[0].1, "test.user@okta.local");
        assert_eq!((okta.start_index, okta.count), (1, 100));
        let entra = ListQuery::from_pairs(&pairs("filter=userName+eq+%22Test_User%22")).unwrap();
        assert!(entra.filter.is_some());
        assert_eq!(
            (entra.start_index, entra.count),
            (1, discovery::MAX_RESULTS)
        );
        let clamped = ListQuery::from_pairs(&pairs("startIndex=-5&count=-1")).unwrap();
        assert_eq!((clamped.start_index, clamped.count), (1, 0));
        let capped = ListQuery::from_pairs(&pairs("count=5000")).unwrap();
        assert_eq!(capped.count, discovery::MAX_RESULTS);
    }

    #[test]
    fn filters_on_attributes_wazzup_does_not_keep_are_invalid() {
        for filter in [
            r#"emails[type eq "work"].value eq "a@b.c""#,
            r#"title eq "x""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
            "userName eq",
        ] {
            let query = format!(
                "filter={}",
                url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
            );
            let error = ListQuery::from_pairs(&pairs(&query)).unwrap_err();
            assert_eq!(error.scim_type, Some("invalidFilter"), "{filter}");
        }
        assert!(ListQuery::from_pairs(&pairs("startIndex=one")).is_err());
        assert!(
            ListQuery::from_pairs(&pairs(
                "filter=displayName%20sw%20%22A%22%20and%20active%20eq%20true"
            ))
            .is_ok()
        );
    }

    #[test]
    fn search_requests_are_read_from_the_body() {
        let query = ListQuery::from_search(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "externalId eq \"00u1\"", "startIndex": 2, "count": 10,
            "attributes": ["userName", "name.formatted"]
        }))
        .unwrap();
        assert_eq!((query.start_index, query.count), (2, 10));
        assert_eq!(query.projection.attributes.len(), 2);
        assert!(ListQuery::from_search(&json!({"filter": 3})).is_err());
        assert!(ListQuery::from_search(&json!({"count": "ten"})).is_err());
    }

    #[test]
    fn projections_keep_or_drop_attributes_but_never_the_id() {
        let base = Base {
            url: "/scim/v2".into(),
        };
        let user = user::stored_view("u1", "Alex", Some("79263334567"), &base);
        let projected = |query: &str| {
            let mut resource = user.clone();
            Projection::from_pairs(&pairs(query))
                .unwrap()
                .apply(&mut resource);
            let mut keys: Vec<String> = resource.keys().cloned().collect();
            keys.sort();
            (keys, Value::Object(resource))
        };
        let (keys, _) = projected("attributes=externalId");
        assert_eq!(keys, ["externalId", "id", "schemas"]);
        let (keys, resource) = projected("attributes=name.formatted,phoneNumbers.value");
        assert_eq!(keys, ["id", "name", "phoneNumbers", "schemas"]);
        assert_eq!(resource["phoneNumbers"], json!([{"value": "+79263334567"}]));
        let (keys, _) = projected("excludedAttributes=name,meta,id");
        assert!(!keys.contains(&"name".to_string()) && !keys.contains(&"meta".to_string()));
        assert!(keys.contains(&"id".to_string()));
        let (_, resource) = projected("excludedAttributes=phoneNumbers.type");
        assert_eq!(
            resource["phoneNumbers"],
            json!([{"value": "+79263334567", "primary": true}])
        );
    }

    #[test]
    fn scim_errors_carry_the_error_schema_and_content_type() {
        let response = ScimError::bad("invalidFilter", "no").into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], SCIM_JSON);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            body,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                   "status": "400", "scimType": "invalidFilter", "detail": "no"})
        );
    }

    #[test]
    fn wazzup_failures_map_to_scim_statuses() {
        let status = |e: WazzupError| apply_error(&ApplyError::Wazzup(e)).status.as_u16();
        assert_eq!(status(WazzupError::RateLimited), 503);
        assert_eq!(status(WazzupError::Transport("x".into())), 503);
        assert_eq!(status(WazzupError::Unauthorized), 503);
        assert_eq!(status(WazzupError::UserLimitExceeded { limit: 1000 }), 409);
        let duplicate = apply_error(&ApplyError::Wazzup(WazzupError::DuplicatePhoneNumber {
            phone: "79263334567".into(),
        }));
        assert_eq!(duplicate.scim_type, Some("uniqueness"));
        assert!(!duplicate.detail.contains("79263334567"));
        assert_eq!(status(WazzupError::Decode("x".into())), 502);
        let secret = apply_error(&ApplyError::Secret(
            crate::secrets::SecretError::Unavailable("down".into()),
        ));
        assert_eq!(secret.status, 503);
        assert!(secret.headers.iter().any(|(n, _)| n == header::RETRY_AFTER));
    }
}

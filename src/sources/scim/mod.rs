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
//! The parts: [`routes`] (which handler serves what), [`users`] (one user), [`query`] (lists
//! and searches), [`projection`], [`mapping`] (a SCIM User and a Wazzup user), [`filter`],
//! [`patch`], [`discovery`], [`error`] and [`exchange`] (what the handlers share).
//!
//! `tests/scim.rs` replays the request sequences Okta's and Entra's documentation publish
//! (`tests/fixtures/scim/`) through the handler; `tests/scim_tester.rs` runs scim2-tester, an
//! independent SCIM client checking RFC 7643/7644, against the function served over HTTP, and
//! lists the checks that cannot pass when Wazzup keeps only an id, a name and a phone, each with
//! its reason.

mod discovery;
mod error;
mod exchange;
mod filter;
mod mapping;
mod media;
mod patch;
mod projection;
mod query;
mod routes;
mod users;

use http::{StatusCode, header};

use self::error::{ScimError, error_response};
use self::exchange::{Context, base_of};
use crate::auth::{CallerAuthError, check_bearer};
use crate::credentials::{BoxFuture, SecretError, SecretFields};
use tokio::time::Instant;

use crate::service::SyncService;
use crate::sources::contract::{Inbound, Protocol, Route, Source, SourceSettings};

/// The SCIM 2.0 source.
pub struct Scim;

const TOKEN: &str = "scimToken";

impl Source for Scim {
    fn name(&self) -> &'static str {
        "scim"
    }

    fn route(&self) -> Option<Route> {
        Some(Route::Prefix("/scim/v2"))
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[TOKEN]
    }

    fn enabled(&self, secrets: &SecretFields) -> bool {
        secrets.is_set(TOKEN)
    }

    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError> {
        secrets.text(TOKEN).map(|_| ())
    }

    fn protocol(&self) -> Option<&dyn Protocol> {
        Some(self)
    }
}

impl Protocol for Scim {
    fn serve<'a>(
        &'a self,
        request: &'a Inbound<'a>,
        sub_path: &'a str,
        service: &'a SyncService,
        deadline: Option<Instant>,
        settings: &'a SourceSettings,
    ) -> BoxFuture<'a, http::Response<String>> {
        Box::pin(handle(request, sub_path, service, deadline, settings))
    }
}

/// Handles one request under `/scim/v2` (`path` is the rest, e.g. `/Users/42`).
async fn handle(
    request: &Inbound<'_>,
    path: &str,
    service: &SyncService,
    deadline: Option<Instant>,
    settings: &SourceSettings,
) -> http::Response<String> {
    let mut session = match service.session(deadline).await {
        Ok(session) => session.for_source("scim"),
        Err(error) => {
            tracing::error!(%error, "credentials unavailable");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                &format!("the function's credentials cannot be read now ({error}); retry later"),
            );
        }
    };
    let token = session.credentials().fields.text(TOKEN).ok().flatten();
    match check_bearer(token.as_ref(), request.headers()) {
        Ok(()) => {}
        Err(CallerAuthError::NotConfigured) => {
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
    match routes::route(request, path, &mut session, &context).await {
        Ok(response) => response,
        Err(error) => {
            if error.status.is_server_error() {
                tracing::warn!(status = error.status.as_u16(), detail = %error.detail, "SCIM request failed");
            }
            error.into_response()
        }
    }
}

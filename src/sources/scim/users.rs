//! One user: read, create, replace, modify and remove, each written to Wazzup through the
//! service's session, and the answer of each.

use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use super::error::{Answer, ScimError, apply_error};
use super::exchange::{Context, query_pairs, read_json};
use super::filter::get_ci;
use super::mapping::{self, Base, Stored};
use super::media::scim_json;
use super::patch;
use super::projection::Projection;
use crate::domain::{LoggedId, SyncEvent, delete_event, mask_phone, upsert_event};
use crate::service::{BatchOutcome, Session};
use crate::sources::contract::Inbound;
use crate::wazzup::RemoteUser;

/// The user as Wazzup holds it, as SCIM.
pub fn stored(remote: &RemoteUser, base: &Base) -> Map<String, Value> {
    mapping::stored_view(&remote.id, &remote.name, phone_digits(remote), base)
}

fn phone_digits(remote: &RemoteUser) -> Option<&str> {
    remote.phone.as_deref().filter(|p| !p.is_empty())
}

/// A resource answer: the body projected as the query asks, and `Location` on a 201.
fn resource_answer(
    request: &Inbound<'_>,
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

pub async fn get(
    request: &Inbound<'_>,
    id: &str,
    session: &mut Session<'_>,
    context: &Context,
) -> Answer {
    match session
        .get_employee(id)
        .await
        .map_err(|e| apply_error(&e))?
    {
        Some(remote) => resource_answer(request, StatusCode::OK, stored(&remote, &context.base)),
        None => Err(not_in_wazzup(id)),
    }
}

pub async fn create(request: &Inbound<'_>, session: &mut Session<'_>, context: &Context) -> Answer {
    let body = read_json(request, context)?;
    if mapping::text(get_ci(&body, "userName")).is_none() {
        return Err(ScimError::bad("invalidValue", "userName is required"));
    }
    let id = mapping::id_for_new_user(&body).ok_or_else(|| {
        ScimError::bad(
            "invalidValue",
            "neither externalId nor userName can be a Wazzup id: at most 200 characters, no control characters",
        )
    })?;
    let active = mapping::active_of(&body).map_err(|e| ScimError::bad("invalidValue", e))?;
    if session
        .get_employee(&id)
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
        tracing::info!(action = "scim_create", user_id = %LoggedId(&id), "inactive user: nothing created in Wazzup");
        return resource_answer(
            request,
            StatusCode::CREATED,
            mapping::write_answer(&sent, &id, None, &context.base),
        );
    }
    let name = mapping::name_of(&body).unwrap_or_else(|| id.clone());
    let stored = store(session, context, &id, &name, mapping::phone_of(&body), None).await?;
    tracing::info!(action = "scim_create", user_id = %LoggedId(&id), "user created");
    resource_answer(
        request,
        StatusCode::CREATED,
        mapping::write_answer(&sent, &id, Some(&stored), &context.base),
    )
}

pub async fn replace(
    request: &Inbound<'_>,
    id: &str,
    session: &mut Session<'_>,
    context: &Context,
) -> Answer {
    let body = read_json(request, context)?;
    let active = mapping::active_of(&body).map_err(|e| ScimError::bad("invalidValue", e))?;
    let current = session
        .get_employee(id)
        .await
        .map_err(|e| apply_error(&e))?;
    let sent = body.as_object().cloned().unwrap_or_default();
    if !active {
        if current.is_some() {
            remove_from_wazzup(id, session).await?;
        }
        tracing::info!(action = "scim_deactivate", user_id = %LoggedId(id), "user deactivated by PUT");
        return resource_answer(
            request,
            StatusCode::OK,
            mapping::write_answer(&sent, id, None, &context.base),
        );
    }
    let name = mapping::name_of(&body).ok_or_else(|| {
        ScimError::bad(
            "invalidValue",
            "the user has no name: send name.formatted, name.givenName/familyName, displayName or userName",
        )
    })?;
    if current.is_none() {
        tracing::info!(action = "scim_replace", user_id = %LoggedId(id), "user not in Wazzup: created again from the PUT");
    }
    let stored = store(
        session,
        context,
        id,
        &name,
        mapping::phone_of(&body),
        current.as_ref(),
    )
    .await?;
    resource_answer(
        request,
        StatusCode::OK,
        mapping::write_answer(&sent, id, Some(&stored), &context.base),
    )
}

pub async fn modify(
    request: &Inbound<'_>,
    id: &str,
    session: &mut Session<'_>,
    context: &Context,
) -> Answer {
    let body = read_json(request, context)?;
    let operations = patch::parse(&body)?;
    let current = session
        .get_employee(id)
        .await
        .map_err(|e| apply_error(&e))?;
    let before = match &current {
        Some(remote) => mapping::patch_base(id, &remote.name, phone_digits(remote)),
        None => Map::new(),
    };
    let mut after = before.clone();
    patch::apply(&mut after, &operations)?;
    let (before, after) = (Value::Object(before), Value::Object(after));
    let active = mapping::active_of(&after).map_err(|e| ScimError::bad("invalidValue", e))?;
    let sent = after.as_object().cloned().unwrap_or_default();
    let Some(remote) = current else {
        let asked_active = get_ci(&after, "active").is_some_and(|a| !a.is_null());
        if !active {
            // Already gone: the wanted state holds.
            return resource_answer(
                request,
                StatusCode::OK,
                mapping::write_answer(&sent, id, None, &context.base),
            );
        }
        let name = mapping::name_of(&after).filter(|_| asked_active);
        let Some(name) = name else {
            return Err(ScimError::not_found(format!(
                "no user \"{id}\" in Wazzup. A user deactivated through SCIM is removed from Wazzup; \
                 to bring it back, PUT the whole user, or PATCH active true together with its name"
            )));
        };
        tracing::info!(action = "scim_patch", user_id = %LoggedId(id), "user not in Wazzup: created again by the PATCH");
        let stored = store(session, context, id, &name, mapping::phone_of(&after), None).await?;
        return resource_answer(
            request,
            StatusCode::OK,
            mapping::write_answer(&sent, id, Some(&stored), &context.base),
        );
    };
    if !active {
        remove_from_wazzup(id, session).await?;
        tracing::info!(action = "scim_deactivate", user_id = %LoggedId(id), "user deactivated by PATCH");
        return resource_answer(
            request,
            StatusCode::OK,
            mapping::write_answer(&sent, id, None, &context.base),
        );
    }
    let name = mapping::patched_name(&before, &after).unwrap_or_else(|| remote.name.clone());
    // A displayName the PATCH did not touch is Wazzup's old name: answer with the new one.
    let mut sent = sent;
    if get_ci(&after, "displayName") == get_ci(&before, "displayName") {
        patch::remove_ci(&mut sent, "displayName");
    }
    let stored = store(
        session,
        context,
        id,
        &name,
        mapping::phone_of(&after),
        Some(&remote),
    )
    .await?;
    resource_answer(
        request,
        StatusCode::OK,
        mapping::write_answer(&sent, id, Some(&stored), &context.base),
    )
}

pub async fn remove(id: &str, session: &mut Session<'_>) -> Answer {
    remove_from_wazzup(id, session).await?;
    // Deleted, already absent, or (logged by the service, and counted) not found while users
    // nobody owns remain: the identity provider is told the user is gone in every case.
    tracing::info!(action = "scim_delete", user_id = %LoggedId(id), "user removal done");
    let mut response = http::Response::new(String::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Writes to Wazzup.

/// Upserts the user unless Wazzup already holds exactly this, and says what it holds.
async fn store(
    session: &mut Session<'_>,
    context: &Context,
    id: &str,
    name: &str,
    phone: Option<String>,
    current: Option<&RemoteUser>,
) -> Result<Stored, ScimError> {
    let (event, warning) = upsert_event(0, id, Some(name), phone.as_deref(), context.region)
        .map_err(|rejection| ScimError::bad("invalidValue", rejection.message))?;
    if let Some(warning) = warning {
        tracing::warn!(user_id = %LoggedId(id), code = %warning.code, "phone number not valid: the user is stored without it");
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
    let report = session.apply_events(vec![event]).await;
    report.metrics().emit("http");
    if let BatchOutcome::Failed(error) = &report.outcome {
        return Err(apply_error(error));
    }
    if let Some(rejection) = report.summary.rejected.first() {
        return Err(match rejection.reason.as_str() {
            "DUPLICATE_PHONE_NUMBER" => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                format!(
                    "another Wazzup user already has the phone number {}",
                    stored.phone.as_deref().map(mask_phone).unwrap_or_default()
                ),
            ),
            "USER_LIMIT_EXCEEDED" => ScimError::new(
                StatusCode::CONFLICT,
                None,
                format!("{}: remove a user from Wazzup first", rejection.message),
            ),
            _ => ScimError::bad(
                "invalidValue",
                format!("Wazzup refused the user: {}", rejection.message),
            ),
        });
    }
    Ok(stored)
}

async fn remove_from_wazzup(id: &str, session: &mut Session<'_>) -> Result<(), ScimError> {
    let event = delete_event(0, id).map_err(|_| not_in_wazzup(id))?;
    let report = session.apply_events(vec![event]).await;
    report.metrics().emit("http");
    if let BatchOutcome::Failed(error) = &report.outcome {
        return Err(apply_error(error));
    }
    match report.summary.rejected.first() {
        None => Ok(()),
        Some(rejection) => Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            format!("the user was not removed: {}", rejection.message),
        )),
    }
}

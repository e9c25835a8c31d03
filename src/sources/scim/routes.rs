//! SCIM's routes under `/scim/v2`: which handler serves a path and a method.

use http::{Method, StatusCode};

use super::discovery;
use super::error::{Answer, ScimError};
use super::exchange::{Context, list_response, no_filter, only, query_pairs};
use super::filter::USER_SCHEMA;
use super::mapping;
use super::media::scim_json;
use super::query::{ListQuery, list, search};
use super::users::{create, get, modify, remove, replace};
use crate::domain::UserId;
use crate::service::Session;
use crate::sources::contract::Inbound;

/// Serves one request; `path` is what follows `/scim/v2` (e.g. `/Users/42`).
pub async fn route(
    request: &Inbound<'_>,
    path: &str,
    session: &mut Session<'_>,
    context: &Context,
) -> Answer {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = &request.parts.method;
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
            if mapping::decode_segment(id).is_some_and(|id| id.eq_ignore_ascii_case("User")) {
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
            if mapping::decode_segment(id).is_some_and(|id| id.eq_ignore_ascii_case(USER_SCHEMA)) {
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
                list(session, context, &query).await
            } else {
                create(request, session, context).await
            }
        }
        [endpoint, dot_search] if is(endpoint, "Users") && *dot_search == ".search" => {
            search(request, session, context).await
        }
        [dot_search] if *dot_search == ".search" => search(request, session, context).await,
        [endpoint, id] if is(endpoint, "Users") => {
            only(
                method,
                &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
            )?;
            // An id that is not one Wazzup could hold is not there.
            let id = mapping::decode_segment(id)
                .filter(|id| UserId::parse(id).is_ok_and(|u| u.as_str() == id))
                .ok_or_else(|| ScimError::not_found("no user with this id"))?;
            match *method {
                Method::GET => get(request, &id, session, context).await,
                Method::PUT => replace(request, &id, session, context).await,
                Method::PATCH => modify(request, &id, session, context).await,
                _ => remove(&id, session).await,
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

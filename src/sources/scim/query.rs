//! Listing and searching users: the query (`filter`, `startIndex`, `count`, projections) from
//! the URL or a SearchRequest body, evaluated against Wazzup's users.

use http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::discovery;
use super::error::{Answer, ScimError, apply_error};
use super::exchange::{Context, list_response, only, read_json};
use super::filter::{AttrPath, Filter, get_ci};
use super::mapping;
use super::media::scim_json;
use super::projection::{MAX_PROJECTED, Projection};
use super::users::stored;
use crate::domain::UserId;
use crate::service::Session;
use crate::sources::contract::Inbound;

/// Attributes a filter may name: those Wazzup's list gives a value for.
const FILTERABLE: [&str; 6] = [
    "id",
    "username",
    "externalid",
    "displayname",
    "name.formatted",
    "active",
];

/// The parameters of a list or search.
#[derive(Debug)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
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

    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ScimError> {
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
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
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
                Some(Value::Array(items)) if items.len() > MAX_PROJECTED => Err(ScimError::bad(
                    "invalidValue",
                    format!("{name} names more than {MAX_PROJECTED} attributes"),
                )),
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
            }
            .checked()?,
        )
    }
}

/// Ids compare exactly (Wazzup's are case-sensitive); names and the rest do not.
fn case_exact(path: &AttrPath) -> bool {
    path.is("id") || path.is("userName") || path.is("externalId")
}

pub async fn list(session: &mut Session<'_>, context: &Context, query: &ListQuery) -> Answer {
    let by_id = query.filter.as_ref().and_then(|filter| {
        filter
            .required_equalities()
            .into_iter()
            .find(|(path, _)| case_exact(path))
            .map(|(_, id)| id.to_owned())
    });
    let candidates: Vec<Map<String, Value>> = match by_id {
        Some(id) => {
            let usable = UserId::parse(&id).is_ok_and(|u| u.as_str() == id);
            let found = if usable {
                session
                    .get_employee(&id)
                    .await
                    .map_err(|e| apply_error(&e))?
            } else {
                None
            };
            found
                .map(|u| stored(&u, &context.base))
                .into_iter()
                .collect()
        }
        None => {
            let mut users = session
                .list_employees()
                .await
                .map_err(|e| apply_error(&e))?;
            users.sort_by(|a, b| a.id.cmp(&b.id));
            users
                .iter()
                .map(|u| mapping::stored_view(&u.id, &u.name, None, &context.base))
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

pub async fn search(request: &Inbound<'_>, session: &mut Session<'_>, context: &Context) -> Answer {
    only(&request.parts.method, &[Method::POST])?;
    let body = read_json(request, context)?;
    let query = ListQuery::from_search(&body)?;
    list(session, context, &query).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}

//! The recipe of a users API this function has no code for (`customUsersApi` in the secret):
//! where the list is, how the credential is sent, how it pages, and JSON Pointers (RFC 6901)
//! to the list and to each user's id, name, phone, active flag and facts. Read whole and
//! checked before any call, with errors that name the field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::sources::users_api::safe_url;

/// The most facts a recipe maps, and pointers a name joins.
const MAX_MAPPED: usize = 32;
/// The longest pointer (a few dozen tokens in practice).
const MAX_POINTER_CHARS: usize = 256;
/// The largest page size asked for.
const MAX_PAGE_SIZE: u64 = 1000;

/// A JSON Pointer, checked: empty (the whole value) or `/`-separated tokens whose `~` escapes
/// are `~0` or `~1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer(String);

impl Pointer {
    pub fn parse(text: &str, at: &str) -> Result<Self, String> {
        let valid = text.chars().count() <= MAX_POINTER_CHARS
            && (text.is_empty() || text.starts_with('/'))
            && text
                .split('~')
                .skip(1)
                .all(|rest| rest.starts_with('0') || rest.starts_with('1'));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "{at} is not a JSON Pointer (RFC 6901) such as \"/results\" or \"/name/first\""
            ))
        }
    }

    /// The value this pointer names in `value`, if any.
    pub fn find<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        value.pointer(&self.0)
    }
}

/// How the credential travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <customApiToken>`.
    Bearer,
    /// HTTP Basic with `customApiUser` and `customApiPassword`.
    Basic,
    /// A header `name` holding `format` with `{token}` replaced by `customApiToken`.
    Header { name: String, format: String },
    /// A query parameter `name` holding `customApiToken`.
    Query { name: String },
    /// No credential (an API inside a private network, say).
    None,
}

/// How the list pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// One answer holds everyone.
    None,
    /// `param` counts users to skip (0, size, 2 x size, ...).
    Offset { param: String, size: Size },
    /// `param` counts pages from `first`.
    Page {
        param: String,
        first: u64,
        size: Size,
    },
    /// `param` carries the cursor the previous answer gave at `next`.
    Cursor { param: String, next: Pointer },
    /// The answer gives the next page's URL at `next`.
    NextLink { next: Pointer },
}

/// The page size asked for (`param=value`), when the API takes one: a page shorter than it and
/// than one before it is the last (an API may give fewer than asked at most).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Size {
    pub param: Option<String>,
    pub value: Option<u64>,
}

/// A fact read from a user: one pointer, or each item of a list through another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactPath {
    One(Pointer),
    Each { list: Pointer, value: Pointer },
}

/// A checked recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub url: Url,
    pub query: Vec<(String, String)>,
    pub auth: Auth,
    pub paging: Paging,
    pub list: Pointer,
    pub id: Pointer,
    pub name: Vec<Pointer>,
    pub phone: Option<Pointer>,
    /// Inactive when this value is false (`false`, `0`, `"false"`, `"no"`, `"inactive"`, ...).
    pub active: Option<Pointer>,
    /// Inactive when this value is true (`archived`, `deactivated`, ...).
    pub inactive: Option<Pointer>,
    pub facts: BTreeMap<String, FactPath>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    url: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    paging: Option<RawPaging>,
    #[serde(default)]
    list: Option<String>,
    id: String,
    name: OneOrMany,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    inactive: Option<String>,
    #[serde(default)]
    facts: BTreeMap<String, RawFact>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
enum RawAuth {
    Bearer,
    Basic,
    Header {
        name: String,
        #[serde(default)]
        format: Option<String>,
    },
    Query {
        name: String,
    },
    None,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
enum RawPaging {
    None,
    #[serde(rename_all = "camelCase")]
    Offset {
        param: String,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default)]
        size: Option<u64>,
    },
    #[serde(rename_all = "camelCase")]
    Page {
        param: String,
        #[serde(default)]
        first: Option<u64>,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default)]
        size: Option<u64>,
    },
    Cursor {
        param: String,
        next: String,
    },
    NextLink {
        next: String,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawFact {
    One(String),
    Each { each: String, value: String },
}

fn name_field(text: &str, at: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || text.len() > 128 || text.chars().any(char::is_control) {
        return Err(format!("{at} must be a short name"));
    }
    Ok(text.to_owned())
}

fn size(param: Option<String>, value: Option<u64>, at: &str) -> Result<Size, String> {
    if value.is_some_and(|v| v == 0 || v > MAX_PAGE_SIZE) {
        return Err(format!("{at}.size must be between 1 and {MAX_PAGE_SIZE}"));
    }
    if param.is_some() && value.is_none() {
        return Err(format!("{at}.sizeParam needs {at}.size"));
    }
    Ok(Size {
        param: param
            .map(|p| name_field(&p, &format!("{at}.sizeParam")))
            .transpose()?,
        value,
    })
}

impl Recipe {
    /// Reads and checks a recipe; `field` names it in errors (`customUsersApi`).
    pub fn parse(json: &str, field: &str) -> Result<Self, String> {
        let raw: RawRecipe = serde_json::from_str(json).map_err(|e| {
            // serde's message names the field, never a secret (the recipe holds none).
            format!("\"{field}\": {e}")
        })?;
        let at = |name: &str| format!("\"{field}\".{name}");
        let pointer = |text: &str, name: &str| Pointer::parse(text, &at(name));
        let url = safe_url(&format!("{field}.url"), &raw.url)?;
        let auth = match raw.auth {
            None | Some(RawAuth::Bearer) => Auth::Bearer,
            Some(RawAuth::Basic) => Auth::Basic,
            Some(RawAuth::Header { name, format }) => {
                let format = format.unwrap_or_else(|| "{token}".to_owned());
                if !format.contains("{token}") {
                    return Err(format!("{} must hold {{token}}", at("auth.format")));
                }
                Auth::Header {
                    name: name_field(&name, &at("auth.name"))?,
                    format,
                }
            }
            Some(RawAuth::Query { name }) => Auth::Query {
                name: name_field(&name, &at("auth.name"))?,
            },
            Some(RawAuth::None) => Auth::None,
        };
        let paging = match raw.paging {
            None | Some(RawPaging::None) => Paging::None,
            Some(RawPaging::Offset {
                param,
                size_param,
                size: value,
            }) => Paging::Offset {
                param: name_field(&param, &at("paging.param"))?,
                size: size(size_param, value, &at("paging"))?,
            },
            Some(RawPaging::Page {
                param,
                first,
                size_param,
                size: value,
            }) => Paging::Page {
                param: name_field(&param, &at("paging.param"))?,
                first: first.unwrap_or(1),
                size: size(size_param, value, &at("paging"))?,
            },
            Some(RawPaging::Cursor { param, next }) => Paging::Cursor {
                param: name_field(&param, &at("paging.param"))?,
                next: pointer(&next, "paging.next")?,
            },
            Some(RawPaging::NextLink { next }) => Paging::NextLink {
                next: pointer(&next, "paging.next")?,
            },
        };
        let name = match raw.name {
            OneOrMany::One(one) => vec![pointer(&one, "name")?],
            OneOrMany::Many(many) if !many.is_empty() && many.len() <= MAX_MAPPED => many
                .iter()
                .map(|p| pointer(p, "name"))
                .collect::<Result<_, _>>()?,
            OneOrMany::Many(_) => {
                return Err(format!(
                    "{} must be a pointer or 1 to {MAX_MAPPED} pointers",
                    at("name")
                ));
            }
        };
        if raw.facts.len() > MAX_MAPPED {
            return Err(format!("{} maps more than {MAX_MAPPED} facts", at("facts")));
        }
        let facts = raw
            .facts
            .into_iter()
            .map(|(fact, path)| {
                let where_ = format!("facts.{fact}");
                let path = match path {
                    RawFact::One(one) => FactPath::One(pointer(&one, &where_)?),
                    RawFact::Each { each, value } => FactPath::Each {
                        list: pointer(&each, &where_)?,
                        value: pointer(&value, &where_)?,
                    },
                };
                Ok((name_field(&fact, &at("facts"))?, path))
            })
            .collect::<Result<_, String>>()?;
        let query = raw
            .query
            .into_iter()
            .map(|(k, v)| Ok((name_field(&k, &at("query"))?, v)))
            .collect::<Result<_, String>>()?;
        Ok(Self {
            url,
            query,
            auth,
            paging,
            list: pointer(raw.list.as_deref().unwrap_or(""), "list")?,
            id: pointer(&raw.id, "id")?,
            name,
            phone: raw
                .phone
                .as_deref()
                .map(|p| pointer(p, "phone"))
                .transpose()?,
            active: raw
                .active
                .as_deref()
                .map(|p| pointer(p, "active"))
                .transpose()?,
            inactive: raw
                .inactive
                .as_deref()
                .map(|p| pointer(p, "inactive"))
                .transpose()?,
            facts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUBSPOT: &str = r#"{
        "url": "https://api.hubapi.com/settings/v3/users",
        "auth": {"type": "bearer"},
        "paging": {"type": "cursor", "param": "after", "next": "/paging/next/after"},
        "query": {"limit": "100"},
        "list": "/results", "id": "/id", "name": ["/firstName", "/lastName"],
        "facts": {"role": "/roleId", "team": "/primaryTeamId"}
    }"#;

    #[test]
    fn a_recipe_is_read_whole() {
        let recipe = Recipe::parse(HUBSPOT, "customUsersApi").unwrap();
        assert_eq!(recipe.auth, Auth::Bearer);
        assert!(matches!(recipe.paging, Paging::Cursor { ref param, .. } if param == "after"));
        assert_eq!(recipe.name.len(), 2);
        assert_eq!(recipe.facts.len(), 2);
        assert_eq!(recipe.query, [("limit".to_owned(), "100".to_owned())]);
    }

    #[test]
    fn a_bad_recipe_names_the_field() {
        for (change, needle) in [
            (r#""pagin": {}"#, "unknown field `pagin`"),
            (
                r#""list": "results""#,
                "\"customUsersApi\".list is not a JSON Pointer",
            ),
            (r#""phone": "/a~2b""#, ".phone is not a JSON Pointer"),
            (
                r#""paging": {"type": "page", "param": "p", "sizeParam": "n"}"#,
                "needs",
            ),
            (
                r#""paging": {"type": "offset", "param": "o", "size": 0}"#,
                "between 1",
            ),
            (
                r#""auth": {"type": "header", "name": "X", "format": "no token"}"#,
                "{token}",
            ),
            (r#""auth": {"type": "oauth"}"#, "unknown variant `oauth`"),
        ] {
            let text = format!(
                "{{\"url\": \"https://crm.example.com/users\", \"id\": \"/id\", \"name\": \"/name\", {change}}}"
            );
            let error = Recipe::parse(&text, "customUsersApi").unwrap_err();
            assert!(error.contains(needle), "{change}: {error}");
        }
        let error = Recipe::parse(
            r#"{"url": "http://crm.example.com/users", "id": "/id", "name": "/n"}"#,
            "customUsersApi",
        )
        .unwrap_err();
        assert!(error.contains("https"), "{error}");
    }
}

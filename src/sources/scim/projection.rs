//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes of a resource
//! an answer carries.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::AttrPath;
use super::patch;

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5).
#[derive(Debug, Default)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

/// The most attribute names `attributes` and `excludedAttributes` may list together.
pub const MAX_PROJECTED: usize = 50;

fn too_many() -> ScimError {
    ScimError::bad(
        "invalidValue",
        format!(
            "at most {MAX_PROJECTED} attributes may be named in attributes and excludedAttributes"
        ),
    )
}

impl Projection {
    /// The projection, refused when it names more than [`MAX_PROJECTED`] attributes.
    pub fn checked(self) -> Result<Self, ScimError> {
        if self.attributes.len() + self.excluded.len() > MAX_PROJECTED {
            return Err(too_many());
        }
        Ok(self)
    }

    pub fn parse_list(text: &str) -> Result<Vec<AttrPath>, ScimError> {
        let names = text.split(',').filter(|s| !s.trim().is_empty());
        if names.clone().nth(MAX_PROJECTED).is_some() {
            return Err(too_many());
        }
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| AttrPath::parse(s).map_err(|e| ScimError::bad("invalidPath", e)))
            .collect()
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ScimError> {
        let mut projection = Self::default();
        for (key, value) in pairs {
            if key.eq_ignore_ascii_case("attributes") {
                projection.attributes.extend(Self::parse_list(value)?);
            } else if key.eq_ignore_ascii_case("excludedAttributes") {
                projection.excluded.extend(Self::parse_list(value)?);
            }
        }
        projection.checked()
    }

    /// Keeps only the attributes asked for, or drops those excluded; `schemas` and `id` stay.
    pub fn apply(&self, resource: &mut Map<String, Value>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::scim::mapping::{self, Base};
    use serde_json::json;

    fn pairs(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn projections_keep_or_drop_attributes_but_never_the_id() {
        let base = Base {
            url: "/scim/v2".into(),
        };
        let user = mapping::stored_view("u1", "Alex", Some("79263334567"), &base);
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
}

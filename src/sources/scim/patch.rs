//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource held as a JSON object.
//!
//! Every operation is applied to the JSON view of the user; what that means for Wazzup is decided
//! afterwards, from the result (see the module above). Accepted beyond the letter of the RFC,
//! because identity providers send it:
//! - `op` in any case (Entra sends `Add`, `Replace`, `Remove`);
//! - path-less `add`/`replace` whose value object has dotted or URN-prefixed keys
//!   (Entra: `{"name.givenName": "..."}`, Okta: `{"active": false}`);
//! - `add`/`replace` through a value filter that matches no element creates the element from the
//!   filter's equalities (Entra replaces `phoneNumbers[type eq "mobile"].value` on a user that
//!   has no mobile number yet);
//! - `id`, `meta` and `schemas` are ignored rather than refused (Okta sends `id` back).

use serde_json::{Map, Value};

use super::filter::{AttrPath, CompareOp, Filter, PatchPath, get_ci};

/// The PatchOp message schema.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most changes one PATCH may make: its operations, a path-less value's attributes each
/// counted as one. Identity providers send a handful; the limit keeps a PATCH's work small
/// whatever its size.
pub const MAX_PATCH_CHANGES: usize = 100;

/// Why a PATCH cannot be applied: a SCIM `scimType` and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub scim_type: &'static str,
    pub detail: String,
}

fn error(scim_type: &'static str, detail: impl Into<String>) -> PatchError {
    PatchError {
        scim_type,
        detail: detail.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// One operation of a PatchOp.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Reads a PatchOp body.
pub fn parse(body: &Value) -> Result<Vec<Operation>, PatchError> {
    if !body.is_object() {
        return Err(error(
            "invalidSyntax",
            "the body must be a PatchOp JSON object",
        ));
    }
    if let Some(schemas) = get_ci(body, "schemas") {
        let names_patch_op = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_OP_SCHEMA)));
        if !names_patch_op {
            return Err(error(
                "invalidSyntax",
                format!("\"schemas\" must list {PATCH_OP_SCHEMA}"),
            ));
        }
    }
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| error("invalidSyntax", "\"Operations\" must be an array"))?;
    if operations.is_empty() {
        return Err(error("invalidSyntax", "\"Operations\" is empty"));
    }
    let changes: usize = operations
        .iter()
        .map(|operation| match get_ci(operation, "path") {
            None | Some(Value::Null) => get_ci(operation, "value")
                .and_then(Value::as_object)
                .map_or(1, Map::len),
            Some(_) => 1,
        })
        .sum();
    if changes > MAX_PATCH_CHANGES {
        return Err(error(
            "invalidValue",
            format!(
                "the PATCH makes {changes} changes; at most {MAX_PATCH_CHANGES} are accepted in one request"
            ),
        ));
    }
    operations
        .iter()
        .enumerate()
        .map(|(i, operation)| {
            let op = match get_ci(operation, "op").and_then(Value::as_str) {
                Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
                Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
                Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
                Some(op) => {
                    return Err(error(
                        "invalidSyntax",
                        format!("operation {i}: \"{op}\" is not add, replace or remove"),
                    ));
                }
                None => {
                    return Err(error(
                        "invalidSyntax",
                        format!("operation {i} has no \"op\""),
                    ));
                }
            };
            let path = match get_ci(operation, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(path)) if path.trim().is_empty() => None,
                Some(Value::String(path)) => Some(
                    PatchPath::parse(path)
                        .map_err(|e| error("invalidPath", format!("operation {i}: {e}")))?,
                ),
                Some(_) => {
                    return Err(error(
                        "invalidPath",
                        format!("operation {i}: \"path\" must be a string"),
                    ));
                }
            };
            let value = get_ci(operation, "value").cloned();
            match (op, &path, &value) {
                (Op::Remove, None, _) => Err(error(
                    "noTarget",
                    format!("operation {i}: remove needs a \"path\""),
                )),
                (Op::Add | Op::Replace, _, None) => Err(error(
                    "invalidValue",
                    format!("operation {i}: add and replace need a \"value\""),
                )),
                (Op::Add | Op::Replace, None, Some(v)) if !v.is_object() => Err(error(
                    "invalidValue",
                    format!("operation {i}: without a \"path\", the value must be an object"),
                )),
                _ => Ok(Operation { op, path, value }),
            }
        })
        .collect()
}

/// Applies the operations in order to `resource`.
pub fn apply(
    resource: &mut Map<String, Value>,
    operations: &[Operation],
) -> Result<(), PatchError> {
    for operation in operations {
        match (&operation.path, &operation.value) {
            (Some(path), value) => apply_at(resource, operation.op, path, value.as_ref())?,
            (None, Some(Value::Object(values))) => {
                for (key, value) in values {
                    let attr = AttrPath::parse(key).map_err(|e| error("invalidPath", e))?;
                    let path = PatchPath {
                        attr,
                        filter: None,
                        sub: None,
                    };
                    apply_at(resource, operation.op, &path, Some(value))?;
                }
            }
            // `parse` refuses the other shapes.
            (None, _) => return Err(error("noTarget", "the operation has no path")),
        }
    }
    Ok(())
}

/// Attributes a client may not set, ignored rather than refused.
fn ignored(path: &AttrPath) -> bool {
    path.urn.is_none()
        && ["id", "meta", "schemas"]
            .iter()
            .any(|name| path.attr.eq_ignore_ascii_case(name))
}

fn apply_at(
    resource: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    if ignored(&path.attr) {
        return Ok(());
    }
    let Some(container) = container(resource, path.attr.urn.as_deref(), op != Op::Remove) else {
        return Ok(());
    };
    let attr = path.attr.attr.as_str();
    match (&path.filter, &path.attr.sub) {
        (None, None) => {
            match op {
                Op::Remove => {
                    remove_ci(container, attr);
                }
                Op::Add | Op::Replace => {
                    let value = value.cloned().unwrap_or(Value::Null);
                    let key = key_ci(container, attr).unwrap_or_else(|| canonical(attr));
                    let merged = match (container.get_mut(&key), value) {
                        (Some(Value::Array(existing)), Value::Array(more)) if op == Op::Add => {
                            existing.extend(more);
                            None
                        }
                        (Some(Value::Array(existing)), single @ Value::Object(_))
                            if op == Op::Add =>
                        {
                            existing.push(single);
                            None
                        }
                        (Some(Value::Object(existing)), Value::Object(more)) => {
                            for (k, v) in more {
                                set_ci(existing, &k, v);
                            }
                            None
                        }
                        (_, value) => Some(value),
                    };
                    if let Some(value) = merged {
                        container.insert(key.clone(), value);
                    }
                    normalize_primary(container.get_mut(&key));
                }
            }
            Ok(())
        }
        (None, Some(sub)) => {
            let key = key_ci(container, attr).unwrap_or_else(|| canonical(attr));
            match op {
                Op::Remove => match container.get_mut(&key) {
                    Some(Value::Object(object)) => {
                        remove_ci(object, sub);
                    }
                    Some(Value::Array(items)) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            remove_ci(item, sub);
                        }
                    }
                    _ => {}
                },
                Op::Add | Op::Replace => {
                    let value = value.cloned().unwrap_or(Value::Null);
                    let target = container
                        .entry(key)
                        .or_insert_with(|| Value::Object(Map::new()));
                    match target {
                        Value::Object(object) => set_ci(object, sub, value),
                        Value::Array(items) => {
                            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                                set_ci(item, sub, value.clone());
                            }
                        }
                        other => {
                            let mut object = Map::new();
                            object.insert(canonical(sub), value);
                            *other = Value::Object(object);
                        }
                    }
                }
            }
            Ok(())
        }
        (Some(filter), _) => {
            apply_filtered(container, op, attr, filter, path.sub.as_deref(), value)
        }
    }
}

/// An operation on the elements of a multi-valued attribute that match `filter`.
fn apply_filtered(
    container: &mut Map<String, Value>,
    op: Op,
    attr: &str,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let key = key_ci(container, attr).unwrap_or_else(|| canonical(attr));
    let insensitive = |_: &AttrPath| false;
    if op == Op::Remove {
        if let Some(Value::Array(items)) = container.get_mut(&key) {
            match sub {
                None => items.retain(|item| !filter.matches(item, &insensitive)),
                Some(sub) => {
                    for item in items.iter_mut() {
                        if filter.matches(item, &insensitive)
                            && let Some(object) = item.as_object_mut()
                        {
                            remove_ci(object, sub);
                        }
                    }
                }
            }
        }
        return Ok(());
    }
    let value = value.cloned().unwrap_or(Value::Null);
    let target = container
        .entry(key.clone())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(items) = target else {
        return Err(error(
            "invalidPath",
            format!("\"{attr}\" is not multi-valued: it cannot take a filter"),
        ));
    };
    let mut matched = false;
    for item in items.iter_mut() {
        if !filter.matches(item, &insensitive) {
            continue;
        }
        matched = true;
        write_element(item, op, sub, &value);
    }
    if !matched {
        // Add (or replace, as Entra means it) the element the filter describes.
        let Some(mut element) = element_from(filter) else {
            return Err(error(
                "noTarget",
                format!("no element of \"{attr}\" matches the filter"),
            ));
        };
        write_element(&mut element, op, sub, &value);
        items.push(element);
    }
    normalize_primary(container.get_mut(&key));
    Ok(())
}

fn write_element(item: &mut Value, op: Op, sub: Option<&str>, value: &Value) {
    match (sub, item.as_object_mut()) {
        (Some(sub), Some(object)) => set_ci(object, sub, value.clone()),
        (None, Some(object)) => match (op, value) {
            (Op::Add, Value::Object(more)) => {
                for (k, v) in more {
                    set_ci(object, k, v.clone());
                }
            }
            _ => *item = value.clone(),
        },
        _ => *item = value.clone(),
    }
}

/// The element `type eq "mobile" and primary eq true` describes, for a filter made only of
/// equalities joined by `and`.
fn element_from(filter: &Filter) -> Option<Value> {
    let mut element = Map::new();
    fn walk(filter: &Filter, element: &mut Map<String, Value>) -> bool {
        match filter {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.urn.is_none() && path.sub.is_none() => {
                element.insert(canonical(&path.attr), value.clone());
                true
            }
            Filter::And(a, b) => walk(a, element) && walk(b, element),
            _ => false,
        }
    }
    walk(filter, &mut element).then_some(Value::Object(element))
}

/// RFC 7643 §2.4: "primary" true at most once. The last element marked primary keeps it.
fn normalize_primary(value: Option<&mut Value>) {
    let Some(Value::Array(items)) = value else {
        return;
    };
    let is_primary = |item: &Value| {
        get_ci(item, "primary").is_some_and(|p| {
            p.as_bool() == Some(true) || p.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
        })
    };
    let Some(last) = items.iter().rposition(is_primary) else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i != last
            && is_primary(item)
            && let Some(object) = item.as_object_mut()
        {
            set_ci(object, "primary", Value::Bool(false));
        }
    }
}

/// The object that holds attributes of `urn` (the resource itself for the core schema).
fn container<'a>(
    resource: &'a mut Map<String, Value>,
    urn: Option<&str>,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let Some(urn) = urn else {
        return Some(resource);
    };
    let key = match key_ci(resource, urn) {
        Some(key) => key,
        None if create => {
            resource.insert(urn.to_owned(), Value::Object(Map::new()));
            urn.to_owned()
        }
        None => return None,
    };
    let slot = resource.get_mut(&key)?;
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The existing key equal to `name` ignoring case.
pub fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Removes every key equal to `name` ignoring case; returns the last value removed.
pub fn remove_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    keys.into_iter().filter_map(|k| map.remove(&k)).last()
}

/// Sets `name` (replacing any spelling of it) under its canonical spelling.
pub fn set_ci(map: &mut Map<String, Value>, name: &str, value: Value) {
    let key = key_ci(map, name).unwrap_or_else(|| canonical(name));
    remove_ci(map, name);
    map.insert(key, value);
}

/// The RFC spelling of the attribute names this service reads, so that a value written as
/// `displayname` is found again as `displayName`.
pub fn canonical(name: &str) -> String {
    const KNOWN: [&str; 16] = [
        "userName",
        "externalId",
        "name",
        "formatted",
        "givenName",
        "familyName",
        "middleName",
        "displayName",
        "phoneNumbers",
        "emails",
        "value",
        "type",
        "primary",
        "display",
        "active",
        "nickName",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |k| (*k).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        json!({
            "userName": "emp-1",
            "name": {"formatted": "Alex Salesman"},
            "displayName": "Alex Salesman",
            "phoneNumbers": [{"value": "+79263334567"}],
            "active": true
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn patched(body: Value) -> Result<Map<String, Value>, PatchError> {
        let mut resource = user();
        apply(&mut resource, &parse(&body)?)?;
        Ok(resource)
    }

    fn ops(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
    }

    #[test]
    fn entras_replace_of_active_with_the_string_false_is_applied_as_given() {
        // Entra without the aadOptscim062020 flag: capitalised op, string value.
        let r = patched(ops(
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        ))
        .unwrap();
        assert_eq!(r["active"], "False");
        // With the flag: lower case, boolean.
        let r = patched(ops(
            json!([{"op": "replace", "path": "active", "value": false}]),
        ))
        .unwrap();
        assert_eq!(r["active"], false);
    }

    #[test]
    fn path_less_values_are_applied_key_by_key_dotted_and_urn_keys_included() {
        // Okta's deactivation.
        let r = patched(ops(json!([{"op": "replace", "value": {"active": false}}]))).unwrap();
        assert_eq!(r["active"], false);
        // Entra with the flag: dotted and URN-prefixed keys in the value.
        let r = patched(ops(json!([{"op": "replace", "value": {
            "displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
        }}])))
        .unwrap();
        assert_eq!(r["displayName"], "Bjfe");
        assert_eq!(
            r["name"],
            json!({"formatted": "Alex Salesman", "givenName": "Kkom", "familyName": "Unua"})
        );
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "Aklq"
        );
    }

    #[test]
    fn ops_are_case_insensitive_and_unknown_ops_are_refused() {
        for op in ["ADD", "Add", "add"] {
            let r = patched(ops(
                json!([{"op": op, "path": "nickName", "value": "Babs"}]),
            ))
            .unwrap();
            assert_eq!(r["nickName"], "Babs");
        }
        let e = patched(ops(json!([{"op": "merge", "path": "a", "value": 1}]))).unwrap_err();
        assert_eq!(e.scim_type, "invalidSyntax");
        let e = patched(ops(json!([{"op": "remove"}]))).unwrap_err();
        assert_eq!(e.scim_type, "noTarget");
        let e = patched(ops(json!([{"op": "replace", "path": "a"}]))).unwrap_err();
        assert_eq!(e.scim_type, "invalidValue");
        let e = patched(ops(json!([{"op": "add", "value": "x"}]))).unwrap_err();
        assert_eq!(e.scim_type, "invalidValue");
        let e = patched(ops(json!([{"op": "add", "path": "emails[", "value": "x"}]))).unwrap_err();
        assert_eq!(e.scim_type, "invalidPath");
        let e = patched(json!({"schemas": ["urn:x"], "Operations": []})).unwrap_err();
        assert_eq!(e.scim_type, "invalidSyntax");
        let e = patched(json!({"Operations": []})).unwrap_err();
        assert_eq!(e.scim_type, "invalidSyntax");
        let many: Vec<Value> = (0..101)
            .map(|i| json!({"op": "add", "path": format!("a{i}"), "value": i}))
            .collect();
        let e = patched(ops(json!(many))).unwrap_err();
        assert_eq!(e.scim_type, "invalidValue");
        let wide: Map<String, Value> = (0..101).map(|i| (format!("a{i}"), json!(i))).collect();
        let e = patched(ops(json!([{"op": "add", "value": wide}]))).unwrap_err();
        assert!(e.detail.contains("101 changes"), "{}", e.detail);
    }

    #[test]
    fn value_filters_update_add_and_remove_elements() {
        // Entra's multi-valued update: the work email does not exist yet, so it is added.
        let r = patched(ops(json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ])))
        .unwrap();
        assert_eq!(
            r["emails"],
            json!([{"type": "work", "value": "new@example.com"}])
        );
        assert_eq!(r["name"]["familyName"], "updatedFamilyName");
        assert_eq!(r["name"]["formatted"], "Alex Salesman");

        let r = patched(ops(json!([
            {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+7 926 111-22-33"},
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+7 926 111-22-44"}
        ])))
        .unwrap();
        assert_eq!(
            r["phoneNumbers"],
            json!([{"value": "+79263334567"}, {"type": "mobile", "value": "+7 926 111-22-44"}])
        );
        let r = patched(ops(json!([
            {"op": "remove", "path": "phoneNumbers[value eq \"+79263334567\"]"}
        ])))
        .unwrap();
        assert_eq!(r["phoneNumbers"], json!([]));
        let e = patched(ops(json!([
            {"op": "replace", "path": "phoneNumbers[value sw \"+1\"].value", "value": "x"}
        ])))
        .unwrap_err();
        assert_eq!(e.scim_type, "noTarget");
        let e = patched(ops(json!([
            {"op": "replace", "path": "displayName[value eq \"x\"]", "value": "x"}
        ])))
        .unwrap_err();
        assert_eq!(e.scim_type, "invalidPath");
    }

    #[test]
    fn add_appends_to_multi_valued_attributes_and_replace_merges_complex_ones() {
        let r = patched(ops(json!([
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "+7 926 000-00-00", "type": "work", "primary": true}]},
            {"op": "replace", "path": "name", "value": {"givenName": "Alex"}}
        ])))
        .unwrap();
        assert_eq!(r["phoneNumbers"].as_array().unwrap().len(), 2);
        assert_eq!(r["name"]["formatted"], "Alex Salesman");
        assert_eq!(r["name"]["givenName"], "Alex");
        // A second primary takes the mark from the first.
        let r = patched(ops(json!([
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "primary": true}]},
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "2", "primary": true}]}
        ])))
        .unwrap();
        let primaries: Vec<_> = r["phoneNumbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["primary"].clone())
            .collect();
        assert_eq!(primaries, [Value::Null, json!(false), json!(true)]);
    }

    #[test]
    fn remove_deletes_attributes_and_sub_attributes_and_ids_are_left_alone() {
        let r = patched(ops(json!([
            {"op": "remove", "path": "displayName"},
            {"op": "remove", "path": "name.formatted"},
            {"op": "remove", "path": "title"},
            {"op": "replace", "path": "id", "value": "other"},
            {"op": "replace", "value": {"id": "other", "meta": {}}}
        ])))
        .unwrap();
        assert!(r.get("displayName").is_none());
        assert_eq!(r["name"], json!({}));
        assert!(r.get("id").is_none() && r.get("meta").is_none());
    }
}

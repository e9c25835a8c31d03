//! How a SCIM User maps onto a Wazzup user (id, name, phone) and back.

use serde_json::{Map, Value, json};

use super::filter::{USER_SCHEMA, get_ci};
use super::patch::{key_ci, remove_ci, set_ci};
use crate::domain::MAX_FIELD_CHARS;

/// Sub-attributes of `name` that are read on writes but never returned (the schema says
/// `returned: never`), because Wazzup keeps only the whole name.
pub const NEVER_RETURNED_NAME_PARTS: [&str; 2] = ["givenName", "familyName"];

/// A text attribute, trimmed; `None` when absent, not a string, or blank.
pub fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn usable_id(raw: &str) -> bool {
    raw.chars().count() <= MAX_FIELD_CHARS && !raw.chars().any(char::is_control)
}

/// The Wazzup id for a new user: `externalId` when it is a usable id, else `userName`.
///
/// `externalId` is the identity provider's own key for the person (Okta's user id, Entra's
/// `objectId` or `mailNickname` mapping), which survives the renames and e-mail changes that
/// alter `userName`; Wazzup links chats to the id, so it must not change.
pub fn id_for_new_user(resource: &Value) -> Option<String> {
    let external = text(get_ci(resource, "externalId")).filter(|id| usable_id(id));
    let user_name = text(get_ci(resource, "userName")).filter(|id| usable_id(id));
    external.or(user_name).map(str::to_owned)
}

fn name_parts(resource: &Value) -> (Option<&str>, Option<&str>, Option<&str>) {
    let name = get_ci(resource, "name");
    (
        text(name.and_then(|n| get_ci(n, "formatted"))),
        text(name.and_then(|n| get_ci(n, "givenName"))),
        text(name.and_then(|n| get_ci(n, "familyName"))),
    )
}

fn joined(given: Option<&str>, family: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [given, family].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The name of a whole resource (POST, PUT): `name.formatted`, else `name.givenName` and
/// `name.familyName` joined, else `displayName`, else `userName`.
pub fn name_of(resource: &Value) -> Option<String> {
    let (formatted, given, family) = name_parts(resource);
    formatted
        .map(str::to_owned)
        .or_else(|| joined(given, family))
        .or_else(|| text(get_ci(resource, "displayName")).map(str::to_owned))
        .or_else(|| text(get_ci(resource, "userName")).map(str::to_owned))
}

/// The name after a PATCH, from what the PATCH changed (the same order as [`name_of`]); `None`
/// when nothing it changed names the user. `before` is the user as Wazzup had it.
///
/// A changed `name.givenName` or `name.familyName` alone does not rename: Wazzup keeps only the
/// whole name, so the other half is unknown. Both together (as Entra sends them when either
/// changes) do.
pub fn patched_name(before: &Value, after: &Value) -> Option<String> {
    let (formatted_before, _, _) = name_parts(before);
    let (formatted, given, family) = name_parts(after);
    let display_before = text(get_ci(before, "displayName"));
    let display = text(get_ci(after, "displayName"));
    if formatted.is_some() && formatted != formatted_before {
        return formatted.map(str::to_owned);
    }
    if let (Some(given), Some(family)) = (given, family) {
        return Some(format!("{given} {family}"));
    }
    if display.is_some() && display != display_before {
        return display.map(str::to_owned);
    }
    None
}

/// The phone number to keep from `phoneNumbers`: the primary one, else the first of type
/// `work`, else of type `mobile`, else the first without a type. A home, fax, pager or other
/// number is not an employee's work phone: it is used only when marked primary.
pub fn phone_of(resource: &Value) -> Option<String> {
    let numbers: Vec<&Value> = match get_ci(resource, "phoneNumbers") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return None,
    };
    fn value(number: &Value) -> Option<&str> {
        text(get_ci(number, "value"))
    }
    let with_value: Vec<&Value> = numbers.into_iter().filter(|n| value(n).is_some()).collect();
    let kind = |n: &Value| text(get_ci(n, "type")).map(str::to_ascii_lowercase);
    let chosen = with_value
        .iter()
        .find(|n| get_ci(n, "primary").and_then(bool_of) == Some(true))
        .or_else(|| {
            with_value
                .iter()
                .find(|n| kind(n).as_deref() == Some("work"))
        })
        .or_else(|| {
            with_value
                .iter()
                .find(|n| kind(n).as_deref() == Some("mobile"))
        })
        .or_else(|| with_value.iter().find(|n| kind(n).is_none()))?;
    let raw = value(chosen)?;
    // RFC 3966 form (`tel:+1-201-555-0123`), which RFC 7643 recommends.
    let raw = match raw.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => &raw[4..],
        _ => raw,
    };
    let raw = raw.split(';').next().unwrap_or(raw).trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// A boolean as SCIM clients send it: `true`/`false`, or Entra's strings `"True"`/`"False"`.
pub fn bool_of(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// `active` of a resource: absent or null means active.
pub fn active_of(resource: &Value) -> Result<bool, String> {
    match get_ci(resource, "active") {
        None | Some(Value::Null) => Ok(true),
        Some(value) => {
            bool_of(value).ok_or_else(|| format!("\"active\" must be true or false, not {value}"))
        }
    }
}

/// Where the resources live, for `meta.location`.
#[derive(Debug, Clone)]
pub struct Base {
    /// E.g. `https://abc.lambda-url.eu-central-1.on.aws/scim/v2`, or a relative `/scim/v2`.
    pub url: String,
}

impl Base {
    pub fn location(&self, endpoint: &str, id: &str) -> String {
        format!("{}/{endpoint}/{}", self.url, encode_segment(id))
    }
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters, `:` and `@` are kept).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes of a path segment; `None` if they do not make UTF-8.
pub fn decode_segment(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The user as Wazzup holds it, as a SCIM User: `userName` and `externalId` are the id (Wazzup
/// stores neither), `name.formatted` and `displayName` the name, the phone a primary work
/// number in `+` form, `active` true (Wazzup has only active users).
pub fn stored_view(id: &str, name: &str, phone: Option<&str>, base: &Base) -> Map<String, Value> {
    let mut user = json!({
        "schemas": [USER_SCHEMA],
        "id": id,
        "externalId": id,
        "userName": id,
        "name": {"formatted": name},
        "displayName": name,
        "active": true,
        "meta": {"resourceType": "User", "location": base.location("Users", id)},
    });
    if let (Some(phone), Some(map)) = (phone, user.as_object_mut()) {
        map.insert("phoneNumbers".into(), phone_numbers(phone));
    }
    user.as_object().cloned().unwrap_or_default()
}

fn phone_numbers(digits: &str) -> Value {
    json!([{"value": format!("+{digits}"), "type": "work", "primary": true}])
}

/// The user as a PATCH starts from: [`stored_view`] without `meta`, and the phone without a
/// type or primary mark (Wazzup does not keep them, so a PATCH that names a type must not find
/// one that was never sent).
pub fn patch_base(id: &str, name: &str, phone: Option<&str>) -> Map<String, Value> {
    let mut user = stored_view(id, name, phone, &Base { url: String::new() });
    user.remove("meta");
    if let Some(phone) = phone {
        user.insert(
            "phoneNumbers".into(),
            json!([{"value": format!("+{phone}")}]),
        );
    }
    user
}

/// What Wazzup ended up holding after a write, for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub name: String,
    /// Digits only, as Wazzup keeps it.
    pub phone: Option<String>,
}

/// The answer to a write: what the client sent (or the patched resource), with what Wazzup
/// actually holds laid over it. Attributes Wazzup does not keep are echoed, not stored;
/// `password`, `name.givenName` and `name.familyName` are never returned.
///
/// `stored` is `None` when the user is not in Wazzup after the write (`active: false`).
pub fn write_answer(
    sent: &Map<String, Value>,
    id: &str,
    stored: Option<&Stored>,
    base: &Base,
) -> Map<String, Value> {
    let mut out = sent.clone();
    for key in ["schemas", "id", "meta", "password", "externalId", "active"] {
        remove_ci(&mut out, key);
    }
    if key_ci(&out, "userName").is_none() {
        out.insert("userName".into(), Value::String(id.to_owned()));
    }
    if let Some(key) = key_ci(&out, "name")
        && let Some(Value::Object(name)) = out.get_mut(&key)
    {
        for part in NEVER_RETURNED_NAME_PARTS {
            remove_ci(name, part);
        }
        if name.is_empty() {
            out.remove(&key);
        }
    }
    if let Some(stored) = stored {
        let mut name = match remove_ci(&mut out, "name") {
            Some(Value::Object(name)) => name,
            _ => Map::new(),
        };
        set_ci(&mut name, "formatted", Value::String(stored.name.clone()));
        out.insert("name".into(), Value::Object(name));
        let has_display_name = key_ci(&out, "displayName")
            .and_then(|k| text(out.get(&k)))
            .is_some();
        if !has_display_name {
            set_ci(&mut out, "displayName", Value::String(stored.name.clone()));
        }
        remove_ci(&mut out, "phoneNumbers");
        if let Some(phone) = &stored.phone {
            out.insert("phoneNumbers".into(), phone_numbers(phone));
        }
    }
    let mut schemas = vec![Value::String(USER_SCHEMA.into())];
    schemas.extend(
        out.iter()
            .filter(|(k, v)| {
                k.len() > 4
                    && k.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("urn:"))
                    && v.is_object()
            })
            .map(|(k, _)| Value::String(k.clone())),
    );
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id.to_owned()));
    out.insert("externalId".into(), Value::String(id.to_owned()));
    out.insert("active".into(), Value::Bool(stored.is_some()));
    out.insert(
        "meta".into(),
        json!({"resourceType": "User", "location": base.location("Users", id)}),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_external_id_else_the_user_name() {
        let okta =
            json!({"userName": "test.user@okta.local", "externalId": "00ujl29u0le5T6Aj10h7"});
        assert_eq!(
            id_for_new_user(&okta).as_deref(),
            Some("00ujl29u0le5T6Aj10h7")
        );
        let no_external = json!({"userName": "  alex@example.com "});
        assert_eq!(
            id_for_new_user(&no_external).as_deref(),
            Some("alex@example.com")
        );
        let too_long = json!({"userName": "alex", "externalId": "x".repeat(201)});
        assert_eq!(id_for_new_user(&too_long).as_deref(), Some("alex"));
        let blank = json!({"userName": "alex", "externalId": "  "});
        assert_eq!(id_for_new_user(&blank).as_deref(), Some("alex"));
        assert_eq!(id_for_new_user(&json!({"externalId": 42})), None);
    }

    #[test]
    fn the_name_is_formatted_then_given_and_family_then_display_name_then_user_name() {
        let full = json!({"userName": "u", "displayName": "D",
            "name": {"formatted": "F", "givenName": "G", "familyName": "L"}});
        assert_eq!(name_of(&full).as_deref(), Some("F"));
        // Okta sends no formatted name.
        let okta = json!({"userName": "u", "displayName": "D", "name": {"givenName": "Test", "familyName": "User"}});
        assert_eq!(name_of(&okta).as_deref(), Some("Test User"));
        let given = json!({"userName": "u", "name": {"givenName": "Cher", "formatted": " "}});
        assert_eq!(name_of(&given).as_deref(), Some("Cher"));
        let display = json!({"userName": "u", "displayName": "D", "name": {}});
        assert_eq!(name_of(&display).as_deref(), Some("D"));
        assert_eq!(name_of(&json!({"userName": "u"})).as_deref(), Some("u"));
        assert_eq!(name_of(&json!({})), None);
    }

    #[test]
    fn a_patch_renames_only_from_what_it_changed() {
        let before = Value::Object(patch_base("id", "Alex Salesman", None));
        let with = |f: &dyn Fn(&mut Value)| {
            let mut after = before.clone();
            f(&mut after);
            patched_name(&before, &after)
        };
        assert_eq!(with(&|_| {}), None);
        assert_eq!(
            with(&|u| u["name"]["formatted"] = json!("Alex Lead")).as_deref(),
            Some("Alex Lead")
        );
        // Entra's multi-valued example changes the family name alone: not enough to rename.
        assert_eq!(with(&|u| u["name"]["familyName"] = json!("Updated")), None);
        assert_eq!(
            with(&|u| {
                u["name"]["givenName"] = json!("Kkom");
                u["name"]["familyName"] = json!("Unua");
                u["displayName"] = json!("Bjfe");
            })
            .as_deref(),
            Some("Kkom Unua")
        );
        assert_eq!(
            with(&|u| u["displayName"] = json!("Pvlo")).as_deref(),
            Some("Pvlo")
        );
        assert_eq!(
            with(&|u| u["userName"] = json!("renamed@example.com")),
            None
        );
    }

    #[test]
    fn the_phone_is_the_primary_then_work_then_mobile_number() {
        let phones = |numbers: Value| phone_of(&json!({ "phoneNumbers": numbers }));
        assert_eq!(
            phones(json!([
                {"value": "+1 555 0100", "type": "work"},
                {"value": "+1 555 0101", "type": "mobile", "primary": true}
            ]))
            .as_deref(),
            Some("+1 555 0101")
        );
        assert_eq!(
            phones(json!([
                {"value": "+1 555 0101", "type": "mobile"},
                {"value": "+1 555 0102", "type": "home"},
                {"value": "+1 555 0100", "type": "Work"}
            ]))
            .as_deref(),
            Some("+1 555 0100")
        );
        assert_eq!(
            phones(json!([
                {"value": "+1 555 0102", "type": "home"},
                {"value": "+1 555 0101", "type": "mobile"}
            ]))
            .as_deref(),
            Some("+1 555 0101")
        );
        assert_eq!(
            phones(json!([{"value": "+1 555 0102", "type": "fax"}, {"value": "+1 555 0103"}]))
                .as_deref(),
            Some("+1 555 0103")
        );
        assert_eq!(
            phones(json!([{"value": "+1 555 0102", "type": "home"}])),
            None
        );
        // Entra's string "True" marks a primary too; an empty value is no number.
        assert_eq!(
            phones(json!([{"value": "", "primary": true}, {"value": "tel:+1-201-555-0123;ext=5", "primary": "True"}]))
                .as_deref(),
            Some("+1-201-555-0123")
        );
        assert_eq!(phone_of(&json!({})), None);
    }

    #[test]
    fn active_accepts_entras_strings() {
        assert_eq!(active_of(&json!({"active": "False"})), Ok(false));
        assert_eq!(active_of(&json!({"active": "true"})), Ok(true));
        assert_eq!(active_of(&json!({"active": false})), Ok(false));
        assert_eq!(active_of(&json!({})), Ok(true));
        assert!(active_of(&json!({"active": "no"})).is_err());
    }

    #[test]
    fn ids_are_encoded_in_locations_and_decoded_from_paths() {
        let base = Base {
            url: "https://h/scim/v2".into(),
        };
        assert_eq!(
            base.location("Users", "test.user@okta.local"),
            "https://h/scim/v2/Users/test.user@okta.local"
        );
        assert_eq!(
            base.location("Users", "a b/c"),
            "https://h/scim/v2/Users/a%20b%2Fc"
        );
        assert_eq!(
            decode_segment("test.user%40okta.local").as_deref(),
            Some("test.user@okta.local")
        );
        assert_eq!(decode_segment("a%2"), None);
        assert_eq!(decode_segment("%FF"), None);
        assert_eq!(decode_segment("Иван").as_deref(), Some("Иван"));
    }

    #[test]
    fn write_answers_echo_what_was_sent_over_what_wazzup_holds() {
        let base = Base {
            url: "/scim/v2".into(),
        };
        let sent = json!({
            "schemas": [USER_SCHEMA], "userName": "test.user@okta.local", "externalId": "ignored",
            "name": {"givenName": "Test", "familyName": "User", "middleName": "Q"},
            "emails": [{"value": "test.user@okta.local"}], "password": "secret", "active": true,
            "phoneNumbers": [{"value": "8 926 333-45-67", "type": "mobile"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}
        });
        let stored = Stored {
            name: "Test User".into(),
            phone: Some("79263334567".into()),
        };
        let out = Value::Object(write_answer(
            sent.as_object().unwrap(),
            "00u1",
            Some(&stored),
            &base,
        ));
        assert_eq!(out["id"], "00u1");
        assert_eq!(out["externalId"], "00u1");
        assert_eq!(out["userName"], "test.user@okta.local");
        assert_eq!(
            out["name"],
            json!({"formatted": "Test User", "middleName": "Q"})
        );
        assert_eq!(out["displayName"], "Test User");
        assert_eq!(
            out["phoneNumbers"],
            json!([{"value": "+79263334567", "type": "work", "primary": true}])
        );
        assert_eq!(out["emails"], sent["emails"]);
        assert!(out.get("password").is_none());
        assert_eq!(out["active"], true);
        assert_eq!(out["meta"]["location"], "/scim/v2/Users/00u1");
        assert_eq!(out["schemas"].as_array().unwrap().len(), 2);

        let gone = Value::Object(write_answer(sent.as_object().unwrap(), "00u1", None, &base));
        assert_eq!(gone["active"], false);
        assert_eq!(gone["name"], json!({"middleName": "Q"}));
        assert_eq!(gone["phoneNumbers"], sent["phoneNumbers"]);
    }
}

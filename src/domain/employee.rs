//! An employee as a source gives it, before any check, and the one rule that turns such fields
//! into a sync event: the id and name must be valid, and a phone that is not a valid number is
//! left out with a warning (the employee is still synced).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::{SyncEvent, User};
use super::field::{FieldError, UserId, UserName};
use super::phone::{Phone, PhoneRegion};
use super::report::{Rejection, Warning};

/// One employee as a file, a request or a CRM's users API gives it (`id`, `name`, `phone`, and
/// from an operator's list, `wazzupId`).
/// CSV readers must read fields as text and build rows themselves: the csv crate's type
/// guessing would turn `00042` into `42` here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EmployeeRow {
    #[serde(deserialize_with = "id_field")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// An operator's pairing: the existing Wazzup user this employee is (`wazzupId`), for a
    /// takeover no rule could decide (see [`super::Roster::pins`]).
    #[serde(default, rename = "wazzupId", skip_serializing_if = "Option::is_none")]
    pub wazzup_id: Option<String>,
}

impl EmployeeRow {
    /// A row with an id, a name and perhaps a phone, as a list gives it.
    pub fn named(id: &str, name: &str, phone: Option<&str>) -> Self {
        Self {
            id: id.to_owned(),
            name: Some(name.to_owned()),
            phone: phone.map(str::to_owned),
            wazzup_id: None,
        }
    }

    /// The upsert this row asks for; see [`upsert_event`].
    pub fn upsert(
        &self,
        index: usize,
        region: PhoneRegion,
    ) -> Result<(SyncEvent, Option<Warning>), Rejection> {
        upsert_event(
            index,
            &self.id,
            self.name.as_deref(),
            self.phone.as_deref(),
            region,
        )
    }
}

/// Ids (and phones) arrive as JSON text or as integers, depending on the source: both are read
/// as text. Anything else is not an id.
pub fn text_or_integer(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn id_field<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = Value::deserialize(deserializer)?;
    text_or_integer(&value)
        .ok_or_else(|| serde::de::Error::custom("id must be a string or an integer"))
}

fn field_rejection(index: usize, id: Option<&str>, error: &FieldError) -> Rejection {
    Rejection::at(index, id, error.code(), error.to_string())
}

/// A deletion, from an id as the source sent it.
pub fn delete_event(index: usize, raw_id: &str) -> Result<SyncEvent, Rejection> {
    UserId::parse(raw_id)
        .map(SyncEvent::Delete)
        .map_err(|e| field_rejection(index, Some(raw_id), &e))
}

/// An upsert, from the fields as the source sent them: the id and name must be valid, and a
/// phone that is not a valid number is left out with a warning.
pub fn upsert_event(
    index: usize,
    raw_id: &str,
    raw_name: Option<&str>,
    raw_phone: Option<&str>,
    region: PhoneRegion,
) -> Result<(SyncEvent, Option<Warning>), Rejection> {
    let id = UserId::parse(raw_id).map_err(|e| field_rejection(index, Some(raw_id), &e))?;
    let name = match raw_name {
        Some(name) => {
            UserName::parse(name).map_err(|e| field_rejection(index, Some(raw_id), &e))?
        }
        None => {
            return Err(field_rejection(
                index,
                Some(raw_id),
                &FieldError::Missing { field: "name" },
            ));
        }
    };
    let mut warning = None;
    let phone = match raw_phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(raw) => match Phone::parse(raw, region.0) {
            Ok(phone) => Some(phone),
            Err(error) => {
                warning = Some(Warning {
                    index: Some(index),
                    id: Some(id.to_string()),
                    code: "INVALID_PHONE".into(),
                    message: format!("{error}; the employee was sent without a phone"),
                });
                None
            }
        },
    };
    Ok((SyncEvent::Upsert(User { id, name, phone }), warning))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_text_or_integers() {
        assert_eq!(text_or_integer(&json!("00042")).as_deref(), Some("00042"));
        assert_eq!(text_or_integer(&json!(42)).as_deref(), Some("42"));
        assert_eq!(text_or_integer(&json!(4.2)), None);
        assert_eq!(text_or_integer(&json!(null)), None);
        let row: EmployeeRow = serde_json::from_value(json!({"id": 7, "name": "A"})).unwrap();
        assert_eq!(row.id, "7");
        assert!(serde_json::from_value::<EmployeeRow>(json!({"id": true})).is_err());
    }

    #[test]
    fn an_invalid_phone_is_a_warning_and_a_missing_name_a_rejection() {
        let row = EmployeeRow {
            id: "e1".into(),
            name: Some("Alex".into()),
            phone: Some("12345".into()),
            wazzup_id: None,
        };
        let (event, warning) = row.upsert(3, PhoneRegion::default()).unwrap();
        assert!(matches!(event, SyncEvent::Upsert(User { phone: None, .. })));
        assert_eq!(warning.unwrap().code, "INVALID_PHONE");
        let nameless = EmployeeRow { name: None, ..row };
        let rejection = nameless.upsert(3, PhoneRegion::default()).unwrap_err();
        assert_eq!(
            (rejection.index, rejection.reason.as_str()),
            (Some(3), "MISSING_FIELD")
        );
    }
}

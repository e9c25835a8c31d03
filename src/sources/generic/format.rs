//! The generic webhook format, the contract other tools rely on.
//!
//! One event: `{"event": "employee.created", "employee": {"id": "...", "name": "...", "phone": "..."}}`,
//! or a batch: `{"events": [ ...such objects... ]}`. `employee.created` and `employee.updated`
//! become upserts; `employee.deleted` needs only `employee.id`. Each event is parsed on its own:
//! an invalid one is rejected with its reason and the valid rest of the batch still goes through.

use serde_json::Value;

use crate::domain::{
    ECHO_CHARS, EventBatch, Facts, FieldError, PhoneRegion, Rejection, SeatRules, SourceTime,
    SyncEvent, Warning, delete_event, excerpt, text_or_integer, upsert_event,
};
use crate::sources::contract::BodyError;
use crate::sources::seats::{self, Kind};

fn reject(index: usize, id: Option<&str>, reason: &str, message: impl Into<String>) -> Rejection {
    Rejection::at(index, id, reason, message)
}

/// The event types this format accepts.
pub const EVENT_TYPES: [&str; 3] = ["employee.created", "employee.updated", "employee.deleted"];

/// Parses a generic webhook body of at most `max_events` events. Fails only when the body as
/// a whole is unusable; individual bad events become rejections in the returned batch.
pub fn parse(
    body: &[u8],
    region: PhoneRegion,
    max_events: usize,
    rules: &SeatRules,
) -> Result<EventBatch, BodyError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BodyError::NotJson(format!("body is not valid JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(BodyError::WrongShape(
            "body must be a JSON object with \"event\" or \"events\"".into(),
        ));
    };
    let items: Vec<Value> = match (top.remove("events"), top.contains_key("event")) {
        (Some(Value::Array(items)), _) => items,
        (Some(_), _) => {
            return Err(BodyError::WrongShape("\"events\" must be an array".into()));
        }
        (None, true) => vec![Value::Object(top)],
        (None, false) => {
            return Err(BodyError::WrongShape(
                "body must have \"event\" (one event) or \"events\" (a batch)".into(),
            ));
        }
    };
    if items.is_empty() {
        return Err(BodyError::EmptyBatch);
    }
    if items.len() > max_events {
        return Err(BodyError::TooManyEvents {
            count: items.len(),
            max: max_events,
        });
    }

    let mut batch = EventBatch::default();
    for (index, item) in items.iter().enumerate() {
        match occurred_at(index, item) {
            Ok(at) => {
                let seat = (rules, &facts(item), kind(item));
                seats::push(
                    &mut batch,
                    index,
                    parse_event(index, item, region),
                    at,
                    seat,
                );
            }
            Err(rejection) => batch.rejected.push(rejection),
        }
    }
    Ok(batch)
}

/// The event's optional `occurredAt`: when the source made the change (RFC 3339).
/// Whether the event makes the employee or changes one.
fn kind(item: &Value) -> Kind {
    match item.get("event").and_then(Value::as_str) {
        Some("employee.created") => Kind::Created,
        _ => Kind::Updated,
    }
}

/// What the employee carries for the seat rules: `groups`, `orgUnit`, `department`, `role`,
/// `title` (a string or an array of strings) and `attributes` (an object: `attribute.<name>`).
/// A field sent, even empty, is known; one left out is not.
fn facts(item: &Value) -> Facts {
    let mut facts = Facts::new();
    let Some(employee) = item.get("employee").and_then(Value::as_object) else {
        return facts;
    };
    let mut add = |name: &str, value: &Value| {
        facts.know(name);
        match value {
            Value::Array(values) => values.iter().for_each(|v| {
                if let Some(text) = text_or_integer(v) {
                    facts.add(name, &text);
                }
            }),
            Value::Bool(flag) => {
                facts.add(name, if *flag { "true" } else { "false" });
            }
            other => {
                if let Some(text) = text_or_integer(other) {
                    facts.add(name, &text);
                }
            }
        }
    };
    for (field, fact) in [
        ("groups", "group"),
        ("orgUnit", "orgUnit"),
        ("department", "department"),
        ("role", "role"),
        ("title", "title"),
    ] {
        if let Some(value) = employee.get(field) {
            add(fact, value);
        }
    }
    if let Some(Value::Object(attributes)) = employee.get("attributes") {
        for (name, value) in attributes {
            add(&format!("attribute.{name}"), value);
        }
    }
    facts
}

fn occurred_at(index: usize, item: &Value) -> Result<Option<SourceTime>, Rejection> {
    match item.get("occurredAt") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => SourceTime::parse_rfc3339(text).map(Some).ok_or_else(|| {
            reject(
                index,
                item.get("employee")
                    .and_then(|e| e.get("id"))
                    .and_then(text_or_integer)
                    .as_deref(),
                "INVALID_FIELD",
                "occurredAt must be an RFC 3339 time such as 2026-11-23T06:00:00Z",
            )
        }),
        Some(_) => Err(reject(
            index,
            None,
            "INVALID_FIELD",
            "occurredAt must be an RFC 3339 time such as 2026-11-23T06:00:00Z",
        )),
    }
}

fn parse_event(
    index: usize,
    item: &Value,
    region: PhoneRegion,
) -> Result<(SyncEvent, Option<Warning>), Rejection> {
    let Value::Object(object) = item else {
        return Err(reject(
            index,
            None,
            "INVALID_EVENT",
            "an event must be a JSON object",
        ));
    };
    let employee = match object.get("employee") {
        Some(Value::Object(employee)) => Some(employee),
        _ => None,
    };
    let raw_id = employee.and_then(|e| e.get("id")).and_then(text_or_integer);
    let id_text = raw_id.as_deref();

    let kind = match object.get("event") {
        Some(Value::String(kind)) if EVENT_TYPES.contains(&kind.as_str()) => kind.as_str(),
        Some(Value::String(kind)) => {
            return Err(reject(
                index,
                id_text,
                "UNKNOWN_EVENT",
                format!(
                    "event \"{}\" is not one of {}",
                    excerpt(kind, ECHO_CHARS),
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        _ => {
            return Err(reject(
                index,
                id_text,
                "MISSING_EVENT",
                "\"event\" must be a string naming the event type",
            ));
        }
    };
    let Some(employee) = employee else {
        return Err(reject(
            index,
            None,
            "MISSING_EMPLOYEE",
            "\"employee\" must be an object",
        ));
    };
    let Some(raw_id) = raw_id else {
        return Err(match employee.get("id") {
            None | Some(Value::Null) => {
                let missing = FieldError::Missing { field: "id" };
                reject(index, None, missing.code(), missing.to_string())
            }
            Some(_) => reject(
                index,
                None,
                "INVALID_FIELD",
                "id must be a string or an integer",
            ),
        });
    };

    if kind == "employee.deleted" {
        return delete_event(index, &raw_id).map(|event| (event, None));
    }
    let name = match employee.get("name") {
        Some(Value::String(name)) => Some(name.as_str()),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(reject(
                index,
                Some(&raw_id),
                "INVALID_FIELD",
                "name must be a string",
            ));
        }
    };
    let phone = employee.get("phone").and_then(text_or_integer);
    upsert_event(index, &raw_id, name, phone.as_deref(), region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IndexedEvent, UserId};

    fn parse_str(body: &str) -> Result<EventBatch, BodyError> {
        parse(
            body.as_bytes(),
            PhoneRegion::default(),
            1000,
            &SeatRules::default(),
        )
    }

    #[test]
    fn a_single_created_event_becomes_an_upsert_with_a_normalized_phone() {
        let batch = parse_str(
            r#"{"event":"employee.created","employee":{"id":"emp-1","name":" Alex ","phone":"+7 (926) 333-45-67"}}"#,
        )
        .unwrap();
        assert!(batch.rejected.is_empty() && batch.warnings.is_empty());
        let [
            IndexedEvent {
                index: 0,
                event: SyncEvent::Upsert(user),
                ..
            },
        ] = batch.events.as_slice()
        else {
            panic!("unexpected {:?}", batch.events)
        };
        assert_eq!(user.id.as_str(), "emp-1");
        assert_eq!(user.name.as_str(), "Alex");
        assert_eq!(user.phone.as_ref().unwrap().as_str(), "79263334567");
    }

    #[test]
    fn deleted_needs_only_the_id_and_numeric_ids_are_accepted() {
        let batch = parse_str(r#"{"event":"employee.deleted","employee":{"id":42}}"#).unwrap();
        assert_eq!(
            batch.events[0].event,
            SyncEvent::Delete(UserId::parse("42").unwrap())
        );
    }

    #[test]
    fn a_batch_keeps_valid_events_and_rejects_invalid_ones_with_reasons() {
        let batch = parse_str(
            r#"{"events":[
                {"event":"employee.created","employee":{"id":"a","name":"A"}},
                {"event":"employee.created","employee":{"id":"b","name":"   "}},
                {"event":"employee.fired","employee":{"id":"c"}},
                {"event":"employee.updated","employee":{"name":"no id"}},
                {"event":"employee.updated","employee":{"id":"e"}},
                "not an object",
                {"event":"employee.created","employee":{"id":"g","name":"G","phone":"12345"}}
            ]}"#,
        )
        .unwrap();
        let ids: Vec<_> = batch
            .events
            .iter()
            .map(|e| e.event.id().to_string())
            .collect();
        assert_eq!(ids, ["a", "g"]);
        let reasons: Vec<_> = batch
            .rejected
            .iter()
            .map(|r| (r.index, r.id.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (Some(1), Some("b"), "EMPTY_FIELD"),
                (Some(2), Some("c"), "UNKNOWN_EVENT"),
                (Some(3), None, "MISSING_FIELD"),
                (Some(4), Some("e"), "MISSING_FIELD"),
                (Some(5), None, "INVALID_EVENT"),
            ]
        );
        assert_eq!(batch.warnings.len(), 1);
        assert_eq!(batch.warnings[0].code, "INVALID_PHONE");
        assert_eq!(batch.warnings[0].id.as_deref(), Some("g"));
        let SyncEvent::Upsert(g) = &batch.events[1].event else {
            panic!()
        };
        assert_eq!(g.phone, None);
    }

    #[test]
    fn an_overlong_name_is_rejected_by_character_count() {
        let name = "ж".repeat(201);
        let body =
            format!(r#"{{"event":"employee.created","employee":{{"id":"x","name":"{name}"}}}}"#);
        let batch = parse_str(&body).unwrap();
        assert_eq!(batch.rejected[0].reason, "FIELD_TOO_LONG");
        assert!(batch.rejected[0].message.contains("201 characters"));
    }

    #[test]
    fn events_may_say_when_they_happened() {
        let batch = parse_str(
            r#"{"events":[
                {"event":"employee.deleted","employee":{"id":"a"},"occurredAt":"2026-11-23T06:00:01Z"},
                {"event":"employee.deleted","employee":{"id":"b"}},
                {"event":"employee.deleted","employee":{"id":"c"},"occurredAt":"yesterday"}
            ]}"#,
        )
        .unwrap();
        let times: Vec<_> = batch
            .events
            .iter()
            .map(|e| e.at.map(SourceTime::millis))
            .collect();
        assert_eq!(times, [Some(1_795_413_601_000), None]);
        assert_eq!(batch.rejected[0].id.as_deref(), Some("c"));
    }

    #[test]
    fn unusable_bodies_are_errors() {
        assert!(matches!(
            parse_str("{\"event\": "),
            Err(BodyError::NotJson(_))
        ));
        assert!(matches!(parse_str("[]"), Err(BodyError::WrongShape(_))));
        assert!(matches!(parse_str("{}"), Err(BodyError::WrongShape(_))));
        assert!(matches!(
            parse_str(r#"{"events": {}}"#),
            Err(BodyError::WrongShape(_))
        ));
        assert!(matches!(
            parse_str(r#"{"events": []}"#),
            Err(BodyError::EmptyBatch)
        ));
        let eleven = format!(r#"{{"events": [{}]}}"#, ["{}"; 11].join(","));
        assert_eq!(
            parse(
                eleven.as_bytes(),
                PhoneRegion::default(),
                10,
                &SeatRules::default()
            ),
            Err(BodyError::TooManyEvents { count: 11, max: 10 })
        );
    }
}

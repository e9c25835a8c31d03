//! Pipedrive's webhook bodies for the `user` entity. Both payload versions are read:
//! - Webhooks v2: `{"meta": {"action": "create"|"change"|"delete", "entity": "user",
//!   "entity_id": "...", ...}, "data": {...}, "previous": {...}}`;
//! - Webhooks v1: `{"event": "added.user"|"updated.user"|"deleted.user", "meta": {"action",
//!   "object", "id", ...}, "current": {...}, "previous": {...}}`.
//!
//! The user becomes an employee by [`super::rules`]; a user whose `active_flag` is false
//! (deactivated in Pipedrive) is deleted from Wazzup; one turned active again is upserted.
//! Events for any other entity are ignored (answered 200, so that Pipedrive does not retry
//! them).

use serde_json::{Map, Value};

use super::rules;
use crate::domain::{
    ECHO_CHARS, EventBatch, Facts, PhoneRegion, Rejection, SeatRules, SourceTime, delete_event,
    excerpt, text_or_integer,
};
use crate::sources::contract::{BodyError, Received};
use crate::sources::seats::{self, Kind};

fn id_text(value: Option<&Value>) -> Option<String> {
    value.and_then(text_or_integer)
}

/// What happened to the object, in either version's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Upsert,
    Delete,
}

fn action(word: &str) -> Option<Action> {
    match word {
        "create" | "added" | "change" | "updated" => Some(Action::Upsert),
        "delete" | "deleted" => Some(Action::Delete),
        _ => None,
    }
}

fn object(value: Option<&Value>) -> Option<&Map<String, Value>> {
    value.and_then(Value::as_object)
}

/// When Pipedrive made the change: `meta.timestamp`, RFC 3339 text in webhooks v2 and Unix
/// seconds in v1 (`timestamp_micro`, microseconds, when present).
fn when(meta: &Map<String, Value>) -> Option<SourceTime> {
    if let Some(micros) = meta.get("timestamp_micro").and_then(Value::as_i64) {
        return Some(SourceTime::from_millis(micros / 1000));
    }
    match meta.get("timestamp")? {
        Value::String(text) => SourceTime::parse_rfc3339(text),
        Value::Number(seconds) => seconds.as_i64().map(SourceTime::from_unix_seconds),
        _ => None,
    }
}

/// Parses one Pipedrive webhook body, through the source's seat `rules`.
pub fn parse(body: &[u8], region: PhoneRegion, rules: &SeatRules) -> Result<Received, BodyError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BodyError::NotJson(format!("body is not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(BodyError::WrongShape(
            "a Pipedrive webhook body is a JSON object".into(),
        ));
    };
    let meta = object(top.get("meta"));

    // v2 names the entity in meta.entity; v1 in meta.object or in "event" ("added.user").
    let v1_event = top.get("event").and_then(Value::as_str);
    let (entity, action_word, current, meta_id) =
        if let Some(entity) = meta.and_then(|m| m.get("entity")).and_then(Value::as_str) {
            let action_word = meta.and_then(|m| m.get("action")).and_then(Value::as_str);
            let meta_id =
                meta.and_then(|m| id_text(m.get("entity_id")).or_else(|| id_text(m.get("id"))));
            (entity, action_word, object(top.get("data")), meta_id)
        } else if let Some((action_word, entity)) = v1_event.and_then(|e| e.split_once('.')) {
            let meta_id = meta.and_then(|m| id_text(m.get("id")));
            (
                entity,
                Some(action_word),
                object(top.get("current")),
                meta_id,
            )
        } else if let Some(entity) = meta.and_then(|m| m.get("object")).and_then(Value::as_str) {
            let action_word = meta.and_then(|m| m.get("action")).and_then(Value::as_str);
            let meta_id = meta.and_then(|m| id_text(m.get("id")));
            (entity, action_word, object(top.get("current")), meta_id)
        } else {
            return Err(BodyError::WrongShape(
                "not a Pipedrive webhook: expected \"meta.entity\" (webhooks v2) or \"event\" (v1)"
                    .into(),
            ));
        };

    if entity != "user" {
        return Ok(Received::Ignored(format!(
            "Pipedrive \"{}\" events are not synced; only \"user\" events are",
            excerpt(entity, ECHO_CHARS)
        )));
    }
    let Some(action) = action_word.and_then(action) else {
        return Ok(Received::Ignored(format!(
            "Pipedrive user action \"{}\" is not synced",
            excerpt(action_word.unwrap_or(""), ECHO_CHARS)
        )));
    };
    let previous = object(top.get("previous"));
    let id = meta_id
        .or_else(|| current.and_then(|c| id_text(c.get("id"))))
        .or_else(|| previous.and_then(|p| id_text(p.get("id"))));

    let mut batch = EventBatch {
        at: meta.and_then(when),
        key: meta
            .filter(|m| m.contains_key("entity"))
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..EventBatch::default()
    };
    let Some(id) = id else {
        batch.rejected.push(Rejection::at(
            0,
            None,
            "MISSING_FIELD",
            "the user's id is missing",
        ));
        return Ok(Received::Batch(batch));
    };
    let result = match (action, current) {
        (Action::Delete, _) => delete_event(0, &id).map(|event| (event, None)),
        (Action::Upsert, Some(user)) if !rules::is_active(user) => {
            delete_event(0, &id).map(|event| (event, None))
        }
        (Action::Upsert, Some(user)) => rules::employee(&id, user).upsert(0, region),
        (Action::Upsert, None) => Err(Rejection::at(
            0,
            Some(&id),
            "MISSING_FIELD",
            "the webhook carries no current user data",
        )),
    };
    let kind = match action_word {
        Some("create" | "added") => Kind::Created,
        _ => Kind::Updated,
    };
    let facts = current.map(rules::facts).unwrap_or_else(Facts::new);
    seats::push(&mut batch, 0, result, None, (rules, &facts, kind));
    Ok(Received::Batch(batch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SyncEvent, UserId};

    fn events(body: &str) -> Vec<SyncEvent> {
        match parse(
            body.as_bytes(),
            PhoneRegion::default(),
            &SeatRules::default(),
        )
        .unwrap()
        {
            Received::Batch(batch) => batch.events.into_iter().map(|e| e.event).collect(),
            Received::Ignored(reason) => panic!("ignored: {reason}"),
        }
    }

    #[test]
    fn v2_user_created_is_an_upsert_with_the_numeric_id_as_text() {
        let got = events(
            r#"{"meta":{"action":"create","entity":"user","entity_id":"17","version":"2.0"},
                "data":{"id":17,"name":"Alex Salesman","phone":"+7 926 333-45-67","active_flag":true},
                "previous":null}"#,
        );
        let [SyncEvent::Upsert(user)] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(user.id.as_str(), "17");
        assert_eq!(user.name.as_str(), "Alex Salesman");
        assert_eq!(user.phone.as_ref().unwrap().as_str(), "79263334567");
    }

    #[test]
    fn deactivation_deletes_and_reactivation_upserts() {
        let off = events(
            r#"{"meta":{"action":"change","entity":"user","entity_id":"17"},
                "data":{"id":17,"name":"Alex","active_flag":false},"previous":{"active_flag":true}}"#,
        );
        assert_eq!(off, [SyncEvent::Delete(UserId::parse("17").unwrap())]);
        let on = events(
            r#"{"meta":{"action":"change","entity":"user","entity_id":"17"},
                "data":{"id":17,"name":"Alex","active_flag":true},"previous":{"active_flag":false}}"#,
        );
        assert!(matches!(on.as_slice(), [SyncEvent::Upsert(_)]));
    }

    #[test]
    fn v2_delete_needs_only_the_meta_id() {
        let got = events(
            r#"{"meta":{"action":"delete","entity":"user","entity_id":"17"},"data":null,
                "previous":{"id":17,"name":"Alex"}}"#,
        );
        assert_eq!(got, [SyncEvent::Delete(UserId::parse("17").unwrap())]);
    }

    #[test]
    fn v1_payloads_are_read_too() {
        let added = events(
            r#"{"v":1,"event":"added.user","meta":{"action":"added","object":"user","id":23},
                "current":{"id":23,"name":"Kate Supportics","phone":null,"active_flag":true},"previous":null}"#,
        );
        assert!(
            matches!(added.as_slice(), [SyncEvent::Upsert(u)] if u.id.as_str() == "23" && u.phone.is_none())
        );
        let deleted = events(
            r#"{"v":1,"event":"deleted.user","meta":{"action":"deleted","object":"user","id":23},
                "current":null,"previous":{"id":23,"name":"Kate"}}"#,
        );
        assert_eq!(deleted, [SyncEvent::Delete(UserId::parse("23").unwrap())]);
    }

    #[test]
    fn the_change_time_and_id_are_read_from_meta() {
        let v2 = parse(
            br#"{"meta":{"action":"delete","entity":"user","entity_id":"17","id":"9f1c-uuid",
                 "timestamp":"2026-11-23T06:00:01.000Z"},"data":null,"previous":{"id":17}}"#,
            PhoneRegion::default(),
            &SeatRules::default(),
        )
        .unwrap();
        let Received::Batch(v2) = v2 else { panic!() };
        assert_eq!(v2.at, Some(SourceTime::from_unix_seconds(1_795_413_601)));
        assert_eq!(v2.key.as_deref(), Some("9f1c-uuid"));
        let v1 = parse(
            br#"{"event":"deleted.user","meta":{"action":"deleted","object":"user","id":23,
                 "timestamp":1795413602},"current":null,"previous":{"id":23}}"#,
            PhoneRegion::default(),
            &SeatRules::default(),
        )
        .unwrap();
        let Received::Batch(v1) = v1 else { panic!() };
        assert_eq!(v1.at, Some(SourceTime::from_unix_seconds(1_795_413_602)));
        assert_eq!(v1.key, None);
    }

    #[test]
    fn other_entities_are_ignored_not_refused() {
        let deal = parse(
            br#"{"meta":{"action":"change","entity":"deal","entity_id":"1"},"data":{"id":1}}"#,
            PhoneRegion::default(),
            &SeatRules::default(),
        )
        .unwrap();
        assert!(matches!(deal, Received::Ignored(reason) if reason.contains("deal")));
        let v1 = parse(
            br#"{"event":"updated.person","current":{"id":5}}"#,
            PhoneRegion::default(),
            &SeatRules::default(),
        )
        .unwrap();
        assert!(matches!(v1, Received::Ignored(_)));
    }

    #[test]
    fn a_user_without_a_name_is_rejected_and_garbage_is_an_error() {
        let parsed = parse(
            br#"{"meta":{"action":"create","entity":"user","entity_id":"9"},"data":{"id":9,"name":""}}"#,
            PhoneRegion::default(),
            &SeatRules::default(),
        )
        .unwrap();
        let Received::Batch(batch) = parsed else {
            panic!()
        };
        assert_eq!(batch.rejected[0].reason, "EMPTY_FIELD");
        assert!(parse(b"[1]", PhoneRegion::default(), &SeatRules::default()).is_err());
        assert!(
            parse(
                br#"{"hello":"world"}"#,
                PhoneRegion::default(),
                &SeatRules::default()
            )
            .is_err()
        );
    }
}

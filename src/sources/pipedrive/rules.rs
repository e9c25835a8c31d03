//! Pipedrive's user, read the same way for its webhooks and its users API: the user's `id` is
//! the Wazzup id (as text), `name` the name, `phone` the phone, and `active_flag` false (also
//! `"false"`, `"N"` or `0`) means deactivated, which removes the user from Wazzup. For the seat
//! rules, `role_id` is its `role`, and each of its other plain fields an `attribute.<field>`
//! (`attribute.is_admin`, `attribute.lang`).

use serde_json::{Map, Value};

use crate::domain::{EmployeeRow, Facts, text_or_integer};

/// Whether the user is active: an absent flag counts as active.
pub fn is_active(user: &Map<String, Value>) -> bool {
    !matches!(user.get("active_flag"), Some(flag)
        if *flag == Value::Bool(false) || *flag == "false" || *flag == "N" || *flag == 0)
}

/// The employee a Pipedrive user with this `id` is.
pub fn employee(id: &str, user: &Map<String, Value>) -> EmployeeRow {
    EmployeeRow {
        id: id.to_owned(),
        name: user.get("name").and_then(text_or_integer),
        phone: user.get("phone").and_then(text_or_integer),
        wazzup_id: None,
    }
}

/// What a Pipedrive user tells the seat rules.
pub fn facts(user: &Map<String, Value>) -> Facts {
    let mut facts = Facts::new();
    facts.know("role");
    if let Some(role) = user.get("role_id").and_then(text_or_integer) {
        facts.add("role", &role);
    }
    for (field, value) in user {
        let text = match value {
            Value::Bool(flag) => Some(flag.to_string()),
            other => text_or_integer(other),
        };
        let name = format!("attribute.{field}");
        facts.know(&name);
        if let Some(text) = text {
            facts.add(&name, &text);
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn every_spelling_of_inactive_is_read_and_absent_is_active() {
        for off in [json!(false), json!("false"), json!("N"), json!(0)] {
            assert!(!is_active(&user(json!({"active_flag": off}))), "{off}");
        }
        assert!(is_active(&user(json!({"active_flag": true}))));
        assert!(is_active(&user(json!({}))));
    }

    #[test]
    fn numbers_are_read_as_text() {
        let row = employee(
            "17",
            &user(json!({"name": "Alex", "phone": 79263334567u64})),
        );
        assert_eq!(row.phone.as_deref(), Some("79263334567"));
        assert_eq!(row.name.as_deref(), Some("Alex"));
    }
}

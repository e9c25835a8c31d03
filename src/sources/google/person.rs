//! A Google Workspace user as an employee: its immutable `id` is the employee's id (it survives
//! a change of address), `name.fullName` the name, the phone the primary one (else the mobile,
//! else the work one, else the first); suspended or archived means inactive (dismissed). For
//! the seat rules: `orgUnit` (`orgUnitPath`), `department` and `title` (its organizations),
//! `group` (the groups the rules name that it belongs to, looked up by the reader), and
//! `attribute.<schema>.<field>` (its custom schemas).

use serde_json::{Map, Value};

use crate::domain::{EmployeeRow, Facts};
use crate::sources::contract::Person;
use crate::sources::users_api::text;

/// The phone to give Wazzup among a user's `phones`.
fn phone(user: &Map<String, Value>) -> Option<String> {
    let phones: Vec<&Map<String, Value>> = user
        .get("phones")
        .and_then(Value::as_array)
        .map(|p| p.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let of_type = |kind: &str| {
        phones
            .iter()
            .find(|p| p.get("type").and_then(Value::as_str) == Some(kind))
    };
    phones
        .iter()
        .find(|p| p.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| of_type("mobile"))
        .or_else(|| of_type("work"))
        .or_else(|| phones.first())
        .and_then(|p| text(p.get("value")))
}

fn name(user: &Map<String, Value>) -> Option<String> {
    let name = user.get("name")?;
    text(name.get("fullName")).or_else(|| {
        let parts: Vec<String> = [name.get("givenName"), name.get("familyName")]
            .into_iter()
            .filter_map(text)
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

/// The person a user of `users.list` is; `groups` are the rules' groups it belongs to.
pub fn person(id: &str, user: &Map<String, Value>, groups: &[&str]) -> Person {
    let flag = |key: &str| user.get(key) == Some(&Value::Bool(true));
    let mut facts = Facts::new();
    facts
        .know("orgUnit")
        .know("department")
        .know("title")
        .know("group");
    if let Some(unit) = text(user.get("orgUnitPath")) {
        facts.add("orgUnit", &unit);
    }
    let organizations = user.get("organizations").and_then(Value::as_array);
    for organization in organizations.into_iter().flatten() {
        if let Some(department) = text(organization.get("department")) {
            facts.add("department", &department);
        }
        if let Some(title) = text(organization.get("title")) {
            facts.add("title", &title);
        }
    }
    for group in groups {
        facts.add("group", group);
    }
    if let Some(Value::Object(schemas)) = user.get("customSchemas") {
        for (schema, fields) in schemas {
            for (field, value) in fields.as_object().into_iter().flatten() {
                let name = format!("attribute.{schema}.{field}");
                let values = match value {
                    Value::Array(many) => many.iter().collect(),
                    one => vec![one],
                };
                for value in values {
                    // A multi-valued field holds {"type", "value"} objects.
                    let value = value.get("value").unwrap_or(value);
                    let text = match value {
                        Value::Bool(flag) => Some(flag.to_string()),
                        other => text(Some(other)),
                    };
                    facts.add(&name, text.as_deref().unwrap_or(""));
                }
            }
        }
    }
    Person {
        row: EmployeeRow {
            id: id.to_owned(),
            name: name(user).or_else(|| text(user.get("primaryEmail"))),
            phone: phone(user),
            wazzup_id: None,
        },
        active: !flag("suspended") && !flag("archived"),
        facts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_user_is_read_as_its_documentation_shows_it() {
        let p = person(
            "103",
            &user(json!({
                "id": "103", "primaryEmail": "anna@example.com",
                "name": {"givenName": "Anna", "familyName": "Smirnova", "fullName": "Anna Smirnova"},
                "suspended": false, "archived": false, "orgUnitPath": "/Sales/Moscow",
                "phones": [{"value": "+7 495 000-00-01", "type": "work"},
                           {"value": "+7 926 000-00-01", "type": "mobile"}],
                "organizations": [{"title": "Manager", "department": "Sales", "primary": true}],
                "customSchemas": {"Wazzup": {"seat": true, "teams": [{"value": "b2b"}]}}
            })),
            &["sales@example.com"],
        );
        assert_eq!(p.row.name.as_deref(), Some("Anna Smirnova"));
        assert_eq!(p.row.phone.as_deref(), Some("+7 926 000-00-01"));
        assert!(p.active);
        assert_eq!(p.facts.values("orgUnit"), ["/Sales/Moscow"]);
        assert_eq!(p.facts.values("title"), ["Manager"]);
        assert_eq!(p.facts.values("group"), ["sales@example.com"]);
        assert_eq!(p.facts.values("attribute.Wazzup.seat"), ["true"]);
        assert_eq!(p.facts.values("attribute.Wazzup.teams"), ["b2b"]);
    }

    #[test]
    fn suspended_or_archived_is_inactive_and_the_primary_phone_wins() {
        for flag in ["suspended", "archived"] {
            let p = person(
                "1",
                &user(json!({ flag: true, "name": {"givenName": "A"} })),
                &[],
            );
            assert!(!p.active, "{flag}");
            assert_eq!(p.row.name.as_deref(), Some("A"));
        }
        let p = person(
            "2",
            &user(json!({"primaryEmail": "b@example.com", "phones": [
                {"value": "1", "type": "mobile"}, {"value": "2", "type": "home", "primary": true}]})),
            &[],
        );
        assert_eq!(p.row.phone.as_deref(), Some("2"));
        assert_eq!(p.row.name.as_deref(), Some("b@example.com"));
        assert!(p.facts.knows("group") && p.facts.values("group").is_empty());
    }
}

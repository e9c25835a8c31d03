//! A Keycloak user as an employee: its `id` is the employee's id, `firstName` and `lastName`
//! the name (else `username`), the phone the first value of a configured attribute
//! (`phoneNumber` by default); `enabled: false` means inactive (dismissed). For the seat
//! rules: `group` and `role` (the rules' groups and realm roles it has, looked up by the
//! reader), and `attribute.<name>` (its attributes).

use serde_json::{Map, Value};

use crate::domain::{EmployeeRow, Facts};
use crate::sources::contract::Person;
use crate::sources::users_api::text;

/// Whether the user is a client's service account rather than a person.
pub fn is_service_account(user: &Map<String, Value>) -> bool {
    user.contains_key("serviceAccountClientLink")
}

/// The person a user is; `groups` and `roles` are the rules' ones it has.
pub fn person(
    id: &str,
    user: &Map<String, Value>,
    phone_attribute: &str,
    groups: &[&str],
    roles: &[&str],
) -> Person {
    let attributes = user.get("attributes").and_then(Value::as_object);
    let attribute = |name: &str| -> Vec<String> {
        match attributes.and_then(|a| a.get(name)) {
            Some(Value::Array(values)) => values.iter().filter_map(|v| text(Some(v))).collect(),
            Some(one) => text(Some(one)).into_iter().collect(),
            None => Vec::new(),
        }
    };
    let parts: Vec<String> = [user.get("firstName"), user.get("lastName")]
        .into_iter()
        .filter_map(text)
        .collect();
    let name = (!parts.is_empty())
        .then(|| parts.join(" "))
        .or_else(|| text(user.get("username")));
    let mut facts = Facts::new();
    facts.know("group").know("role");
    groups.iter().for_each(|g| {
        facts.add("group", g);
    });
    roles.iter().for_each(|r| {
        facts.add("role", r);
    });
    for name in attributes.into_iter().flat_map(|a| a.keys()) {
        let fact = format!("attribute.{name}");
        facts.know(&fact);
        for value in attribute(name) {
            facts.add(&fact, &value);
        }
    }
    Person {
        row: EmployeeRow {
            id: id.to_owned(),
            name,
            phone: attribute(phone_attribute).into_iter().next(),
            wazzup_id: None,
        },
        active: user.get("enabled") != Some(&Value::Bool(false)),
        facts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_user_is_read_as_the_admin_api_gives_it() {
        let user = json!({
            "id": "5f1c", "username": "anna", "firstName": "Anna", "lastName": "Smirnova",
            "email": "anna@example.com", "enabled": true,
            "attributes": {"phoneNumber": ["+7 926 000-00-01"], "department": ["Sales"]}
        });
        let p = person(
            "5f1c",
            user.as_object().unwrap(),
            "phoneNumber",
            &["/wazzup"],
            &[],
        );
        assert_eq!(p.row.name.as_deref(), Some("Anna Smirnova"));
        assert_eq!(p.row.phone.as_deref(), Some("+7 926 000-00-01"));
        assert!(p.active);
        assert_eq!(p.facts.values("group"), ["/wazzup"]);
        assert_eq!(p.facts.values("attribute.department"), ["Sales"]);
        assert!(p.facts.knows("role"));
        let off = json!({"id": "1", "username": "bob", "enabled": false});
        let p = person("1", off.as_object().unwrap(), "mobile", &[], &[]);
        assert!(!p.active);
        assert_eq!(p.row.name.as_deref(), Some("bob"));
        assert_eq!(p.row.phone, None);
    }
}

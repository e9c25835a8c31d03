//! One user of a custom users API as a person, through the recipe's pointers: the id, the name
//! (its pointers' texts joined), the phone, whether it is active, and the mapped facts. Any
//! JSON is read without a panic, and the work is bounded by the user's own size.

use serde_json::Value;

use super::recipe::{FactPath, Recipe};
use crate::domain::{EmployeeRow, Facts};
use crate::sources::contract::Person;
use crate::sources::users_api::text;

/// Texts a value says "no" with.
const NO: [&str; 8] = [
    "false",
    "0",
    "no",
    "n",
    "inactive",
    "disabled",
    "deactivated",
    "off",
];

/// Whether a flag's value is false: `false`, `0`, or one of [`NO`] in any case.
fn is_no(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => !flag,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(text) => NO.contains(&text.trim().to_lowercase().as_str()),
        _ => false,
    }
}

/// Whether a flag's value is true: `true`, a number other than 0, or text that is not blank
/// and not one of [`NO`].
fn is_yes(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) if text.trim().is_empty() => false,
        Value::Bool(_) | Value::Number(_) | Value::String(_) => !is_no(value),
        _ => false,
    }
}

/// The texts a fact's value holds: a scalar's, or each scalar of an array.
fn texts(value: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::Bool(flag) => Some(flag.to_string()),
        other => text(Some(other)),
    };
    match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// The person `user` is, or `None` when it has no id.
pub fn person(user: &Value, recipe: &Recipe) -> Option<Person> {
    let id = text(recipe.id.find(user))?;
    let parts: Vec<String> = recipe
        .name
        .iter()
        .filter_map(|p| text(p.find(user)))
        .collect();
    let name = (!parts.is_empty()).then(|| parts.join(" "));
    let phone = recipe.phone.as_ref().and_then(|p| text(p.find(user)));
    let active = !recipe
        .active
        .as_ref()
        .and_then(|p| p.find(user))
        .is_some_and(is_no)
        && !recipe
            .inactive
            .as_ref()
            .and_then(|p| p.find(user))
            .is_some_and(is_yes);
    let mut facts = Facts::new();
    for (fact, path) in &recipe.facts {
        facts.know(fact);
        let values = match path {
            FactPath::One(pointer) => pointer.find(user).map(texts).unwrap_or_default(),
            FactPath::Each { list, value } => match list.find(user) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|item| value.find(item))
                    .flat_map(texts)
                    .collect(),
                _ => Vec::new(),
            },
        };
        for value in values {
            facts.add(fact, &value);
        }
    }
    Some(Person {
        row: EmployeeRow {
            id,
            name,
            phone,
            wazzup_id: None,
        },
        active,
        facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recipe(extra: &str) -> Recipe {
        Recipe::parse(
            &format!(
                r#"{{"url": "https://crm.example.com/users", "id": "/id",
                     "name": ["/first", "/last"], "phone": "/contact/mobile" {extra}}}"#
            ),
            "customUsersApi",
        )
        .unwrap()
    }

    #[test]
    fn pointers_read_the_user_and_flags_read_every_spelling() {
        let r = recipe(
            r#", "active": "/rights/is_active", "facts": {"group": {"each": "/teams", "value": "/name"}, "role": "/role"}"#,
        );
        let p = person(
            &json!({"id": 42, "first": "Anna", "last": " ", "contact": {"mobile": "+7 926 000-00-01"},
                    "rights": {"is_active": true}, "teams": [{"name": "Sales"}, {"name": "B2B"}], "role": 7}),
            &r,
        )
        .unwrap();
        assert_eq!(p.row.id, "42");
        assert_eq!(p.row.name.as_deref(), Some("Anna"));
        assert_eq!(p.row.phone.as_deref(), Some("+7 926 000-00-01"));
        assert!(p.active);
        assert_eq!(p.facts.values("group"), ["Sales", "B2B"]);
        assert_eq!(p.facts.values("role"), ["7"]);
        for off in [json!(false), json!(0), json!("N"), json!("Inactive")] {
            let user = json!({"id": 1, "rights": {"is_active": off}});
            assert!(!person(&user, &r).unwrap().active, "{off}");
        }
        let archived = recipe(r#", "inactive": "/archived""#);
        assert!(
            !person(&json!({"id": 1, "archived": true}), &archived)
                .unwrap()
                .active
        );
        assert!(
            person(&json!({"id": 1, "archived": false}), &archived)
                .unwrap()
                .active
        );
        assert!(person(&json!({"id": 1}), &archived).unwrap().active);
        assert!(person(&json!({"name": "no id"}), &archived).is_none());
    }
}

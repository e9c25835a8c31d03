//! Bitrix24's user, read the same way from its `ONUSERADD` event (`data[NAME]`, ...) and from
//! `user.get` (`NAME`, ...): the name is `NAME` and `LAST_NAME` joined, else the e-mail, else
//! the login; the phone is the first of `PERSONAL_MOBILE`, `WORK_PHONE`, `PERSONAL_PHONE`. For
//! the seat rules, `UF_DEPARTMENT` (department ids) is its `department`, `WORK_POSITION` its
//! `title`, and every field an `attribute.<FIELD>` (`attribute.USER_TYPE`).

use crate::domain::{EmployeeRow, Facts};

/// The phone fields, in the order they are tried.
const PHONES: [&str; 3] = ["PERSONAL_MOBILE", "WORK_PHONE", "PERSONAL_PHONE"];

/// The employee a Bitrix24 user with this `id` is; `field` gives a field's non-blank value by
/// its Bitrix24 name (`NAME`, `LAST_NAME`, ...).
pub fn employee(id: &str, field: impl Fn(&str) -> Option<String>) -> EmployeeRow {
    let full_name = [field("NAME"), field("LAST_NAME")]
        .into_iter()
        .flatten()
        .map(|part| part.trim().to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let name = Some(full_name)
        .filter(|n| !n.is_empty())
        .or_else(|| field("EMAIL"))
        .or_else(|| field("LOGIN"));
    let phone = PHONES.into_iter().find_map(&field);
    EmployeeRow {
        id: id.to_owned(),
        name,
        phone,
        wazzup_id: None,
    }
}

/// What a Bitrix24 user tells the seat rules, from its fields as (name, value) pairs (a field
/// with several values, such as `UF_DEPARTMENT`, once per value). A field sent is known.
pub fn facts<'a>(fields: impl IntoIterator<Item = (&'a str, String)>) -> Facts {
    let mut facts = Facts::new();
    for (field, value) in fields {
        let fact = match field {
            "UF_DEPARTMENT" => Some("department"),
            "WORK_POSITION" => Some("title"),
            _ => None,
        };
        if let Some(fact) = fact {
            facts.add(fact, &value);
        }
        facts.add(&format!("attribute.{field}"), &value);
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> EmployeeRow {
        employee("1", |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_name_falls_back_to_the_email_then_the_login_and_the_phone_in_order() {
        assert_eq!(
            from(&[("NAME", "Иван"), ("LAST_NAME", "Petrov")])
                .name
                .as_deref(),
            Some("Иван Petrov")
        );
        assert_eq!(
            from(&[("LAST_NAME", "Petrov")]).name.as_deref(),
            Some("Petrov")
        );
        assert_eq!(
            from(&[("EMAIL", "k@example.com"), ("LOGIN", "k")])
                .name
                .as_deref(),
            Some("k@example.com")
        );
        assert_eq!(from(&[("LOGIN", "k")]).name.as_deref(), Some("k"));
        let row = from(&[("WORK_PHONE", "2"), ("PERSONAL_PHONE", "3")]);
        assert_eq!(row.phone.as_deref(), Some("2"));
    }
}

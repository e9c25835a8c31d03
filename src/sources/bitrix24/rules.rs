//! Bitrix24's user, read the same way from its `ONUSERADD` event (`data[NAME]`, ...) and from
//! `user.get` (`NAME`, ...): the name is `NAME` and `LAST_NAME` joined, else the e-mail, else
//! the login; the phone is the first of `PERSONAL_MOBILE`, `WORK_PHONE`, `PERSONAL_PHONE`.

use crate::domain::EmployeeRow;

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

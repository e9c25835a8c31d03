//! Bitrix24's outbound event `ONUSERADD`: `POST /bitrix24`, form-encoded, authenticated by the
//! application token Bitrix24 puts in the body.
//!
//! Bitrix24 sends `application/x-www-form-urlencoded` fields such as `event=ONUSERADD`,
//! `data[ID]`, `data[NAME]`, `data[LAST_NAME]`, `data[EMAIL]`, `ts` and
//! `auth[application_token]`. The token is compared (in constant time) with the stored one
//! before anything else is read. The name is `NAME` + `LAST_NAME`, falling back to the e-mail,
//! then the login; the phone is the first of `PERSONAL_MOBILE`, `WORK_PHONE`,
//! `PERSONAL_PHONE`. Bitrix24 sends no event when a user is changed or dismissed: those are
//! repaired by the full sync (see the README).

use std::collections::HashMap;

use super::{BodyError, Parsed, ParsedBatch, reject, upsert_event};
use crate::domain::PhoneRegion;

/// The fields of one form-encoded Bitrix24 event.
pub struct Form(HashMap<String, String>);

impl Form {
    /// Reads the form; a field sent twice keeps its first value.
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = HashMap::new();
        for (key, value) in url::form_urlencoded::parse(body) {
            fields
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(fields)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `auth[application_token]`, to authenticate the request.
    pub fn application_token(&self) -> Option<&str> {
        self.get("auth[application_token]")
    }

    /// The event as sync events: `ONUSERADD` becomes an upsert, any other event is ignored.
    pub fn into_events(self, region: PhoneRegion) -> Result<Parsed, BodyError> {
        let Some(event) = self.get("event") else {
            return Err(BodyError::WrongShape(
                "not a Bitrix24 event: the \"event\" field is missing".into(),
            ));
        };
        if !event.eq_ignore_ascii_case("ONUSERADD") {
            return Ok(Parsed::Ignored(format!(
                "Bitrix24 event {event} is not synced; only ONUSERADD is"
            )));
        }
        let mut batch = ParsedBatch::default();
        let Some(id) = self.get("data[ID]") else {
            batch
                .rejected
                .push(reject(0, None, "MISSING_FIELD", "data[ID] is missing"));
            return Ok(Parsed::Batch(batch));
        };
        let full_name = [self.get("data[NAME]"), self.get("data[LAST_NAME]")]
            .into_iter()
            .flatten()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        let name = Some(full_name.as_str())
            .filter(|n| !n.is_empty())
            .or_else(|| self.get("data[EMAIL]"))
            .or_else(|| self.get("data[LOGIN]"));
        let phone = [
            "data[PERSONAL_MOBILE]",
            "data[WORK_PHONE]",
            "data[PERSONAL_PHONE]",
        ]
        .into_iter()
        .find_map(|key| self.get(key));
        batch.push(0, upsert_event(0, id, name, phone, region));
        Ok(Parsed::Batch(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SyncEvent;

    fn user(body: &str) -> crate::domain::User {
        match Form::parse(body.as_bytes())
            .into_events(PhoneRegion::default())
            .unwrap()
        {
            Parsed::Batch(batch) => match batch.events.into_iter().next().map(|e| e.event) {
                Some(SyncEvent::Upsert(user)) => user,
                other => panic!("{other:?} / {:?}", batch.rejected),
            },
            Parsed::Ignored(reason) => panic!("ignored: {reason}"),
        }
    }

    #[test]
    fn onuseradd_becomes_an_upsert_with_first_and_last_name() {
        let user = user(
            "event=ONUSERADD&data%5BID%5D=42&data%5BNAME%5D=%D0%98%D0%B2%D0%B0%D0%BD&data%5BLAST_NAME%5D=Petrov\
             &data%5BPERSONAL_MOBILE%5D=%2B7+926+111-22-33&ts=1763856000&auth%5Bapplication_token%5D=t",
        );
        assert_eq!(user.id.as_str(), "42");
        assert_eq!(user.name.as_str(), "Иван Petrov");
        assert_eq!(user.phone.unwrap().as_str(), "79261112233");
    }

    #[test]
    fn the_name_falls_back_to_the_email_then_the_login() {
        let by_email = user("event=ONUSERADD&data[ID]=7&data[NAME]=+&data[EMAIL]=kate@example.com");
        assert_eq!(by_email.name.as_str(), "kate@example.com");
        let by_login = user("event=ONUSERADD&data[ID]=8&data[LOGIN]=kate");
        assert_eq!(by_login.name.as_str(), "kate");
    }

    #[test]
    fn the_token_is_read_and_other_events_are_ignored() {
        let form = Form::parse(b"event=ONUSERUPDATE&auth[application_token]=abc");
        assert_eq!(form.application_token(), Some("abc"));
        assert!(matches!(
            form.into_events(PhoneRegion::default()),
            Ok(Parsed::Ignored(_))
        ));
        assert!(
            Form::parse(b"data[ID]=1")
                .into_events(PhoneRegion::default())
                .is_err()
        );
        let Ok(Parsed::Batch(batch)) =
            Form::parse(b"event=ONUSERADD&data[ID]=9").into_events(PhoneRegion::default())
        else {
            panic!()
        };
        assert_eq!(batch.rejected[0].reason, "MISSING_FIELD");
    }
}

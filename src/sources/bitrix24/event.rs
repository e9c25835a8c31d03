//! Bitrix24's outbound event `ONUSERADD`: `application/x-www-form-urlencoded` fields such as
//! `event=ONUSERADD`, `data[ID]`, `data[NAME]`, `data[LAST_NAME]`, `data[EMAIL]`, `ts` and
//! `auth[application_token]`. The user becomes an employee by [`super::rules`]. Bitrix24 sends
//! no event when a user is changed or dismissed: those are repaired by the full sync.

use std::collections::HashMap;

use super::rules;
use crate::domain::{
    ECHO_CHARS, EventBatch, PhoneRegion, Rejection, SeatRules, SourceTime, excerpt,
};
use crate::sources::contract::{BodyError, Received};
use crate::sources::seats::{self, Kind};

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

    /// The user's fields, `data[NAME]` as `NAME` and `data[UF_DEPARTMENT][0]` as `UF_DEPARTMENT`.
    fn data(&self) -> impl Iterator<Item = (&str, String)> {
        self.0.iter().filter_map(|(key, value)| {
            let field = key.strip_prefix("data[")?.split(']').next()?;
            Some((field, value.clone()))
        })
    }

    /// The event as sync events, through the source's seat `rules`: `ONUSERADD` becomes an
    /// upsert, any other event is ignored.
    pub fn into_events(
        self,
        region: PhoneRegion,
        rules: &SeatRules,
    ) -> Result<Received, BodyError> {
        let Some(event) = self.get("event") else {
            return Err(BodyError::WrongShape(
                "not a Bitrix24 event: the \"event\" field is missing".into(),
            ));
        };
        if !event.eq_ignore_ascii_case("ONUSERADD") {
            return Ok(Received::Ignored(format!(
                "Bitrix24 event {} is not synced; only ONUSERADD is",
                excerpt(event, ECHO_CHARS)
            )));
        }
        let mut batch = EventBatch {
            at: self
                .get("ts")
                .and_then(|ts| ts.trim().parse().ok())
                .map(SourceTime::from_unix_seconds),
            ..EventBatch::default()
        };
        let Some(id) = self.get("data[ID]") else {
            batch.rejected.push(Rejection::at(
                0,
                None,
                "MISSING_FIELD",
                "data[ID] is missing",
            ));
            return Ok(Received::Batch(batch));
        };
        let row = rules::employee(id, |key| {
            self.get(&format!("data[{key}]")).map(str::to_owned)
        });
        let facts = rules::facts(self.data());
        seats::push(
            &mut batch,
            0,
            row.upsert(0, region),
            None,
            (rules, &facts, Kind::Created),
        );
        Ok(Received::Batch(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SyncEvent;

    fn user(body: &str) -> crate::domain::User {
        match Form::parse(body.as_bytes())
            .into_events(PhoneRegion::default(), &SeatRules::default())
            .unwrap()
        {
            Received::Batch(batch) => match batch.events.into_iter().next().map(|e| e.event) {
                Some(SyncEvent::Upsert(user)) => user,
                other => panic!("{other:?} / {:?}", batch.rejected),
            },
            Received::Ignored(reason) => panic!("ignored: {reason}"),
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
            form.into_events(PhoneRegion::default(), &SeatRules::default()),
            Ok(Received::Ignored(_))
        ));
        assert!(
            Form::parse(b"data[ID]=1")
                .into_events(PhoneRegion::default(), &SeatRules::default())
                .is_err()
        );
        let Ok(Received::Batch(batch)) = Form::parse(b"event=ONUSERADD&data[ID]=9")
            .into_events(PhoneRegion::default(), &SeatRules::default())
        else {
            panic!()
        };
        assert_eq!(batch.rejected[0].reason, "MISSING_FIELD");
    }
}

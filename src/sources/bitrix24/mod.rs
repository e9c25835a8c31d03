//! Bitrix24: its outbound event `ONUSERADD` at `POST /bitrix24`, form-encoded and
//! authenticated by the application token in its body ([`event`]), and `user.get` for the full
//! sync ([`users_api`]), both reading a user by the same [`rules`]. Its secret fields:
//! `bitrix24ApplicationToken` (the outbound webhook's token) and `bitrix24WebhookUrl` (an
//! inbound webhook URL for `user.get`).

pub mod event;
pub mod rules;
pub mod users_api;

use crate::auth::check_shared_secret;
use crate::credentials::{BoxFuture, SecretError, SecretFields};
use crate::domain::SeatRules;
use crate::sources::contract::{
    Directory, DirectoryError, Inbound, Person, Received, Refusal, Route, Source, SourceSettings,
    Webhook,
};

/// The Bitrix24 source.
pub struct Bitrix24;

const APPLICATION_TOKEN: &str = "bitrix24ApplicationToken";

impl Source for Bitrix24 {
    fn name(&self) -> &'static str {
        "bitrix24"
    }

    fn route(&self) -> Option<Route> {
        Some(Route::Path("/bitrix24"))
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[APPLICATION_TOKEN, users_api::WEBHOOK_URL]
    }

    fn enabled(&self, secrets: &SecretFields) -> bool {
        secrets.is_set(APPLICATION_TOKEN)
    }

    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError> {
        secrets.text(APPLICATION_TOKEN)?;
        secrets.text(users_api::WEBHOOK_URL)?;
        Ok(())
    }

    fn facts(&self) -> &'static [&'static str] {
        &["department", "title", "attribute.*"]
    }

    fn webhook(&self) -> Option<&dyn Webhook> {
        Some(self)
    }

    fn directory(&self) -> Option<&dyn Directory> {
        Some(self)
    }
}

impl Webhook for Bitrix24 {
    /// The token is compared (in constant time) before the event is read.
    fn receive(
        &self,
        request: &Inbound<'_>,
        secrets: &SecretFields,
        settings: &SourceSettings,
    ) -> Result<Received, Refusal> {
        if !request.is_form() {
            return Err(Refusal::UnsupportedMediaType(
                "Bitrix24 events are application/x-www-form-urlencoded",
            ));
        }
        let form = event::Form::parse(request.body);
        let expected = secrets.text(APPLICATION_TOKEN).ok().flatten();
        check_shared_secret(expected.as_ref(), form.application_token()).map_err(|error| {
            tracing::warn!(reason = %error, "request not authenticated");
            Refusal::auth(error, "Bearer")
        })?;
        form.into_events(settings.phone_region, settings.seats.rules(self.name()))
            .map_err(Refusal::Body)
    }
}

impl Directory for Bitrix24 {
    fn fetch<'a>(
        &'a self,
        secrets: &'a SecretFields,
        http: &'a reqwest::Client,
        _rules: &'a SeatRules,
    ) -> BoxFuture<'a, Result<Vec<Person>, DirectoryError>> {
        Box::pin(users_api::fetch(secrets, http))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn served_only_with_its_application_token() {
        let fields = |json: &str| crate::credentials::parse_secret_value(json).unwrap().fields;
        assert!(Bitrix24.enabled(&fields(r#"{"apiKey":"k","bitrix24ApplicationToken":"b"}"#)));
        assert!(!Bitrix24.enabled(&fields(r#"{"apiKey":"k","bitrix24WebhookUrl":"u"}"#)));
        let token = fields(r#"{"apiKey":"k","bitrix24ApplicationToken":"b24"}"#)
            .text(APPLICATION_TOKEN)
            .unwrap()
            .unwrap();
        assert_eq!(token.expose_secret(), "b24");
    }
}

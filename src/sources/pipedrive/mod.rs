//! Pipedrive: its webhooks for the `user` entity at `POST /pipedrive`, authenticated with HTTP
//! Basic ([`webhook`]), and its users API for the full sync ([`users_api`]), both reading a
//! user by the same [`rules`]. Its secret fields: `pipedriveHttpUser` and
//! `pipedriveHttpPassword` (the webhook's Basic credentials, set together), `pipedriveApiToken`
//! and `pipedriveApiUrl` (the users API).

pub mod rules;
pub mod users_api;
pub mod webhook;

use secrecy::ExposeSecret;

use crate::auth::{BasicAuth, check_basic};
use crate::credentials::{BoxFuture, SecretError, SecretFields};
use crate::domain::SeatRules;
use crate::sources::contract::{
    Directory, DirectoryError, Inbound, Person, Received, Refusal, Route, Source, SourceSettings,
    Webhook,
};

/// The Pipedrive source.
pub struct Pipedrive;

const HTTP_USER: &str = "pipedriveHttpUser";
const HTTP_PASSWORD: &str = "pipedriveHttpPassword";

/// The webhook's Basic credentials, configured only as a pair.
fn basic(secrets: &SecretFields) -> Result<Option<BasicAuth>, SecretError> {
    match (secrets.text(HTTP_USER)?, secrets.text(HTTP_PASSWORD)?) {
        (Some(user), Some(password)) => Ok(Some(BasicAuth {
            user: user.expose_secret().to_owned(),
            password,
        })),
        (None, None) => Ok(None),
        _ => Err(SecretError::Invalid(format!(
            "\"{HTTP_USER}\" and \"{HTTP_PASSWORD}\" must be set together"
        ))),
    }
}

impl Source for Pipedrive {
    fn name(&self) -> &'static str {
        "pipedrive"
    }

    fn route(&self) -> Option<Route> {
        Some(Route::Path("/pipedrive"))
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[
            HTTP_USER,
            HTTP_PASSWORD,
            users_api::API_TOKEN,
            users_api::API_URL,
        ]
    }

    fn enabled(&self, secrets: &SecretFields) -> bool {
        matches!(basic(secrets), Ok(Some(_)))
    }

    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError> {
        basic(secrets)?;
        secrets.text(users_api::API_TOKEN)?;
        secrets.text(users_api::API_URL)?;
        Ok(())
    }

    fn facts(&self) -> &'static [&'static str] {
        &["role", "attribute.*"]
    }

    fn webhook(&self) -> Option<&dyn Webhook> {
        Some(self)
    }

    fn directory(&self) -> Option<&dyn Directory> {
        Some(self)
    }
}

impl Webhook for Pipedrive {
    fn receive(
        &self,
        request: &Inbound<'_>,
        secrets: &SecretFields,
        settings: &SourceSettings,
    ) -> Result<Received, Refusal> {
        let expected = basic(secrets).ok().flatten();
        check_basic(expected.as_ref(), request.headers()).map_err(|error| {
            tracing::warn!(reason = %error, "request not authenticated");
            Refusal::auth(error, "Basic realm=\"pipedrive\"")
        })?;
        if !request.is_json() {
            return Err(Refusal::UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        webhook::parse(
            request.body,
            settings.phone_region,
            settings.seats.rules(self.name()),
        )
        .map_err(Refusal::Body)
    }
}

impl Directory for Pipedrive {
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

    #[test]
    fn the_basic_credentials_are_a_pair() {
        let fields = |json: &str| crate::credentials::parse_secret_value(json).unwrap().fields;
        let both =
            fields(r#"{"apiKey":"k","pipedriveHttpUser":"pd","pipedriveHttpPassword":"pw"}"#);
        let pair = basic(&both).unwrap().unwrap();
        assert_eq!(
            (pair.user.as_str(), pair.password.expose_secret()),
            ("pd", "pw")
        );
        assert!(Pipedrive.enabled(&both));
        let half = fields(r#"{"apiKey":"k","pipedriveHttpUser":"pd"}"#);
        let error = Pipedrive.check_secrets(&half).unwrap_err().to_string();
        assert!(error.contains("together"), "{error}");
        assert!(!Pipedrive.enabled(&fields(r#"{"apiKey":"k"}"#)));
    }
}

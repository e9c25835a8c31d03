//! Keycloak, which has no outbound SCIM and no webhooks of its own: its realm's users are read
//! for the full sync through the Admin REST API ([`directory`]) with a confidential client's
//! credentials, each user read by [`person`]. Its secret fields (the scheduled function's
//! secret): `keycloakUrl` (the server, with `/auth` for versions before 17), `keycloakRealm`,
//! `keycloakClientId`, `keycloakClientSecret`, and optionally `keycloakPhoneAttribute` (the
//! user attribute holding the phone, `phoneNumber` by default).

pub mod directory;
pub mod person;

use secrecy::ExposeSecret;

use crate::credentials::{BoxFuture, SecretError, SecretFields};
use crate::domain::SeatRules;
use crate::sources::contract::{Directory, DirectoryError, Person, Route, Source};
use crate::sources::users_api::safe_url;

/// The Keycloak source.
pub struct Keycloak;

pub const URL: &str = "keycloakUrl";
pub const REALM: &str = "keycloakRealm";
pub const CLIENT_ID: &str = "keycloakClientId";
pub const CLIENT_SECRET: &str = "keycloakClientSecret";
pub const PHONE_ATTRIBUTE: &str = "keycloakPhoneAttribute";

impl Source for Keycloak {
    fn name(&self) -> &'static str {
        "keycloak"
    }

    fn route(&self) -> Option<Route> {
        None
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[URL, REALM, CLIENT_ID, CLIENT_SECRET, PHONE_ATTRIBUTE]
    }

    fn enabled(&self, _secrets: &SecretFields) -> bool {
        // It receives no calls: it is only read.
        false
    }

    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError> {
        if let Some(url) = secrets.text(URL)? {
            safe_url(URL, url.expose_secret()).map_err(SecretError::Invalid)?;
        }
        for field in [REALM, CLIENT_ID, CLIENT_SECRET, PHONE_ATTRIBUTE] {
            secrets.text(field)?;
        }
        Ok(())
    }

    fn facts(&self) -> &'static [&'static str] {
        &["group", "role", "attribute.*"]
    }

    fn check_rules(&self, rules: &SeatRules) -> Result<(), String> {
        let looked_up = rules
            .values_of("group")
            .into_iter()
            .chain(rules.values_of("role"));
        match looked_up.into_iter().find(|v| v.ends_with('*')) {
            Some(value) => Err(format!(
                "\"keycloak\" looks groups and roles up by name: name them exactly (not \"{value}\")"
            )),
            None => Ok(()),
        }
    }

    fn directory(&self) -> Option<&dyn Directory> {
        Some(self)
    }
}

impl Directory for Keycloak {
    fn fetch<'a>(
        &'a self,
        secrets: &'a SecretFields,
        http: &'a reqwest::Client,
        rules: &'a SeatRules,
    ) -> BoxFuture<'a, Result<Vec<Person>, DirectoryError>> {
        Box::pin(directory::fetch(secrets, http, rules))
    }
}

//! Google Workspace, which cannot provision a custom app by SCIM: its users are read for the
//! full sync through the Admin SDK Directory API ([`directory`]), as a service account with
//! domain-wide delegation acting for an administrator ([`jwt`]), each user read by [`person`].
//! Its secret fields (the scheduled function's secret): `googleServiceAccount` (the key file,
//! as an object or as text), `googleAdminEmail` (the administrator), and optionally
//! `googleCustomer` (`my_customer`) and `googleApiUrl` (`https://admin.googleapis.com`).

pub mod directory;
pub mod jwt;
pub mod person;

use secrecy::ExposeSecret;

use crate::credentials::{BoxFuture, SecretError, SecretFields};
use crate::domain::SeatRules;
use crate::sources::contract::{Directory, DirectoryError, Person, Route, Source};
use crate::sources::users_api::safe_url;

/// The Google Workspace source.
pub struct Google;

pub const SERVICE_ACCOUNT: &str = "googleServiceAccount";
pub const ADMIN_EMAIL: &str = "googleAdminEmail";
pub const CUSTOMER: &str = "googleCustomer";
pub const API_URL: &str = "googleApiUrl";

impl Source for Google {
    fn name(&self) -> &'static str {
        "google"
    }

    fn route(&self) -> Option<Route> {
        None
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[SERVICE_ACCOUNT, ADMIN_EMAIL, CUSTOMER, API_URL]
    }

    fn enabled(&self, _secrets: &SecretFields) -> bool {
        // It receives no calls: it is only read.
        false
    }

    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError> {
        if let Some(key) = secrets.document(SERVICE_ACCOUNT)? {
            jwt::ServiceAccount::from_key_file(&key, SERVICE_ACCOUNT)
                .map_err(SecretError::Invalid)?;
        }
        secrets.text(ADMIN_EMAIL)?;
        secrets.text(CUSTOMER)?;
        if let Some(url) = secrets.text(API_URL)? {
            safe_url(API_URL, url.expose_secret()).map_err(SecretError::Invalid)?;
        }
        Ok(())
    }

    fn facts(&self) -> &'static [&'static str] {
        &["group", "orgUnit", "department", "title", "attribute.*"]
    }

    fn check_rules(&self, rules: &SeatRules) -> Result<(), String> {
        if let Some(group) = rules
            .values_of("group")
            .into_iter()
            .find(|g| g.ends_with('*') || !g.contains('@'))
        {
            return Err(format!(
                "\"google\" looks a group up by its address: name it exactly, such as \
                 sales@example.com (not \"{group}\")"
            ));
        }
        if let Some(name) = rules
            .facts()
            .into_iter()
            .filter_map(|f| f.strip_prefix("attribute."))
            .find(|n| n.split('.').count() != 2)
        {
            return Err(format!(
                "\"google\" reads attributes from custom schemas: name them \
                 attribute.<schema>.<field> (not attribute.{name})"
            ));
        }
        Ok(())
    }

    fn directory(&self) -> Option<&dyn Directory> {
        Some(self)
    }
}

impl Directory for Google {
    fn fetch<'a>(
        &'a self,
        secrets: &'a SecretFields,
        http: &'a reqwest::Client,
        rules: &'a SeatRules,
    ) -> BoxFuture<'a, Result<Vec<Person>, DirectoryError>> {
        Box::pin(directory::fetch(secrets, http, rules))
    }
}

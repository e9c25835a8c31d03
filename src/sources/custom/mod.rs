//! Any users API this function has no code for (HubSpot, Kommo, Freshsales, an in-house API):
//! read for the full sync by a recipe in the secret ([`recipe`]: where, how the credential is
//! sent, how it pages, and JSON Pointers to each user's fields), page by page ([`reader`]),
//! each user read by [`mapping`]. Its secret fields (the scheduled function's secret):
//! `customUsersApi` (the recipe), and `customApiToken`, or `customApiUser` and
//! `customApiPassword` for Basic.

pub mod mapping;
pub mod reader;
pub mod recipe;

use crate::credentials::{BoxFuture, SecretError, SecretFields};
use crate::domain::SeatRules;
use crate::sources::contract::{Directory, DirectoryError, Person, Route, Source};
use recipe::Recipe;

/// The custom users-API source.
pub struct Custom;

pub const RECIPE: &str = "customUsersApi";
pub const API_TOKEN: &str = "customApiToken";
pub const API_USER: &str = "customApiUser";
pub const API_PASSWORD: &str = "customApiPassword";

/// The facts a recipe may map (and the seat rules name).
const FACTS: &[&str] = &[
    "group",
    "orgUnit",
    "department",
    "role",
    "title",
    "attribute.*",
];

/// The recipe in the secret, checked; `None` when there is none.
fn recipe(secrets: &SecretFields) -> Result<Option<Recipe>, SecretError> {
    let Some(json) = secrets.document(RECIPE)? else {
        return Ok(None);
    };
    let recipe = Recipe::parse(secrecy::ExposeSecret::expose_secret(&json), RECIPE)
        .map_err(SecretError::Invalid)?;
    if let Some(fact) = recipe.facts.keys().find(|f| {
        !FACTS.contains(&f.as_str()) && f.strip_prefix("attribute.").is_none_or(str::is_empty)
    }) {
        return Err(SecretError::Invalid(format!(
            "\"{RECIPE}\".facts maps \"{fact}\"; the facts are group, orgUnit, department, \
             role, title and attribute.<name>"
        )));
    }
    Ok(Some(recipe))
}

impl Source for Custom {
    fn name(&self) -> &'static str {
        "custom"
    }

    fn route(&self) -> Option<Route> {
        None
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[RECIPE, API_TOKEN, API_USER, API_PASSWORD]
    }

    fn enabled(&self, _secrets: &SecretFields) -> bool {
        // It receives no calls: it is only read.
        false
    }

    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError> {
        recipe(secrets)?;
        for field in [API_TOKEN, API_USER, API_PASSWORD] {
            secrets.text(field)?;
        }
        Ok(())
    }

    fn facts(&self) -> &'static [&'static str] {
        FACTS
    }

    fn directory(&self) -> Option<&dyn Directory> {
        Some(self)
    }
}

impl Directory for Custom {
    fn fetch<'a>(
        &'a self,
        secrets: &'a SecretFields,
        http: &'a reqwest::Client,
        rules: &'a SeatRules,
    ) -> BoxFuture<'a, Result<Vec<Person>, DirectoryError>> {
        Box::pin(async move {
            let recipe = recipe(secrets)?.ok_or(DirectoryError::NotConfigured(RECIPE))?;
            if let Some(fact) = rules
                .facts()
                .into_iter()
                .find(|f| !recipe.facts.contains_key(*f))
            {
                return Err(DirectoryError::Rules(format!(
                    "the rules for \"custom\" name \"{fact}\", which \"{RECIPE}\".facts does \
                     not map: nobody could be seated by it"
                )));
            }
            reader::fetch(&recipe, secrets, http).await
        })
    }
}

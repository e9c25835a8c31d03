//! The sources this function serves, listed once. Routing, the scheduled sync's `crm` input,
//! the secret's fields (and their variables in local runs) and the start-up checks all follow
//! this list: a new CRM is its folder and one line here.

use super::bitrix24::Bitrix24;
use super::contract::{Route, Source};
use super::custom::Custom;
use super::generic::Generic;
use super::google::Google;
use super::keycloak::Keycloak;
use super::pipedrive::Pipedrive;
use super::scim::Scim;
use crate::credentials::{SecretError, SecretFields, env_name};
use crate::domain::SeatPolicy;

/// Every source.
pub static SOURCES: [&dyn Source; 7] = [
    &Generic, &Pipedrive, &Bitrix24, &Scim, &Google, &Keycloak, &Custom,
];

/// The source named `name` (`"pipedrive"`).
pub fn by_name(name: &str) -> Option<&'static dyn Source> {
    SOURCES.iter().copied().find(|s| s.name() == name)
}

/// The source serving `path`, and the rest of the path after its prefix.
pub fn by_path(path: &str) -> Option<(&'static dyn Source, &str)> {
    let trimmed = path.trim_end_matches('/');
    SOURCES
        .iter()
        .copied()
        .find_map(|source| match source.route()? {
            Route::Path(route) => (trimmed == route.trim_end_matches('/')).then_some((source, "")),
            Route::Prefix(prefix) => {
                let rest = path.strip_prefix(prefix)?;
                (rest.is_empty() || rest.starts_with('/')).then_some((source, rest))
            }
        })
}

/// Every field of the secret some source reads.
pub fn secret_fields() -> Vec<&'static str> {
    SOURCES
        .iter()
        .flat_map(|s| s.secret_fields().iter().copied())
        .collect()
}

/// Whether any source's credential is configured (callers can be authenticated).
pub fn any_enabled(secrets: &SecretFields) -> bool {
    SOURCES.iter().any(|s| s.enabled(secrets))
}

/// Checks every source's fields; the providers apply it to every value of the secret.
pub fn check_secrets(secrets: &SecretFields) -> Result<(), SecretError> {
    SOURCES.iter().try_for_each(|s| s.check_secrets(secrets))
}

/// Checks the seat rules (`SEAT_RULES`) against the sources: each names a source, and only the
/// facts that source gives.
pub fn check_seats(policy: &SeatPolicy) -> Result<(), String> {
    let names: Vec<&str> = SOURCES.iter().map(|s| s.name()).collect();
    super::seats::check_policy(policy, by_name, &names)
}

/// The fields of the sources that receive calls, with their variables in local runs, for
/// messages: `"webhookSecret" (WEBHOOK_SECRET), ...`.
pub fn credential_names() -> String {
    SOURCES
        .iter()
        .filter(|s| s.route().is_some())
        .flat_map(|s| s.secret_fields().iter())
        .map(|field| format!("\"{field}\" ({})", env_name(field)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The paths served, for messages: `POST /`, `POST /pipedrive`, ..., `/scim/v2`.
pub fn endpoints() -> Vec<String> {
    SOURCES
        .iter()
        .filter_map(|s| match s.route()? {
            Route::Path(path) => Some(format!("POST {path}")),
            Route::Prefix(prefix) => Some(prefix.to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_source_and_names_are_unique() {
        assert_eq!(by_path("/").map(|(s, _)| s.name()), Some("generic"));
        assert_eq!(by_path("").map(|(s, _)| s.name()), Some("generic"));
        assert_eq!(
            by_path("/pipedrive/").map(|(s, _)| s.name()),
            Some("pipedrive")
        );
        let (scim, rest) = by_path("/scim/v2/Users/42").unwrap();
        assert_eq!((scim.name(), rest), ("scim", "/Users/42"));
        assert!(by_path("/scim/v2x").is_none() && by_path("/other").is_none());
        let mut names: Vec<&str> = SOURCES.iter().map(|s| s.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SOURCES.len());
        let fields = secret_fields();
        assert!(fields.contains(&"scimToken") && fields.contains(&"pipedriveApiToken"));
    }
}

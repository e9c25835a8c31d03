//! Pipedrive's users API for the full sync: `GET /v1/users` with the API token (header
//! `x-api-token`), every user with whether it is active and its facts.

use secrecy::ExposeSecret;
use serde_json::Value;

use super::rules;
use crate::credentials::SecretFields;
use crate::sources::contract::{DirectoryError, Person};
use crate::sources::users_api::{read_json, text};

pub const API_TOKEN: &str = "pipedriveApiToken";
pub const API_URL: &str = "pipedriveApiUrl";
const DEFAULT_API_URL: &str = "https://api.pipedrive.com";

/// Every user of the Pipedrive account.
pub async fn fetch(
    secrets: &SecretFields,
    http: &reqwest::Client,
) -> Result<Vec<Person>, DirectoryError> {
    let token = secrets
        .text(API_TOKEN)?
        .ok_or(DirectoryError::NotConfigured(API_TOKEN))?;
    let url = secrets.text(API_URL)?;
    let base = url
        .as_ref()
        .map_or(DEFAULT_API_URL, |u| u.expose_secret())
        .trim_end_matches('/');
    let answer = read_json(
        http.get(format!("{base}/v1/users"))
            .header("x-api-token", token.expose_secret())
            .send()
            .await,
    )
    .await?;
    let Some(users) = answer.get("data").and_then(Value::as_array) else {
        return Err(DirectoryError::BadAnswer(
            "expected {\"success\": true, \"data\": [...]}".into(),
        ));
    };
    Ok(users
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|user| {
            Some(Person {
                row: rules::employee(&text(user.get("id"))?, user),
                active: rules::is_active(user),
                facts: rules::facts(user),
            })
        })
        .collect())
}

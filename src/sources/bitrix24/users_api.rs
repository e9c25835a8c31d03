//! Bitrix24's `user.get` for the full sync, through an inbound webhook URL with the `user`
//! scope, filtered to active users, 50 a page following `next`.

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::rules;
use crate::credentials::SecretFields;
use crate::sources::contract::{DirectoryError, Person};
use crate::sources::users_api::{MAX_PAGES, read_json, text};

/// The inbound webhook URL (`https://<portal>/rest/<user>/<code>/`): it is itself the secret.
pub const WEBHOOK_URL: &str = "bitrix24WebhookUrl";

fn is_active(value: Option<&Value>) -> bool {
    // Absent counts as active; false, "N", "false" and 0 as inactive.
    !matches!(value, Some(v) if *v == Value::Bool(false) || *v == "N" || *v == "false" || *v == 0)
}

/// A user's fields as (name, value) pairs, an array's values one by one.
fn fields(user: &Value) -> Vec<(&str, String)> {
    let Some(object) = user.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .flat_map(|(field, value)| {
            match value {
                Value::Array(values) => values.iter().filter_map(|v| text(Some(v))).collect(),
                other => text(Some(other)).into_iter().collect::<Vec<_>>(),
            }
            .into_iter()
            .map(move |text| (field.as_str(), text))
        })
        .collect()
}

/// Every active user of the portal.
pub async fn fetch(
    secrets: &SecretFields,
    http: &reqwest::Client,
) -> Result<Vec<Person>, DirectoryError> {
    let url = secrets
        .text(WEBHOOK_URL)?
        .ok_or(DirectoryError::NotConfigured(WEBHOOK_URL))?;
    let endpoint = format!(
        "{}/user.get.json",
        url.expose_secret().trim_end_matches('/')
    );
    let mut rows = Vec::new();
    let mut start: u64 = 0;
    for _ in 0..MAX_PAGES {
        let answer = read_json(
            http.post(&endpoint)
                .json(&json!({"FILTER": {"ACTIVE": true}, "start": start}))
                .send()
                .await,
        )
        .await?;
        let Some(users) = answer.get("result").and_then(Value::as_array) else {
            return Err(DirectoryError::BadAnswer(format!(
                "expected {{\"result\": [...]}}: {}",
                answer
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )));
        };
        for user in users {
            let Some(id) = text(user.get("ID")) else {
                continue;
            };
            rows.push(Person {
                row: rules::employee(&id, |key| text(user.get(key))),
                active: is_active(user.get("ACTIVE")),
                facts: rules::facts(fields(user)),
            });
        }
        match answer.get("next").and_then(Value::as_u64) {
            Some(next) if next > start => start = next,
            _ => return Ok(rows),
        }
    }
    Err(DirectoryError::BadAnswer(format!(
        "user.get did not end after {MAX_PAGES} pages"
    )))
}

//! Reading a CRM's complete list of users, for the scheduled full sync. One implementation per
//! CRM behind one trait, so that Kommo, Zoho and others can be added as one more file.
//!
//! - Pipedrive: `GET /v1/users` with the API token (header `x-api-token`); active users only
//!   (`active_flag`); the id, name and phone as the webhook source reads them.
//! - Bitrix24: `user.get` through an inbound webhook URL, filtered to active users, 50 a page
//!   following `next`; the name is `NAME` + `LAST_NAME` (else e-mail, else login) as for
//!   `ONUSERADD`.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::reconcile::EmployeeRow;
use crate::secrets::CrmCredentials;

/// The CRMs the scheduled sync can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CrmKind {
    Pipedrive,
    Bitrix24,
}

/// Why a CRM's users could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CrmError {
    #[error("{0} is not configured in the secret")]
    NotConfigured(&'static str),
    #[error("the CRM could not be reached: {0}")]
    Unreachable(String),
    #[error("the CRM answered {status}: {detail}")]
    Refused { status: u16, detail: String },
    #[error("the CRM's answer could not be read: {0}")]
    BadAnswer(String),
}

/// The most pages read from a paged CRM API (Wazzup holds at most 1,000 users).
const MAX_PAGES: usize = 200;

/// Reads every active user of the CRM.
pub async fn fetch_employees(
    kind: CrmKind,
    credentials: &CrmCredentials,
    http: &reqwest::Client,
) -> Result<Vec<EmployeeRow>, CrmError> {
    match kind {
        CrmKind::Pipedrive => pipedrive_users(credentials, http).await,
        CrmKind::Bitrix24 => bitrix24_users(credentials, http).await,
    }
}

/// An HTTP client for CRM APIs, with bounded timeouts.
pub fn http_client() -> Result<reqwest::Client, CrmError> {
    reqwest::Client::builder()
        .user_agent(concat!("wazzup-user-sync/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| CrmError::Unreachable(e.to_string()))
}

async fn read_json(response: Result<reqwest::Response, reqwest::Error>) -> Result<Value, CrmError> {
    let response = response.map_err(|e| CrmError::Unreachable(e.without_url().to_string()))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| CrmError::Unreachable(e.without_url().to_string()))?;
    if !status.is_success() {
        return Err(CrmError::Refused {
            status: status.as_u16(),
            detail: String::from_utf8_lossy(&body).chars().take(200).collect(),
        });
    }
    serde_json::from_slice(&body).map_err(|e| CrmError::BadAnswer(e.to_string()))
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_active(value: Option<&Value>) -> bool {
    // Absent counts as active; false, "N", "false" and 0 as inactive.
    !matches!(value, Some(v) if *v == Value::Bool(false) || *v == "N" || *v == "false" || *v == 0)
}

async fn pipedrive_users(
    credentials: &CrmCredentials,
    http: &reqwest::Client,
) -> Result<Vec<EmployeeRow>, CrmError> {
    let token = credentials
        .pipedrive_api_token
        .as_ref()
        .ok_or(CrmError::NotConfigured("pipedriveApiToken"))?;
    let base = credentials
        .pipedrive_api_url
        .as_deref()
        .unwrap_or("https://api.pipedrive.com")
        .trim_end_matches('/');
    let answer = read_json(
        http.get(format!("{base}/v1/users"))
            .header("x-api-token", token.expose_secret())
            .send()
            .await,
    )
    .await?;
    let Some(users) = answer.get("data").and_then(Value::as_array) else {
        return Err(CrmError::BadAnswer(
            "expected {\"success\": true, \"data\": [...]}".into(),
        ));
    };
    Ok(users
        .iter()
        .filter(|user| is_active(user.get("active_flag")))
        .filter_map(|user| {
            Some(EmployeeRow {
                id: text(user.get("id"))?,
                name: text(user.get("name")),
                phone: text(user.get("phone")),
            })
        })
        .collect())
}

async fn bitrix24_users(
    credentials: &CrmCredentials,
    http: &reqwest::Client,
) -> Result<Vec<EmployeeRow>, CrmError> {
    let url = credentials
        .bitrix24_webhook_url
        .as_ref()
        .ok_or(CrmError::NotConfigured("bitrix24WebhookUrl"))?;
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
            return Err(CrmError::BadAnswer(format!(
                "expected {{\"result\": [...]}}: {}",
                answer
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )));
        };
        for user in users.iter().filter(|u| is_active(u.get("ACTIVE"))) {
            let Some(id) = text(user.get("ID")) else {
                continue;
            };
            let full_name = [text(user.get("NAME")), text(user.get("LAST_NAME"))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let name = Some(full_name)
                .filter(|n| !n.is_empty())
                .or_else(|| text(user.get("EMAIL")))
                .or_else(|| text(user.get("LOGIN")));
            let phone = ["PERSONAL_MOBILE", "WORK_PHONE", "PERSONAL_PHONE"]
                .into_iter()
                .find_map(|key| text(user.get(key)));
            rows.push(EmployeeRow { id, name, phone });
        }
        match answer.get("next").and_then(Value::as_u64) {
            Some(next) if next > start => start = next,
            _ => return Ok(rows),
        }
    }
    Err(CrmError::BadAnswer(format!(
        "user.get did not end after {MAX_PAGES} pages"
    )))
}

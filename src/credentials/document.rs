//! The secret's value: the bare Wazzup API key, or a JSON object `{"apiKey": "...", ...}`
//! whose other fields belong to the sources. For local runs the same fields come from
//! environment variables named after them (`pipedriveHttpUser` is `PIPEDRIVE_HTTP_USER`; the
//! API key is `WAZZUP_API_KEY`).

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde_json::Value;

use super::fields::SecretFields;
use super::{Credentials, SecretError};

/// The field holding the Wazzup API key.
const API_KEY: &str = "apiKey";

/// Reads a secret's value. Error messages name fields, never values.
pub fn parse_secret_value(text: &str) -> Result<Credentials, SecretError> {
    let text = text.trim();
    if text.starts_with('{') {
        let mut document: BTreeMap<String, Value> = serde_json::from_str(text).map_err(|e| {
            SecretError::Invalid(format!(
                "the JSON secret must be an object with a string \"apiKey\" (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let api_key = match document.remove(API_KEY) {
            Some(Value::String(key)) if !key.trim().is_empty() => {
                SecretString::from(key.trim().to_owned())
            }
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(SecretError::Invalid(
                    "\"apiKey\" is missing or empty".into(),
                ));
            }
            Some(_) => {
                return Err(SecretError::Invalid(
                    "the JSON secret must be an object with a string \"apiKey\"".into(),
                ));
            }
        };
        return Ok(Credentials {
            api_key,
            fields: SecretFields::new(document),
        });
    }
    if text.is_empty() {
        return Err(SecretError::Invalid("the secret is empty".into()));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(SecretError::Invalid(
            "a bare API key must not contain whitespace".into(),
        ));
    }
    Ok(Credentials {
        api_key: SecretString::from(text.to_owned()),
        fields: SecretFields::default(),
    })
}

/// The environment variable that holds a secret field in local runs: `pipedriveHttpUser` is
/// `PIPEDRIVE_HTTP_USER`, `bitrix24ApplicationToken` is `BITRIX24_APPLICATION_TOKEN`, and the
/// API key is `WAZZUP_API_KEY`.
pub fn env_name(field: &str) -> String {
    if field == API_KEY {
        return "WAZZUP_API_KEY".into();
    }
    let mut name = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() && !name.is_empty() {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// Reads credentials from environment variables for local runs: `WAZZUP_API_KEY` and the
/// variable of each of `fields` (see [`env_name`]).
pub fn credentials_from_vars(
    get: impl Fn(&str) -> Option<String>,
    fields: &[&str],
) -> Result<Credentials, SecretError> {
    let api_key = get(&env_name(API_KEY))
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            SecretError::Invalid(
                "set WAZZUP_SECRET_ID to read the key from AWS Secrets Manager, or WAZZUP_API_KEY for a local run".into(),
            )
        })?;
    let document = fields
        .iter()
        .filter_map(|field| get(&env_name(field)).map(|v| ((*field).to_owned(), Value::String(v))))
        .collect();
    Ok(Credentials {
        api_key: SecretString::from(api_key),
        fields: SecretFields::new(document),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_bare_value_is_the_api_key() {
        let credentials = parse_secret_value("  abc123  \n").unwrap();
        assert_eq!(credentials.api_key.expose_secret(), "abc123");
        assert!(credentials.fields.names().is_empty());
    }

    #[test]
    fn a_json_value_carries_the_key_and_the_other_fields() {
        let credentials =
            parse_secret_value(r#"{"apiKey":"k","webhookToken":"t","pipedrive":{}}"#).unwrap();
        assert_eq!(credentials.api_key.expose_secret(), "k");
        assert_eq!(
            credentials
                .fields
                .text("webhookToken")
                .unwrap()
                .unwrap()
                .expose_secret(),
            "t"
        );
        assert!(credentials.fields.is_set("pipedrive"));
    }

    #[test]
    fn unusable_values_are_explained_without_echoing_them() {
        for (value, needle) in [
            (r#"{"webhookToken":"t"}"#, "apiKey"),
            (r#"{"apiKey":""}"#, "apiKey"),
            (r#"{"apiKey": 12}"#, "apiKey"),
            ("{\"apiKey\": \"k\"", "apiKey"),
            ("", "empty"),
            ("two words", "whitespace"),
        ] {
            let error = parse_secret_value(value).unwrap_err().to_string();
            assert!(error.contains(needle), "{value}: {error}");
            assert!(!error.contains("words"), "{error}");
        }
    }

    #[test]
    fn environment_names_follow_the_fields() {
        assert_eq!(env_name("pipedriveHttpUser"), "PIPEDRIVE_HTTP_USER");
        assert_eq!(
            env_name("bitrix24ApplicationToken"),
            "BITRIX24_APPLICATION_TOKEN"
        );
        assert_eq!(env_name("webhookSecret"), "WEBHOOK_SECRET");
        assert_eq!(env_name("apiKey"), "WAZZUP_API_KEY");
    }

    #[test]
    fn local_runs_read_the_environment() {
        let vars = |name: &str| match name {
            "WAZZUP_API_KEY" => Some("local-key".to_string()),
            "WEBHOOK_TOKEN" => Some("t".to_string()),
            "OTHER" => Some("ignored".to_string()),
            _ => None,
        };
        let credentials = credentials_from_vars(vars, &["webhookToken", "scimToken"]).unwrap();
        assert_eq!(credentials.api_key.expose_secret(), "local-key");
        assert_eq!(credentials.fields.names(), ["webhookToken"]);
        let error = credentials_from_vars(|_| None, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("WAZZUP_SECRET_ID"), "{error}");
    }
}

//! The generic webhook, `POST /`: the contract other tools rely on. Authenticated by a Standard
//! Webhooks signature or a bearer token ([`signature`]), in the JSON event format ([`format`]).
//! Its secret fields: `webhookSecret` (one or more `whsec_` secrets) and `webhookToken`.

pub mod format;
pub mod signature;

use secrecy::SecretString;

use self::signature::{AuthError, AuthMethod, WebhookCredentials, WebhookSecret, authenticate};
use crate::auth::header;
use crate::credentials::{SecretError, SecretFields};
use crate::domain::SourceTime;
use crate::sources::contract::{
    Inbound, Received, Refusal, Route, Source, SourceSettings, Webhook,
};

/// The generic webhook source.
pub struct Generic;

const SECRETS: &str = "webhookSecret";
const TOKEN: &str = "webhookToken";

/// The generic webhook's credentials, from the secret's fields.
pub fn credentials(secrets: &SecretFields) -> Result<WebhookCredentials, SecretError> {
    let signing = secrets
        .texts(SECRETS)?
        .iter()
        .map(|secret| {
            use secrecy::ExposeSecret;
            WebhookSecret::parse(secret.expose_secret())
                .map_err(|e| SecretError::Invalid(format!("{SECRETS}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Several during a rotation: the old one and the new one are both accepted meanwhile.
    let tokens: Vec<SecretString> = secrets.text_list(TOKEN)?;
    Ok(WebhookCredentials {
        secrets: signing,
        tokens,
    })
}

/// Authenticates a request the generic webhook's way (a signature or the bearer token).
fn authenticate_request(
    request: &Inbound<'_>,
    secrets: &SecretFields,
    settings: &SourceSettings,
) -> Result<AuthMethod, Refusal> {
    // An unusable field is refused when the secret is read; here it only means "none".
    let credentials = credentials(secrets).unwrap_or_default();
    match authenticate(
        &credentials,
        settings.allow_unauthenticated,
        request.headers(),
        request.body,
        request.now,
    ) {
        Ok(method) => {
            tracing::debug!(auth = method.as_str(), "authenticated");
            Ok(method)
        }
        Err(AuthError::NotConfigured) => {
            tracing::warn!("generic webhook called, but it has no credentials configured");
            Err(Refusal::NotEnabled)
        }
        Err(error) => {
            tracing::warn!(reason = %error, "request not authenticated");
            Err(Refusal::Unauthenticated {
                reason: error.to_string(),
                challenge: "Bearer",
            })
        }
    }
}

impl Source for Generic {
    fn name(&self) -> &'static str {
        "generic"
    }

    fn route(&self) -> Option<Route> {
        Some(Route::Path("/"))
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &[SECRETS, TOKEN]
    }

    fn enabled(&self, secrets: &SecretFields) -> bool {
        secrets.is_set(SECRETS) || secrets.is_set(TOKEN)
    }

    fn check_secrets(&self, secrets: &SecretFields) -> Result<(), SecretError> {
        credentials(secrets).map(|_| ())
    }

    fn facts(&self) -> &'static [&'static str] {
        &[
            "group",
            "orgUnit",
            "department",
            "role",
            "title",
            "attribute.*",
        ]
    }

    fn webhook(&self) -> Option<&dyn Webhook> {
        Some(self)
    }
}

impl Webhook for Generic {
    fn receive(
        &self,
        request: &Inbound<'_>,
        secrets: &SecretFields,
        settings: &SourceSettings,
    ) -> Result<Received, Refusal> {
        let method = authenticate_request(request, secrets, settings)?;
        if !request.is_json() {
            return Err(Refusal::UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let rules = settings.seats.rules(self.name());
        let mut batch = format::parse(
            request.body,
            settings.phone_region,
            settings.max_events,
            rules,
        )
        .map_err(Refusal::Body)?;
        // A signed request says, under its signature, which message it is and when this try of
        // it was sent (a retry is sent later: it is not when the change was made).
        if method == AuthMethod::Signature {
            batch.key = header(request.headers(), "webhook-id").map(str::to_owned);
            batch.attempt_at = header(request.headers(), "webhook-timestamp")
                .and_then(|ts| ts.trim().parse().ok())
                .map(SourceTime::from_unix_seconds);
        }
        Ok(Received::Batch(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_secret_fields_are_read_and_checked() {
        let fields = crate::credentials::parse_secret_value(
            r#"{"apiKey":"k","webhookSecret":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"webhookToken":"t"}"#,
        )
        .unwrap()
        .fields;
        let credentials = credentials(&fields).unwrap();
        assert_eq!(credentials.secrets.len(), 2);
        assert!(credentials.tokens.len() == 1 && Generic.enabled(&fields));
        let bad =
            crate::credentials::parse_secret_value(r#"{"apiKey":"k","webhookSecret":"whsec_%%%"}"#)
                .unwrap()
                .fields;
        let error = Generic.check_secrets(&bad).unwrap_err().to_string();
        assert!(
            error.contains("webhookSecret") && !error.contains("%%%"),
            "{error}"
        );
    }
}

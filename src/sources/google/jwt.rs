//! A Google service account's key file, and the signed assertion (an RS256 JWT) it exchanges
//! for an access token: `iss` the account, `sub` the administrator it acts for (domain-wide
//! delegation), `scope` what it may read, `aud` the token endpoint, valid for an hour. Signed
//! with the crypto rustls already carries (aws-lc-rs).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::sources::users_api::safe_url;

/// Google's token endpoint, when the key file does not name one.
const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// How long an assertion is valid (Google's most).
const LIFETIME_SECONDS: i64 = 3600;

/// The fields of a key file this function reads.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

/// A service account, read from its key file: who it is, its key, and where tokens come from.
pub struct ServiceAccount {
    pub client_email: String,
    pub token_uri: String,
    key_id: Option<String>,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads a key file (the JSON Google gives when a key is made). Errors name fields, never
    /// values.
    pub fn from_key_file(json: &SecretString, field: &str) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_str(json.expose_secret()).map_err(|_| {
            format!(
                "\"{field}\" is not a service account key file (JSON with client_email and \
                 private_key)"
            )
        })?;
        if file.kind.as_deref().is_some_and(|k| k != "service_account") {
            return Err(format!(
                "\"{field}\" is not a service account's key file (its type is not service_account)"
            ));
        }
        let der = PrivateKeyDer::from_pem_slice(file.private_key.as_bytes())
            .map_err(|_| format!("\"{field}\": private_key is not a PEM private key"))?;
        let key = RsaKeyPair::from_pkcs8(der.secret_der())
            .map_err(|_| format!("\"{field}\": private_key is not an RSA key in PKCS #8"))?;
        let token_uri = file.token_uri.unwrap_or_else(|| TOKEN_URI.to_owned());
        safe_url(&format!("{field}.token_uri"), &token_uri)?;
        Ok(Self {
            client_email: file.client_email,
            token_uri,
            key_id: file.private_key_id,
            key,
        })
    }

    /// The signed assertion that asks for `scopes` on behalf of `subject`, issued at `now`.
    pub fn assertion(&self, subject: &str, scopes: &str, now: i64) -> Result<String, String> {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": self.client_email,
            "sub": subject,
            "scope": scopes,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + LIFETIME_SECONDS,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "the service account's key could not sign".to_owned())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use serde_json::Value;

    /// The test key the loopback fakes know (tests/fixtures/google/service-account.json).
    fn key_file() -> SecretString {
        SecretString::from(
            include_str!("../../../tests/fixtures/google/service-account.json").to_owned(),
        )
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_the_public_key_verifies() {
        let account = ServiceAccount::from_key_file(&key_file(), "googleServiceAccount").unwrap();
        let jwt = account
            .assertion("admin@example.com", "scope-a scope-b", 1_800_000_000)
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |part: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        assert_eq!(decode(parts[0])["alg"], "RS256");
        let claims = decode(parts[1]);
        assert_eq!(claims["sub"], "admin@example.com");
        assert_eq!(claims["aud"], account.token_uri.as_str());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        let public = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            account.key.public_key().as_ref().to_vec(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(public.verify(signed.as_bytes(), &signature).is_ok());
        assert!(public.verify(b"something else", &signature).is_err());
    }

    #[test]
    fn a_bad_key_file_is_explained_without_its_content() {
        for (text, needle) in [
            ("not json", "not a service account key file"),
            (r#"{"client_email":"a","private_key":"x"}"#, "not a PEM"),
            (
                r#"{"type":"authorized_user","client_email":"a","private_key":"x"}"#,
                "type",
            ),
        ] {
            let error = ServiceAccount::from_key_file(&SecretString::from(text), "g").unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
            assert!(!error.contains("private_key\":"), "{error}");
        }
        let mut file: Value = serde_json::from_str(key_file().expose_secret()).unwrap();
        file["token_uri"] = json!("http://tokens.example.com/token");
        let error =
            ServiceAccount::from_key_file(&SecretString::from(file.to_string()), "g").unwrap_err();
        assert!(error.contains("https"), "{error}");
    }
}

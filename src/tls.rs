//! The trust behind every outbound HTTPS call (Wazzup, the CRMs' APIs, AWS): Mozilla's root
//! certificates compiled into the function (`webpki-root-certs`), the same on every host, and
//! nothing read from disk at start. Reading and parsing the system's certificate store cost
//! about 3 ms for each of the two HTTP stacks at every cold start (README "Performance"); an
//! update of the roots comes with a rebuild, as every other dependency's does.

use std::sync::Arc;

use aws_smithy_http_client::tls::TrustStore;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The rustls configuration of the function's reqwest clients: the compiled-in roots, the
/// aws-lc-rs provider (the AWS SDK's too), HTTP/2 or HTTP/1.1 as the server prefers.
pub fn rustls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The same roots for the AWS SDK's HTTPS client, which takes them as PEM text.
pub fn aws_trust_store() -> TrustStore {
    let mut pem = String::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2048);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = STANDARD.encode(cert.as_ref());
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_is_trusted() {
        let config = rustls_config().unwrap();
        assert!(config.alpn_protocols.contains(&b"h2".to_vec()));
        let mut roots = rustls::RootCertStore::empty();
        let (added, refused) = roots
            .add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        assert!(
            added > 100 && refused == 0,
            "{added} roots, {refused} refused"
        );
    }

    #[test]
    fn the_aws_trust_store_is_valid_pem_of_every_root() {
        let store = aws_trust_store();
        let context = aws_smithy_http_client::tls::TlsContext::builder()
            .with_trust_store(store)
            .build();
        assert!(context.is_ok());
    }
}

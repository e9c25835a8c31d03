//! The trust behind every outbound HTTPS call: Mozilla's root certificates compiled into the
//! function (`webpki-root-certs`) for Wazzup and the CRMs' APIs, Amazon Trust Services' among
//! them for AWS, the same on every host, and nothing read from disk at start. Reading and
//! parsing the system's certificate store cost about 3 ms for each of the two HTTP stacks at
//! every cold start (docs/performance.md); an update of the roots comes with a rebuild, as every
//! other dependency's does.

use std::sync::Arc;

use aws_smithy_http_client::tls::TrustStore;

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

/// The roots every AWS endpoint's certificate chains to: Amazon Trust Services' (Amazon Root CA
/// 1 to 4, and Starfield Services Root Certificate Authority - G2, which cross-signs them),
/// copied from `webpki-root-certs` (a test checks that they still are its certificates).
const AMAZON_ROOTS_PEM: &[u8] = include_bytes!("amazon_roots.pem");

/// The AWS SDK's trust: Amazon Trust Services' roots only, as PEM, which is how its HTTPS
/// client takes them. It parses them again for each connection set-up it builds (two or more
/// per cold start); five roots instead of Mozilla's 150 take about 3 ms off every cold start
/// (docs/performance.md), and nothing but an AWS endpoint is trusted for the SDK's calls.
pub fn aws_trust_store() -> TrustStore {
    TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_ROOTS_PEM)
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

    /// The AWS roots are Mozilla's certificates, byte for byte, and Amazon Trust Services'.
    #[test]
    fn the_aws_roots_are_amazon_trust_services_roots_from_the_compiled_in_set() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let roots: Vec<CertificateDer> = CertificateDer::pem_slice_iter(AMAZON_ROOTS_PEM)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(roots.len(), 5);
        let mut names = Vec::new();
        for root in &roots {
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.contains(root),
                "a root that is not one of webpki-root-certs'"
            );
            let der = root.as_ref();
            let name = [
                "Amazon Root CA 1",
                "Amazon Root CA 2",
                "Amazon Root CA 3",
                "Amazon Root CA 4",
                "Starfield Services Root Certificate Authority - G2",
            ]
            .into_iter()
            .find(|name| der.windows(name.len()).any(|w| w == name.as_bytes()));
            names.push(name.expect("an Amazon Trust Services root"));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 5, "{names:?}");
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

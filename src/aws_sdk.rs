//! The AWS SDK's configuration, loaded once per container and shared by every AWS client
//! (Secrets Manager, SQS, DynamoDB): the standard chain (region, credentials,
//! `AWS_ENDPOINT_URL` and its per-service forms), short timeouts so that an unreachable service
//! turns into a quick, retried failure rather than a Lambda timeout, and an HTTPS client that
//! trusts the roots compiled into the function ([`crate::tls`]) instead of reading the host's.

use std::time::Duration;

use aws_smithy_http_client::tls::{self, TlsContext, rustls_provider::CryptoMode};

/// Loads the SDK configuration. Call once per container and share it.
pub async fn config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build();
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
    match TlsContext::builder()
        .with_trust_store(crate::tls::aws_trust_store())
        .build()
    {
        Ok(context) => {
            let client = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::rustls(CryptoMode::AwsLc))
                .tls_context(context)
                .build_https();
            loader = loader.http_client(client);
        }
        // The SDK's own client, with the host's roots, is still a working one.
        Err(error) => {
            tracing::warn!(%error, "the compiled-in roots were refused; the AWS SDK reads the host's");
        }
    }
    loader.load().await
}

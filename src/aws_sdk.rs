//! The AWS SDK's configuration, loaded once per container and shared by every AWS client
//! (Secrets Manager, SQS, DynamoDB): the standard chain (region, credentials,
//! `AWS_ENDPOINT_URL` and its per-service forms), short timeouts so that an unreachable service
//! turns into a quick, retried failure rather than a Lambda timeout, an HTTPS client that trusts
//! the roots compiled into the function ([`crate::tls`]) instead of reading the host's, and the
//! credentials from the environment when they are there (as in Lambda).

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
    // Lambda puts the role's credentials in the environment: read them there rather than
    // building the whole default chain (profiles, SSO, STS web identity, ECS, IMDS), which cost
    // about 3 ms at every cold start. Without them (a laptop with a profile), the chain.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some()
    {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
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

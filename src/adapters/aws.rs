//! The AWS SDK's configuration for the queue and the state table: the standard chain (region,
//! credentials, `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_DYNAMODB`), with short timeouts so
//! that an unreachable service turns into a quick, retried failure rather than a Lambda timeout.

use std::time::Duration;

/// Loads the SDK configuration once per container.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

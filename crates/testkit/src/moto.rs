//! A moto_server (a local AWS: Secrets Manager, SQS and DynamoDB, from PyPI) on a loopback
//! port, for one test, and SDK clients for it. Fails loudly when moto_server is not installed:
//! these tests never skip.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};

pub struct Moto {
    child: Child,
    pub port: u16,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}). Install the test tools with \
                     `pip install -r requirements-dev.txt` or run `bash scripts/test.sh`"
                )
            });
        let moto = Moto { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        client_for(&self.url())
    }

    /// The SDK configuration for this moto: a fixed region, static test credentials, and the
    /// endpoint on loopback; and the SDK's standard retries, as the function's own
    /// configuration has them against AWS. moto needs them more than DynamoDB does: its
    /// TransactWriteItems is not thread-safe, and under concurrent writes answers 500
    /// ("dictionary changed size during iteration") now and then.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5))
            .region(aws_config::Region::new("eu-central-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    "test", "test", None, None, "tests",
                )),
            )
            .endpoint_url(self.url())
            .build()
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config())
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config())
    }

    /// A FIFO queue (content deduplication off: every message names its own) with a FIFO
    /// dead-letter queue after `max_receive_count` receives; returns the queue's and the
    /// dead-letter queue's URLs.
    pub async fn fifo_queue(&self, name: &str, max_receive_count: u32) -> (String, String) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let sqs = self.sqs();
        let dlq = sqs
            .create_queue()
            .queue_name(format!("{name}-dlq.fifo"))
            .attributes(A::FifoQueue, "true")
            .send()
            .await
            .expect("create the dead-letter queue")
            .queue_url()
            .expect("a queue url")
            .to_owned();
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .expect("the dead-letter queue's arn")
            .attributes()
            .and_then(|a| a.get(&A::QueueArn).cloned())
            .expect("an arn");
        let redrive = format!(
            r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive_count}"}}"#
        );
        let queue = sqs
            .create_queue()
            .queue_name(format!("{name}.fifo"))
            .attributes(A::FifoQueue, "true")
            // As the template's: a failed message comes back when the worker's delay says.
            .attributes(A::VisibilityTimeout, "900")
            .attributes(A::RedrivePolicy, redrive)
            .send()
            .await
            .expect("create the queue")
            .queue_url()
            .expect("a queue url")
            .to_owned();
        (queue, dlq)
    }

    /// A DynamoDB table keyed by the string `id`, billed on demand.
    pub async fn state_table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.dynamodb()
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("an attribute"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("a key"),
            )
            .send()
            .await
            .expect("create the table");
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Secrets Manager client with static test credentials and a fixed region, so that the SDK
/// never looks for real credentials or the instance-metadata service.
pub fn client_for(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

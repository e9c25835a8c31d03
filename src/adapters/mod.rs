//! The service's ports made real: the change queue and the delivery state store, on AWS (SQS
//! FIFO, DynamoDB) for Lambda and in process for local runs. At the level of the sources: they
//! implement the service's traits and are chosen by the entry points.

pub mod dynamodb;
pub mod memory;
pub mod sqs;

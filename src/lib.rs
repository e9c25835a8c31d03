//! wazzup-user-sync: an AWS Lambda function that keeps Wazzup's users (a company's managers
//! and support staff) in step with the employees of a CRM or identity provider.
//!
//! The flow goes one way, each layer importing only from those below it:
//!
//! - entry points: [`handler`] (HTTP: Function URL or API Gateway) and [`scheduled`] (the
//!   scheduled full sync); `main.rs` picks one. They translate their input with a source and
//!   hand it to the service, then render the service's report.
//! - [`sources`]: one folder per CRM or identity provider (its webhook format and auth scheme,
//!   its users API, its secret fields), listed once in [`sources::registry`].
//! - [`service`]: the application service; every write to Wazzup goes through it.
//! - [`plan`]: coalescing, ordering and chunking; the full sync's plan and fences.
//! - [`wazzup`]: the typed client for Wazzup's `/v3/users`.
//! - [`domain`]: employees, events, the roster, the report: plain data, at the bottom.
//!
//! At the side, imported by any layer and importing only the domain: [`config`],
//! [`credentials`], [`auth`] (shared-secret checks), [`deadline`] and [`telemetry`].
//! `tests/layers.rs` fails the build on an import against this order. The test machinery
//! (the Wazzup fake, the loopback server) lives in the `wazzup-testkit` crate, never here.

pub mod adapters;
pub mod auth;
pub mod aws_sdk;
pub mod config;
pub mod credentials;
pub mod deadline;
pub mod domain;
pub mod handler;
pub mod metrics;
pub mod plan;
pub mod scheduled;
pub mod service;
pub mod sources;
pub mod telemetry;
pub mod tls;
pub mod wazzup;
pub mod wiring;
pub mod worker;

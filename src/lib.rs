//! wazzup-user-sync: an AWS Lambda function that keeps Wazzup's users (a company's managers
//! and support staff) in step with the employees of a CRM or identity provider.
//!
//! The flow goes one way: [`inbound`] authenticates and parses a request into
//! [`domain::SyncEvent`]s, [`plan`] coalesces and chunks them, [`sync`] applies the plan through
//! the [`wazzup`] client with credentials from [`secrets`], and [`outcome`] shapes the answer.
//! [`handler`] ties it together; [`config`] reads the settings once. The test machinery (the
//! Wazzup fake, the loopback server) lives in the `wazzup-testkit` crate, never in the function.

pub mod config;
pub mod crm;
pub mod domain;
pub mod handler;
pub mod inbound;
pub mod outcome;
pub mod plan;
pub mod reconcile;
pub mod scheduled;
pub mod secrets;
pub mod sync;
pub mod telemetry;
pub mod wazzup;

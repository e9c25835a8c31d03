//! wazzup-user-sync: an AWS Lambda function that keeps Wazzup's users (a company's managers
//! and support staff) in step with the employees of a CRM or identity provider.
//!
//! The flow goes one way: [`inbound`] authenticates and parses a request into
//! [`domain::SyncEvent`]s, [`plan`] coalesces and chunks them, [`sync`] applies the plan through
//! the [`wazzup`] client with credentials from [`secrets`], and [`outcome`] shapes the answer.
//! [`handler`] ties it together; [`config`] reads the settings once; [`fake`] is a faithful
//! local stand-in for Wazzup used by the tests and the local run.

pub mod config;
pub mod crm;
pub mod domain;
pub mod fake;
pub mod handler;
pub mod inbound;
pub mod local;
pub mod outcome;
pub mod plan;
pub mod reconcile;
pub mod scheduled;
pub mod secrets;
pub mod sync;
pub mod telemetry;
pub mod wazzup;

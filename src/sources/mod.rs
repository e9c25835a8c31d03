//! The sources: everything about one CRM or identity provider lives in its folder, and the
//! [`registry`] lists them once. A source translates its caller's language (a webhook body and
//! its auth scheme, a users API, the SCIM protocol) into the domain's events and rows; the
//! entry points hand those to the service. The contract a source fulfils is in [`contract`].

pub mod bitrix24;
pub mod contract;
pub mod custom;
pub mod generic;
pub mod google;
pub mod keycloak;
pub mod oauth;
pub mod pipedrive;
pub mod registry;
pub mod scim;
pub mod seats;
pub mod users_api;

//! Planning, below the service and above the Wazzup client: a batch of events becomes the
//! fewest calls Wazzup's limits allow ([`batch`]), and a full sync the calls that make Wazzup
//! hold exactly a roster, fenced against mass deletion ([`full`]). Pure: no I/O.

mod batch;
mod full;

pub use batch::{Plan, Step, Superseded, plan};
pub use full::{FullPlan, PlanError, Policy, plan_full_sync};

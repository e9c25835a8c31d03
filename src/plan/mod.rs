//! Planning, below the service and above the Wazzup client: a batch of events becomes the
//! fewest calls Wazzup's limits allow ([`batch`]), and a full sync the calls that make Wazzup
//! hold exactly a roster, fenced against mass deletion ([`full`]), its employees placed among
//! the users the account already has ([`matching`]). Pure: no I/O.

mod batch;
mod full;
mod matching;

pub use batch::{Plan, Step, Superseded, plan};
pub use full::{FullPlan, PlanError, Policy, plan_full_sync};
pub use matching::{Ambiguity, Conflict, Known, Match, Placement, phones_wanted, place};

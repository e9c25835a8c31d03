//! The domain, the bottom layer: employees as Wazzup users, the sync events that change them,
//! the complete list a full sync wants, who gets a seat, who owns a Wazzup user and how far deletions reach, and the plain report of what was
//! done. Every type can only hold a valid value ("parse, don't validate"). Nothing here knows
//! about HTTP, AWS or Wazzup's wire format, and nothing here imports from another layer.

mod employee;
mod event;
mod field;
mod ownership;
mod phone;
mod report;
mod roster;
mod scope;
mod seats;
mod text;
mod time;

pub use employee::{EmployeeRow, delete_event, text_or_integer, upsert_event};
pub use event::{Change, EventBatch, IndexedEvent, SyncEvent, User};
pub use field::{FieldError, MAX_FIELD_CHARS, UserId, UserName};
pub use ownership::{Basis, Owner, name_key};
pub use phone::{Phone, PhoneError, PhoneRegion, mask_phone};
pub use report::{Rejection, Summary, Warning};
pub use roster::{InvalidRoster, Problem, Roster, RosterProblem};
pub use scope::Scope;
pub use seats::{Facts, SeatPolicy, SeatRules};
pub use text::{ECHO_CHARS, LoggedId, excerpt};
pub use time::SourceTime;

//! The limits the fake enforces: Wazzup's documented ones, and the largest body it reads.

/// Most users one `POST /v3/users` may carry.
pub const MAX_USERS_PER_REQUEST: usize = 100;
/// The account's user limit unless
/// [`WazzupFake::set_user_limit`](super::WazzupFake::set_user_limit) changes it.
pub const DEFAULT_USER_LIMIT: usize = 1000;
/// Users per page of `GET /v3/users` in the [`ListShape::Paged`](super::ListShape::Paged) shape.
pub const PAGE_SIZE: usize = 100;
/// Most characters (not bytes) in a user's `id` and `name`.
pub const MAX_FIELD_CHARS: usize = 200;
/// Largest request body the fake reads; a bigger one is answered 413.
pub(super) const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

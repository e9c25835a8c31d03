//! The fake's mutable state behind one mutex: users, accepted keys, recorded requests, faults.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::limits::DEFAULT_USER_LIMIT;
use super::types::{FakeUser, Fault, ListShape, RecordedRequest};

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn key_set(keys: &[&str]) -> HashSet<String> {
    keys.iter()
        .filter(|k| !k.is_empty())
        .map(|k| (*k).to_owned())
        .collect()
}

#[derive(Debug)]
pub(super) struct StoredUser {
    pub(super) name: String,
    pub(super) phone: Option<String>,
}

impl StoredUser {
    pub(super) fn to_fake(&self, id: &str) -> FakeUser {
        FakeUser {
            id: id.to_owned(),
            name: self.name.clone(),
            phone: self.phone.clone(),
        }
    }
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) api_keys: HashSet<String>,
    pub(super) users: BTreeMap<String, StoredUser>,
    /// Each record with a sequence number, so its status can be filled in once answered.
    pub(super) requests: Vec<(u64, RecordedRequest)>,
    pub(super) next_seq: u64,
    pub(super) list_shape: ListShape,
    pub(super) user_limit: usize,
    pub(super) faults: VecDeque<Fault>,
    /// Faults for the requests that write (any method but `GET`), used before `faults`.
    pub(super) write_faults: VecDeque<Fault>,
    /// Every request answers 503 while this holds.
    pub(super) outage: bool,
}

impl State {
    pub(super) fn new(api_keys: &[&str]) -> Self {
        Self {
            api_keys: key_set(api_keys),
            users: BTreeMap::new(),
            requests: Vec::new(),
            next_seq: 0,
            list_shape: ListShape::BareArray,
            user_limit: DEFAULT_USER_LIMIT,
            faults: VecDeque::new(),
            write_faults: VecDeque::new(),
            outage: false,
        }
    }
}

pub(super) type Shared = Arc<Mutex<State>>;

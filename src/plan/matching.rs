//! Placing a roster's employees in the Wazzup account as it is: each is already some user's (by
//! the records: created or taken over earlier), or is matched to an existing user nobody owns,
//! in the order the match is surest (an operator's pairing, the same id, the same phone, which
//! is unique in an account, then the same name, where exactly one user and one employee have
//! it), or is ambiguous (reported, never guessed), or in conflict with another employee's user,
//! or new. Pure: the caller reads the records and the phones.

use std::collections::{HashMap, HashSet};

use crate::domain::{Basis, Roster, Scope, User, UserId, name_key};
use crate::wazzup::ListedUser;

/// What is known of the account when a full sync is planned.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Wazzup's users.
    pub users: Vec<ListedUser>,
    /// The employee each Wazzup user belongs to, by the records.
    pub owners: HashMap<String, UserId>,
    /// Employees whose Wazzup user is another id (taken over earlier).
    pub links: HashMap<UserId, UserId>,
    /// Phones (Wazzup's digits) read of users nobody owns.
    pub phones: HashMap<String, String>,
}

impl Known {
    /// The employee `id` belongs to: by the records, else by the id prefix (a prefix says the
    /// users it covers are the employees of the same id).
    pub fn owner(&self, id: &str, scope: &Scope) -> Option<UserId> {
        match self.owners.get(id) {
            Some(employee) => Some(employee.clone()),
            None if matches!(scope, Scope::Prefix(_)) && scope.covers(id) => UserId::parse(id).ok(),
            None => None,
        }
    }
}

/// An employee matched to an existing Wazzup user nobody owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub employee: User,
    pub user: ListedUser,
    pub by: Basis,
}

/// An employee several users, or a user several employees, could be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    pub employee: User,
    pub candidates: Vec<ListedUser>,
}

/// An employee that can be given no user: the one it names is another employee's, or is not
/// there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub employee: User,
    pub reason: &'static str,
    pub message: String,
}

/// Where an employee stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Its Wazzup user by the records: `wazzup` (listed, or gone from Wazzup).
    Owned {
        wazzup: UserId,
    },
    Matched(Match),
    Ambiguous(Ambiguity),
    Conflicting(Conflict),
    /// No user is this employee: one is created.
    New,
}

/// Places every employee of `roster`, in its order.
pub fn place(roster: &Roster, known: &Known, scope: &Scope) -> Vec<Placement> {
    let listed: HashMap<&str, &ListedUser> =
        known.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut placed: Vec<Option<Placement>> = Vec::with_capacity(roster.users().len());
    // Users an employee is placed on: no second employee gets them.
    let mut claimed: HashSet<&str> = HashSet::new();
    let conflict = |employee: &User, reason: &'static str, message: String| {
        Some(Placement::Conflicting(Conflict {
            employee: employee.clone(),
            reason,
            message,
        }))
    };
    // The users an operator paired with an employee: no other employee matches them.
    let pinned: HashMap<&str, &UserId> = (roster.pins().iter())
        .map(|(employee, wazzup)| (wazzup.as_str(), employee))
        .collect();
    // First what the records and the operator say, and the same id.
    for employee in roster.users() {
        let id = &employee.id;
        let placement = if let Some(wazzup) = known.links.get(id) {
            Some(Placement::Owned {
                wazzup: wazzup.clone(),
            })
        } else if let Some(owner) = match listed.contains_key(id.as_str()) {
            true => known.owner(id.as_str(), scope),
            // A prefix speaks of the users there are.
            false => known.owners.get(id.as_str()).cloned(),
        } {
            if owner == *id {
                Some(Placement::Owned { wazzup: id.clone() })
            } else {
                conflict(
                    employee,
                    "OWNED_BY_ANOTHER",
                    format!("the Wazzup user {id} belongs to employee {owner}"),
                )
            }
        } else if let Some(pin) = roster.pins().get(id) {
            match (known.owner(pin.as_str(), scope), listed.get(pin.as_str())) {
                (Some(owner), _) => conflict(
                    employee,
                    "OWNED_BY_ANOTHER",
                    format!("the Wazzup user {pin} (wazzupId) belongs to employee {owner}"),
                ),
                (None, Some(user)) => Some(Placement::Matched(Match {
                    employee: employee.clone(),
                    user: (*user).clone(),
                    by: Basis::Operator,
                })),
                (None, None) => conflict(
                    employee,
                    "NO_SUCH_USER",
                    format!("Wazzup has no user {pin} (wazzupId)"),
                ),
            }
        } else if let Some(user) = listed.get(id.as_str()) {
            // Nobody owns it (else it would be placed above): the same id.
            if let Some(other) = pinned.get(id.as_str()) {
                conflict(
                    employee,
                    "PAIRED_WITH_ANOTHER",
                    format!("the Wazzup user {id} is paired (wazzupId) with employee {other}"),
                )
            } else if scope.covers(id.as_str()) {
                Some(Placement::Owned { wazzup: id.clone() })
            } else {
                Some(Placement::Matched(Match {
                    employee: employee.clone(),
                    user: (*user).clone(),
                    by: Basis::Id,
                }))
            }
        } else {
            None
        };
        let on = match &placement {
            Some(Placement::Owned { wazzup }) => Some(wazzup.as_str()),
            Some(Placement::Matched(found)) => Some(found.user.id.as_str()),
            _ => None,
        };
        if let Some((user, _)) = on.and_then(|id| listed.get_key_value(id)) {
            claimed.insert(user);
        }
        placed.push(placement);
    }
    // Then, among users nobody owns or was placed on, the same phone.
    let free = |id: &str, claimed: &HashSet<&str>| {
        !claimed.contains(id) && known.owner(id, scope).is_none()
    };
    let by_phone: HashMap<&str, &ListedUser> = (known.users.iter())
        .filter(|user| free(&user.id, &claimed))
        .filter_map(|user| Some((known.phones.get(&user.id)?.as_str(), user)))
        .collect();
    for (employee, slot) in roster.users().iter().zip(placed.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        let found = (employee.phone.as_ref())
            .and_then(|phone| by_phone.get(phone.as_str()))
            .filter(|user| !claimed.contains(user.id.as_str()));
        if let Some(user) = found {
            claimed.insert(user.id.as_str());
            *slot = Some(Placement::Matched(Match {
                employee: employee.clone(),
                user: (*user).clone(),
                by: Basis::Phone,
            }));
        }
    }
    // Last, the same name, where one user and one employee have it.
    let mut users_named: HashMap<String, Vec<&ListedUser>> = HashMap::new();
    for user in known.users.iter().filter(|u| free(&u.id, &claimed)) {
        users_named
            .entry(name_key(&user.name))
            .or_default()
            .push(user);
    }
    let mut employees_named: HashMap<String, usize> = HashMap::new();
    for (employee, slot) in roster.users().iter().zip(&placed) {
        if slot.is_none() {
            *employees_named
                .entry(name_key(employee.name.as_str()))
                .or_default() += 1;
        }
    }
    for (employee, slot) in roster.users().iter().zip(placed.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        let key = name_key(employee.name.as_str());
        let users = users_named.get(&key).map(Vec::as_slice).unwrap_or_default();
        let employees = employees_named.get(&key).copied().unwrap_or_default();
        *slot = Some(match users {
            [] => Placement::New,
            [user] if employees == 1 => Placement::Matched(Match {
                employee: employee.clone(),
                user: (*user).clone(),
                by: Basis::Name,
            }),
            candidates => Placement::Ambiguous(Ambiguity {
                employee: employee.clone(),
                candidates: candidates.iter().map(|u| (*u).clone()).collect(),
            }),
        });
    }
    placed
        .into_iter()
        .map(|slot| slot.unwrap_or(Placement::New))
        .collect()
}

/// The users nobody owns whose phones decide a match: those no employee is placed on by the
/// records, a pairing or the same id, when some employee with a phone is still unplaced.
pub fn phones_wanted(roster: &Roster, known: &Known, scope: &Scope) -> Vec<String> {
    let listed: HashSet<&str> = known.users.iter().map(|u| u.id.as_str()).collect();
    let settled = |employee: &User| {
        known.links.contains_key(&employee.id)
            || known.owners.contains_key(employee.id.as_str())
            || roster.pins().contains_key(&employee.id)
            || listed.contains(employee.id.as_str())
    };
    if !(roster.users().iter()).any(|e| e.phone.is_some() && !settled(e)) {
        return Vec::new();
    }
    let taken: HashSet<&str> = (roster.users().iter())
        .map(|e| e.id.as_str())
        .chain(roster.pins().values().map(UserId::as_str))
        .collect();
    (known.users.iter())
        .filter(|u| known.owner(&u.id, scope).is_none() && !taken.contains(u.id.as_str()))
        .map(|u| u.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmployeeRow, PhoneRegion};

    fn row(id: &str, name: &str, phone: Option<&str>) -> EmployeeRow {
        EmployeeRow::named(id, name, phone)
    }

    fn listed(id: &str, name: &str) -> ListedUser {
        ListedUser {
            id: id.into(),
            name: name.into(),
        }
    }

    fn roster(rows: Vec<EmployeeRow>) -> Roster {
        Roster::parse(
            rows.into_iter().enumerate(),
            &Scope::Owned,
            PhoneRegion::default(),
        )
        .unwrap()
    }

    /// Each employee's placement as (employee, what, user).
    fn placed(placements: &[Placement]) -> Vec<(String, &'static str, String)> {
        placements
            .iter()
            .map(|p| match p {
                Placement::Owned { wazzup } => (String::new(), "owned", wazzup.to_string()),
                Placement::Matched(m) => {
                    (m.employee.id.to_string(), m.by.as_str(), m.user.id.clone())
                }
                Placement::Ambiguous(a) => (
                    a.employee.id.to_string(),
                    "ambiguous",
                    (a.candidates.iter().map(|c| c.id.as_str()))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Placement::Conflicting(c) => (c.employee.id.to_string(), c.reason, String::new()),
                Placement::New => (String::new(), "new", String::new()),
            })
            .collect()
    }

    #[test]
    fn matches_go_by_pairing_id_phone_then_a_unique_name() {
        let mut pinned = row("crm-9", "Somebody Else", None);
        pinned.wazzup_id = Some("u-9".into());
        let roster = roster(vec![
            row("crm-1", "Anna Ivanova", Some("+7 926 111-11-11")),
            row("u-2", "Boris", None),
            row("crm-3", " PETR  Sidorov", None),
            row("crm-4", "Olga", None),
            row("crm-5", "Olga", None),
            row("crm-6", "Ivan", None),
            pinned,
            row("crm-7", "Nobody Like Them", None),
        ]);
        let known = Known {
            users: vec![
                listed("u-1", "A. Ivanova"),
                listed("u-2", "Boris B."),
                listed("u-3", "Petr Sidorov"),
                listed("u-4", "Olga"),
                listed("u-6", "Ivan"),
                listed("u-6b", "ivan"),
                listed("u-9", "Pinned"),
            ],
            phones: HashMap::from([("u-1".into(), "79261111111".into())]),
            ..Known::default()
        };
        let placements = place(&roster, &known, &Scope::Owned);
        assert_eq!(
            placed(&placements),
            [
                ("crm-1".into(), "phone", "u-1".into()),
                ("u-2".into(), "id", "u-2".into()),
                ("crm-3".into(), "name", "u-3".into()),
                ("crm-4".into(), "ambiguous", "u-4".into()),
                ("crm-5".into(), "ambiguous", "u-4".into()),
                ("crm-6".into(), "ambiguous", "u-6,u-6b".into()),
                ("crm-9".into(), "operator", "u-9".into()),
                (String::new(), "new", String::new()),
            ]
        );
    }

    #[test]
    fn a_user_an_operator_paired_is_no_other_employees_by_its_id() {
        let mut pinned = row("crm-9", "Nine", None);
        pinned.wazzup_id = Some("u-2".into());
        let roster = roster(vec![row("u-2", "Two", None), pinned]);
        let known = Known {
            users: vec![listed("u-2", "Two")],
            ..Known::default()
        };
        assert_eq!(
            placed(&place(&roster, &known, &Scope::Owned)),
            [
                ("u-2".into(), "PAIRED_WITH_ANOTHER", String::new()),
                ("crm-9".into(), "operator", "u-2".into()),
            ]
        );
    }

    #[test]
    fn owned_users_are_never_matched_to_another_employee() {
        let roster = roster(vec![
            row("crm-1", "Anna", None),
            row("crm-2", "Anna", None),
            row("u-7", "Someone", None),
        ]);
        let known = Known {
            users: vec![listed("u-1", "Anna"), listed("u-7", "Kept")],
            owners: HashMap::from([
                ("u-1".into(), UserId::parse("crm-1").unwrap()),
                ("u-7".into(), UserId::parse("crm-8").unwrap()),
            ]),
            links: HashMap::from([(
                UserId::parse("crm-1").unwrap(),
                UserId::parse("u-1").unwrap(),
            )]),
            ..Known::default()
        };
        let placements = place(&roster, &known, &Scope::Owned);
        assert_eq!(
            placed(&placements),
            [
                (String::new(), "owned", "u-1".into()),
                (String::new(), "new", String::new()),
                ("u-7".into(), "OWNED_BY_ANOTHER", String::new()),
            ]
        );
        assert!(phones_wanted(&roster, &known, &Scope::Owned).is_empty());
    }

    #[test]
    fn a_prefix_makes_its_users_their_employees_and_all_makes_them_matchable() {
        let roster = roster(vec![
            row("crm-1", "Anna", None),
            row("crm-2", "Boris", None),
        ]);
        let known = Known {
            users: vec![listed("crm-1", "Anna"), listed("hand-2", "Boris")],
            ..Known::default()
        };
        let prefix = place(&roster, &known, &Scope::Prefix("crm-".into()));
        assert_eq!(placed(&prefix)[0], (String::new(), "owned", "crm-1".into()));
        assert_eq!(
            placed(&prefix)[1],
            ("crm-2".into(), "name", "hand-2".into())
        );
        let all = place(&roster, &known, &Scope::All);
        assert_eq!(placed(&all)[0], (String::new(), "owned", "crm-1".into()));
        assert_eq!(placed(&all)[1], ("crm-2".into(), "name", "hand-2".into()));
    }
}

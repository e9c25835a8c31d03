//! The complete list of employees a full sync makes Wazzup hold. It is taken whole or not at
//! all, because an employee left out of a full sync would be deleted: every row valid, every id
//! in the sync's prefix when one is configured, no id twice, and no phone twice (Wazzup gives a
//! phone to one user only). An operator's list may pair an employee with an existing Wazzup user
//! (`wazzupId`), each user with one employee at most. Every problem is found, not just the first.

use std::collections::HashMap;

use super::employee::EmployeeRow;
use super::event::{SyncEvent, User};
use super::field::UserId;
use super::phone::{Phone, PhoneRegion};
use super::report::{Rejection, Warning};
use super::scope::Scope;

/// A valid, complete employee list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    users: Vec<User>,
    /// The operator's pairings: employee -> the existing Wazzup user it is.
    pins: HashMap<UserId, UserId>,
    warnings: Vec<Warning>,
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A field rule: the rejection says which.
    Invalid(Rejection),
    /// The id does not start with the scope's prefix.
    OutOfScope { prefix: String },
    /// The id is already on the row at `first`.
    DuplicateId { first: usize },
    /// The phone is already on the row at `first`, the employee `first_id`.
    DuplicatePhone {
        phone: Phone,
        first: usize,
        first_id: UserId,
    },
    /// The `wazzupId` pairing is not a Wazzup id.
    InvalidPin(String),
    /// The `wazzupId` is already paired with the employee on the row at `first`.
    DuplicatePin { first: usize },
}

/// A row refused, by its position among the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterProblem {
    pub index: usize,
    pub id: Option<String>,
    pub problem: Problem,
}

impl RosterProblem {
    /// The stable code: a field code, `OUT_OF_SCOPE`, `DUPLICATE_ID` or `DUPLICATE_PHONE_NUMBER`.
    pub fn code(&self) -> &str {
        match &self.problem {
            Problem::Invalid(rejection) => &rejection.reason,
            Problem::OutOfScope { .. } => "OUT_OF_SCOPE",
            Problem::DuplicateId { .. } => "DUPLICATE_ID",
            Problem::DuplicatePhone { .. } => "DUPLICATE_PHONE_NUMBER",
            Problem::InvalidPin(_) => "INVALID_WAZZUP_ID",
            Problem::DuplicatePin { .. } => "DUPLICATE_WAZZUP_ID",
        }
    }

    /// The explanation; `position` words where another row is (`line 3`, `employees[2]`).
    pub fn message(&self, position: &dyn Fn(usize) -> String) -> String {
        match &self.problem {
            Problem::Invalid(rejection) => rejection.message.clone(),
            Problem::OutOfScope { prefix } => format!(
                "the id is outside the sync's scope: it does not start with the prefix \
                 \"{prefix}\", so the sync could never delete this user later"
            ),
            Problem::DuplicateId { first } => {
                format!("the same id is already on {}", position(*first))
            }
            Problem::DuplicatePhone {
                phone,
                first,
                first_id,
            } => format!(
                "the phone {} is already {first_id}'s ({}); Wazzup allows a phone on one user only",
                phone.masked(),
                position(*first)
            ),
            Problem::InvalidPin(reason) => format!("wazzupId: {reason}"),
            Problem::DuplicatePin { first } => format!(
                "the same wazzupId is already paired with {}; a Wazzup user is one employee's",
                position(*first)
            ),
        }
    }

    /// The problem as a rejection, positions worded as `employees[i]`.
    pub fn to_rejection(&self) -> Rejection {
        Rejection::at(
            self.index,
            self.id.as_deref(),
            self.code(),
            self.message(&|i| format!("employees[{i}]")),
        )
    }
}

/// Why a list is not a roster: every problem, by row, and the warnings found on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRoster {
    pub problems: Vec<RosterProblem>,
    pub warnings: Vec<Warning>,
}

impl Roster {
    /// Checks a complete list; `rows` carry their position (0 for the first employee).
    pub fn parse(
        rows: impl IntoIterator<Item = (usize, EmployeeRow)>,
        scope: &Scope,
        region: PhoneRegion,
    ) -> Result<Self, InvalidRoster> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut users: Vec<(usize, User)> = Vec::new();
        let mut pins: HashMap<UserId, UserId> = HashMap::new();
        let mut pinned: HashMap<UserId, usize> = HashMap::new();
        for (index, row) in rows {
            if let Some(raw) = &row.wazzup_id {
                let problem = |problem| RosterProblem {
                    index,
                    id: Some(row.id.clone()),
                    problem,
                };
                match (UserId::parse(raw), UserId::parse(&row.id)) {
                    (Err(error), _) => {
                        problems.push(problem(Problem::InvalidPin(error.to_string())))
                    }
                    (Ok(wazzup), Ok(employee)) => match pinned.get(&wazzup) {
                        Some(first) => {
                            problems.push(problem(Problem::DuplicatePin { first: *first }))
                        }
                        None => {
                            pinned.insert(wazzup.clone(), index);
                            pins.insert(employee, wazzup);
                        }
                    },
                    // The id's own problem is reported below.
                    (Ok(_), Err(_)) => {}
                }
            }
            match row.upsert(index, region) {
                Ok((SyncEvent::Upsert(user), warning)) => {
                    warnings.extend(warning);
                    users.push((index, user));
                }
                Ok((SyncEvent::Delete(_) | SyncEvent::Unseat(_), _)) => {}
                Err(rejection) => problems.push(RosterProblem {
                    index,
                    id: rejection.id.clone(),
                    problem: Problem::Invalid(rejection),
                }),
            }
        }
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut phones: HashMap<&str, (usize, &UserId)> = HashMap::new();
        for (index, user) in &users {
            let id = user.id.as_str();
            let problem = |problem| RosterProblem {
                index: *index,
                id: Some(id.to_owned()),
                problem,
            };
            if let Scope::Prefix(prefix) = scope
                && !scope.covers(id)
            {
                problems.push(problem(Problem::OutOfScope {
                    prefix: prefix.clone(),
                }));
            }
            if let Some(first) = ids.get(id) {
                problems.push(problem(Problem::DuplicateId { first: *first }));
                continue;
            }
            ids.insert(id, *index);
            if let Some(phone) = &user.phone {
                match phones.get(phone.as_str()) {
                    Some((first, first_id)) => problems.push(problem(Problem::DuplicatePhone {
                        phone: phone.clone(),
                        first: *first,
                        first_id: (*first_id).clone(),
                    })),
                    None => {
                        phones.insert(phone.as_str(), (*index, &user.id));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(Self {
                users: users.into_iter().map(|(_, user)| user).collect(),
                pins,
                warnings,
            })
        } else {
            problems.sort_by_key(|p| p.index);
            Err(InvalidRoster { problems, warnings })
        }
    }

    /// The employees, in the list's order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The operator's pairings of employees with existing Wazzup users (`wazzupId`), for the
    /// takeovers no rule could decide.
    pub fn pins(&self) -> &HashMap<UserId, UserId> {
        &self.pins
    }

    /// Phones left out because they are not valid numbers.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str, phone: Option<&str>) -> EmployeeRow {
        EmployeeRow::named(id, name, phone)
    }

    fn parse(rows: Vec<EmployeeRow>) -> Result<Roster, Vec<RosterProblem>> {
        Roster::parse(
            rows.into_iter().enumerate(),
            &Scope::Prefix("crm-".into()),
            PhoneRegion::default(),
        )
        .map_err(|invalid| invalid.problems)
    }

    #[test]
    fn a_valid_list_keeps_its_order_and_warnings() {
        let roster = parse(vec![
            row("crm-2", "B", Some("12")),
            row("crm-1", "A", Some("+7 926 333-45-67")),
        ])
        .unwrap();
        let ids: Vec<&str> = roster.users().iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["crm-2", "crm-1"]);
        assert_eq!(roster.warnings()[0].code, "INVALID_PHONE");
    }

    #[test]
    fn every_problem_is_found_with_where_the_first_occurrence_is() {
        let problems = parse(vec![
            row("crm-1", "A", Some("+7 926 333-45-67")),
            row("hr-1", "Outside", None),
            row("crm-2", " ", None),
            row("crm-1", "Again", None),
            row("crm-3", "Same phone", Some("8 926 333 45 67")),
        ])
        .unwrap_err();
        let found: Vec<(usize, &str)> = problems.iter().map(|p| (p.index, p.code())).collect();
        assert_eq!(
            found,
            [
                (1, "OUT_OF_SCOPE"),
                (2, "EMPTY_FIELD"),
                (3, "DUPLICATE_ID"),
                (4, "DUPLICATE_PHONE_NUMBER")
            ]
        );
        let at = |i: usize| format!("line {}", i + 2);
        assert_eq!(problems[2].message(&at), "the same id is already on line 2");
        assert!(
            problems[3]
                .message(&at)
                .contains("79*******67 is already crm-1's (line 2)"),
            "{}",
            problems[3].message(&at)
        );
        assert_eq!(problems[1].to_rejection().id.as_deref(), Some("crm-2"));
    }

    #[test]
    fn pairings_with_wazzup_users_are_checked_and_kept() {
        let pin = |id: &str, wazzup: &str| EmployeeRow {
            wazzup_id: Some(wazzup.into()),
            ..row(id, "N", None)
        };
        let roster = parse(vec![pin("crm-1", "7c1e9a20"), row("crm-2", "B", None)]).unwrap();
        let employee = UserId::parse("crm-1").unwrap();
        assert_eq!(roster.pins()[&employee].as_str(), "7c1e9a20");
        let problems = parse(vec![
            pin("crm-1", "7c1e9a20"),
            pin("crm-2", "7c1e9a20"),
            pin("crm-3", " "),
        ])
        .unwrap_err();
        let found: Vec<(usize, &str)> = problems.iter().map(|p| (p.index, p.code())).collect();
        assert_eq!(
            found,
            [(1, "DUPLICATE_WAZZUP_ID"), (2, "INVALID_WAZZUP_ID")]
        );
    }

    #[test]
    fn without_a_prefix_any_id_is_in_the_list() {
        let roster = Roster::parse(
            [(0, row("anything", "A", None))],
            &Scope::Owned,
            PhoneRegion::default(),
        );
        assert!(roster.is_ok());
    }

    #[test]
    fn scope_all_accepts_every_id() {
        let roster = Roster::parse(
            [(0, row("anything", "A", None))],
            &Scope::All,
            PhoneRegion::default(),
        );
        assert!(roster.is_ok());
    }
}

//! The seat rules applied the same way to every source: to a users API's list (who is left in
//! the employee list a full sync makes Wazzup hold) and to a webhook's created or updated
//! employee (a hire outside the rules is not made; an employee who leaves them is dismissed).
//! The rules themselves are the domain's [`SeatRules`]; which facts a source knows, its own.

use super::contract::{Person, Source};
use crate::domain::{
    EmployeeRow, EventBatch, Facts, Rejection, SeatPolicy, SeatRules, SourceTime, SyncEvent,
    Warning,
};

/// The warning on a change the seat rules turned down.
pub const NO_SEAT: &str = "NO_SEAT";
/// The rejection of a change that does not carry a fact the rules name.
pub const SEAT_UNDECIDED: &str = "SEAT_UNDECIDED";

/// A users API's list, seated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seated {
    /// The employees who get a seat: the list a full sync makes Wazzup hold.
    pub rows: Vec<EmployeeRow>,
    /// How many the source counts inactive (suspended, disabled, archived).
    pub inactive: usize,
    /// How many active people the rules leave without a seat.
    pub unseated: usize,
}

/// Seats a users API's list: the active people the rules admit. A fact the source did not give
/// a person counts as empty (the source's reader gives every fact it knows).
pub fn seat(people: Vec<Person>, rules: &SeatRules) -> Seated {
    let mut seated = Seated::default();
    for person in people {
        if !person.active {
            seated.inactive += 1;
        } else if rules.admits(&person.facts) {
            seated.rows.push(person.row);
        } else {
            seated.unseated += 1;
        }
    }
    seated
}

/// Whether `kind` of change creates a person or changes one already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Created,
    Updated,
}

/// Adds a webhook's change of one employee to `batch`, through the source's rules: a change
/// the rules admit as it is; a hire they turn down is left out, and an update they turn down
/// becomes a dismissal, each with a `NO_SEAT` warning; a change whose seat turns on a fact it
/// does not carry is refused (`SEAT_UNDECIDED`), never guessed. Deletions and refusals pass through.
pub fn push(
    batch: &mut EventBatch,
    index: usize,
    outcome: Result<(SyncEvent, Option<Warning>), Rejection>,
    at: Option<SourceTime>,
    seat: (&SeatRules, &Facts, Kind),
) {
    let (rules, facts, kind) = seat;
    let user = match &outcome {
        Ok((SyncEvent::Upsert(user), _)) if !rules.is_empty() => user,
        _ => return batch.push_at(index, outcome, at),
    };
    let id = user.id.clone();
    let admitted = match rules.decide(facts) {
        Ok(admitted) => admitted,
        Err(fact) => {
            batch.rejected.push(Rejection::at(
                index,
                Some(id.as_str()),
                SEAT_UNDECIDED,
                format!(
                    "the seat rules name \"{fact}\", which this event does not carry: send it with \
                 every created and updated employee, or the full sync decides"
                ),
            ));
            return;
        }
    };
    if admitted {
        return batch.push_at(index, outcome, at);
    }
    let warning = |message: &str| Warning {
        index: Some(index),
        id: Some(id.to_string()),
        code: NO_SEAT.into(),
        message: message.to_owned(),
    };
    match kind {
        Kind::Created => batch.warnings.push(warning(
            "outside the seat rules: no Wazzup user is made for this employee",
        )),
        Kind::Updated => batch.push_at(
            index,
            Ok((
                SyncEvent::Unseat(id.clone()),
                Some(warning(
                    "outside the seat rules: the employee's Wazzup user is removed",
                )),
            )),
            at,
        ),
    }
}

/// Whether `source` can take `rules`: it knows every fact they name, and its own checks pass.
pub fn check(source: &dyn Source, rules: &SeatRules) -> Result<(), String> {
    if rules.is_empty() {
        return Ok(());
    }
    let known = source.facts();
    if known.is_empty() {
        return Err(format!(
            "\"{}\" gives no facts to seat people by: decide its seats where its people come from",
            source.name()
        ));
    }
    let knows = |fact: &str| {
        known.contains(&fact)
            || (known.contains(&"attribute.*")
                && fact
                    .strip_prefix("attribute.")
                    .is_some_and(|n| !n.is_empty()))
    };
    if let Some(fact) = rules.facts().into_iter().find(|fact| !knows(fact)) {
        return Err(format!(
            "\"{}\" does not give the fact \"{fact}\"; it gives: {}",
            source.name(),
            known
                .iter()
                .map(|f| f.replace('*', "<name>"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    source.check_rules(rules)
}

/// Checks a whole policy against the sources: every name a source, every rule decidable.
pub fn check_policy(
    policy: &SeatPolicy,
    by_name: impl Fn(&str) -> Option<&'static dyn Source>,
    names: &[&str],
) -> Result<(), String> {
    for (name, rules) in policy.sources() {
        let source = by_name(name).ok_or_else(|| {
            format!(
                "\"{name}\" is not a source; the sources are: {}",
                names.join(", ")
            )
        })?;
        check(source, rules)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PhoneRegion, UserId, upsert_event};
    use serde_json::json;

    fn rules() -> SeatRules {
        SeatRules::parse(&json!({"include": [{"department": "Sales"}]}), "r").unwrap()
    }

    fn facts(department: Option<&str>) -> Facts {
        let mut facts = Facts::new();
        if let Some(d) = department {
            facts.add("department", d);
        }
        facts
    }

    fn hire() -> Result<(SyncEvent, Option<Warning>), Rejection> {
        upsert_event(0, "emp-1", Some("Alex"), None, PhoneRegion::default())
    }

    fn person(id: &str, active: bool, department: &str) -> Person {
        Person {
            row: EmployeeRow::named(id, id, None),
            active,
            facts: facts(Some(department)),
        }
    }

    #[test]
    fn a_list_keeps_the_active_people_the_rules_seat() {
        let seated = seat(
            vec![
                person("a", true, "Sales"),
                person("b", false, "Sales"),
                person("c", true, "Support"),
            ],
            &rules(),
        );
        let ids: Vec<&str> = seated.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((ids, seated.inactive, seated.unseated), (vec!["a"], 1, 1));
    }

    #[test]
    fn a_hire_outside_the_rules_is_not_made_and_an_update_is_a_dismissal() {
        let r = rules();
        let mut batch = EventBatch::default();
        push(
            &mut batch,
            0,
            hire(),
            None,
            (&r, &facts(Some("Support")), Kind::Created),
        );
        assert!(batch.events.is_empty() && batch.rejected.is_empty());
        assert_eq!(batch.warnings[0].code, NO_SEAT);
        let mut batch = EventBatch::default();
        push(
            &mut batch,
            0,
            hire(),
            None,
            (&r, &facts(Some("Support")), Kind::Updated),
        );
        assert_eq!(
            batch.events[0].event,
            SyncEvent::Unseat(UserId::parse("emp-1").unwrap())
        );
        let mut batch = EventBatch::default();
        push(
            &mut batch,
            0,
            hire(),
            None,
            (&r, &facts(Some("sales")), Kind::Created),
        );
        assert!(matches!(batch.events[0].event, SyncEvent::Upsert(_)));
        assert!(batch.warnings.is_empty());
    }

    #[test]
    fn a_change_without_the_facts_the_rules_name_is_refused_not_guessed() {
        let mut batch = EventBatch::default();
        push(
            &mut batch,
            0,
            hire(),
            None,
            (&rules(), &facts(None), Kind::Updated),
        );
        assert!(batch.events.is_empty());
        assert_eq!(batch.rejected[0].reason, SEAT_UNDECIDED);
        assert!(batch.rejected[0].message.contains("department"));
        let mut batch = EventBatch::default();
        push(
            &mut batch,
            0,
            hire(),
            None,
            (&SeatRules::default(), &facts(None), Kind::Created),
        );
        assert_eq!(batch.events.len(), 1);
    }
}

//! Who a Wazzup user belongs to: the employee this deployment created it for or took it over
//! for, from which source, on what grounds and since when; and the key two names are compared
//! by when an employee is matched to a user that already exists.

use super::field::UserId;
use super::time::SourceTime;

/// On what grounds a Wazzup user became an employee's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Basis {
    /// This deployment created it (or wrote it under the employee's own id, where none was).
    Created,
    /// Taken over: it had the employee's id.
    Id,
    /// Taken over: it had the employee's phone (a phone is unique in a Wazzup account).
    Phone,
    /// Taken over: it alone had the employee's name (the operator's flow only).
    Name,
    /// Taken over: an operator paired it with the employee (`wazzupId` in the employee list).
    Operator,
    /// Written under the employee's own id before this deployment recorded ownership.
    Applied,
}

impl Basis {
    /// Every basis there is.
    pub const ALL: [Basis; 6] = [
        Basis::Created,
        Basis::Id,
        Basis::Phone,
        Basis::Name,
        Basis::Operator,
        Basis::Applied,
    ];

    /// The stable word stored and reported.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Created => "created",
            Basis::Id => "id",
            Basis::Phone => "phone",
            Basis::Name => "name",
            Basis::Operator => "operator",
            Basis::Applied => "applied",
        }
    }

    /// The word read back; `None` for one this version does not know.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|basis| basis.as_str() == word)
    }

    /// Whether the user existed before it became the employee's (a takeover).
    pub fn is_takeover(self) -> bool {
        matches!(
            self,
            Basis::Id | Basis::Phone | Basis::Name | Basis::Operator
        )
    }
}

/// The employee a Wazzup user belongs to, by this deployment's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub employee: UserId,
    /// The source that brought the employee (`generic`, `pipedrive`, `scim`, `sync`, ...).
    pub source: String,
    pub basis: Basis,
    pub since: SourceTime,
}

impl Owner {
    pub fn new(employee: UserId, source: &str, basis: Basis) -> Self {
        Self {
            employee,
            source: source.to_owned(),
            basis,
            since: SourceTime::now(),
        }
    }
}

/// The key two names are compared by: trimmed, runs of white space as one space, case-folded.
/// `" Anna  IVANOVA "` and `"anna ivanova"` have the same key.
pub fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.extend(word.chars().flat_map(char::to_lowercase));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_trimmed_and_case_folded() {
        assert_eq!(name_key(" Anna \t IVANOVA "), "anna ivanova");
        assert_eq!(name_key("ЖАННА Петрова"), name_key("жанна  петрова"));
        assert_ne!(name_key("Anna Ivanova"), name_key("Anna Ivanov"));
        assert_eq!(name_key("   "), "");
    }

    #[test]
    fn every_basis_reads_back_as_written() {
        for basis in Basis::ALL {
            assert_eq!(Basis::parse(basis.as_str()), Some(basis));
        }
        assert_eq!(Basis::parse("guessed"), None);
        assert!(Basis::Phone.is_takeover() && !Basis::Created.is_takeover());
    }
}

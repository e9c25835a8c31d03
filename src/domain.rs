//! The domain: employees as Wazzup users, and the sync events that change them.
//!
//! Every type here can only hold a valid value ("parse, don't validate"): a [`UserId`] or a
//! [`UserName`] is trimmed, non-empty and at most [`MAX_FIELD_CHARS`] characters; a [`Phone`] is
//! a valid international number in Wazzup's digits-only form. Nothing here knows about HTTP,
//! AWS or Wazzup's wire format.

use std::fmt;
use std::str::FromStr;

use rlibphonenumber::{PhoneNumber, PhoneNumberFormat, Region};

/// Wazzup's limit for `id` and `name`, counted in characters (not bytes).
pub const MAX_FIELD_CHARS: usize = 200;

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{field} is missing")]
    Missing { field: &'static str },
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is {chars} characters long; at most {max} are allowed", max = MAX_FIELD_CHARS)]
    TooLong { field: &'static str, chars: usize },
    #[error("{field} contains control characters")]
    ControlCharacters { field: &'static str },
}

impl FieldError {
    /// A stable machine-readable code for API answers.
    pub fn code(&self) -> &'static str {
        match self {
            FieldError::Missing { .. } => "MISSING_FIELD",
            FieldError::Empty { .. } => "EMPTY_FIELD",
            FieldError::TooLong { .. } => "FIELD_TOO_LONG",
            FieldError::ControlCharacters { .. } => "INVALID_CHARACTERS",
        }
    }
}

fn parse_text(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(FieldError::Empty { field });
    }
    let chars = trimmed.chars().count();
    if chars > MAX_FIELD_CHARS {
        return Err(FieldError::TooLong { field, chars });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::ControlCharacters { field });
    }
    Ok(trimmed.to_owned())
}

/// The employee's identifier in the CRM, which is the user's id in Wazzup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        parse_text("id", raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The employee's display name in Wazzup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        parse_text("name", raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a phone number was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone could not be read as a phone number")]
    Unparseable,
    #[error("phone is not a valid number")]
    Invalid,
}

/// A valid phone number in Wazzup's form: the international number, digits only
/// (`+7 (926) 333-45-67` becomes `79263334567`).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone as people write it. Numbers without a leading `+` (or `00`-style
    /// international prefix) are read as national numbers of `default_region`.
    pub fn parse(raw: &str, default_region: Region) -> Result<Self, PhoneError> {
        let number =
            PhoneNumber::parse(raw, Some(default_region)).map_err(|_| PhoneError::Unparseable)?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid);
        }
        let e164 = number.format_as(PhoneNumberFormat::E164);
        let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its first two and last two digits hidden, for logs and
    /// messages: `79263334567` becomes `79*******67`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks any phone-like text so that it can be logged: only the first two and last two
/// characters survive, and short input is hidden whole.
pub fn mask_phone(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 2 || i >= n - 2 { *c } else { '*' })
        .collect()
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// The phone region used for numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(pub Region);

impl FromStr for PhoneRegion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        Region::from_str(&upper)
            .map(PhoneRegion)
            .map_err(|_| format!("'{s}' is not an ISO 3166-1 alpha-2 region code such as RU or US"))
    }
}

impl Default for PhoneRegion {
    fn default() -> Self {
        PhoneRegion(Region::RU)
    }
}

/// A Wazzup user: an employee with an id, a name and perhaps a phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: UserId,
    pub name: UserName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

/// One change to apply to Wazzup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Create the user or update it (Wazzup matches users by id).
    Upsert(User),
    /// Remove the user.
    Delete(UserId),
}

impl SyncEvent {
    pub fn id(&self) -> &UserId {
        match self {
            SyncEvent::Upsert(user) => &user.id,
            SyncEvent::Delete(id) => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_trimmed_and_must_not_be_empty() {
        assert_eq!(UserId::parse("  emp-1 ").unwrap().as_str(), "emp-1");
        assert_eq!(UserId::parse("   "), Err(FieldError::Empty { field: "id" }));
        assert_eq!(UserName::parse("").unwrap_err().code(), "EMPTY_FIELD");
    }

    #[test]
    fn length_limit_counts_characters_not_bytes() {
        // 200 Cyrillic letters are 400 bytes but exactly at the limit.
        let at_limit = "Я".repeat(200);
        assert_eq!(UserName::parse(&at_limit).unwrap().as_str(), at_limit);
        let over = "Я".repeat(201);
        assert_eq!(
            UserName::parse(&over),
            Err(FieldError::TooLong {
                field: "name",
                chars: 201
            })
        );
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            UserName::parse("Alex\u{0}Salesman").unwrap_err().code(),
            "INVALID_CHARACTERS"
        );
    }

    #[test]
    fn phones_become_wazzup_digits() {
        let ru = PhoneRegion::default().0;
        for (raw, want) in [
            ("+7 (926) 333-45-67", "79263334567"),
            ("8 (926) 123-45-67", "79261234567"),
            ("89261234567", "79261234567"),
            ("+7 495 555-35-35", "74955553535"),
            ("8-800-555-35-35", "78005553535"),
            ("+44 20 7183 8750", "442071838750"),
            ("+1 (202) 456-1111", "12024561111"),
        ] {
            assert_eq!(Phone::parse(raw, ru).unwrap().as_str(), want, "{raw}");
        }
    }

    #[test]
    fn default_region_decides_numbers_without_country_code() {
        let us = "us".parse::<PhoneRegion>().unwrap().0;
        assert_eq!(
            Phone::parse("(202) 456-1111", us).unwrap().as_str(),
            "12024561111"
        );
        assert!("Narnia".parse::<PhoneRegion>().is_err());
    }

    #[test]
    fn nonsense_phones_are_refused() {
        let ru = PhoneRegion::default().0;
        assert_eq!(Phone::parse("12", ru), Err(PhoneError::Invalid));
        assert_eq!(Phone::parse("12345", ru), Err(PhoneError::Invalid));
        assert!(Phone::parse("call me", ru).is_err());
        assert!(Phone::parse("", ru).is_err());
    }

    #[test]
    fn masked_phones_hide_the_middle() {
        let phone = Phone::parse("+7 (926) 333-45-67", Region::RU).unwrap();
        assert_eq!(phone.masked(), "79*******67");
        assert_eq!(format!("{phone:?}"), "Phone(79*******67)");
        assert_eq!(mask_phone("12345"), "*****");
    }
}

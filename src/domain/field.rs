//! A user's id and name: trimmed, non-empty, at most [`MAX_FIELD_CHARS`] characters, no
//! control characters (nor U+FFFE, U+FFFF). Only valid values can be held ("parse, don't validate").

use std::fmt;

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
    #[error("{field} contains control characters or the noncharacters U+FFFE/U+FFFF")]
    ControlCharacters { field: &'static str },
    #[error(
        "{field} must not be \".\" or \"..\": Wazzup addresses a user by its id in the URL path, \
         where these name another place"
    )]
    DotSegment { field: &'static str },
}

impl FieldError {
    /// A stable machine-readable code for API answers.
    pub fn code(&self) -> &'static str {
        match self {
            FieldError::Missing { .. } => "MISSING_FIELD",
            FieldError::Empty { .. } => "EMPTY_FIELD",
            FieldError::TooLong { .. } => "FIELD_TOO_LONG",
            FieldError::ControlCharacters { .. } => "INVALID_CHARACTERS",
            FieldError::DotSegment { .. } => "INVALID_ID",
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
    // Neither has a meaning in a name, and the queue (SQS) refuses a message holding one: such
    // a value would make its whole request fail for good.
    if trimmed
        .chars()
        .any(|c| c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
    {
        return Err(FieldError::ControlCharacters { field });
    }
    Ok(trimmed.to_owned())
}

/// The employee's identifier in the CRM, which is the user's id in Wazzup.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl TryFrom<String> for UserId {
    type Error = FieldError;

    fn try_from(raw: String) -> Result<Self, FieldError> {
        Self::parse(&raw)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

impl UserId {
    /// An id as Wazzup can hold it and as one segment of a URL path: besides the text rules,
    /// neither `.` nor `..`, which a path resolves away (`DELETE /v3/users/..` would be sent to
    /// `/v3/`). Every other character is percent-encoded by the client.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let id = parse_text("id", raw)?;
        if id == "." || id == ".." {
            return Err(FieldError::DotSegment { field: "id" });
        }
        Ok(Self(id))
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl TryFrom<String> for UserName {
    type Error = FieldError;

    fn try_from(raw: String) -> Result<Self, FieldError> {
        Self::parse(&raw)
    }
}

impl From<UserName> for String {
    fn from(name: UserName) -> String {
        name.0
    }
}

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        parse_text("name", raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    fn ids_that_a_url_path_resolves_away_are_refused() {
        for id in [".", "..", " .. "] {
            assert_eq!(
                UserId::parse(id).unwrap_err().code(),
                "INVALID_ID",
                "{id:?}"
            );
        }
        for id in ["...", ".a", "a.", "a/b", "%2e%2e"] {
            assert!(UserId::parse(id).is_ok(), "{id:?}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            UserName::parse("Alex\u{0}Salesman").unwrap_err().code(),
            "INVALID_CHARACTERS"
        );
    }

    #[test]
    fn the_noncharacters_the_queue_refuses_are_refused_at_the_door() {
        for raw in ["Alex\u{FFFE}", "\u{FFFF}Alex"] {
            assert_eq!(
                UserName::parse(raw).unwrap_err().code(),
                "INVALID_CHARACTERS"
            );
            assert!(UserId::parse(raw).is_err());
        }
        // Everything else SQS takes is a valid name: other scripts, emoji, private use.
        for raw in ["Алекс", "아렉스 🙂", "\u{E000}x", "x\u{FFFD}"] {
            assert_eq!(UserName::parse(raw).unwrap().as_str(), raw);
        }
    }
}

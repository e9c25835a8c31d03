//! Text that goes back out: what a caller sent, echoed in an answer, cut to a length; and ids
//! in logs, where one that looks like an e-mail address or a phone number is replaced by a
//! short hash (the same id gives the same hash, so lines can still be followed).

use std::fmt;

use sha2::{Digest, Sha256};

/// The most characters of caller text an answer or a log line echoes.
pub const ECHO_CHARS: usize = 200;

/// At most `max` characters of `text`, with `…` when it was cut.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// An id as logs may show it: as it is, unless it looks like an e-mail address or a phone
/// number; then `sha256:` and the first 12 hex digits of its hash.
pub struct LoggedId<'a>(pub &'a str);

impl LoggedId<'_> {
    fn is_personal(&self) -> bool {
        let id = self.0;
        let digits = id.chars().filter(char::is_ascii_digit).count();
        let phone_like = digits >= 7
            && id
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        id.contains('@') || phone_like
    }
}

impl fmt::Display for LoggedId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_personal() {
            let hash = Sha256::digest(self.0.as_bytes());
            f.write_str("sha256:")?;
            for byte in &hash[..6] {
                write!(f, "{byte:02x}")?;
            }
            Ok(())
        } else {
            f.write_str(&excerpt(self.0, ECHO_CHARS))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_characters_not_bytes() {
        assert_eq!(excerpt("Жанна", 3), "Жан…");
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(excerpt(&"я".repeat(1_000_000), 2), "яя…");
    }

    #[test]
    fn emails_and_phones_are_hashed_in_logs_and_other_ids_kept() {
        let email = LoggedId("test.user@okta.local").to_string();
        assert!(
            email.starts_with("sha256:") && !email.contains("okta"),
            "{email}"
        );
        assert_eq!(email, LoggedId("test.user@okta.local").to_string());
        assert!(
            LoggedId("+7 926 333-45-67")
                .to_string()
                .starts_with("sha256:")
        );
        assert_eq!(LoggedId("emp-1001").to_string(), "emp-1001");
        assert_eq!(LoggedId("5001").to_string(), "5001");
        assert_eq!(
            LoggedId("00ujl29u0le5T6Aj10h7").to_string(),
            "00ujl29u0le5T6Aj10h7"
        );
    }
}

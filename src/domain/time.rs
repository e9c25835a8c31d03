//! When a source made a change: the order of one employee's changes. Milliseconds since the
//! Unix epoch, read from what the sources send (RFC 3339 text, Unix seconds or milliseconds).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceTime(i64);

impl SourceTime {
    pub fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Unix seconds, as signed webhook timestamps and Bitrix24's `ts` give them.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds.saturating_mul(1000))
    }

    /// An RFC 3339 time such as `2026-11-23T06:00:01.000Z` or `2026-11-23T09:00:01+03:00`.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let time = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
        let millis = time.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis).ok().map(Self)
    }

    /// The time now.
    pub fn now() -> Self {
        let millis = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        Self(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    pub fn millis(self) -> i64 {
        self.0
    }
}

impl fmt::Display for SourceTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let formatted = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok());
        match formatted {
            Some(text) => f.write_str(&text),
            None => write!(f, "{} ms", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_from_every_form_the_sources_use() {
        let utc = SourceTime::parse_rfc3339("2026-11-23T06:00:01.000Z").unwrap();
        let moscow = SourceTime::parse_rfc3339("2026-11-23T09:00:01+03:00").unwrap();
        assert_eq!(utc, moscow);
        assert_eq!(SourceTime::from_unix_seconds(1_795_413_601), utc);
        assert_eq!(utc.to_string(), "2026-11-23T06:00:01Z");
        assert!(SourceTime::parse_rfc3339("yesterday").is_none());
        assert!(SourceTime::parse_rfc3339("2026-11-23 06:00:01").is_none());
        assert_eq!(SourceTime::from_unix_seconds(i64::MAX).millis(), i64::MAX);
        assert!(SourceTime::now() > utc);
    }
}

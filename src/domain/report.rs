//! What a request did, employee by employee: plain report data. How it is shown (an HTTP JSON
//! answer, the CLI's table, a log line) is each entry point's business.

use serde::Serialize;

use super::text::{ECHO_CHARS, excerpt};

/// An employee (or event) that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Position of the event in the request's batch (0 for a single event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The employee id, when one could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A stable machine-readable reason, e.g. `EMPTY_FIELD` or `DUPLICATE_PHONE_NUMBER`.
    pub reason: String,
    pub message: String,
}

impl Rejection {
    /// A rejection of the event at `index`; an id as the caller sent it is cut to
    /// [`ECHO_CHARS`] characters.
    pub fn at(index: usize, id: Option<&str>, reason: &str, message: impl Into<String>) -> Self {
        Self {
            index: Some(index),
            id: id.map(|id| excerpt(id, ECHO_CHARS)),
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// Something the caller should know about an event that was still applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub code: String,
    pub message: String,
}

/// What one request did, employee by employee.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Ids created or updated in Wazzup.
    pub upserted: Vec<String>,
    /// Ids deleted from Wazzup.
    pub deleted: Vec<String>,
    /// Ids asked to be deleted that Wazzup did not have: counted as success.
    pub already_absent: Vec<String>,
    /// Events refused by validation or by Wazzup, with the reason.
    pub rejected: Vec<Rejection>,
    /// Ids that were valid but not applied because Wazzup could not be reached or refused the
    /// whole request; sending the same request again is safe.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_applied: Vec<String>,
    pub warnings: Vec<Warning>,
}

impl Summary {
    /// How many changes reached Wazzup.
    pub fn applied(&self) -> usize {
        self.upserted.len() + self.deleted.len() + self.already_absent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_use_camel_case_and_hide_empty_not_applied() {
        let summary = Summary {
            already_absent: vec!["a".into()],
            ..Summary::default()
        };
        let body = serde_json::to_value(&summary).unwrap();
        assert_eq!(body["alreadyAbsent"], serde_json::json!(["a"]));
        assert!(body.get("notApplied").is_none());
        assert_eq!(summary.applied(), 1);
    }
}

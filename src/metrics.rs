//! Metrics as CloudWatch Embedded Metric Format: one JSON line on stdout, which Lambda turns
//! into metrics with no SDK call (namespace `WazzupUserSync`, dimensions `Stack` and
//! `Function`: a dev and a prod stack in one account do not add up). Every metric's name is in
//! [`name`], the one list the template's alarms and dashboard are checked against.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

use crate::domain::SourceTime;

/// The metrics' names: what the code emits, and what the template's alarms and dashboard may
/// name (tests/template_check.py reads this module).
pub mod name {
    /// HTTP function, queued mode: changes accepted into the queue.
    pub const ACCEPTED: &str = "Accepted";
    /// HTTP function: events rejected as invalid.
    pub const REJECTED: &str = "Rejected";
    /// Changes that reached Wazzup (upserted, deleted, already absent).
    pub const APPLIED: &str = "Applied";
    /// Changes Wazzup (or the ownership rules) refused for good.
    pub const REFUSED: &str = "Refused";
    /// Changes older than what was applied, dropped.
    pub const STALE: &str = "Stale";
    /// Worker: messages handed back to be tried again.
    pub const RETRIED: &str = "Retried";
    /// Worker: messages handed back for the last time (the queue dead-letters them next).
    pub const DEAD_LETTERED: &str = "DeadLettered";
    /// Worker: how long a batch took.
    pub const WAZZUP_LATENCY: &str = "WazzupLatency";
    /// Existing Wazzup users taken over.
    pub const ADOPTED: &str = "Adopted";
    /// Dismissals that may have left someone's access in place.
    pub const UNOWNED_DISMISSALS: &str = "UnownedDismissals";
    /// Seats left in the Wazzup account, when counted.
    pub const SEATS_LEFT: &str = "SeatsLeft";
}

/// Whether metrics are written (they are, but for a local run's screen).
static SILENT: AtomicBool = AtomicBool::new(false);

/// The stack the metrics are this deployment's (`STACK_NAME`).
static STACK: OnceLock<String> = OnceLock::new();

/// Stops writing metrics, for a process whose stdout a person reads (the local runner).
pub fn silence() {
    SILENT.store(true, Ordering::Relaxed);
}

/// Names the stack the metrics carry as a dimension, once, at start.
pub fn set_stack(stack: &str) {
    let _ = STACK.set(stack.to_owned());
}

fn stack() -> &'static str {
    STACK.get().map_or("standalone", String::as_str)
}

/// The namespace the metrics are published under.
pub const NAMESPACE: &str = "WazzupUserSync";

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The EMF line for `values` of `function` in `stack`, at `now`.
pub fn line(
    (stack, function): (&str, &str),
    values: &[(&str, f64, Unit)],
    now: SourceTime,
) -> String {
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Stack", "Function"]],
                "Metrics": values
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.name()}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    document.insert("Stack".into(), json!(stack));
    document.insert("Function".into(), json!(function));
    for (name, value, _) in values {
        document.insert((*name).into(), json!(value));
    }
    Value::Object(document).to_string()
}

/// Writes the EMF line for `values` of `function` to stdout.
pub fn emit(function: &str, values: &[(&str, f64, Unit)]) {
    if !SILENT.load(Ordering::Relaxed) {
        println!("{}", line((stack(), function), values, SourceTime::now()));
    }
}

/// What a request did to whose users, as metrics: existing users taken over (`Adopted`),
/// dismissals that left a user nobody owns in place or found none while such users exist
/// (`UnownedDismissals`: access that may remain), and the seats left in the account when they
/// were counted (`SeatsLeft`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ownership {
    pub adopted: usize,
    pub unowned_dismissals: usize,
    pub seats_left: Option<usize>,
}

impl Ownership {
    /// The metrics' values, `SeatsLeft` only when it was counted.
    pub fn values(&self) -> Vec<(&'static str, f64, Unit)> {
        let mut values = vec![
            (name::ADOPTED, self.adopted as f64, Unit::Count),
            (
                name::UNOWNED_DISMISSALS,
                self.unowned_dismissals as f64,
                Unit::Count,
            ),
        ];
        if let Some(left) = self.seats_left {
            values.push((name::SEATS_LEFT, left as f64, Unit::Count));
        }
        values
    }
}

/// What a batch applied outside the worker (a direct webhook, SCIM, a full sync) came to, as
/// the same metrics the worker's batches give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub applied: usize,
    pub refused: usize,
    pub stale: usize,
    pub ownership: Ownership,
}

impl Outcome {
    /// Writes them for `function`.
    pub fn emit(&self, function: &str) {
        let mut values = vec![
            (name::APPLIED, self.applied as f64, Unit::Count),
            (name::REFUSED, self.refused as f64, Unit::Count),
            (name::STALE, self.stale as f64, Unit::Count),
        ];
        values.extend(self.ownership.values());
        emit(function, &values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_embedded_metric_format_with_the_stack() {
        let text = line(
            ("wazzup-prod", "worker"),
            &[
                (name::APPLIED, 3.0, Unit::Count),
                (name::WAZZUP_LATENCY, 12.5, Unit::Milliseconds),
            ],
            SourceTime::from_millis(1_795_413_600_000),
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["_aws"]["Timestamp"], 1_795_413_600_000i64);
        let definition = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(definition["Namespace"], NAMESPACE);
        assert_eq!(definition["Dimensions"], json!([["Stack", "Function"]]));
        assert_eq!(
            definition["Metrics"][1],
            json!({"Name": "WazzupLatency", "Unit": "Milliseconds"})
        );
        assert_eq!(
            (
                value["Stack"].clone(),
                value["Function"].clone(),
                value["Applied"].clone()
            ),
            (json!("wazzup-prod"), json!("worker"), json!(3.0))
        );
        assert!(!text.contains('\n'));
    }
}

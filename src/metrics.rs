//! Metrics as CloudWatch Embedded Metric Format: one JSON line on stdout, which Lambda turns
//! into metrics with no SDK call (namespace `WazzupUserSync`, dimension `Function`).

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

use crate::domain::SourceTime;

/// Whether metrics are written (they are, but for a local run's screen).
static SILENT: AtomicBool = AtomicBool::new(false);

/// Stops writing metrics, for a process whose stdout a person reads (the local runner).
pub fn silence() {
    SILENT.store(true, Ordering::Relaxed);
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

/// The EMF line for `values` of `function`, at `now`.
pub fn line(function: &str, values: &[(&str, f64, Unit)], now: SourceTime) -> String {
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": values
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.name()}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    document.insert("Function".into(), json!(function));
    for (name, value, _) in values {
        document.insert((*name).into(), json!(value));
    }
    Value::Object(document).to_string()
}

/// Writes the EMF line for `values` of `function` to stdout.
pub fn emit(function: &str, values: &[(&str, f64, Unit)]) {
    if !SILENT.load(Ordering::Relaxed) {
        println!("{}", line(function, values, SourceTime::now()));
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
            ("Adopted", self.adopted as f64, Unit::Count),
            (
                "UnownedDismissals",
                self.unowned_dismissals as f64,
                Unit::Count,
            ),
        ];
        if let Some(left) = self.seats_left {
            values.push(("SeatsLeft", left as f64, Unit::Count));
        }
        values
    }

    /// Writes them for `function`, when there is anything to say.
    pub fn emit(&self, function: &str) {
        if *self != Self::default() {
            emit(function, &self.values());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_embedded_metric_format() {
        let text = line(
            "worker",
            &[
                ("Applied", 3.0, Unit::Count),
                ("WazzupLatency", 12.5, Unit::Milliseconds),
            ],
            SourceTime::from_millis(1_795_413_600_000),
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["_aws"]["Timestamp"], 1_795_413_600_000i64);
        let definition = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(definition["Namespace"], NAMESPACE);
        assert_eq!(definition["Dimensions"], json!([["Function"]]));
        assert_eq!(
            definition["Metrics"][1],
            json!({"Name": "WazzupLatency", "Unit": "Milliseconds"})
        );
        assert_eq!(
            (value["Function"].clone(), value["Applied"].clone()),
            (json!("worker"), json!(3.0))
        );
        assert!(!text.contains('\n'));
    }
}

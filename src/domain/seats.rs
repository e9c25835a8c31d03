//! Who gets a seat: per source, include and exclude rules on what the source knows of a person
//! (its groups, organizational unit, department, role, a named attribute). A person gets a seat
//! when no include rule is given or one matches, and no exclude rule matches; one who does not
//! is dismissed in Wazzup like one who left. A rule is an object whose every condition must
//! hold; a condition names a fact and one value or several (any of them), compared without
//! regard to case, a value ending in `*` by its beginning:
//!
//! ```json
//! {"google": {"include": [{"orgUnit": ["/Sales", "/Sales/*"]}],
//!             "exclude": [{"group": "contractors@example.com"}]}}
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The most rules in one list, values in one condition, and characters in a name or value: the
/// rules are configuration, but a person's facts are matched against them on every event.
const MAX_RULES: usize = 100;
const MAX_VALUES: usize = 100;
const MAX_CHARS: usize = 256;

/// What a source knows of one person, by fact name (`group`, `orgUnit`, `department`, `role`,
/// `title`, `attribute.<name>`). A fact present with no values is known to be empty (no group);
/// an absent one is not known (a webhook that did not carry it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts(BTreeMap<String, Vec<String>>);

impl Facts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the fact `name` is known, with no value yet.
    pub fn know(&mut self, name: &str) -> &mut Self {
        self.0.entry(name.to_owned()).or_default();
        self
    }

    /// Adds one value of the fact `name` (blank values are left out; the fact is known). What a
    /// person carries is bounded by what carried it (a request's size, a users API's page).
    pub fn add(&mut self, name: &str, value: &str) -> &mut Self {
        let values = self.0.entry(name.to_owned()).or_default();
        let value = value.trim();
        if !value.is_empty() {
            values.push(value.to_owned());
        }
        self
    }

    /// Whether the fact `name` is known (perhaps empty).
    pub fn knows(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The values of the fact `name`.
    pub fn values(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }
}

/// One value a condition accepts, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn parse(text: &str) -> Self {
        let lower = text.trim().to_lowercase();
        match lower.strip_suffix('*') {
            Some(prefix) => Pattern::Prefix(prefix.to_owned()),
            None => Pattern::Exact(lower),
        }
    }

    fn matches(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        match self {
            Pattern::Exact(exact) => value == *exact,
            Pattern::Prefix(prefix) => value.starts_with(prefix.as_str()),
        }
    }
}

/// A fact and the values that satisfy it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    fact: String,
    /// As written, for the sources that look a value up (a group's members).
    written: Vec<String>,
    patterns: Vec<Pattern>,
}

/// Conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule(Vec<Condition>);

impl Rule {
    /// Whether the rule holds: `None` when it turns on a fact `facts` does not know (named).
    fn decide<'a>(&'a self, facts: &Facts) -> Result<bool, &'a str> {
        let mut unknown = None;
        for condition in &self.0 {
            if !facts.knows(&condition.fact) {
                unknown.get_or_insert(condition.fact.as_str());
                continue;
            }
            let holds = facts
                .values(&condition.fact)
                .iter()
                .any(|value| condition.patterns.iter().any(|p| p.matches(value)));
            if !holds {
                return Ok(false);
            }
        }
        unknown.map_or(Ok(true), Err)
    }

    fn matches(&self, facts: &Facts) -> bool {
        self.0.iter().all(|condition| {
            facts
                .values(&condition.fact)
                .iter()
                .any(|value| condition.patterns.iter().any(|p| p.matches(value)))
        })
    }
}

/// One source's rules; empty rules seat everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeatRules {
    include: Vec<Rule>,
    exclude: Vec<Rule>,
}

impl SeatRules {
    /// No rules: everyone gets a seat.
    pub const EMPTY: SeatRules = SeatRules {
        include: Vec::new(),
        exclude: Vec::new(),
    };

    /// Whether there are no rules (everyone the source lists gets a seat).
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the person these facts describe gets a seat.
    pub fn admits(&self, facts: &Facts) -> bool {
        (self.include.is_empty() || self.include.iter().any(|rule| rule.matches(facts)))
            && !self.exclude.iter().any(|rule| rule.matches(facts))
    }

    fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.include
            .iter()
            .chain(&self.exclude)
            .flat_map(|rule| &rule.0)
    }

    /// The facts the rules name, each once.
    pub fn facts(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.conditions().map(|c| c.fact.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Whether `facts` get a seat, decided on what they know: a rule that fails on a known
    /// fact fails whatever the others say, so someone in no included department is turned down
    /// without their groups. `Err` names a fact the answer turns on that `facts` do not know.
    pub fn decide<'a>(&'a self, facts: &Facts) -> Result<bool, &'a str> {
        /// Whether any of `rules` holds (`Err`: none holds, and one turns on an unknown fact).
        fn any<'a>(rules: &'a [Rule], facts: &Facts) -> Result<bool, &'a str> {
            let mut unknown = None;
            for rule in rules {
                match rule.decide(facts) {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    Err(fact) => {
                        unknown.get_or_insert(fact);
                    }
                }
            }
            unknown.map_or(Ok(false), Err)
        }
        let included = if self.include.is_empty() {
            Ok(true)
        } else {
            any(&self.include, facts)
        };
        match (included, any(&self.exclude, facts)) {
            (Ok(false), _) | (_, Ok(true)) => Ok(false),
            (Ok(true), Ok(false)) => Ok(true),
            (Err(fact), _) | (_, Err(fact)) => Err(fact),
        }
    }

    /// The values the rules give the fact `name`, as written (a source that must look a group
    /// up reads its members).
    pub fn values_of(&self, name: &str) -> Vec<&str> {
        let mut values: Vec<&str> = self
            .conditions()
            .filter(|c| c.fact == name)
            .flat_map(|c| c.written.iter().map(String::as_str))
            .collect();
        values.sort_unstable();
        values.dedup();
        values
    }

    /// Reads one source's rules: `{"include": [rule...], "exclude": [rule...]}`. `at` names
    /// the place in messages.
    pub fn parse(value: &Value, at: &str) -> Result<Self, String> {
        let Value::Object(object) = value else {
            return Err(format!(
                "{at} must be an object with \"include\" and/or \"exclude\""
            ));
        };
        if let Some(other) = object.keys().find(|k| *k != "include" && *k != "exclude") {
            return Err(format!(
                "{at} has \"{}\"; only \"include\" and \"exclude\" are known",
                clip(other)
            ));
        }
        let list = |key: &str| -> Result<Vec<Rule>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(rules)) if rules.len() <= MAX_RULES => rules
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| parse_rule(rule, &format!("{at}.{key}[{i}]")))
                    .collect(),
                Some(Value::Array(_)) => Err(format!("{at}.{key} has more than {MAX_RULES} rules")),
                Some(_) => Err(format!("{at}.{key} must be an array of rules")),
            }
        };
        Ok(Self {
            include: list("include")?,
            exclude: list("exclude")?,
        })
    }
}

fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

fn parse_rule(value: &Value, at: &str) -> Result<Rule, String> {
    let Value::Object(conditions) = value else {
        return Err(format!(
            "{at} must be an object of facts and values, such as {{\"group\": \"sales\"}}"
        ));
    };
    if conditions.is_empty() {
        return Err(format!("{at} names no fact"));
    }
    if conditions.len() > MAX_VALUES {
        return Err(format!("{at} names more than {MAX_VALUES} facts"));
    }
    conditions
        .iter()
        .map(|(fact, values)| parse_condition(fact, values, at))
        .collect::<Result<_, _>>()
        .map(Rule)
}

fn parse_condition(fact: &str, values: &Value, at: &str) -> Result<Condition, String> {
    if fact.trim().is_empty() || fact.chars().count() > MAX_CHARS {
        return Err(format!("{at} has an empty or overlong fact name"));
    }
    let at = format!("{at}.\"{}\"", clip(fact));
    let written: Vec<String> = match values {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) if many.len() <= MAX_VALUES => many
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("{at} must be a string or an array of strings"))?,
        Value::Array(_) => return Err(format!("{at} has more than {MAX_VALUES} values")),
        _ => return Err(format!("{at} must be a string or an array of strings")),
    };
    if written.is_empty() {
        return Err(format!("{at} has no value"));
    }
    if let Some(bad) = written
        .iter()
        .find(|v| v.trim().is_empty() || v.chars().count() > MAX_CHARS)
    {
        return Err(format!(
            "{at} has an empty or overlong value ({} characters)",
            bad.chars().count()
        ));
    }
    Ok(Condition {
        fact: fact.trim().to_owned(),
        patterns: written.iter().map(|v| Pattern::parse(v)).collect(),
        written: written.iter().map(|v| v.trim().to_owned()).collect(),
    })
}

/// Every source's rules (`SEAT_RULES`): a source not named seats everyone it lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeatPolicy(BTreeMap<String, SeatRules>);

impl SeatPolicy {
    /// Reads `{"<source>": {"include": [...], "exclude": [...]}, ...}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(sources) = value else {
            return Err(
                "must be a JSON object of source names, such as {\"google\": {\"include\": [...]}}"
                    .into(),
            );
        };
        Self::from_map(&sources)
    }

    fn from_map(sources: &Map<String, Value>) -> Result<Self, String> {
        sources
            .iter()
            .map(|(name, rules)| {
                SeatRules::parse(rules, &format!("\"{}\"", clip(name)))
                    .map(|rules| (name.clone(), rules))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// The rules of the source `name` (none: everyone gets a seat).
    pub fn rules(&self, name: &str) -> &SeatRules {
        static NONE: SeatRules = SeatRules::EMPTY;
        self.0.get(name).unwrap_or(&NONE)
    }

    /// The sources named, with their rules.
    pub fn sources(&self) -> impl Iterator<Item = (&str, &SeatRules)> {
        self.0.iter().map(|(name, rules)| (name.as_str(), rules))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(value: Value) -> SeatRules {
        SeatRules::parse(&value, "rules").unwrap()
    }

    fn facts(pairs: &[(&str, &[&str])]) -> Facts {
        let mut facts = Facts::new();
        for (name, values) in pairs {
            facts.know(name);
            for value in *values {
                facts.add(name, value);
            }
        }
        facts
    }

    #[test]
    fn no_rules_seat_everyone() {
        let none = SeatRules::default();
        assert!(none.is_empty() && none.admits(&Facts::new()));
        assert!(SeatPolicy::default().rules("google").admits(&Facts::new()));
    }

    #[test]
    fn an_include_rule_seats_only_those_it_matches_and_an_exclude_rule_wins() {
        let r = rules(json!({
            "include": [{"orgUnit": ["/Sales", "/Sales/*"]}, {"group": "wazzup@example.com"}],
            "exclude": [{"group": "Contractors@example.com"}]
        }));
        assert!(r.admits(&facts(&[("orgUnit", &["/Sales"]), ("group", &[])])));
        assert!(r.admits(&facts(&[("orgUnit", &["/sales/Moscow"]), ("group", &[])])));
        assert!(!r.admits(&facts(&[("orgUnit", &["/SalesOps"]), ("group", &[])])));
        assert!(r.admits(&facts(&[
            ("orgUnit", &["/"]),
            ("group", &["WAZZUP@example.com"])
        ])));
        assert!(!r.admits(&facts(&[
            ("orgUnit", &["/Sales"]),
            ("group", &["contractors@example.com"])
        ])));
        assert_eq!(r.facts(), ["group", "orgUnit"]);
        assert_eq!(
            r.values_of("group"),
            ["Contractors@example.com", "wazzup@example.com"]
        );
    }

    #[test]
    fn every_condition_of_a_rule_must_hold() {
        let r = rules(json!({"include": [{"department": "Sales", "role": ["manager", "lead"]}]}));
        assert!(r.admits(&facts(&[("department", &["sales"]), ("role", &["Lead"])])));
        assert!(!r.admits(&facts(&[("department", &["sales"]), ("role", &["intern"])])));
        assert!(!r.admits(&facts(&[("department", &["sales"])])));
    }

    #[test]
    fn a_seat_turning_on_a_fact_the_person_does_not_carry_is_undecided_and_names_it() {
        let r = rules(json!({"exclude": [{"attribute.contractor": "yes"}]}));
        assert_eq!(r.decide(&Facts::new()), Err("attribute.contractor"));
        assert_eq!(r.decide(&facts(&[("attribute.contractor", &[])])), Ok(true));
        assert!(r.admits(&facts(&[("attribute.contractor", &[])])));
        let r = rules(json!({
            "include": [{"department": "Sales", "role": "manager"}],
            "exclude": [{"group": "contractors"}]
        }));
        // Outside every include rule on what is known: no seat, whatever the rest.
        assert_eq!(r.decide(&facts(&[("department", &["Finance"])])), Ok(false));
        // Excluded on what is known: no seat.
        assert_eq!(r.decide(&facts(&[("group", &["Contractors"])])), Ok(false));
        // Included, but the exclusion turns on the unknown group.
        assert_eq!(
            r.decide(&facts(&[
                ("department", &["Sales"]),
                ("role", &["Manager"])
            ])),
            Err("group")
        );
        assert_eq!(r.decide(&facts(&[("department", &["Sales"])])), Err("role"));
        assert_eq!(
            r.decide(&facts(&[
                ("department", &["Sales"]),
                ("role", &["Manager"]),
                ("group", &[])
            ])),
            Ok(true)
        );
    }

    #[test]
    fn bad_rules_are_explained_with_their_place() {
        for (value, needle) in [
            (json!([]), "must be an object"),
            (json!({"includ": []}), "\"includ\""),
            (json!({"include": {}}), "array of rules"),
            (
                json!({"include": ["sales"]}),
                "include[0] must be an object",
            ),
            (json!({"include": [{}]}), "names no fact"),
            (
                json!({"include": [{"group": 3}]}),
                "include[0].\"group\" must be a string",
            ),
            (json!({"include": [{"group": []}]}), "has no value"),
            (
                json!({"exclude": [{"group": " "}]}),
                "empty or overlong value",
            ),
        ] {
            let error = SeatRules::parse(&value, "\"google\"").unwrap_err();
            assert!(error.contains(needle), "{value}: {error}");
        }
        let many = Value::Array(vec![json!({"group": "g"}); MAX_RULES + 1]);
        let error = SeatRules::parse(&json!({ "include": many }), "x").unwrap_err();
        assert!(error.contains("more than"), "{error}");
    }

    #[test]
    fn a_policy_names_each_source() {
        let policy = SeatPolicy::parse(
            r#"{"keycloak": {"include": [{"group": "/wazzup"}]}, "generic": {}}"#,
        )
        .unwrap();
        assert!(!policy.rules("keycloak").is_empty());
        assert!(policy.rules("generic").is_empty() && policy.rules("other").is_empty());
        assert_eq!(policy.sources().count(), 2);
        for text in ["[]", "{", r#"{"google": []}"#] {
            assert!(SeatPolicy::parse(text).is_err(), "{text}");
        }
    }
}

//! The secret's fields other than the API key, kept as given and read by name. Values never
//! appear in `Debug` output or error messages: only field names do.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde_json::Value;

use super::SecretError;

/// The fields of the secret document (or of the environment, for local runs).
#[derive(Clone, Default)]
pub struct SecretFields(BTreeMap<String, Value>);

impl std::fmt::Debug for SecretFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl SecretFields {
    pub(super) fn new(fields: BTreeMap<String, Value>) -> Self {
        Self(fields)
    }

    /// A text field, trimmed; `None` when absent, null or blank.
    pub fn text(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.trim())
                .filter(|t| !t.is_empty())
                .map(|t| SecretString::from(t.to_owned()))),
            Some(_) => Err(SecretError::Invalid(format!("\"{name}\" must be a string"))),
        }
    }

    /// A field holding one value or, during a rotation, several: a string (one value, as it
    /// is), or an array of strings.
    pub fn text_list(&self, name: &str) -> Result<Vec<SecretString>, SecretError> {
        let one = |text: &str| {
            Some(text.trim())
                .filter(|t| !t.is_empty())
                .map(|t| SecretString::from(t.to_owned()))
        };
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(one(text).into_iter().collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(one))
                .collect::<Option<Vec<_>>>()
                .map(|values| values.into_iter().flatten().collect())
                .ok_or_else(|| {
                    SecretError::Invalid(format!(
                        "\"{name}\" must be a string or an array of strings"
                    ))
                }),
            Some(_) => Err(SecretError::Invalid(format!(
                "\"{name}\" must be a string or an array of strings"
            ))),
        }
    }

    /// A field holding one or more values: an array of strings, or one string whose values are
    /// separated by spaces or commas (as an environment variable holds them).
    pub fn texts(&self, name: &str) -> Result<Vec<SecretString>, SecretError> {
        let invalid = || {
            SecretError::Invalid(format!(
                "\"{name}\" must be a string or an array of strings"
            ))
        };
        let split = |text: &str| -> Vec<SecretString> {
            text.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .map(|t| SecretString::from(t.to_owned()))
                .collect()
        };
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(split(text)),
            Some(Value::Array(items)) => items.iter().try_fold(Vec::new(), |mut all, item| {
                all.extend(split(item.as_str().ok_or_else(invalid)?));
                Ok(all)
            }),
            Some(_) => Err(invalid()),
        }
    }

    /// A field holding a JSON document (a key file): the object as it is in the secret, or
    /// text holding it (as an environment variable does). `None` when absent or blank.
    pub fn document(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        match self.0.get(name) {
            Some(Value::Object(_)) => {
                Ok(self.0.get(name).map(|v| SecretString::from(v.to_string())))
            }
            Some(Value::Array(_) | Value::Bool(_) | Value::Number(_)) => Err(SecretError::Invalid(
                format!("\"{name}\" must be a JSON object, or text holding one"),
            )),
            _ => self.text(name),
        }
    }

    /// Whether a field is set to something other than null or blank text.
    pub fn is_set(&self, name: &str) -> bool {
        match self.0.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::String(text)) => !text.trim().is_empty(),
            Some(_) => true,
        }
    }

    /// The names of the fields that are set, for logs.
    pub fn names(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(String::as_str)
            .filter(|n| self.is_set(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn fields(value: Value) -> SecretFields {
        SecretFields::new(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn texts_are_trimmed_and_blank_is_absent() {
        let f = fields(json!({"a": " x ", "b": "  ", "c": 3}));
        assert_eq!(f.text("a").unwrap().unwrap().expose_secret(), "x");
        assert!(f.text("b").unwrap().is_none() && f.text("z").unwrap().is_none());
        let error = f.text("c").unwrap_err().to_string();
        assert!(error.contains("\"c\" must be a string"), "{error}");
        assert_eq!(f.names(), ["a", "c"]);
        assert!(!format!("{f:?}").contains('x'));
    }

    #[test]
    fn lists_come_as_arrays_or_separated_text() {
        let f = fields(json!({"one": "s1, s2 s3", "many": ["s1", "s2"], "bad": [1]}));
        assert_eq!(f.texts("one").unwrap().len(), 3);
        assert_eq!(f.texts("many").unwrap().len(), 2);
        assert!(f.texts("bad").is_err());
        assert!(f.texts("none").unwrap().is_empty());
    }
}

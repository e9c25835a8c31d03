//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): parsing, and evaluation over a
//! resource as JSON.
//!
//! The whole grammar is read (`eq ne co sw ew gt ge lt le pr`, `and`, `or`, `not (...)`,
//! parentheses, `attr[filter]` value paths, schema-URN-prefixed attribute names), so that a
//! filter this service cannot answer is refused for what it asks, not for how it is written.
//! Operators and attribute names are case-insensitive, as the RFC says. Entra's non-standard
//! `emails[type eq "work"].value eq "x"` (a value path followed by a sub-attribute comparison)
//! is read as "an element of emails with type work and value x".

use serde_json::Value;

/// The core User schema URN; a path prefixed with it is the same as the bare path.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// `[urn:]attr[.sub]`: an attribute, perhaps of an extension schema, perhaps one of its
/// sub-attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN, for an extension attribute; `None` for the core User schema.
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Reads `name`, `name.sub`, or either prefixed with a schema URN and `:`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let is_urn = text
            .get(..4)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("urn:"));
        let (urn, rest) = if is_urn && text.len() > 4 {
            match text.rfind(':') {
                Some(at) => (Some(&text[..at]), &text[at + 1..]),
                None => (None, text),
            }
        } else {
            (None, text)
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (rest, None),
        };
        if !is_attr_name(attr) || sub.is_some_and(|s| !is_attr_name(s)) {
            return Err(format!("\"{text}\" is not an attribute path"));
        }
        let urn = urn
            .filter(|u| !u.eq_ignore_ascii_case(USER_SCHEMA))
            .map(str::to_owned);
        Ok(Self {
            urn,
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// True for the core attribute `attr` (any case), with no sub-attribute.
    pub fn is(&self, attr: &str) -> bool {
        self.urn.is_none() && self.sub.is_none() && self.attr.eq_ignore_ascii_case(attr)
    }

    /// The path in lower case, `attr` or `attr.sub`, for comparisons with known names.
    pub fn key(&self) -> String {
        let mut key = self.attr.to_ascii_lowercase();
        if let Some(sub) = &self.sub {
            key.push('.');
            key.push_str(&sub.to_ascii_lowercase());
        }
        key
    }
}

/// RFC 7643 §2.1: `ALPHA *(nameChar)`, plus `$ref`.
fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some('$') => name == "$ref",
        Some(c) if c.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        _ => false,
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: true when an element of the multi-valued `attr` matches `filter`, whose
    /// paths name the element's sub-attributes.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Reads a filter expression.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser::new(tokenize(text)?)?;
        let filter = parser.or_expr()?;
        match parser.peek() {
            None => Ok(filter),
            Some(token) => Err(format!("unexpected {} in the filter", token.describe())),
        }
    }

    /// Every attribute the filter reads, outermost paths only (a value path's own attribute,
    /// not the sub-attributes inside its brackets).
    pub fn attributes(&self) -> Vec<&AttrPath> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a AttrPath>) {
        match self {
            Filter::Compare { path, .. } | Filter::Present(path) => out.push(path),
            Filter::ValuePath { attr, .. } => out.push(attr),
            Filter::And(a, b) | Filter::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Filter::Not(inner) => inner.collect(out),
        }
    }

    /// The `attr eq "value"` comparisons that must all hold for the filter to hold (those
    /// joined to the top by `and` only), as (path, string value) pairs.
    pub fn required_equalities(&self) -> Vec<(&AttrPath, &str)> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: Value::String(value),
            } => vec![(path, value.as_str())],
            Filter::And(a, b) => {
                let mut out = a.required_equalities();
                out.extend(b.required_equalities());
                out
            }
            _ => Vec::new(),
        }
    }

    /// Whether `resource` (a JSON object) matches. `case_exact` says which attributes compare
    /// strings exactly; the others compare them case-insensitively.
    pub fn matches(&self, resource: &Value, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource, case_exact) && b.matches(resource, case_exact),
            Filter::Or(a, b) => a.matches(resource, case_exact) || b.matches(resource, case_exact),
            Filter::Not(inner) => !inner.matches(resource, case_exact),
            Filter::Present(path) => values_at(resource, path).iter().any(|v| is_present(v)),
            Filter::Compare { path, op, value } => {
                let exact = case_exact(path);
                let found = values_at(resource, path);
                if found.is_empty() {
                    // An absent attribute equals null and differs from everything else.
                    return match op {
                        CompareOp::Eq => value.is_null(),
                        CompareOp::Ne => !value.is_null(),
                        _ => false,
                    };
                }
                found.iter().any(|v| compare(v, *op, value, exact))
            }
            Filter::ValuePath { attr, filter } => {
                let container = match attr.urn.as_deref() {
                    None => Some(resource),
                    Some(urn) => get_ci(resource, urn),
                };
                let Some(target) = container.and_then(|c| get_ci(c, &attr.attr)) else {
                    return false;
                };
                let element_matches = |element: &Value| {
                    let inner = |path: &AttrPath| {
                        case_exact(&AttrPath {
                            urn: attr.urn.clone(),
                            attr: attr.attr.clone(),
                            sub: Some(path.attr.clone()),
                        })
                    };
                    filter.matches(element, &inner)
                };
                match target {
                    Value::Array(elements) => elements.iter().any(element_matches),
                    other => element_matches(other),
                }
            }
        }
    }
}

/// The value at `key` of an object, the key compared case-insensitively.
pub fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The values a path designates: one for a single-valued attribute, one per element (or
/// element's sub-attribute) for a multi-valued one, none when absent.
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let container = match path.urn.as_deref() {
        None => Some(resource),
        Some(urn) => get_ci(resource, urn),
    };
    let Some(value) = container.and_then(|c| get_ci(c, &path.attr)) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    match &path.sub {
        None => items,
        Some(sub) => items.into_iter().filter_map(|v| get_ci(v, sub)).collect(),
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(found: &Value, op: CompareOp, wanted: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    match (found, wanted) {
        (Value::String(found), Value::String(wanted)) => {
            let (found, wanted) = if exact {
                (found.clone(), wanted.clone())
            } else {
                (found.to_lowercase(), wanted.to_lowercase())
            };
            match op {
                CompareOp::Eq => found == wanted,
                CompareOp::Ne => found != wanted,
                CompareOp::Co => found.contains(&wanted),
                CompareOp::Sw => found.starts_with(&wanted),
                CompareOp::Ew => found.ends_with(&wanted),
                CompareOp::Gt => found > wanted,
                CompareOp::Ge => found >= wanted,
                CompareOp::Lt => found < wanted,
                CompareOp::Le => found <= wanted,
            }
        }
        (Value::Bool(found), Value::Bool(wanted)) => match op {
            CompareOp::Eq => found == wanted,
            CompareOp::Ne => found != wanted,
            _ => false,
        },
        (Value::Number(found), Value::Number(wanted)) => {
            let (Some(found), Some(wanted)) = (found.as_f64(), wanted.as_f64()) else {
                return false;
            };
            let order = found.partial_cmp(&wanted);
            match op {
                CompareOp::Eq => order == Some(Ordering::Equal),
                CompareOp::Ne => order != Some(Ordering::Equal),
                CompareOp::Gt => order == Some(Ordering::Greater),
                CompareOp::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
                CompareOp::Lt => order == Some(Ordering::Less),
                CompareOp::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
                _ => false,
            }
        }
        (Value::Null, Value::Null) => op == CompareOp::Eq,
        (_, Value::Null) => op == CompareOp::Ne,
        _ => op == CompareOp::Ne,
    }
}

/// A PATCH operation's `path`: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, with its sub-attribute when there is no filter.
    pub attr: AttrPath,
    /// The elements of a multi-valued attribute the operation applies to.
    pub filter: Option<Filter>,
    /// The sub-attribute after a filter: `value` in `emails[type eq "work"].value`.
    pub sub: Option<String>,
}

impl PatchPath {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser::new(tokenize(text)?)?;
        let Some(Token::Word(word)) = parser.next() else {
            return Err(format!("\"{text}\" is not an attribute path"));
        };
        let attr = AttrPath::parse(&word)?;
        if parser.peek().is_none() {
            return Ok(Self {
                attr,
                filter: None,
                sub: None,
            });
        }
        if parser.next() != Some(Token::LBracket) || attr.sub.is_some() {
            return Err(format!("\"{text}\" is not a valid path"));
        }
        let filter = parser.or_expr()?;
        if parser.next() != Some(Token::RBracket) {
            return Err(format!("\"{text}\": the filter is not closed with ']'"));
        }
        let sub = match parser.next() {
            None => None,
            Some(Token::Word(word)) => match word.strip_prefix('.') {
                Some(sub) if is_attr_name(sub) => Some(sub.to_owned()),
                _ => return Err(format!("\"{text}\" is not a valid path")),
            },
            Some(_) => return Err(format!("\"{text}\" is not a valid path")),
        };
        if parser.peek().is_some() {
            return Err(format!("\"{text}\" is not a valid path"));
        }
        Ok(Self {
            attr,
            filter: Some(filter),
            sub,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens and the recursive-descent parser.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Word(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::LBracket => "'['".into(),
            Token::RBracket => "']'".into(),
            Token::Str(s) => format!("the string \"{s}\""),
            Token::Word(w) => format!("\"{w}\""),
        }
    }
}

/// The longest filter (or PATCH path) read, in characters; Okta's and Entra's are far shorter.
pub const MAX_FILTER_CHARS: usize = 1000;
/// The most comparisons one filter may join with `and` / `or`.
pub const MAX_FILTER_TERMS: usize = 20;
/// The deepest nesting of `(`, `not (` and `[` in one filter.
pub const MAX_FILTER_DEPTH: usize = 5;

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    if text.chars().nth(MAX_FILTER_CHARS).is_some() {
        return Err(format!(
            "the filter is longer than {MAX_FILTER_CHARS} characters"
        ));
    }
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    '[' => Token::LBracket,
                    _ => Token::RBracket,
                });
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or("a string in the filter is not closed")?;
                let literal: String = serde_json::from_str(&text[start..=end])
                    .map_err(|_| "a string in the filter is not valid JSON".to_string())?;
                tokens.push(Token::Str(literal));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || "()[]\"".contains(c) {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text[start..end].to_owned()));
            }
        }
    }
    if tokens.is_empty() {
        return Err("the filter is empty".into());
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    /// A parser over `tokens`, refused beyond the limits on terms and nesting, so that the
    /// recursive descent below (and every walk of the tree it builds) stays shallow and small
    /// whatever a caller sends.
    fn new(tokens: Vec<Token>) -> Result<Self, String> {
        let mut depth: usize = 0;
        let mut terms: usize = 1;
        for token in &tokens {
            match token {
                Token::LParen | Token::LBracket => {
                    depth += 1;
                    if depth > MAX_FILTER_DEPTH {
                        return Err(format!(
                            "the filter nests deeper than {MAX_FILTER_DEPTH} levels"
                        ));
                    }
                }
                Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
                Token::Word(word)
                    if word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or") =>
                {
                    terms += 1;
                    if terms > MAX_FILTER_TERMS {
                        return Err(format!(
                            "the filter joins more than {MAX_FILTER_TERMS} comparisons"
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(Self { tokens, at: 0 })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn or_expr(&mut self) -> Result<Filter, String> {
        let mut left = self.and_expr()?;
        while self.peek_keyword("or") {
            self.next();
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.next();
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.peek_keyword("not") {
            self.next();
            if self.next() != Some(Token::LParen) {
                return Err("\"not\" must be followed by '('".into());
            }
            let inner = self.or_expr()?;
            if self.next() != Some(Token::RParen) {
                return Err("a '(' is not closed".into());
            }
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.next();
            let inner = self.or_expr()?;
            if self.next() != Some(Token::RParen) {
                return Err("a '(' is not closed".into());
            }
            return Ok(inner);
        }
        self.attribute_expression()
    }

    fn attribute_expression(&mut self) -> Result<Filter, String> {
        let word = match self.next() {
            Some(Token::Word(word)) => word,
            Some(other) => {
                return Err(format!("expected an attribute, found {}", other.describe()));
            }
            None => return Err("the filter ends where an attribute was expected".into()),
        };
        let path = AttrPath::parse(&word)?;
        if self.peek() == Some(&Token::LBracket) {
            if path.sub.is_some() {
                return Err(format!("\"{word}\" cannot be followed by '['"));
            }
            self.next();
            let inner = self.or_expr()?;
            if self.next() != Some(Token::RBracket) {
                return Err("a '[' is not closed".into());
            }
            // Entra's `emails[type eq "work"].value eq "x"`: a sub-attribute comparison on the
            // same element.
            if let Some(Token::Word(next)) = self.peek()
                && let Some(sub) = next.strip_prefix('.')
            {
                let sub = AttrPath::parse(sub)?;
                self.next();
                let condition = self.condition(sub)?;
                return Ok(Filter::ValuePath {
                    attr: path,
                    filter: Box::new(Filter::And(Box::new(inner), Box::new(condition))),
                });
            }
            return Ok(Filter::ValuePath {
                attr: path,
                filter: Box::new(inner),
            });
        }
        self.condition(path)
    }

    /// What follows an attribute path: `pr`, or an operator and a value.
    fn condition(&mut self, path: AttrPath) -> Result<Filter, String> {
        let op = match self.next() {
            Some(Token::Word(op)) if op.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path));
            }
            Some(Token::Word(op)) => {
                CompareOp::parse(&op).ok_or_else(|| format!("\"{op}\" is not a filter operator"))?
            }
            Some(other) => return Err(format!("expected an operator, found {}", other.describe())),
            None => return Err("the filter ends where an operator was expected".into()),
        };
        let value = match self.next() {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => serde_json::from_str::<serde_json::Number>(&w)
                    .map(Value::Number)
                    .map_err(|_| format!("\"{w}\" is not a value: quote strings"))?,
            },
            Some(other) => return Err(format!("expected a value, found {}", other.describe())),
            None => return Err("the filter ends where a value was expected".into()),
        };
        Ok(Filter::Compare { path, op, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(attr: &str) -> AttrPath {
        AttrPath::parse(attr).unwrap()
    }

    fn insensitive(_: &AttrPath) -> bool {
        false
    }

    #[test]
    fn the_filters_okta_and_entra_send_are_read() {
        // Okta and Entra: userName eq; Entra also externalId eq; both ids in quotes.
        let filter = Filter::parse(r#"userName eq "test.user@okta.local""#).unwrap();
        assert_eq!(
            filter,
            Filter::Compare {
                path: path("userName"),
                op: CompareOp::Eq,
                value: json!("test.user@okta.local")
            }
        );
        assert_eq!(
            filter.required_equalities(),
            [(&path("userName"), "test.user@okta.local")]
        );
        // Operators and attribute names are case-insensitive.
        let filter = Filter::parse(r#"ExternalId EQ "58342554-38d6""#).unwrap();
        assert!(filter.required_equalities()[0].0.is("externalId"));
        // A URN-prefixed core attribute is the bare attribute.
        let filter = Filter::parse(&format!(r#"{USER_SCHEMA}:userName eq "x""#)).unwrap();
        assert!(filter.required_equalities()[0].0.is("userName"));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let filter = Filter::parse(r#"a eq "1" or b eq "2" and not (c pr)"#).unwrap();
        let Filter::Or(left, right) = filter else {
            panic!("or is the loosest");
        };
        assert!(matches!(*left, Filter::Compare { .. }));
        let Filter::And(_, not) = *right else {
            panic!("and binds tighter than or");
        };
        assert!(matches!(*not, Filter::Not(_)));
        // Only and-joined equalities are required.
        let filter = Filter::parse(r#"userName eq "a" and displayName eq "b""#).unwrap();
        assert_eq!(filter.required_equalities().len(), 2);
        let filter = Filter::parse(r#"userName eq "a" or displayName eq "b""#).unwrap();
        assert!(filter.required_equalities().is_empty());
    }

    #[test]
    fn bad_filters_are_refused_with_a_reason() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName equals "x""#,
            r#"userName eq "x"#,
            r#"userName eq x"#,
            r#"(userName eq "x""#,
            r#"not userName eq "x""#,
            r#"userName eq "x" and"#,
            r#"9lives eq "x""#,
            r#"emails[type eq "work""#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn filters_evaluate_over_json_with_case_rules() {
        let user = json!({
            "userName": "Alex", "displayName": "Alex Salesman", "active": true,
            "emails": [{"type": "work", "value": "alex@example.com"}, {"type": "home", "value": "a@home.example"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42"}
        });
        let exact_user_name = |p: &AttrPath| p.is("userName");
        let yes = |f: &str| Filter::parse(f).unwrap().matches(&user, &exact_user_name);
        assert!(yes(r#"userName eq "Alex""#));
        assert!(
            !yes(r#"userName eq "alex""#),
            "userName compares exactly here"
        );
        assert!(yes(r#"displayName eq "alex salesman""#));
        assert!(yes(r#"displayName sw "ALEX" and displayName ew "man""#));
        assert!(yes(r#"displayName co "sales""#));
        assert!(yes("active eq true"));
        assert!(!yes("active eq false"));
        assert!(yes("title eq null"));
        assert!(!yes("title pr"));
        assert!(yes(r#"emails[type eq "work" and value co "example.com"]"#));
        assert!(!yes(r#"emails[type eq "other"]"#));
        assert!(yes(r#"emails[type eq "work"].value eq "alex@example.com""#));
        assert!(!yes(
            r#"emails[type eq "home"].value eq "alex@example.com""#
        ));
        assert!(yes(r#"emails.value eq "a@home.example""#));
        assert!(yes(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42""#
        ));
        assert!(yes(r#"not (userName eq "Bob") or title pr"#));
        assert!(
            !Filter::parse(r#"userName ne "Alex""#)
                .unwrap()
                .matches(&user, &insensitive)
        );
    }

    #[test]
    fn patch_paths_cover_attributes_sub_attributes_and_value_filters() {
        let p = PatchPath::parse("active").unwrap();
        assert!(p.attr.is("active") && p.filter.is_none());
        let p = PatchPath::parse("name.familyName").unwrap();
        assert_eq!(p.attr.key(), "name.familyname");
        let p = PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap();
        assert!(p.attr.is("emails"));
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p = PatchPath::parse(r#"phoneNumbers[type eq "mobile"]"#).unwrap();
        assert!(p.sub.is_none());
        let p = PatchPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        )
        .unwrap();
        assert_eq!(
            p.attr.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.attr.attr, "employeeNumber");
        for bad in [
            "",
            "emails[",
            r#"emails[type eq "work"]value"#,
            "name.given.more",
            "a b",
        ] {
            assert!(PatchPath::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

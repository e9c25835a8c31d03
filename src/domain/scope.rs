//! Which Wazzup users a deployment manages, and so may delete: the ownership rule.

/// Which Wazzup users this sync manages, and so may delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Users whose id starts with this prefix.
    Prefix(String),
    /// Every user of the account: only when said explicitly.
    All,
}

impl Scope {
    pub fn manages(&self, id: &str) -> bool {
        match self {
            Scope::Prefix(prefix) => id.starts_with(prefix.as_str()),
            Scope::All => true,
        }
    }
}

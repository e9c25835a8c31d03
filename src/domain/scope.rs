//! Which Wazzup users a deployment may delete: those it owns (its records say it created them
//! or took them over: see [`super::Owner`]), and, when configured, every user whose id starts
//! with a prefix, or every user of the account. A user that is neither is never deleted.

/// How far the deployment's deletions reach beyond the users it owns by its records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Only the users it owns (the default: no configuration needed).
    #[default]
    Owned,
    /// Also every user whose id starts with this prefix (`SYNC_ID_PREFIX`).
    Prefix(String),
    /// Every user of the account (`SYNC_MANAGE_ALL=true`: only when said explicitly).
    All,
}

impl Scope {
    /// Whether the configuration alone reaches the Wazzup user `id`, whoever made it.
    pub fn covers(&self, id: &str) -> bool {
        match self {
            Scope::Owned => false,
            Scope::Prefix(prefix) => id.starts_with(prefix.as_str()),
            Scope::All => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_scope_covers_users_the_records_do_not_name() {
        assert!(!Scope::Owned.covers("crm-1"));
        assert!(Scope::Prefix("crm-".into()).covers("crm-1"));
        assert!(!Scope::Prefix("crm-".into()).covers("7c1e9a20-hand-made"));
        assert!(Scope::All.covers("7c1e9a20-hand-made"));
    }
}

//! How the rest of the function gets the credentials: one trait, fixed credentials for local
//! runs and tests, and a check of the sources' fields that a provider applies to every value.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::fields::SecretFields;
use super::{Credentials, SecretError};

/// A boxed future, so that providers can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Checks the fields of a secret value (the sources' registry provides one), so that a value
/// with an unusable field is refused as a whole, never half used.
pub type FieldsCheck = fn(&SecretFields) -> Result<(), SecretError>;

/// Hands out the current credentials.
pub trait CredentialProvider: Send + Sync {
    /// The credentials to use now (from a cache when fresh).
    fn current(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>>;

    /// Called when Wazzup refused the key in `stale`: fetch the secret again, unless another
    /// request already replaced it, and return what should be tried next.
    fn refresh(
        &self,
        stale: Arc<Credentials>,
    ) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>>;
}

/// Credentials fixed at start: local runs and tests.
pub struct StaticCredentials(Arc<Credentials>);

impl StaticCredentials {
    pub fn new(credentials: Credentials) -> Self {
        Self(Arc::new(credentials))
    }

    /// Fixed credentials, refused when `check` finds an unusable field.
    pub fn checked(credentials: Credentials, check: FieldsCheck) -> Result<Self, SecretError> {
        check(&credentials.fields)?;
        Ok(Self::new(credentials))
    }
}

impl CredentialProvider for StaticCredentials {
    fn current(&self) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        let credentials = Arc::clone(&self.0);
        Box::pin(async move { Ok(credentials) })
    }

    fn refresh(
        &self,
        _stale: Arc<Credentials>,
    ) -> BoxFuture<'_, Result<Arc<Credentials>, SecretError>> {
        self.current()
    }
}

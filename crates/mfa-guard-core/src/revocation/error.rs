//! What can go wrong with the revocation store, said without secrets.

use std::fmt;

/// What kind of failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store's address cannot be used: not `redis://`, `rediss://` or
    /// `memory`, no host, a bad port or database, a password in a file.
    InvalidUrl,
    /// The store could not be reached, or refused us (authentication), while
    /// connecting.
    Unreachable,
    /// The revocation is in force in this process but not yet shared: the store is
    /// out of reach, and it waits in the pending queue sent on reconnection. Not a
    /// reason to show the user an error page.
    Queued,
    /// The store could not answer a question only it can answer (has this logout
    /// token been used before?).
    Unavailable,
    /// An id that cannot be stored: empty, or longer than
    /// [`MAX_ID_BYTES`](super::MAX_ID_BYTES), or not a session id.
    InvalidInput,
    /// The operating system gave no randomness for a session id.
    Randomness,
}

/// A failure of the revocation store. Its message never holds a password: store
/// addresses appear with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
}

impl StoreError {
    pub(crate) fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    pub(crate) fn invalid_url(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::InvalidUrl, message)
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::InvalidInput, message)
    }

    pub(crate) fn randomness() -> Self {
        Self::new(StoreErrorKind::Randomness, "the operating system's random generator failed")
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn queued(why: impl fmt::Display) -> Self {
        Self::new(
            StoreErrorKind::Queued,
            format!(
                "the revocation is in force in this process and queued for the other replicas: the \
                 session store cannot be reached ({why})"
            ),
        )
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError").field("kind", &self.kind).field("message", &self.message).finish()
    }
}

impl std::error::Error for StoreError {}

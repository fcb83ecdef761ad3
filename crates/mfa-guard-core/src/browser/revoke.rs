//! Sessions that end before their expiry, with a revocation store
//! ([`Browser::session_store`](super::Browser::session_store)): the standing of the
//! session a request carries (a local lookup), and the revocations browser mode
//! makes — the old session id at every sign-in and step-up, the session id at
//! sign-out, every session of a user ("sign out everywhere").
//!
//! Without a store every session stands: a session is then its cookie alone.

use super::mode::BrowserMode;
use super::session::Session;
use crate::revocation::{SessionId, Standing, StoreError};

/// Seconds a browser is told to wait (`Retry-After`) when the store has been out of
/// reach too long to vouch for its session.
pub(crate) const STORE_RETRY_AFTER: u64 = 5;

/// Why [`Guard::revoke_user`](crate::Guard::revoke_user) could not revoke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// The guard has no browser mode, or browser mode has no session store: a
    /// session is then its cookie alone, and nothing on the server can end one.
    #[error(
        "revoking sessions needs a session store (MFA_SESSION_STORE, or Browser::session_store): without one a session is its cookie alone"
    )]
    NoStore,
    /// The store refused or could not take the revocation.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A session id to revoke, and until when (the session's absolute expiry).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retired {
    pub(crate) sid: SessionId,
    pub(crate) until: i64,
}

impl BrowserMode {
    /// Whether `session` may still be used at `now`: [`Standing::Valid`] without a
    /// store.
    pub(crate) fn standing(&self, session: &Session, now: i64) -> Standing {
        match &self.settings.revocations {
            Some(revocations) => {
                let sid = session.id();
                revocations.standing(&session.facts(&sid), now)
            }
            None => Standing::Valid,
        }
    }

    /// What revoking `session` takes, when there is a store to revoke it in.
    pub(crate) fn retire(&self, session: &Session) -> Option<Retired> {
        self.settings.revocations.as_ref()?;
        Some(Retired { sid: session.id(), until: self.absolute_end(session) })
    }

    /// Revokes a session id. The revocation is in force in this process whatever
    /// the store answers; a store that cannot share it now is worth a warning, not
    /// an error page (the browser's cookie is replaced or cleared anyway).
    pub(crate) async fn revoke(&self, retired: Retired) {
        let Some(revocations) = &self.settings.revocations else { return };
        if let Err(e) = revocations.revoke_session(&retired.sid, retired.until).await {
            tracing::warn!(error = %e, "browser: a session id revoked here could not be shared yet");
        }
    }

    /// Signs `sub` out everywhere: every session of theirs signed in until now.
    pub(crate) async fn revoke_user(&self, sub: &str, now: i64) -> Result<(), RevokeError> {
        let revocations = self.settings.revocations.as_ref().ok_or(RevokeError::NoStore)?;
        let until = now.saturating_add(self.absolute_secs());
        revocations.revoke_user(sub, now, until).await.map_err(RevokeError::Store)
    }

    /// The absolute timeout in seconds.
    pub(crate) fn absolute_secs(&self) -> i64 {
        i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX)
    }
}

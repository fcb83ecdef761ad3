//! Ending sessions early: the revocations a browser session is checked against
//! (feature `browser`).
//!
//! Browser sessions are sealed cookies; nothing on the server ends one before its
//! expiry unless someone keeps a list of the ones that ended. [`Revocations`] is
//! that list: session ids signed out, provider sessions ended by a back-channel
//! logout, and users signed out everywhere ("every session of `sub` signed in
//! before T"). It holds revocations only, never tokens or claims.
//!
//! - **Reading is local.** [`Revocations::standing`] looks a session up in this
//!   process's memory: no I/O, no allocation, under a shared lock.
//! - **Writing is shared.** With a Redis store (`redis://…`, feature `redis`), a
//!   revocation is written to Redis and published; every replica's copy of the set
//!   is kept current by a subscription, resynchronised in full on every
//!   (re)connection, and checked live every second. Once the copy is older than
//!   the bound (default 30 s) `standing` answers [`Standing::Unknown`] (fail
//!   closed), or keeps answering for a grace period ([`FailMode::OpenFor`]).
//! - **A revocation is never lost.** Made while the store is unreachable, it is in
//!   force here at once and queued; the queue is written on reconnection.
//!
//! ```
//! use mfa_guard_core::revocation::{Revocations, SessionFacts, SessionId, Standing};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let revocations = Revocations::memory();
//! let sid = SessionId::new()?;
//! let now = 1_900_000_000;
//! let session = SessionFacts { sid: &sid, provider_sid: None, sub: Some("user-1"), signed_in_at: now - 60 };
//! assert_eq!(revocations.standing(&session, now), Standing::Valid);
//!
//! revocations.revoke_user("user-1", now, now + 12 * 3600).await?; // "sign out everywhere"
//! assert_eq!(revocations.standing(&session, now), Standing::Revoked);
//! # Ok(()) }
//! ```

mod error;
mod id;
#[cfg(feature = "redis")]
mod redis;
mod settings;
#[cfg(test)]
mod tests;
mod view;

pub use error::{StoreError, StoreErrorKind};
pub(crate) use id::SESSION_ID_BYTES;
pub use id::SessionId;
#[cfg(test)]
use settings::MIN_STALE_AFTER;
pub use settings::{DEFAULT_PREFIX, FailMode, StoreSettings};
pub(crate) use settings::{
    FileStoreKeys, StoreVariables, from_file as store_from_file, resolve as resolve_store,
};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::time::{Clock, SystemClock};
use view::{Entry, LocalView};

/// Longest provider session id, user id (`sub`) or logout-token id (`jti`)
/// accepted: these come from tokens, and each becomes a key or a set member.
pub const MAX_ID_BYTES: usize = 512;

/// Whether a session may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not revoked, as far as a current view knows.
    Valid,
    /// Revoked: the session id, its provider session, or all the user's sessions
    /// up to its sign-in.
    Revoked,
    /// Not known to be revoked, but the local view is older than the bound (and
    /// the fail mode's grace): the store has been out of reach too long to say.
    Unknown,
}

/// What a session says about itself, as the lookup needs it.
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts<'a> {
    /// The session's own id.
    pub sid: &'a SessionId,
    /// The provider's session id (the ID token's `sid`), when it gave one.
    pub provider_sid: Option<&'a str>,
    /// The user (`sub`), when known.
    pub sub: Option<&'a str>,
    /// When the session signed in (unix seconds).
    pub signed_in_at: i64,
}

/// The revocation set: one per process, shared by every guard (clones share it).
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

struct Inner {
    view: Arc<LocalView>,
    clock: Arc<dyn Clock>,
    backend: Backend,
}

enum Backend {
    Memory,
    #[cfg(feature = "redis")]
    Redis(redis::RedisStore),
}

impl Revocations {
    /// The in-process store: revocations are seen by this process only. For a
    /// single replica and for tests.
    pub fn memory() -> Self {
        Self::memory_with_clock(SystemClock)
    }

    /// The in-process store, expiring entries by `clock` (the guard's clock, in
    /// tests that move time).
    pub fn memory_with_clock(clock: impl Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                view: Arc::new(LocalView::new(None)),
                clock: Arc::new(clock),
                backend: Backend::Memory,
            }),
        }
    }

    /// Opens the store `settings` name: the memory store, or a Redis server —
    /// connected, subscribed and synchronised in full before this returns, then
    /// kept current in the background (which needs a Tokio runtime).
    ///
    /// Fails with [`StoreErrorKind::InvalidUrl`] for a Redis address in a build
    /// without the `redis` feature, and [`StoreErrorKind::Unreachable`] when the
    /// server cannot be reached or refuses the credentials.
    pub async fn connect(settings: StoreSettings) -> Result<Self, StoreError> {
        match &settings.location {
            settings::Location::Memory => Ok(Self::memory()),
            #[cfg(feature = "redis")]
            settings::Location::Redis(address) => {
                let freshness = view::Freshness { stale_after: settings.stale_after, fail: settings.fail };
                Self::redis(address, &settings.prefix, freshness, true).await
            }
            #[cfg(not(feature = "redis"))]
            settings::Location::Redis(_) => Err(StoreError::invalid_url(format!(
                "{settings}: this build has no Redis client (the `redis` feature of mfa-guard-core)"
            ))),
        }
    }

    /// A connection that only writes revocations, for tools such as `mfa-guard
    /// revoke`: no subscription, no resync, no background task, and no queue — a
    /// write the store does not take is [`StoreErrorKind::Unavailable`]. Its
    /// [`standing`](Self::standing) knows only its own revocations and answers
    /// [`Standing::Unknown`] for every other session. Fails as
    /// [`connect`](Self::connect) does; the memory store is refused (nobody would
    /// see what it writes).
    pub async fn writer(settings: StoreSettings) -> Result<Self, StoreError> {
        match &settings.location {
            settings::Location::Memory => Err(StoreError::invalid_url(
                "the memory store is one process's own: name a redis:// or rediss:// store to revoke sessions \
                 of running servers",
            )),
            #[cfg(feature = "redis")]
            settings::Location::Redis(address) => {
                let freshness = view::Freshness { stale_after: Duration::ZERO, fail: FailMode::Closed };
                Self::redis(address, &settings.prefix, freshness, false).await
            }
            #[cfg(not(feature = "redis"))]
            settings::Location::Redis(_) => Err(StoreError::invalid_url(format!(
                "{settings}: this build has no Redis client (the `redis` feature of mfa-guard-core)"
            ))),
        }
    }

    #[cfg(feature = "redis")]
    async fn redis(
        address: &settings::RedisAddress,
        prefix: &str,
        freshness: view::Freshness,
        follow: bool,
    ) -> Result<Self, StoreError> {
        let view = Arc::new(LocalView::new(Some(freshness)));
        let store = redis::RedisStore::connect(address, prefix, Arc::clone(&view), follow).await?;
        Ok(Self {
            inner: Arc::new(Inner { view, clock: Arc::new(SystemClock), backend: Backend::Redis(store) }),
        })
    }

    /// Whether `session` may be used at `now` (unix seconds): a lookup in this
    /// process's memory, no I/O.
    pub fn standing(&self, session: &SessionFacts<'_>, now: i64) -> Standing {
        self.inner.view.standing(session, now)
    }

    /// Revokes one session id until `until` (the session's absolute expiry, unix
    /// seconds), after which the entry is forgotten.
    ///
    /// The revocation is in force in this process when this returns, whatever it
    /// returns; [`StoreErrorKind::Queued`] says it is not yet shared with other
    /// replicas (it will be on reconnection).
    pub async fn revoke_session(&self, sid: &SessionId, until: i64) -> Result<(), StoreError> {
        self.revoke(Entry::Session { sid: *sid.as_bytes(), until }).await
    }

    /// Revokes every session signed in under the provider's session `provider_sid`
    /// (a back-channel logout token's `sid`), until `until`.
    pub async fn revoke_provider_session(&self, provider_sid: &str, until: i64) -> Result<(), StoreError> {
        let sid = checked_id("provider session id", provider_sid)?;
        self.revoke(Entry::ProviderSession { sid: sid.into(), until }).await
    }

    /// Signs `sub` out everywhere: every session of that user signed in at or
    /// before `before` (unix seconds) is revoked; the entry is kept until `until`
    /// (the latest absolute expiry of such a session). A session signed in the same
    /// second as `before` is revoked too: seconds cannot order the two.
    pub async fn revoke_user(&self, sub: &str, before: i64, until: i64) -> Result<(), StoreError> {
        let sub = checked_id("user id", sub)?;
        self.revoke(Entry::User { sub: sub.into(), before, until }).await
    }

    /// Records a logout token's `jti` until `until`: `true` the first time, `false`
    /// for a replay. With Redis this is one atomic `SET NX`, so a token replayed to
    /// another replica is caught too; with Redis out of reach it is
    /// [`StoreErrorKind::Unavailable`].
    pub async fn first_use(&self, jti: &str, until: i64) -> Result<bool, StoreError> {
        let jti = checked_id("logout token id (jti)", jti)?;
        let now = self.inner.clock.now_unix();
        match &self.inner.backend {
            Backend::Memory => Ok(self.inner.view.first_use(jti, until, now)),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.first_use(jti, until).await,
        }
    }

    /// How much older than a second the local view is, if the store has not
    /// confirmed it for longer than that (`None` for the memory store and for a
    /// current view). For metrics and warnings.
    pub fn stale_for(&self) -> Option<Duration> {
        self.inner.view.age().filter(|age| *age > Duration::from_secs(1))
    }

    /// Number of revocations held in this process (for metrics and sizing).
    pub fn len(&self) -> usize {
        self.inner.view.len()
    }

    /// Revocations made while the store was out of reach and not yet written to
    /// it (0 for the memory store).
    pub fn pending(&self) -> usize {
        match &self.inner.backend {
            Backend::Memory => 0,
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.pending(),
        }
    }

    /// Whether no revocation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn revoke(&self, entry: Entry) -> Result<(), StoreError> {
        let now = self.inner.clock.now_unix();
        self.inner.view.insert(entry.clone(), now);
        match &self.inner.backend {
            Backend::Memory => Ok(()),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.share(entry).await,
        }
    }
}

fn checked_id<'a>(what: &str, id: &'a str) -> Result<&'a str, StoreError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(StoreError::invalid_input(format!(
            "a {what} is 1 to {MAX_ID_BYTES} bytes (this one is {})",
            id.len()
        )));
    }
    Ok(id)
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (store, pending) = match &self.inner.backend {
            Backend::Memory => ("memory", 0),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => (store.shown(), store.pending()),
        };
        f.debug_struct("Revocations")
            .field("store", &store)
            .field("held", &self.len())
            .field("pending", &pending)
            .field("stale_for", &self.stale_for())
            .finish()
    }
}

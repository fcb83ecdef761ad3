//! The local view: every revocation this process knows of, in memory, and how
//! recently the store confirmed that view was current. [`standing`](LocalView::standing)
//! reads it under a shared lock and allocates nothing; writers (a sign-out here, a
//! message from the store, a resync page) hold the lock for one entry or one page.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::{FailMode, SESSION_ID_BYTES, SessionFacts, Standing};

/// One revocation, as stored, published and queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A session id, until its absolute expiry.
    Session { sid: [u8; SESSION_ID_BYTES], until: i64 },
    /// The provider's session id (`sid` of a back-channel logout token).
    ProviderSession { sid: Box<str>, until: i64 },
    /// Every session of `sub` signed in at or before `before`.
    User { sub: Box<str>, before: i64, until: i64 },
}

impl Entry {
    /// When the entry may be forgotten (unix seconds).
    pub(crate) fn until(&self) -> i64 {
        match self {
            Entry::Session { until, .. }
            | Entry::ProviderSession { until, .. }
            | Entry::User { until, .. } => *until,
        }
    }
}

/// The user-wide cut: sessions signed in at or before `before` are revoked.
#[derive(Debug, Clone, Copy)]
struct UserCut {
    before: i64,
    until: i64,
}

#[derive(Debug, Default)]
struct Sets {
    sessions: HashMap<[u8; SESSION_ID_BYTES], i64>,
    provider_sessions: HashMap<Box<str>, i64>,
    users: HashMap<Box<str>, UserCut>,
    /// Logout-token ids seen (the memory store's replay check).
    jtis: HashMap<Box<str>, i64>,
    /// Insertions since expired entries were last dropped.
    since_prune: usize,
}

impl Sets {
    fn len(&self) -> usize {
        self.sessions.len() + self.provider_sessions.len() + self.users.len() + self.jtis.len()
    }

    fn prune(&mut self, now: i64) {
        self.sessions.retain(|_, until| *until >= now);
        self.provider_sessions.retain(|_, until| *until >= now);
        self.users.retain(|_, cut| cut.until >= now);
        self.jtis.retain(|_, until| *until >= now);
        self.since_prune = 0;
    }

    /// Drops expired entries once the insertions since the last pass reach half the
    /// size (at least 1024): amortised constant time per insertion, and the set is
    /// never more than about half expired entries.
    fn maybe_prune(&mut self, now: i64) {
        self.since_prune += 1;
        if self.since_prune >= (self.len() / 2).max(1024) {
            self.prune(now);
        }
    }

    fn insert(&mut self, entry: Entry, now: i64) {
        if entry.until() < now {
            return;
        }
        match entry {
            Entry::Session { sid, until } => {
                let slot = self.sessions.entry(sid).or_insert(until);
                *slot = (*slot).max(until);
            }
            Entry::ProviderSession { sid, until } => {
                let slot = self.provider_sessions.entry(sid).or_insert(until);
                *slot = (*slot).max(until);
            }
            Entry::User { sub, before, until } => {
                let cut = self.users.entry(sub).or_insert(UserCut { before, until });
                cut.before = cut.before.max(before);
                cut.until = cut.until.max(until);
            }
        }
        self.maybe_prune(now);
    }
}

/// How the view's age is judged: against `stale_after`, then the fail mode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Freshness {
    pub(crate) stale_after: Duration,
    pub(crate) fail: FailMode,
}

impl Freshness {
    /// The age past which the view no longer answers.
    fn limit(self) -> Duration {
        match self.fail {
            FailMode::Closed => self.stale_after,
            FailMode::OpenFor(more) => self.stale_after.saturating_add(more),
        }
    }
}

/// The revocations this process knows of.
#[derive(Debug)]
pub(crate) struct LocalView {
    sets: RwLock<Sets>,
    /// `None` for the memory store, whose view is the whole truth.
    freshness: Option<Freshness>,
    started: Instant,
    /// Milliseconds after `started` when the store last confirmed the view current.
    confirmed_ms: AtomicU64,
}

impl LocalView {
    pub(crate) fn new(freshness: Option<Freshness>) -> Self {
        Self {
            sets: RwLock::new(Sets::default()),
            freshness,
            started: Instant::now(),
            confirmed_ms: AtomicU64::new(0),
        }
    }

    fn ms_since_start(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    /// The store confirmed, at `at`, that nothing was missed until then.
    // Used by the Redis store (and the tests).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn confirm(&self, at: Instant) {
        self.confirmed_ms.fetch_max(self.ms_since_start(at), Ordering::Relaxed);
    }

    /// How long ago the store last confirmed the view; `None` for the memory store.
    pub(crate) fn age(&self) -> Option<Duration> {
        self.freshness?;
        let confirmed = self.confirmed_ms.load(Ordering::Relaxed);
        Some(Duration::from_millis(self.ms_since_start(Instant::now()).saturating_sub(confirmed)))
    }

    /// Whether the view is older than the bound (after the fail mode's grace).
    pub(crate) fn too_old(&self) -> bool {
        match (self.freshness, self.age()) {
            (Some(f), Some(age)) => age > f.limit(),
            _ => false,
        }
    }

    pub(crate) fn insert(&self, entry: Entry, now: i64) {
        self.write().insert(entry, now);
    }

    /// Adds a page of entries under one write lock (a resync).
    // Used by the Redis store (and the tests).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn extend(&self, entries: impl IntoIterator<Item = Entry>, now: i64) {
        let mut sets = self.write();
        for entry in entries {
            sets.insert(entry, now);
        }
    }

    // Used by the Redis store (and the tests).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn prune(&self, now: i64) {
        self.write().prune(now);
    }

    /// Records `jti` until `until`; `false` if it was already recorded and unexpired.
    pub(crate) fn first_use(&self, jti: &str, until: i64, now: i64) -> bool {
        let mut sets = self.write();
        if sets.jtis.get(jti).is_some_and(|seen_until| *seen_until >= now) {
            return false;
        }
        sets.jtis.insert(jti.into(), until);
        sets.maybe_prune(now);
        true
    }

    /// Number of revocations held (sessions, provider sessions, users, logout ids).
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    pub(crate) fn standing(&self, s: &SessionFacts<'_>, now: i64) -> Standing {
        if self.is_revoked(s, now) {
            // Known revoked is revoked, however old the view: never admitted, and
            // the person is sent to sign in rather than to an error page.
            return Standing::Revoked;
        }
        if self.too_old() { Standing::Unknown } else { Standing::Valid }
    }

    fn is_revoked(&self, s: &SessionFacts<'_>, now: i64) -> bool {
        let sets = self.read();
        if sets.sessions.get(s.sid.as_bytes()).is_some_and(|until| *until >= now) {
            return true;
        }
        // Empty maps are not hashed into: most deployments never see a back-channel
        // logout or a user signed out everywhere.
        if let Some(psid) = s.provider_sid
            && !sets.provider_sessions.is_empty()
            && sets.provider_sessions.get(psid).is_some_and(|until| *until >= now)
        {
            return true;
        }
        if let Some(sub) = s.sub
            && !sets.users.is_empty()
            && let Some(cut) = sets.users.get(sub)
            && cut.until >= now
            // At or before: seconds cannot order a sign-in and a revocation made in
            // the same second, and the revocation must win.
            && s.signed_in_at <= cut.before
        {
            return true;
        }
        false
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Sets> {
        // A writer that panicked left at worst one entry half-merged into a map
        // that is still a valid map; revocations must keep being answered.
        self.sets.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Sets> {
        self.sets.write().unwrap_or_else(PoisonError::into_inner)
    }
}

//! Where a source's documents live, and for how long: a moka cache whose entries
//! are evicted when their stale-if-error window ends, and the freshness a
//! document's `Cache-Control: max-age` earns it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;

use super::{RemoteOptions, Shared};
use crate::keys::KeySet;
use crate::time::Clock;

/// The documents of one source, by kind.
pub(super) type Store = moka::sync::Cache<DocKind, Doc>;

/// A store whose entries live until their stale-if-error window ends on `clock`.
pub(super) fn new(clock: Arc<dyn Clock>) -> Store {
    moka::sync::Cache::builder().max_capacity(2).expire_after(StaleExpiry(clock)).build()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum DocKind {
    Metadata,
    Keys,
}

#[derive(Clone)]
pub(super) enum Doc {
    Metadata(Arc<Metadata>),
    Keys(Arc<Keys>),
}

impl Doc {
    fn stale_until(&self) -> i64 {
        match self {
            Doc::Metadata(m) => m.stale_until,
            Doc::Keys(k) => k.stale_until,
        }
    }
}

/// The discovery document: the issuer it declares and where its keys are.
pub(super) struct Metadata {
    pub(super) issuer: String,
    pub(super) jwks_uri: Url,
    pub(super) fresh_until: i64,
    pub(super) stale_until: i64,
}

/// The key set, and when to refresh it and to stop serving it.
pub(super) struct Keys {
    pub(super) set: KeySet,
    pub(super) refresh_at: i64,
    pub(super) stale_until: i64,
}

struct StaleExpiry(Arc<dyn Clock>);

impl moka::Expiry<DocKind, Doc> for StaleExpiry {
    fn expire_after_create(&self, _: &DocKind, doc: &Doc, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(u64::try_from(doc.stale_until() - self.0.now_unix()).unwrap_or(0)))
    }

    fn expire_after_update(
        &self,
        k: &DocKind,
        doc: &Doc,
        at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(k, doc, at)
    }
}

impl Shared {
    pub(super) fn keys(&self, now: i64) -> Option<Arc<Keys>> {
        match self.store.get(&DocKind::Keys) {
            Some(Doc::Keys(k)) if now < k.stale_until => Some(k),
            _ => None,
        }
    }

    pub(super) fn metadata(&self, now: i64) -> Option<Arc<Metadata>> {
        match self.store.get(&DocKind::Metadata) {
            Some(Doc::Metadata(m)) if now < m.stale_until => Some(m),
            _ => None,
        }
    }

    pub(super) fn ttl(&self, max_age: Option<u64>) -> i64 {
        let o = &self.options;
        let secs =
            max_age.map_or(RemoteOptions::secs(o.default_max_age), |s| i64::try_from(s).unwrap_or(i64::MAX));
        secs.clamp(RemoteOptions::secs(o.min_max_age), RemoteOptions::secs(o.max_max_age).max(1))
    }
}

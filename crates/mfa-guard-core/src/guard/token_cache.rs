//! The verified-token cache: a token already verified is recognised by a hash of the
//! whole token and not verified again.
//!
//! - The key is SHA-256 of the token, truncated to 128 bits: landing on another
//!   token's entry takes a second preimage (~2^128 work); the 2^64 birthday bound
//!   does not apply, because only tokens the issuer signed are ever cached and an
//!   attacker cannot make the issuer sign two tokens of their choosing. A fast
//!   non-cryptographic hash could be steered; this cannot. 16 bytes, not 32,
//!   because every byte of an entry counts (100 000 entries in 64 MiB).
//! - An entry lives no longer than its token's `exp` (+ leeway): moka's per-entry
//!   expiry evicts it, and a read re-checks `exp` against the guard's clock.
//! - An entry whose key has been retired (gone from a refreshed JWKS) is dropped
//!   on its next read and never served.
//! - Capacity is bounded (default 10 000 entries, least recently used evicted).
//! - Only verification is cached: route policy (caller kind, MFA, roles) runs on
//!   every request.
//! - In front of it, each thread remembers the last few tokens it admitted by their
//!   exact bytes ([`super::recent`]): a repeated token then costs a constant-time
//!   comparison, not a hash and a shared lookup.
//! - This level needs no constant-time comparison: what is looked up and compared
//!   is the digest of the presented token, never the remembered token's bytes. How
//!   long a lookup takes can tell a client at most something about digests, and a
//!   digest gives no handle on the bytes of any other token (finding a token with
//!   a given digest prefix is a preimage search).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::recent;
use crate::keys::VerifyingKey;
use crate::principal::VerifiedToken;
use crate::time::Clock;

/// Default number of verified tokens kept.
pub(crate) const DEFAULT_TOKEN_CACHE_CAPACITY: u64 = 10_000;

pub(crate) type TokenKey = [u8; 16];

pub(crate) struct TokenCache {
    /// Never reused, so a thread's remembered tokens can never be taken for another
    /// guard's (an address could be reused after a guard is dropped).
    id: usize,
    cache: moka::sync::Cache<TokenKey, Arc<VerifiedToken>>,
    leeway: i64,
}

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

struct UntilExp {
    clock: Arc<dyn Clock>,
    leeway: i64,
}

impl moka::Expiry<TokenKey, Arc<VerifiedToken>> for UntilExp {
    fn expire_after_create(&self, _: &TokenKey, v: &Arc<VerifiedToken>, _: Instant) -> Option<Duration> {
        let left = v.exp.saturating_add(self.leeway).saturating_sub(self.clock.now_unix());
        Some(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
    }
}

impl TokenCache {
    /// A cache of `capacity` entries; `None` when capacity is 0 (caching disabled).
    pub(crate) fn new(capacity: u64, clock: Arc<dyn Clock>, leeway: i64) -> Option<Self> {
        (capacity > 0).then(|| Self {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExp { clock, leeway })
                .build(),
            leeway,
        })
    }

    pub(crate) fn key(token: &[u8]) -> TokenKey {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token);
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest.as_ref()[..16]);
        key
    }

    fn usable(&self, entry: &VerifiedToken, now: i64) -> bool {
        now <= entry.exp.saturating_add(self.leeway)
            && !entry.key.as_deref().is_some_and(VerifyingKey::is_retired)
    }

    /// The verified token for exactly these bytes, and the bytes as a shared copy
    /// (which the principal keeps for its lazy claims).
    pub(crate) fn get(&self, token: &[u8], now: i64) -> Option<(Arc<[u8]>, Arc<VerifiedToken>)> {
        if let Some((text, entry)) = recent::lookup(self.id, token) {
            if self.usable(&entry, now) {
                return Some((text, entry));
            }
            recent::forget(self.id, token);
        }
        let key = Self::key(token);
        let entry = self.cache.get(&key)?;
        if !self.usable(&entry, now) {
            self.cache.invalidate(&key);
            return None;
        }
        let text: Arc<[u8]> = Arc::from(token);
        recent::remember(self.id, Arc::clone(&text), Arc::clone(&entry));
        Some((text, entry))
    }

    /// Caches a token that was just verified.
    pub(crate) fn insert(&self, token: &[u8], verified: &Arc<VerifiedToken>) {
        self.cache.insert(Self::key(token), Arc::clone(verified));
        recent::remember(self.id, Arc::from(token), Arc::clone(verified));
    }

    #[cfg(test)]
    pub(crate) fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}

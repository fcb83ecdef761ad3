//! Remote key sources: a JWKS URL, or OIDC discovery (`/.well-known/openid-configuration`
//! → `jwks_uri` and the `issuer` it declares).
//!
//! The behaviour, all of it per source and shared by every adapter using the guard:
//!
//! - **Store**: fetched documents live in a moka cache, each entry evicted when its
//!   stale-if-error window ends. The hot path ([`KeyProvider::lookup`]) is one cache
//!   read and never waits.
//! - **Freshness**: `Cache-Control: max-age` clamped to `[min_max_age, max_max_age]`
//!   (default 1 h when absent). From 75% of that age a lookup starts one background
//!   refresh, so no request waits on a refresh while its key is known.
//! - **Single flight**: every fetch (cold start, unknown `kid`, refresh) goes through
//!   one per-source lock; whoever waited for it reuses its outcome. N concurrent
//!   first requests cause one discovery fetch and one JWKS fetch.
//! - **Unknown `kid`**: one refetch, at most once per cooldown (default 30 s). Within
//!   the cooldown an unknown `kid` is answered at once from the current set.
//! - **Failures**: timeouts, non-2xx, oversized or unparsable answers are logged at
//!   `warn` and retried with exponential backoff and jitter, whichever document
//!   failed (an issuer known only from discovery waits out the backoff like a
//!   missing key does, instead of fetching per request); the last good set keeps
//!   serving for the stale-if-error window (default 24 h). A `kid` never seen while
//!   the source is down is `key_source_unavailable` (503, `Retry-After`).
//! - **Fetches run detached** from the request that needed them: a client that
//!   disconnects cannot cancel a fetch others are waiting on.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;

use super::fetch::{self, check_url};
use super::static_source::unknown_key_error;
use super::{IssuerFuture, KeyError, KeyFuture, KeyProvider, KeySet, Lookup, PrefetchFuture, VerifyingKey};
use crate::algorithm::Algorithm;
use crate::time::{Clock, SystemClock};

/// Settings of a remote key source; the defaults are the documented ones.
#[derive(Clone)]
#[must_use]
pub struct RemoteOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) default_max_age: Duration,
    pub(crate) min_max_age: Duration,
    pub(crate) max_max_age: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) stale_if_error: Duration,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) client: Option<reqwest::Client>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_bytes: 512 * 1024,
            default_max_age: Duration::from_secs(3600),
            min_max_age: Duration::from_secs(60),
            max_max_age: Duration::from_secs(24 * 3600),
            cooldown: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(24 * 3600),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            client: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl RemoteOptions {
    /// The defaults: timeouts 2 s (connect) and 5 s (total), 512 KiB answers, 1 h
    /// when no max-age, max-age clamped to 1 min..24 h, 30 s unknown-kid cooldown,
    /// 24 h stale-if-error, backoff from 1 s to 5 min.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time allowed to connect (for the built-in client).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Time allowed for a whole fetch, body included (applies to any client).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Largest answer read.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Freshness when the answer has no `Cache-Control: max-age`.
    pub fn default_max_age(mut self, t: Duration) -> Self {
        self.default_max_age = t;
        self
    }

    /// Bounds applied to the server's max-age.
    pub fn max_age_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_max_age = min;
        self.max_max_age = max;
        self
    }

    /// Least time between two refetches caused by unknown `kid`s.
    pub fn unknown_kid_cooldown(mut self, t: Duration) -> Self {
        self.cooldown = t;
        self
    }

    /// How long the last good keys keep serving while the source fails.
    pub fn stale_if_error(mut self, t: Duration) -> Self {
        self.stale_if_error = t;
        self
    }

    /// Backoff after failed fetches: first wait and cap (doubling, ±20% jitter).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }

    /// Uses this HTTP client (proxies, custom CAs, its own timeouts). The total
    /// timeout and size cap above still apply.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The clock that ages documents (tests pin it).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn secs(d: Duration) -> i64 {
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
    }
}

impl fmt::Debug for RemoteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .field("default_max_age", &self.default_max_age)
            .field("cooldown", &self.cooldown)
            .field("stale_if_error", &self.stale_if_error)
            .field("custom_client", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

/// What is fetched first.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// A JWKS document.
    Jwks(Url),
    /// An OIDC discovery document naming the JWKS and the issuer.
    Discovery(Url),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DocKind {
    Metadata,
    Keys,
}

#[derive(Clone)]
enum Doc {
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

struct Metadata {
    issuer: String,
    jwks_uri: Url,
    fresh_until: i64,
    stale_until: i64,
}

struct Keys {
    set: KeySet,
    refresh_at: i64,
    stale_until: i64,
}

#[derive(Default)]
struct State {
    /// Completed fetch attempts.
    attempts: u64,
    /// Why the latest attempt failed (`None`: it succeeded, or none ran yet).
    last_failure: Option<String>,
    /// Consecutive failed attempts.
    failures: u32,
    /// No attempt before this time (backoff).
    retry_at: i64,
    /// When an unknown `kid` last caused a refetch.
    unknown_kid_at: Option<i64>,
    /// A background refresh task is running.
    refreshing: bool,
}

/// A key provider over a JWKS URL or OIDC discovery.
#[derive(Clone)]
pub(crate) struct RemoteKeys {
    shared: Arc<Shared>,
}

struct Shared {
    origin: Origin,
    options: RemoteOptions,
    client: reqwest::Client,
    store: moka::sync::Cache<DocKind, Doc>,
    fetch_lock: tokio::sync::Mutex<()>,
    state: Mutex<State>,
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

impl RemoteKeys {
    pub(crate) fn new(origin: Origin, options: RemoteOptions) -> Result<Self, String> {
        let client = match &options.client {
            Some(c) => c.clone(),
            None => fetch::default_client(options.connect_timeout, options.timeout)?,
        };
        let store = moka::sync::Cache::builder()
            .max_capacity(2)
            .expire_after(StaleExpiry(Arc::clone(&options.clock)))
            .build();
        Ok(Self {
            shared: Arc::new(Shared {
                origin,
                options,
                client,
                store,
                fetch_lock: tokio::sync::Mutex::new(()),
                state: Mutex::new(State::default()),
            }),
        })
    }
}

impl Shared {
    fn now(&self) -> i64 {
        self.options.clock.now_unix()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain data updated in one step; a panic elsewhere cannot leave
        // it half-written, so a poisoned lock is still good to read.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self) -> &Url {
        match &self.origin {
            Origin::Jwks(u) | Origin::Discovery(u) => u,
        }
    }

    fn keys(&self, now: i64) -> Option<Arc<Keys>> {
        match self.store.get(&DocKind::Keys) {
            Some(Doc::Keys(k)) if now < k.stale_until => Some(k),
            _ => None,
        }
    }

    fn metadata(&self, now: i64) -> Option<Arc<Metadata>> {
        match self.store.get(&DocKind::Metadata) {
            Some(Doc::Metadata(m)) if now < m.stale_until => Some(m),
            _ => None,
        }
    }

    fn unavailable(&self, state: &State, now: i64) -> KeyError {
        let retry_after = u64::try_from(state.retry_at - now).unwrap_or(0).max(1);
        let why = state.last_failure.as_deref().unwrap_or("no answer yet");
        KeyError::unavailable(format!("the key source {} cannot be fetched ({why})", self.url()), retry_after)
    }

    fn backoff(&self, failures: u32) -> i64 {
        let base = self.options.backoff_base.as_secs_f64();
        let max = self.options.backoff_max.as_secs_f64();
        let exp = base * 2f64.powi(failures.saturating_sub(1).min(30) as i32);
        let mut jitter = [0u8; 2];
        let _ = aws_lc_rs::rand::fill(&mut jitter);
        let factor = 0.8 + 0.4 * f64::from(u16::from_le_bytes(jitter)) / f64::from(u16::MAX);
        (exp.min(max) * factor).ceil() as i64
    }

    /// The answer to give without fetching while the backoff of a failed fetch
    /// lasts: `None` once it is over, or while a fetch is under way (whose outcome
    /// [`load`](Self::load) then shares).
    fn backing_off(&self, now: i64) -> Option<KeyError> {
        let state = self.state();
        (now < state.retry_at && self.fetch_lock.try_lock().is_ok()).then(|| self.unavailable(&state, now))
    }

    /// Fetches, or waits for the fetch in progress and takes its outcome.
    async fn load(self: Arc<Self>) -> Result<Arc<Keys>, KeyError> {
        let seen = self.state().attempts;
        let _permit = self.fetch_lock.lock().await;
        {
            let state = self.state();
            let now = self.now();
            if state.attempts != seen {
                return match (&state.last_failure, self.keys(now)) {
                    (None, Some(keys)) => Ok(keys),
                    _ => Err(self.unavailable(&state, now)),
                };
            }
            // Callers check the backoff before coming here, but one that checked while
            // a failing fetch still held the lock (its state already written) would
            // otherwise fetch again at once.
            if now < state.retry_at {
                return Err(self.unavailable(&state, now));
            }
        }
        let started = std::time::Instant::now();
        let result = self.fetch_all().await;
        crate::metrics::key_fetch(result.is_ok());
        let now = self.now();
        let mut state = self.state();
        state.attempts += 1;
        match &result {
            Ok(keys) => {
                tracing::debug!(
                    source = %self.url(),
                    keys = keys.set.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "fetched signing keys"
                );
                state.failures = 0;
                state.retry_at = 0;
                state.last_failure = None;
                Ok(Arc::clone(keys))
            }
            Err(why) => {
                state.failures += 1;
                state.retry_at = now + self.backoff(state.failures);
                state.last_failure = Some(why.clone());
                tracing::warn!(
                    source = %self.url(),
                    error = %why,
                    failures = state.failures,
                    retry_in_s = state.retry_at - now,
                    "cannot fetch signing keys; serving the last good keys if any"
                );
                Err(self.unavailable(&state, now))
            }
        }
    }

    async fn fetch_all(&self) -> Result<Arc<Keys>, String> {
        let now = self.now();
        let jwks_uri = match &self.origin {
            Origin::Jwks(url) => url.clone(),
            Origin::Discovery(url) => match self.metadata(now) {
                Some(m) if now < m.fresh_until => m.jwks_uri.clone(),
                current => match self.fetch_metadata(url).await {
                    Ok(m) => m.jwks_uri.clone(),
                    Err(e) => match current {
                        Some(m) => {
                            tracing::warn!(source = %url, error = %e, "cannot refresh discovery; using the last good document");
                            m.jwks_uri.clone()
                        }
                        None => return Err(e),
                    },
                },
            },
        };
        let fetched = fetch::fetch(&self.client, &jwks_uri, self.options.max_bytes, self.options.timeout)
            .await
            .map_err(|e| format!("JWKS {jwks_uri}: {e}"))?;
        let set = KeySet::from_json(&fetched.body).map_err(|e| format!("JWKS {jwks_uri}: {e}"))?;
        let now = self.now();
        let set = match self.keys(now) {
            Some(previous) => previous.set.succeed(set),
            None => set,
        };
        let ttl = self.ttl(fetched.max_age);
        let keys = Arc::new(Keys {
            set,
            refresh_at: now + ttl * 3 / 4,
            stale_until: now + ttl + RemoteOptions::secs(self.options.stale_if_error),
        });
        self.store.insert(DocKind::Keys, Doc::Keys(Arc::clone(&keys)));
        Ok(keys)
    }

    async fn fetch_metadata(&self, url: &Url) -> Result<Arc<Metadata>, String> {
        #[derive(Deserialize)]
        struct Raw {
            issuer: String,
            jwks_uri: String,
        }
        let fetched = fetch::fetch(&self.client, url, self.options.max_bytes, self.options.timeout)
            .await
            .map_err(|e| format!("discovery {url}: {e}"))?;
        let raw: Raw = serde_json::from_slice(&fetched.body)
            .map_err(|_| format!("discovery {url}: not an OpenID configuration with issuer and jwks_uri"))?;
        if raw.issuer.is_empty() {
            return Err(format!("discovery {url}: empty issuer"));
        }
        let jwks_uri = check_url(&raw.jwks_uri).map_err(|e| format!("discovery {url}: jwks_uri {e}"))?;
        let now = self.now();
        let ttl = self.ttl(fetched.max_age);
        let m = Arc::new(Metadata {
            issuer: raw.issuer,
            jwks_uri,
            fresh_until: now + ttl,
            stale_until: now + ttl + RemoteOptions::secs(self.options.stale_if_error),
        });
        self.store.insert(DocKind::Metadata, Doc::Metadata(Arc::clone(&m)));
        Ok(m)
    }

    fn ttl(&self, max_age: Option<u64>) -> i64 {
        let o = &self.options;
        let secs =
            max_age.map_or(RemoteOptions::secs(o.default_max_age), |s| i64::try_from(s).unwrap_or(i64::MAX));
        secs.clamp(RemoteOptions::secs(o.min_max_age), RemoteOptions::secs(o.max_max_age).max(1))
    }

    /// Runs [`load`](Self::load) detached from the caller, so dropping the caller's
    /// future (a client gone) does not cancel a fetch others may be waiting on.
    async fn load_detached(self: &Arc<Self>) -> Result<Arc<Keys>, KeyError> {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn(Arc::clone(self).load()).await {
                Ok(result) => result,
                Err(_) => Err(KeyError::unavailable("the key fetch task was cancelled", 1)),
            },
            Err(_) => Arc::clone(self).load().await,
        }
    }

    /// Starts one background refresh if none runs and backoff allows.
    fn refresh_in_background(self: &Arc<Self>, now: i64) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        {
            let mut state = self.state();
            if state.refreshing || now < state.retry_at {
                return;
            }
            state.refreshing = true;
        }
        let shared = Arc::clone(self);
        handle.spawn(async move {
            let _ = Arc::clone(&shared).load().await;
            shared.state().refreshing = false;
        });
    }

    async fn resolve(
        self: Arc<Self>,
        kid: Option<String>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyError> {
        let now = self.now();
        let find = |keys: &Keys| keys.set.find(kid.as_deref(), alg).map(Arc::clone);
        if let Some(keys) = self.keys(now) {
            let miss = match find(&keys) {
                Ok(key) => return Ok(key),
                Err(miss) => miss,
            };
            // The set is known and lacks this kid.
            let wait_for_fetch = {
                let mut state = self.state();
                let in_cooldown = state
                    .unknown_kid_at
                    .is_some_and(|t| now < t + RemoteOptions::secs(self.options.cooldown));
                let failed = state.last_failure.is_some();
                if in_cooldown && self.fetch_lock.try_lock().is_err() {
                    true
                } else if in_cooldown && !failed {
                    return Err(unknown_key_error(kid.as_deref(), miss));
                } else if now < state.retry_at {
                    return Err(self.unavailable(&state, now));
                } else {
                    state.unknown_kid_at = Some(now);
                    false
                }
            };
            if wait_for_fetch {
                // A refetch is under way: its result is the freshest answer there is.
                drop(self.fetch_lock.lock().await);
                let now = self.now();
                let state = self.state();
                return match self.keys(now).map(|k| find(&k)) {
                    Some(Ok(key)) => Ok(key),
                    Some(Err(miss)) if state.last_failure.is_none() => {
                        Err(unknown_key_error(kid.as_deref(), miss))
                    }
                    _ => Err(self.unavailable(&state, now)),
                };
            }
        } else if let Some(e) = self.backing_off(now) {
            // Nothing usable (cold start, or the stale-if-error window has passed)
            // and the last fetch failed moments ago.
            return Err(e);
        }
        let keys = self.load_detached().await?;
        find(&keys).map_err(|miss| unknown_key_error(kid.as_deref(), miss))
    }
}

impl KeyProvider for RemoteKeys {
    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
        let shared = &self.shared;
        let now = shared.now();
        let Some(keys) = shared.keys(now) else { return Lookup::NotLoaded };
        if now >= keys.refresh_at {
            shared.refresh_in_background(now);
        }
        match keys.set.find(kid, alg) {
            Ok(key) => Lookup::Found(Arc::clone(key)),
            Err(_) => Lookup::Missing,
        }
    }

    fn resolve<'a>(&'a self, kid: Option<&'a str>, alg: Algorithm) -> KeyFuture<'a> {
        Box::pin(Arc::clone(&self.shared).resolve(kid.map(str::to_owned), alg))
    }

    fn declares_issuer(&self) -> bool {
        matches!(self.shared.origin, Origin::Discovery(_))
    }

    fn declared_issuer(&self) -> Option<String> {
        let shared = &self.shared;
        shared.metadata(shared.now()).map(|m| m.issuer.clone())
    }

    fn prefetch(&self) -> PrefetchFuture<'_> {
        Box::pin(async move {
            if self.shared.keys(self.shared.now()).is_some() {
                return Ok(());
            }
            self.shared.load_detached().await.map(|_| ())
        })
    }

    fn issuer(&self) -> IssuerFuture<'_> {
        Box::pin(async move {
            if !matches!(self.shared.origin, Origin::Discovery(_)) {
                return Ok(None);
            }
            if let Some(issuer) = self.declared_issuer() {
                return Ok(Some(issuer));
            }
            // Every token of this issuer asks, so a failing discovery endpoint gets
            // the backoff the key path gives it, not one fetch per request.
            if let Some(e) = self.shared.backing_off(self.shared.now()) {
                return Err(e);
            }
            self.shared.load_detached().await?;
            Ok(self.declared_issuer())
        })
    }
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, url) = match &self.shared.origin {
            Origin::Jwks(u) => ("jwks_url", u),
            Origin::Discovery(u) => ("discovery", u),
        };
        f.debug_struct("RemoteKeys")
            .field(kind, &url.as_str())
            .field("options", &self.shared.options)
            .finish()
    }
}

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

mod documents;
mod flight;
mod options;
mod resolve;
mod store;

use std::fmt;
use std::sync::{Arc, Mutex};

use reqwest::Url;

use super::error::UnusableUrl;
use super::fetch;
use super::{IssuerFuture, KeyFuture, KeyProvider, Lookup, PrefetchFuture};
use crate::algorithm::Algorithm;
use flight::State;
pub use options::RemoteOptions;
use store::Store;

/// What is fetched first.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// A JWKS document.
    Jwks(Url),
    /// An OIDC discovery document naming the JWKS and the issuer.
    Discovery(Url),
}

/// A key provider over a JWKS URL or OIDC discovery.
#[derive(Clone)]
pub(crate) struct RemoteKeys {
    shared: Arc<Shared>,
}

/// A source: what it fetches and how, its documents, and the lock and state that
/// make one flight of each fetch. Each job is an `impl` in a file of its own:
/// `store.rs` (documents and their freshness), `documents.rs` (fetching and reading
/// them), `flight.rs` (single flight, backoff, detached and background fetches),
/// `resolve.rs` (a key not in hand, and the unknown-`kid` cooldown).
struct Shared {
    origin: Origin,
    options: RemoteOptions,
    client: reqwest::Client,
    store: Store,
    fetch_lock: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

impl RemoteKeys {
    pub(crate) fn new(origin: Origin, options: RemoteOptions) -> Result<Self, UnusableUrl> {
        let client = match &options.client {
            Some(c) => c.clone(),
            None => fetch::default_client(options.connect_timeout, options.timeout)?,
        };
        let store = store::new(Arc::clone(&options.clock));
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

    fn url(&self) -> &Url {
        match &self.origin {
            Origin::Jwks(u) | Origin::Discovery(u) => u,
        }
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

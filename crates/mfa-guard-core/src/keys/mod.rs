//! Where verification keys come from.
//!
//! A [`KeySource`] is what a guard holds per issuer. It wraps a [`KeyProvider`]: the
//! static set here, or the remote, cached sources (JWKS URL, OIDC discovery). The
//! provider contract has a synchronous half that the hot path calls on every
//! verification ([`KeyProvider::lookup`], no I/O, no await) and an asynchronous half
//! called only when that misses ([`KeyProvider::resolve`], which may fetch).

mod error;
mod fetch;
mod jwk;
mod prepared;
mod remote;
mod set;
mod static_source;

pub use error::{InvalidKey, KeySetError, UnusableUrl};
pub use jwk::{MAX_RSA_BITS, MIN_RSA_BITS, VerifyingKey};
pub use remote::RemoteOptions;
pub use set::{KeyMiss, KeySet, MAX_KEYS};
pub use static_source::StaticKeys;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::algorithm::Algorithm;

/// The answer of [`KeyProvider::lookup`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Lookup {
    /// The key, known now.
    Found(Arc<VerifyingKey>),
    /// Keys are loaded but none fits; [`KeyProvider::resolve`] decides whether to refetch.
    Missing,
    /// Nothing is loaded yet; [`KeyProvider::resolve`] loads.
    NotLoaded,
}

/// Why no key could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    kind: KeyErrorKind,
    message: String,
}

/// The kind of a [`KeyError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyErrorKind {
    /// The issuer's current keys do not hold the token's key: the token is invalid.
    UnknownKey,
    /// The keys could not be fetched: the token may be fine, ask again later.
    Unavailable {
        /// Seconds to wait before retrying.
        retry_after: u64,
    },
}

impl KeyError {
    /// The issuer has no such key.
    pub fn unknown_key(message: impl Into<String>) -> Self {
        Self { kind: KeyErrorKind::UnknownKey, message: message.into() }
    }

    /// The key source cannot be reached or answered badly.
    pub fn unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        Self { kind: KeyErrorKind::Unavailable { retry_after }, message: message.into() }
    }

    /// The kind.
    pub fn kind(&self) -> KeyErrorKind {
        self.kind
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KeyError {}

/// The future of [`KeyProvider::resolve`].
pub type KeyFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<VerifyingKey>, KeyError>> + Send + 'a>>;

/// The future of [`KeyProvider::issuer`].
pub type IssuerFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<String>, KeyError>> + Send + 'a>>;

/// The future of [`KeyProvider::prefetch`].
pub type PrefetchFuture<'a> = Pin<Box<dyn Future<Output = Result<(), KeyError>> + Send + 'a>>;

/// A supplier of verification keys for one issuer.
///
/// Implement it to plug in a key store of your own; the built-in ones are reached
/// through [`KeySource`]'s constructors.
pub trait KeyProvider: Send + Sync + fmt::Debug + 'static {
    /// The key for `kid` if it is known now. Called for every token that is not in
    /// the verified-token cache, so it must not block.
    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup;

    /// Finds a key that [`lookup`](Self::lookup) did not have: loads on a cold start,
    /// and may refetch (once, coalesced, rate-limited) for an unknown `kid`.
    fn resolve<'a>(&'a self, kid: Option<&'a str>, alg: Algorithm) -> KeyFuture<'a>;

    /// Whether this source declares the issuer its keys belong to (OIDC discovery
    /// does), so that a guard may take the issuer from it
    /// ([`VerifierBuilder::issuer_from_keys`](crate::VerifierBuilder::issuer_from_keys)).
    fn declares_issuer(&self) -> bool {
        false
    }

    /// The issuer this source declares (OIDC discovery's `issuer`), if it declares
    /// one and it is known without I/O.
    fn declared_issuer(&self) -> Option<String> {
        None
    }

    /// Loads what is needed to know [`declared_issuer`](Self::declared_issuer).
    fn issuer(&self) -> IssuerFuture<'_> {
        Box::pin(std::future::ready(Ok(self.declared_issuer())))
    }

    /// Loads the keys now, as the first request would (a remote source fetches;
    /// a static one has nothing to do): for a warm start, and so that a source that
    /// cannot be reached is reported at start rather than at the first request.
    fn prefetch(&self) -> PrefetchFuture<'_> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The keys of one issuer: a static set, or a remote source (see the constructors).
///
/// Remote constructors never fail: a bad URL is reported when the guard is built,
/// so `.keys(KeySource::discovery(url))` reads as one expression.
#[derive(Clone)]
pub struct KeySource {
    provider: Arc<dyn KeyProvider>,
    hmac: bool,
    error: Option<Arc<UnusableUrl>>,
}

impl KeySource {
    /// A fixed key set.
    pub fn jwks(set: KeySet) -> Self {
        Self::custom(StaticKeys::new(set))
    }

    /// A fixed key set from a JWKS document.
    pub fn jwks_json(json: &[u8]) -> Result<Self, KeySetError> {
        Ok(Self::jwks(KeySet::from_json(json)?))
    }

    /// A fixed key set read from a JWKS file (at most 512 KiB).
    pub fn jwks_file(path: impl AsRef<std::path::Path>) -> Result<Self, KeySetError> {
        let path = path.as_ref();
        let json = crate::file::read_capped(path, 512 * 1024)
            .map_err(|e| KeySetError::Unreadable { path: path.to_owned(), reason: e.to_string() })?;
        Self::jwks_json(&json).map_err(|e| KeySetError::File { path: path.to_owned(), error: Box::new(e) })
    }

    /// A shared HMAC secret: the only way HS256/384/512 tokens can ever verify.
    ///
    /// Symmetric tokens let anyone who can verify also mint; prefer asymmetric keys.
    pub fn hmac_secret(secret: impl AsRef<[u8]>) -> Self {
        let set = KeySet::from_keys([VerifyingKey::hmac(secret.as_ref(), None)]);
        Self { hmac: true, ..Self::custom(StaticKeys::new(set)) }
    }

    /// A JWKS document at `url` (HTTPS, or HTTP on loopback), cached and refreshed
    /// with the default [`RemoteOptions`].
    pub fn jwks_url(url: impl AsRef<str>) -> Self {
        Self::jwks_url_with(url, RemoteOptions::default())
    }

    /// A JWKS document at `url` with these options.
    pub fn jwks_url_with(url: impl AsRef<str>, options: RemoteOptions) -> Self {
        Self::remote(url.as_ref(), options, false)
    }

    /// OIDC discovery: the document at `url` (usually ending in
    /// `/.well-known/openid-configuration`) names the JWKS (`jwks_uri`) and the
    /// issuer, which is expected unless the guard configures one itself.
    pub fn discovery(url: impl AsRef<str>) -> Self {
        Self::discovery_with(url, RemoteOptions::default())
    }

    /// OIDC discovery with these options.
    pub fn discovery_with(url: impl AsRef<str>, options: RemoteOptions) -> Self {
        Self::remote(url.as_ref(), options, true)
    }

    fn remote(url: &str, options: RemoteOptions, discovery: bool) -> Self {
        let built = fetch::check_url(url).and_then(|url| {
            let origin = if discovery { remote::Origin::Discovery(url) } else { remote::Origin::Jwks(url) };
            remote::RemoteKeys::new(origin, options)
        });
        match built {
            Ok(provider) => Self { provider: Arc::new(provider), hmac: false, error: None },
            Err(e) => Self {
                provider: Arc::new(StaticKeys::new(KeySet::default())),
                hmac: false,
                error: Some(Arc::new(e)),
            },
        }
    }

    /// Any provider (a key store of your own). It can stand for an issuer without
    /// one being configured when its [`KeyProvider::declares_issuer`] says so.
    pub fn custom(provider: impl KeyProvider) -> Self {
        Self { provider: Arc::new(provider), hmac: false, error: None }
    }

    /// Why this source cannot work, if it cannot (reported by `GuardBuilder::build`).
    pub fn error(&self) -> Option<&UnusableUrl> {
        self.error.as_deref()
    }

    /// Whether the source declares its issuer (OIDC discovery).
    pub fn declares_issuer(&self) -> bool {
        self.provider.declares_issuer()
    }

    /// The provider behind this source.
    pub fn provider(&self) -> &dyn KeyProvider {
        &*self.provider
    }

    pub(crate) fn has_hmac(&self) -> bool {
        self.hmac
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.provider, f)
    }
}

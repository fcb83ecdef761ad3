//! A fixed key set: configured keys, a JWKS file, a shared secret.

use std::sync::Arc;

use super::{KeyError, KeyFuture, KeyMiss, KeyProvider, KeySet, Lookup};
use crate::algorithm::Algorithm;
use crate::rejection::quote_untrusted;

/// A key provider over a fixed [`KeySet`]; it never fetches.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    set: KeySet,
}

impl StaticKeys {
    /// Serves `set`.
    pub fn new(set: KeySet) -> Self {
        Self { set }
    }
}

impl KeyProvider for StaticKeys {
    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
        match self.set.find(kid, alg) {
            Ok(key) => Lookup::Found(Arc::clone(key)),
            Err(_) => Lookup::Missing,
        }
    }

    fn resolve<'a>(&'a self, kid: Option<&'a str>, alg: Algorithm) -> KeyFuture<'a> {
        let result = match self.set.find(kid, alg) {
            Ok(key) => Ok(Arc::clone(key)),
            Err(miss) => Err(unknown_key_error(kid, miss)),
        };
        Box::pin(std::future::ready(result))
    }
}

/// The description of a key a set does not have.
pub(crate) fn unknown_key_error(kid: Option<&str>, miss: KeyMiss) -> KeyError {
    match (kid, miss) {
        (Some(kid), _) => {
            KeyError::unknown_key(format!("the issuer has no signing key with kid {}", quote_untrusted(kid)))
        }
        (None, KeyMiss::Ambiguous) => {
            KeyError::unknown_key("the token names no kid and the issuer has several signing keys")
        }
        (None, KeyMiss::Unknown) => {
            KeyError::unknown_key("the token names no kid and the issuer has no key for its algorithm")
        }
    }
}

//! A key set (JWKS, RFC 7517 §5) after hygiene: the usable signing keys, by `kid`.

use std::sync::Arc;

use serde::Deserialize;

use super::VerifyingKey;
use super::error::KeySetError;
use crate::algorithm::Algorithm;

/// Most keys read from one document; the rest are ignored (an identity provider
/// publishes a handful; thousands would only cost memory and lookups).
pub const MAX_KEYS: usize = 100;

/// The usable signing keys of one issuer.
///
/// Keys that fail the hygiene rules of [`VerifyingKey::from_jwk`] are skipped with a
/// warning and the rest of the set keeps working. When two usable keys share a
/// `kid`, the first in document order wins and the later ones are skipped (with a
/// warning): a deterministic rule, and a token can never pick between them.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
}

/// Why a key set has no key for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyMiss {
    /// No key with that `kid` (or, without a `kid`, none of the token's family).
    Unknown,
    /// The token has no `kid` and several keys could fit.
    Ambiguous,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Reads a JWKS document (`{"keys": [...]}`).
    ///
    /// Fails when the document is not a JWKS or holds no usable signing key.
    pub fn from_json(json: &[u8]) -> Result<Self, KeySetError> {
        let doc: Document = serde_json::from_slice(json).map_err(|_| KeySetError::NotJwks)?;
        if doc.keys.len() > MAX_KEYS {
            tracing::warn!(
                published = doc.keys.len(),
                kept = MAX_KEYS,
                "key set holds too many keys; ignoring the rest"
            );
        }
        let mut set = KeySet::default();
        for (index, jwk) in doc.keys.iter().take(MAX_KEYS).enumerate() {
            let kid = jwk.get("kid").and_then(|k| k.as_str()).map(crate::rejection::quote_untrusted);
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => {
                    if key.kid().is_some() && set.keys.iter().any(|k| k.kid() == key.kid()) {
                        tracing::warn!(index, kid, "skipping key: an earlier key has the same kid");
                    } else {
                        set.keys.push(Arc::new(key));
                    }
                }
                Err(reason) => tracing::warn!(index, kid, %reason, "skipping unusable key"),
            }
        }
        if set.keys.is_empty() {
            return Err(KeySetError::NoUsableKey);
        }
        Ok(set)
    }

    /// A set of already-built keys (first of a `kid` wins, as for documents).
    pub(crate) fn from_keys<I: IntoIterator<Item = VerifyingKey>>(keys: I) -> Self {
        let mut set = KeySet::default();
        for key in keys {
            if key.kid().is_none() || !set.keys.iter().any(|k| k.kid() == key.kid()) {
                set.keys.push(Arc::new(key));
            }
        }
        set
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<VerifyingKey>> {
        self.keys.iter()
    }

    /// The key for a token's `kid` (or, without one, the only key of its family).
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Arc<VerifyingKey>, KeyMiss> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid() == Some(kid)).ok_or(KeyMiss::Unknown),
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.family() == alg.family());
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => Ok(k),
                    (None, _) => Err(KeyMiss::Unknown),
                    (Some(_), Some(_)) => Err(KeyMiss::Ambiguous),
                }
            }
        }
    }

    /// The set that replaces `self` after a refresh: keys that are still published
    /// with the same material keep their identity (so tokens they verified stay
    /// cached), and keys that disappeared or changed are retired.
    pub(crate) fn succeed(&self, mut next: KeySet) -> KeySet {
        for slot in &mut next.keys {
            if let Some(old) = self.keys.iter().find(|o| o.kid() == slot.kid() && o.same_material(slot)) {
                *slot = Arc::clone(old);
            }
        }
        for old in &self.keys {
            if !next.keys.iter().any(|k| Arc::ptr_eq(k, old)) {
                old.retire();
            }
        }
        next
    }
}

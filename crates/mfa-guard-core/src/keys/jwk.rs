//! One verification key, read from a JWK (RFC 7517) with hygiene rules:
//!
//! - `use`, when present, must be `sig`; `key_ops`, when present, must hold `verify`;
//! - `kty` `RSA` (at least 2048 bits), `EC` on `P-256`/`P-384`, or `OKP` `Ed25519`;
//!   symmetric (`oct`) keys are never taken from a key set — a public JWKS holding a
//!   secret is either a mistake or an attack, and an HMAC "secret" that is public is
//!   exactly the algorithm-confusion attack of RFC 8725 §2.1;
//! - the JWK's own `alg`, when present, must be one this key type can verify, and the
//!   token's `alg` must then equal it;
//! - `x5c`/`x5t` are not used: the key is `n`/`e` or `x`/`y` as published.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::error::InvalidKey;
use super::prepared::Prepared;
use crate::algorithm::{Algorithm, KeyFamily};

/// Shortest RSA modulus accepted, in bits (NIST SP 800-131A; Entra uses 2048).
pub const MIN_RSA_BITS: usize = 2048;
/// Longest RSA modulus accepted, in bits (bounds the cost of one verification).
pub const MAX_RSA_BITS: usize = 8192;

/// A key that can verify token signatures.
///
/// It knows its `kid`, the family of algorithms it serves and its own `alg` if the
/// JWK named one. Its `Debug` shows no key material.
pub struct VerifyingKey {
    kid: Option<String>,
    family: KeyFamily,
    alg: Option<Algorithm>,
    /// The key, ready for aws-lc-rs; also its public material, to tell a
    /// re-published key from a replaced one.
    prepared: Prepared,
    /// Set when the key disappears from its issuer's key set: tokens it verified are
    /// no longer trusted, even from the verified-token cache.
    retired: AtomicBool,
}

#[derive(Deserialize)]
struct RawJwk<'a> {
    #[serde(borrow)]
    kty: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn b64(field: &'static str, value: Option<&String>) -> Result<Vec<u8>, InvalidKey> {
    let value = value.ok_or(InvalidKey::Missing { field })?;
    URL_SAFE_NO_PAD.decode(value).map_err(|_| InvalidKey::NotBase64 { field })
}

impl VerifyingKey {
    /// Reads a JWK. The error says why the key is unusable.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, InvalidKey> {
        let raw = RawJwk::deserialize(jwk).map_err(|e| InvalidKey::NotAnObject { reason: e.to_string() })?;
        if let Some(u) = raw.use_.as_deref()
            && u != "sig"
        {
            return Err(InvalidKey::NotForSignatures { value: u.to_owned() });
        }
        if let Some(ops) = &raw.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return Err(InvalidKey::NotForVerifying);
        }
        let kty = raw.kty.as_deref().ok_or(InvalidKey::Missing { field: "kty" })?;
        let (family, prepared, kty) = match kty {
            "RSA" => {
                let n = b64("n", raw.n.as_ref())?;
                let e = b64("e", raw.e.as_ref())?;
                let bits = rsa_bits(&n);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(InvalidKey::RsaModulusSize { bits });
                }
                if e.is_empty() || e.len() > 8 {
                    return Err(InvalidKey::RsaExponent);
                }
                (KeyFamily::Rsa, Prepared::rsa(&n, &e)?, "RSA")
            }
            "EC" => {
                let (family, len) = match raw.crv.as_deref() {
                    Some("P-256") => (KeyFamily::EcP256, 32),
                    Some("P-384") => (KeyFamily::EcP384, 48),
                    Some(other) => {
                        return Err(InvalidKey::UnsupportedCurve { kty: "EC", crv: other.to_owned() });
                    }
                    None => return Err(InvalidKey::MissingCurve { kty: "EC" }),
                };
                let x = b64("x", raw.x.as_ref())?;
                let y = b64("y", raw.y.as_ref())?;
                if x.len() != len || y.len() != len {
                    return Err(InvalidKey::WrongLength { family });
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (family, Prepared::ecdsa(family, point)?, "EC")
            }
            "OKP" => {
                match raw.crv.as_deref() {
                    Some("Ed25519") => {}
                    Some(other) => {
                        return Err(InvalidKey::UnsupportedCurve { kty: "OKP", crv: other.to_owned() });
                    }
                    None => return Err(InvalidKey::MissingCurve { kty: "OKP" }),
                }
                let x = b64("x", raw.x.as_ref())?;
                if x.len() != 32 {
                    return Err(InvalidKey::WrongLength { family: KeyFamily::Ed25519 });
                }
                (KeyFamily::Ed25519, Prepared::ed25519(x)?, "OKP")
            }
            "oct" => return Err(InvalidKey::Symmetric),
            other => return Err(InvalidKey::UnsupportedType { kty: other.to_owned() }),
        };
        let alg = match raw.alg.as_deref() {
            None => None,
            Some(name) => match Algorithm::from_name(name) {
                Some(a) if a.family() == family => Some(a),
                Some(alg) => return Err(InvalidKey::AlgorithmMismatch { alg, kty }),
                None => return Err(InvalidKey::UnsupportedAlgorithm { alg: name.to_owned() }),
            },
        };
        Ok(Self { kid: raw.kid, family, alg, prepared, retired: AtomicBool::new(false) })
    }

    /// A shared HMAC secret (only for issuers configured with one).
    pub fn hmac(secret: &[u8], kid: Option<String>) -> Self {
        Self {
            kid,
            family: KeyFamily::Hmac,
            alg: None,
            prepared: Prepared::hmac(secret),
            retired: AtomicBool::new(false),
        }
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm family the key serves.
    pub fn family(&self) -> KeyFamily {
        self.family
    }

    /// The JWK's own `alg`, if it named one.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// Whether this key may verify a token signed with `alg`; the error says why not.
    pub fn fits(&self, alg: Algorithm) -> Result<(), InvalidKey> {
        if alg.family() != self.family {
            return Err(InvalidKey::WrongFamily { alg });
        }
        match self.alg {
            Some(own) if own != alg => Err(InvalidKey::OtherAlgorithm { alg, own }),
            _ => Ok(()),
        }
    }

    /// Verifies `signature` over `message` with `alg` (which must fit, see [`fits`](Self::fits)).
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        if self.fits(alg).is_err() {
            return false;
        }
        self.prepared.verify(alg, message, signature)
    }
}

impl VerifyingKey {
    pub(crate) fn same_material(&self, other: &VerifyingKey) -> bool {
        self.family == other.family
            && self.alg == other.alg
            && self.prepared.material() == other.prepared.material()
    }

    /// Marks the key as gone from its issuer's key set.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }

    /// Whether the key has gone from its issuer's key set (tokens it verified are
    /// then dropped from the verified-token cache).
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.alg)
            .field("retired", &self.is_retired())
            .finish_non_exhaustive()
    }
}

/// Significant bits of a big-endian unsigned integer.
fn rsa_bits(n: &[u8]) -> usize {
    let skip = n.iter().take_while(|&&b| b == 0).count();
    match n.get(skip) {
        None => 0,
        Some(&first) => (n.len() - skip) * 8 - first.leading_zeros() as usize,
    }
}

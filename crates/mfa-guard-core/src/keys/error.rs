//! What is wrong with a key, a key set, a key source's address or a fetch: typed, so
//! a caller can match on which field, which file or which URL; never key material.

use std::path::PathBuf;

use crate::algorithm::{Algorithm, KeyFamily};

/// Why a JWK cannot be used to verify tokens (no key material in the description).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKey {
    /// The value is not a JWK object.
    #[error("not a JWK object ({reason})")]
    NotAnObject {
        /// What the JSON reader said.
        reason: String,
    },
    /// `use` is present and is not `sig`.
    #[error("`use` is {value:?}, not \"sig\"")]
    NotForSignatures {
        /// The JWK's `use`.
        value: String,
    },
    /// `key_ops` is present and does not hold `verify`.
    #[error("`key_ops` does not allow \"verify\"")]
    NotForVerifying,
    /// A member the key type needs is absent (`kty`, `n`, `e`, `x`, `y`).
    #[error("missing `{field}`")]
    Missing {
        /// The member's name.
        field: &'static str,
    },
    /// A member is not unpadded base64url.
    #[error("`{field}` is not unpadded base64url")]
    NotBase64 {
        /// The member's name.
        field: &'static str,
    },
    /// An RSA modulus outside [`MIN_RSA_BITS`](super::MIN_RSA_BITS) ..=
    /// [`MAX_RSA_BITS`](super::MAX_RSA_BITS).
    #[error(
        "RSA modulus of {bits} bits is {} than {}",
        if *bits < super::MIN_RSA_BITS { "shorter" } else { "longer" },
        if *bits < super::MIN_RSA_BITS { super::MIN_RSA_BITS } else { super::MAX_RSA_BITS }
    )]
    RsaModulusSize {
        /// The modulus's significant bits.
        bits: usize,
    },
    /// An RSA exponent of no bytes or more than eight.
    #[error("RSA exponent is empty or too long")]
    RsaExponent,
    /// An `EC` or `OKP` key without `crv`.
    #[error("{kty} key without `crv`")]
    MissingCurve {
        /// `EC` or `OKP`.
        kty: &'static str,
    },
    /// A curve this verifier does not support.
    #[error("{kty} curve {crv:?} is not supported")]
    UnsupportedCurve {
        /// `EC` or `OKP`.
        kty: &'static str,
        /// The JWK's `crv`.
        crv: String,
    },
    /// EC coordinates or an Ed25519 key of the wrong length for the curve.
    #[error("{}", if *family == KeyFamily::Ed25519 {
        "Ed25519 public key is not 32 bytes"
    } else {
        "EC coordinates have the wrong length for the curve"
    })]
    WrongLength {
        /// The key's family.
        family: KeyFamily,
    },
    /// The numbers do not make a public key of the family (not on the curve, not a
    /// valid RSA key).
    #[error("{}", match family {
        KeyFamily::Rsa => "RSA key is not a valid public key",
        KeyFamily::Ed25519 => "Ed25519 key is not a valid public key",
        _ => "EC point is not on the curve",
    })]
    NotAPublicKey {
        /// The key's family.
        family: KeyFamily,
    },
    /// A symmetric (`oct`) key in a key set.
    #[error("symmetric (oct) keys are never taken from a key set")]
    Symmetric,
    /// A key type other than `RSA`, `EC`, `OKP`.
    #[error("key type {kty:?} is not supported")]
    UnsupportedType {
        /// The JWK's `kty`.
        kty: String,
    },
    /// The JWK's `alg` names an algorithm of another key type.
    #[error("`alg` {alg} does not fit a {kty} key")]
    AlgorithmMismatch {
        /// The JWK's `alg`.
        alg: Algorithm,
        /// The JWK's `kty`.
        kty: &'static str,
    },
    /// The JWK's `alg` is not a signature algorithm this verifier supports.
    #[error("`alg` {alg:?} is not a signature algorithm this verifier supports")]
    UnsupportedAlgorithm {
        /// The JWK's `alg`.
        alg: String,
    },
    /// The token's algorithm is of another family than the key.
    #[error("the token's algorithm {alg} does not fit the issuer's key")]
    WrongFamily {
        /// The token's `alg`.
        alg: Algorithm,
    },
    /// The key names its own `alg` and the token's differs.
    #[error("the token's algorithm {alg} differs from its key's ({own})")]
    OtherAlgorithm {
        /// The token's `alg`.
        alg: Algorithm,
        /// The key's own `alg`.
        own: Algorithm,
    },
}

/// Why a key set document could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// The document is not `{"keys": [...]}`.
    #[error("the document is not a JWKS (a JSON object with a `keys` array)")]
    NotJwks,
    /// Every key of the document was unusable (each is logged with its reason).
    #[error("the key set holds no usable signing key")]
    NoUsableKey,
    /// The JWKS file could not be read.
    #[error("cannot read JWKS file {}: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// The JWKS file was read and is not a usable key set.
    #[error("JWKS file {}: {error}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with its document ([`NotJwks`](Self::NotJwks) or
        /// [`NoUsableKey`](Self::NoUsableKey)).
        error: Box<KeySetError>,
    },
}

/// Why a key source's address cannot be used (reported when the guard is built).
/// The URL is shown without its password, if it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnusableUrl {
    /// Not a URL.
    #[error("{url:?} is not a URL ({reason})")]
    NotAUrl {
        /// The text given.
        url: String,
        /// What the URL reader said.
        reason: String,
    },
    /// Plain HTTP off loopback: anyone on the path could swap the keys.
    #[error("{url:?} uses plain HTTP; key sources must use HTTPS (HTTP is allowed on loopback only)")]
    PlainHttp {
        /// The URL.
        url: String,
    },
    /// A scheme other than `https` (or `http` on loopback).
    #[error("{url:?} has scheme {scheme:?}; key sources must use HTTPS")]
    Scheme {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// The HTTP client for the source could not be built.
    #[error("cannot build the HTTP client: {reason}")]
    Client {
        /// What the HTTP library said.
        reason: String,
    },
}

/// Why a document could not be fetched (private: it becomes a
/// [`KeyError`](super::KeyError) or a log line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("no complete answer within {ms} ms")]
    Timeout { ms: u128 },
    #[error("HTTP {status}")]
    Status { status: u16 },
    #[error("the answer is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    /// Connecting or reading failed (the HTTP library's words, innermost cause too).
    #[error("{0}")]
    Transport(String),
}

/// Why a remote source's documents could not be had (private: it becomes a
/// [`KeyError`](super::KeyError) or a log line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DocumentError {
    #[error("discovery {url}: {error}")]
    DiscoveryFetch { url: String, error: FetchError },
    #[error("discovery {url}: not an OpenID configuration with issuer and jwks_uri")]
    NotDiscovery { url: String },
    #[error("discovery {url}: empty issuer")]
    EmptyIssuer { url: String },
    #[error("discovery {url}: jwks_uri {error}")]
    JwksUri { url: String, error: UnusableUrl },
    #[error("JWKS {url}: {error}")]
    JwksFetch { url: String, error: FetchError },
    #[error("JWKS {url}: {error}")]
    Jwks { url: String, error: KeySetError },
}

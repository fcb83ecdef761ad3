//! Signature algorithms and the allow-list.

use std::fmt;

/// A JWS signature algorithm (RFC 7518 §3, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
    /// HMAC with SHA-256 (only with a configured secret).
    HS256,
    /// HMAC with SHA-384 (only with a configured secret).
    HS384,
    /// HMAC with SHA-512 (only with a configured secret).
    HS512,
}

/// The kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyFamily {
    /// RSA (`kty` `RSA`).
    Rsa,
    /// EC on P-256 (`kty` `EC`, `crv` `P-256`).
    EcP256,
    /// EC on P-384 (`kty` `EC`, `crv` `P-384`).
    EcP384,
    /// Ed25519 (`kty` `OKP`, `crv` `Ed25519`).
    Ed25519,
    /// A shared secret (`kty` `oct`).
    Hmac,
}

impl Algorithm {
    /// Every algorithm the engine knows.
    pub const ALL: [Algorithm; 12] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
    ];

    /// The JOSE name (`RS256`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
        }
    }

    /// Parses a JOSE name, exactly (names are case-sensitive, RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The key family this algorithm verifies with.
    pub fn family(self) -> KeyFamily {
        match self {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 => KeyFamily::EcP256,
            Algorithm::ES384 => KeyFamily::EcP384,
            Algorithm::EdDSA => KeyFamily::Ed25519,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Hmac,
        }
    }

    #[cfg(test)]
    pub(crate) fn to_jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Algorithm::RS256 => J::RS256,
            Algorithm::RS384 => J::RS384,
            Algorithm::RS512 => J::RS512,
            Algorithm::PS256 => J::PS256,
            Algorithm::PS384 => J::PS384,
            Algorithm::PS512 => J::PS512,
            Algorithm::ES256 => J::ES256,
            Algorithm::ES384 => J::ES384,
            Algorithm::EdDSA => J::EdDSA,
            Algorithm::HS256 => J::HS256,
            Algorithm::HS384 => J::HS384,
            Algorithm::HS512 => J::HS512,
        }
    }

    fn bit(self) -> u16 {
        1 << (Self::ALL.iter().position(|a| *a == self).unwrap_or(0) as u16)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The algorithms a guard accepts.
///
/// The default is every asymmetric algorithm (RS/PS 256–512, ES256, ES384, EdDSA).
/// `none` is not an algorithm here at all, and HMAC is never in the default: an HS
/// algorithm is only honoured for an issuer configured with a shared secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// No algorithm.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Adds an algorithm.
    #[must_use]
    pub fn with(mut self, alg: Algorithm) -> Self {
        self.0 |= alg.bit();
        self
    }

    /// Whether the set holds `alg`.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl Default for AlgorithmSet {
    fn default() -> Self {
        Algorithm::ALL.into_iter().filter(|a| a.family() != KeyFamily::Hmac).collect()
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter().fold(Self::empty(), Self::with)
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allow_list_is_asymmetric_only() {
        let set = AlgorithmSet::default();
        let names: Vec<_> = set.iter().map(Algorithm::as_str).collect();
        assert_eq!(names, ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]);
        assert!(!set.contains(Algorithm::HS256));
    }

    #[test]
    fn algorithm_names_are_case_sensitive_and_none_is_unknown() {
        assert_eq!(Algorithm::from_name("RS256"), Some(Algorithm::RS256));
        assert_eq!(Algorithm::from_name("rs256"), None);
        for none in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(Algorithm::from_name(none), None);
        }
    }
}

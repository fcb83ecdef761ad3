//! Verification keys prepared once, for aws-lc-rs to verify with directly.
//!
//! jsonwebtoken's verifier rebuilds the public key from `n`/`e` on every call
//! (parsing, a Montgomery context, an EVP wrapper: about 8% of an RS256
//! verification here). A parsed key is built once per key and algorithm instead, on
//! first use, and reused by every verification; jsonwebtoken stays the reference the
//! tests compare against.

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};

use super::error::InvalidKey;
use crate::algorithm::{Algorithm, KeyFamily};

/// The six RSA algorithms, in the order of [`Prepared::Rsa`]'s slots.
const RSA_ALGORITHMS: [(Algorithm, &dyn VerificationAlgorithm); 6] = [
    (Algorithm::RS256, &signature::RSA_PKCS1_2048_8192_SHA256),
    (Algorithm::RS384, &signature::RSA_PKCS1_2048_8192_SHA384),
    (Algorithm::RS512, &signature::RSA_PKCS1_2048_8192_SHA512),
    (Algorithm::PS256, &signature::RSA_PSS_2048_8192_SHA256),
    (Algorithm::PS384, &signature::RSA_PSS_2048_8192_SHA384),
    (Algorithm::PS512, &signature::RSA_PSS_2048_8192_SHA512),
];

pub(crate) enum Prepared {
    /// One RSA key serves six algorithms; each gets its parsed key on first use.
    Rsa { der: Box<[u8]>, by_alg: Box<[OnceLock<Option<ParsedPublicKey>>; 6]> },
    /// A P-256 or P-384 point (the curve fixes the algorithm).
    Ecdsa { point: Box<[u8]>, key: ParsedPublicKey },
    /// An Ed25519 public key.
    Ed25519 { x: Box<[u8]>, key: ParsedPublicKey },
    /// A shared secret, as HMAC keys for HS256/384/512 (no other copy is kept).
    Hmac { by_alg: Box<[hmac::Key; 3]> },
}

impl Prepared {
    /// An RSA key from `n` and `e`; parsed now (for RS256) so a broken key is
    /// refused at load rather than failing every request.
    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Result<Self, InvalidKey> {
        let der = rsa_public_key_der(n, e).into_boxed_slice();
        let first = ParsedPublicKey::new(RSA_ALGORITHMS[0].1, &der)
            .map_err(|_| InvalidKey::NotAPublicKey { family: KeyFamily::Rsa })?;
        let by_alg: Box<[OnceLock<Option<ParsedPublicKey>>; 6]> = Box::default();
        let _ = by_alg[0].set(Some(first));
        Ok(Prepared::Rsa { der, by_alg })
    }

    /// An uncompressed EC point (`04 || x || y`) on the curve of `family`.
    pub(crate) fn ecdsa(family: KeyFamily, point: Vec<u8>) -> Result<Self, InvalidKey> {
        let alg: &'static dyn VerificationAlgorithm = match family {
            KeyFamily::EcP256 => &signature::ECDSA_P256_SHA256_FIXED,
            KeyFamily::EcP384 => &signature::ECDSA_P384_SHA384_FIXED,
            _ => return Err(InvalidKey::NotAPublicKey { family }),
        };
        let key = ParsedPublicKey::new(alg, &point).map_err(|_| InvalidKey::NotAPublicKey { family })?;
        Ok(Prepared::Ecdsa { point: point.into_boxed_slice(), key })
    }

    /// A 32-byte Ed25519 public key.
    pub(crate) fn ed25519(x: Vec<u8>) -> Result<Self, InvalidKey> {
        let key = ParsedPublicKey::new(&signature::ED25519, &x)
            .map_err(|_| InvalidKey::NotAPublicKey { family: KeyFamily::Ed25519 })?;
        Ok(Prepared::Ed25519 { x: x.into_boxed_slice(), key })
    }

    /// A shared secret.
    pub(crate) fn hmac(secret: &[u8]) -> Self {
        Prepared::Hmac {
            by_alg: Box::new([
                hmac::Key::new(hmac::HMAC_SHA256, secret),
                hmac::Key::new(hmac::HMAC_SHA384, secret),
                hmac::Key::new(hmac::HMAC_SHA512, secret),
            ]),
        }
    }

    /// The public material, to tell a re-published key from a replaced one (empty
    /// for a secret, which is never compared).
    pub(crate) fn material(&self) -> &[u8] {
        match self {
            Prepared::Rsa { der, .. } => der,
            Prepared::Ecdsa { point, .. } => point,
            Prepared::Ed25519 { x, .. } => x,
            Prepared::Hmac { .. } => &[],
        }
    }

    /// Verifies `signature` over `message` with `alg`; false on any mismatch of key
    /// and algorithm (the caller checks that they fit first).
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Prepared::Rsa { der, by_alg } => {
                let Some(slot) = RSA_ALGORITHMS.iter().position(|(a, _)| *a == alg) else { return false };
                by_alg[slot]
                    .get_or_init(|| ParsedPublicKey::new(RSA_ALGORITHMS[slot].1, der).ok())
                    .as_ref()
                    .is_some_and(|key| key.verify_sig(message, signature).is_ok())
            }
            Prepared::Ecdsa { key, .. } | Prepared::Ed25519 { key, .. } => {
                key.verify_sig(message, signature).is_ok()
            }
            Prepared::Hmac { by_alg } => {
                let key = match alg {
                    Algorithm::HS256 => &by_alg[0],
                    Algorithm::HS384 => &by_alg[1],
                    Algorithm::HS512 => &by_alg[2],
                    _ => return false,
                };
                // Constant-time comparison inside aws-lc.
                hmac::verify(key, message, signature).is_ok()
            }
        }
    }
}

/// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, bytes: &[u8]) {
        let bytes =
            &bytes[bytes.iter().take_while(|&&b| b == 0).count().min(bytes.len().saturating_sub(1))..];
        let pad = bytes.first().is_some_and(|&b| b & 0x80 != 0);
        out.push(0x02);
        length(out, bytes.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(bytes);
    }
    fn length(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let be = len.to_be_bytes();
            let skip = be.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (be.len() - skip) as u8);
            out.extend_from_slice(&be[skip..]);
        }
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::KeyPair as _;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{DecodingKey, EncodingKey};
    use serde_json::json;

    use super::*;
    use crate::keys::VerifyingKey;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A signing key (jsonwebtoken), our key from its JWK, and jsonwebtoken's
    /// decoding key as the reference.
    fn keys(family: KeyFamily) -> (EncodingKey, VerifyingKey, DecodingKey) {
        let rng = SystemRandom::new();
        match family {
            KeyFamily::Rsa => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
                let pem = format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    base64::engine::general_purpose::STANDARD.encode(pair.as_der().unwrap().as_ref())
                );
                let public = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let jwk = json!({"kty": "RSA", "n": b64(&public.n), "e": b64(&public.e)});
                (
                    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
                    VerifyingKey::from_jwk(&jwk).unwrap(),
                    DecodingKey::from_rsa_raw_components(&public.n, &public.e),
                )
            }
            KeyFamily::EcP256 | KeyFamily::EcP384 => {
                let (signing, crv, len) = if family == KeyFamily::EcP256 {
                    (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32)
                } else {
                    (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48)
                };
                let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
                let pair = signature::EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref()).unwrap();
                let point = pair.public_key().as_ref().to_vec();
                let jwk = json!({"kty": "EC", "crv": crv, "x": b64(&point[1..1 + len]), "y": b64(&point[1 + len..])});
                (
                    EncodingKey::from_ec_der(pkcs8.as_ref()),
                    VerifyingKey::from_jwk(&jwk).unwrap(),
                    DecodingKey::from_ec_der(&point),
                )
            }
            KeyFamily::Ed25519 => {
                let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
                let pair = signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
                let x = pair.public_key().as_ref().to_vec();
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&x)});
                (
                    EncodingKey::from_ed_der(pkcs8.as_ref()),
                    VerifyingKey::from_jwk(&jwk).unwrap(),
                    DecodingKey::from_ed_der(&x),
                )
            }
            KeyFamily::Hmac => {
                let secret = b"a shared secret of thirty-two bytes!";
                (
                    EncodingKey::from_secret(secret),
                    VerifyingKey::hmac(secret, None),
                    DecodingKey::from_secret(secret),
                )
            }
        }
    }

    #[test]
    fn prepared_keys_agree_with_jsonwebtoken_on_every_algorithm() {
        let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";
        for family in
            [KeyFamily::Rsa, KeyFamily::EcP256, KeyFamily::EcP384, KeyFamily::Ed25519, KeyFamily::Hmac]
        {
            let (signing, ours, reference) = keys(family);
            for alg in Algorithm::ALL.into_iter().filter(|a| a.family() == family) {
                let sig_b64 = jsonwebtoken::crypto::sign(message, &signing, alg.to_jwt()).unwrap();
                let sig = URL_SAFE_NO_PAD.decode(&sig_b64).unwrap();
                let reference_ok = |m: &[u8], s: &[u8]| {
                    jsonwebtoken::crypto::verify(&b64(s), m, &reference, alg.to_jwt()).unwrap_or(false)
                };
                assert!(ours.verify(alg, message, &sig), "{alg}: a valid signature");
                assert!(reference_ok(message, &sig), "{alg}: reference accepts");
                let mut tampered = sig.clone();
                tampered[sig.len() / 2] ^= 0x40;
                assert_eq!(ours.verify(alg, message, &tampered), reference_ok(message, &tampered), "{alg}");
                assert!(!ours.verify(alg, message, &tampered), "{alg}: a tampered signature");
                assert!(!ours.verify(alg, b"another message", &sig), "{alg}: another message");
                assert!(!ours.verify(alg, message, &sig[..sig.len() - 1]), "{alg}: a truncated signature");
                assert!(!ours.verify(alg, message, &[]), "{alg}: an empty signature");
                // The same key under another algorithm of its family never verifies it.
                for other in Algorithm::ALL.into_iter().filter(|a| *a != alg && a.family() == family) {
                    assert!(!ours.verify(other, message, &sig), "{alg} signature as {other}");
                }
            }
        }
    }
}

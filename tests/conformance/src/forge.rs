//! Hostile tokens: signing arbitrary header and payload bytes with the fixture
//! issuer's real key (so an attack is refused for what it attacks, not for a bad
//! signature), the issuer's public key in every form an HMAC-confusion attacker
//! would try as a secret, and keys of other types and owners.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use mfa_guard_dev::DevIssuer;
use serde_json::{Value, json};

use crate::fixture::{ISSUER, issuer};

/// Unpadded base64url.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The fixture issuer's `kid`.
pub fn kid() -> &'static str {
    issuer().kid()
}

/// The header a real token of the fixture issuer has.
pub fn header() -> Value {
    json!({"alg": "RS256", "kid": kid(), "typ": "JWT"})
}

/// The claims of a valid user token with MFA and the Admin agent role.
pub fn claims() -> Value {
    issuer().user().claims()
}

/// `claims()` with `name` set to `value` (`Value::Null` removes it).
pub fn claims_with(name: &str, value: Value) -> Value {
    let mut c = claims();
    match value {
        Value::Null => {
            c.as_object_mut().expect("claims object").remove(name);
        }
        v => c[name] = v,
    }
    c
}

/// The JSON text of `claims()` without `name`, then `"name":raw` written as given:
/// for values `serde_json::Value` cannot hold (`18446744073709551616`, `1e400`).
pub fn claims_with_raw(name: &str, raw: &str) -> Vec<u8> {
    let rest = claims_with(name, Value::Null).to_string();
    format!("{{\"{name}\":{raw},{}", &rest[1..]).into_bytes()
}

fn issuer_key() -> &'static EncodingKey {
    static K: OnceLock<EncodingKey> = OnceLock::new();
    K.get_or_init(|| EncodingKey::from_rsa_pem(issuer().private_key_pem().as_bytes()).expect("issuer key"))
}

/// `b64(header).b64(payload).signature`, signed by `key` with `alg`, whatever the
/// bytes say.
pub fn sign_bytes(header: &[u8], payload: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(payload));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{signature}")
}

/// Signed by the fixture issuer's real key (RS256 unless `alg` says otherwise:
/// RS384/512 and PS256/384/512 with the same key are algorithm swaps).
pub fn signed_as(header: &[u8], payload: &[u8], alg: Algorithm) -> String {
    sign_bytes(header, payload, issuer_key(), alg)
}

/// Signed RS256 by the fixture issuer's real key.
pub fn signed(header: &[u8], payload: &[u8]) -> String {
    signed_as(header, payload, Algorithm::RS256)
}

/// A valid header and these claims, signed by the real key.
pub fn signed_claims(claims: &Value) -> String {
    signed(header().to_string().as_bytes(), claims.to_string().as_bytes())
}

/// This header and valid claims, signed by the real key.
pub fn signed_header(header: &Value) -> String {
    signed(header.to_string().as_bytes(), claims().to_string().as_bytes())
}

/// An attacker's own RSA issuer (same issuer name, another key).
pub fn attacker() -> &'static DevIssuer {
    static A: OnceLock<DevIssuer> = OnceLock::new();
    A.get_or_init(|| DevIssuer::generate(ISSUER).expect("RSA key generation"))
}

/// Signed RS256 by the attacker's key.
pub fn attacker_signed(header: &[u8], payload: &[u8]) -> String {
    static K: OnceLock<EncodingKey> = OnceLock::new();
    let key =
        K.get_or_init(|| EncodingKey::from_rsa_pem(attacker().private_key_pem().as_bytes()).expect("key"));
    sign_bytes(header, payload, key, Algorithm::RS256)
}

/// Keys of other types, for algorithm swaps against the issuer's RSA key.
#[derive(Clone)]
pub struct ForeignKeys {
    /// A P-256 key (PKCS#8).
    pub es256: EncodingKey,
    /// A P-384 key (PKCS#8).
    pub es384: EncodingKey,
    /// An Ed25519 key (PKCS#8).
    pub ed25519: EncodingKey,
}

impl std::fmt::Debug for ForeignKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignKeys(ES256, ES384, EdDSA)")
    }
}

impl ForeignKeys {
    /// Makes a P-256, a P-384 and an Ed25519 key.
    pub fn generate() -> Self {
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
        };
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let ec = |curve| {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(curve, &rng).expect("EC key");
            EncodingKey::from_ec_der(pkcs8.as_ref())
        };
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key");
        Self {
            es256: ec(&ECDSA_P256_SHA256_FIXED_SIGNING),
            es384: ec(&ECDSA_P384_SHA384_FIXED_SIGNING),
            ed25519: EncodingKey::from_ed_der(ed.as_ref()),
        }
    }

    /// The key for `alg` (`ES256`, `ES384` or `EdDSA`).
    pub fn get(&self, alg: Algorithm) -> &EncodingKey {
        match alg {
            Algorithm::ES256 => &self.es256,
            Algorithm::ES384 => &self.es384,
            Algorithm::EdDSA => &self.ed25519,
            other => panic!("no foreign key for {other:?}"),
        }
    }
}

/// The issuer's public key in every form an HMAC-confusion attacker would use as
/// the secret: `(name, bytes)`.
pub fn public_key_forms() -> Vec<(&'static str, Vec<u8>)> {
    let jwks: Value = serde_json::from_str(issuer().jwks_json()).expect("JWKS");
    let jwk = jwks["keys"][0].clone();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().expect("n")).expect("n is base64url");
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().expect("e")).expect("e is base64url");
    let pkcs1 = der::sequence(&[der::integer(&n), der::integer(&e)]);
    // SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL }, BIT STRING pkcs1 }
    let rsa_encryption = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let spki = der::sequence(&[
        der::sequence(&[rsa_encryption.to_vec(), vec![0x05, 0x00]]),
        der::bit_string(&pkcs1),
    ]);
    vec![
        ("JWKS document", issuer().jwks_json().as_bytes().to_vec()),
        ("JWK", jwk.to_string().into_bytes()),
        ("SPKI PEM", pem("PUBLIC KEY", &spki).into_bytes()),
        ("PKCS#1 PEM", pem("RSA PUBLIC KEY", &pkcs1).into_bytes()),
        ("SPKI DER", spki),
        ("PKCS#1 DER", pkcs1),
        ("modulus", n),
    ]
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Just enough DER to write an RSA public key (ITU-T X.690).
mod der {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            len @ 0..0x80 => out.push(len as u8),
            len => {
                let be = len.to_be_bytes();
                let skip = be.iter().take_while(|&&b| b == 0).count();
                out.push(0x80 | (be.len() - skip) as u8);
                out.extend_from_slice(&be[skip..]);
            }
        }
        out.extend_from_slice(content);
        out
    }

    pub(super) fn integer(unsigned_be: &[u8]) -> Vec<u8> {
        let mut content = unsigned_be.to_vec();
        if content.first().is_some_and(|b| b & 0x80 != 0) {
            content.insert(0, 0);
        }
        tlv(0x02, &content)
    }

    pub(super) fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &items.concat())
    }

    pub(super) fn bit_string(bytes: &[u8]) -> Vec<u8> {
        tlv(0x03, &[&[0u8][..], bytes].concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    #[test]
    fn the_der_forms_are_the_issuers_public_key() {
        // Were the forms not really the issuer's key, the HMAC-confusion cases
        // would prove nothing.
        let token = signed(b"{}", b"message");
        let (signing_input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        for (name, der) in public_key_forms().into_iter().filter(|(n, _)| n.ends_with("DER")) {
            let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &der);
            assert!(key.verify(signing_input.as_bytes(), &sig).is_ok(), "{name}");
        }
    }
}

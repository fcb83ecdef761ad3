//! The development issuer's key: an RSA signing key made now or read from a PEM
//! file, its JWKS, and signing.

use std::fmt;
use std::net::SocketAddr;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use mfa_guard_core::dev::DevelopmentIssuer;
use mfa_guard_core::{KeySource, keys::KeySetError};
use serde_json::{Value, json};

use crate::{DEV_AUDIENCE, DEV_TENANT};

/// Why a development key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DevKeyError {
    /// The operating system could not make an RSA key.
    #[error("RSA key generation failed")]
    Generate,
    /// A generated key could not be encoded.
    #[error("cannot encode the key")]
    Encode,
    /// The key file is not PEM.
    #[error("the key file is not PEM")]
    NotPem,
    /// The PEM does not hold a PKCS#8 RSA private key.
    #[error("not a PKCS#8 RSA private key")]
    NotPkcs8Rsa,
    /// The key cannot be used to sign.
    #[error("the key cannot sign: {reason}")]
    CannotSign {
        /// What the JWT library said (never the key).
        reason: String,
    },
    /// Signing a token failed.
    #[error("cannot sign: {reason}")]
    Sign {
        /// What the JWT library said (never the key).
        reason: String,
    },
}

/// An issuer that holds its own signing key.
pub struct DevIssuer {
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    private_pem: String,
    jwks: String,
}

impl DevIssuer {
    /// A new RSA-2048 key for `issuer` (exact, or with `{tenantid}`; tokens carry
    /// [`DEV_TENANT`] as `tid` and the substituted issuer as `iss`).
    pub fn generate(issuer: impl Into<String>) -> Result<Self, DevKeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| DevKeyError::Generate)?;
        let der = pair.as_der().map_err(|_| DevKeyError::Encode)?;
        Self::from_pkcs8_der(issuer, der.as_ref())
    }

    /// A new key for the issuer a development-mode server embeds at `bound` (the
    /// address it bound): `http://{bound}/{tenantid}/`, so tokens name the server
    /// they are for, and its discovery document is the server's own.
    pub fn for_server(bound: SocketAddr) -> Result<Self, DevKeyError> {
        Self::generate(format!("http://{bound}/{{tenantid}}/"))
    }

    /// Loads a PKCS#8 RSA private key (PEM, `-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(issuer: impl Into<String>, pem: &str) -> Result<Self, DevKeyError> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body.trim()).map_err(|_| DevKeyError::NotPem)?;
        Self::from_pkcs8_der(issuer, &der)
    }

    fn from_pkcs8_der(issuer: impl Into<String>, der: &[u8]) -> Result<Self, DevKeyError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|_| DevKeyError::NotPkcs8Rsa)?;
        let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let n = URL_SAFE_NO_PAD.encode(&public.n);
        let e = URL_SAFE_NO_PAD.encode(&public.e);
        // RFC 7638 thumbprint as kid: stable for a given key.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
        let jwks =
            json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}]})
                .to_string();
        let mut private_pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for chunk in STANDARD.encode(der).as_bytes().chunks(64) {
            private_pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            private_pem.push('\n');
        }
        private_pem.push_str("-----END PRIVATE KEY-----\n");
        let encoding = EncodingKey::from_rsa_pem(private_pem.as_bytes())
            .map_err(|e| DevKeyError::CannotSign { reason: e.to_string() })?;
        Ok(Self { issuer: issuer.into(), kid, encoding, private_pem, jwks })
    }

    /// The issuer (as configured, possibly a template).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer tokens carry in `iss` (the template filled with [`DEV_TENANT`]).
    pub fn token_issuer(&self) -> String {
        self.issuer.replacen("{tenantid}", DEV_TENANT, 1)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWKS document.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    /// The private key, PKCS#8 PEM. A secret: print it only when asked to.
    pub fn private_key_pem(&self) -> &str {
        &self.private_pem
    }

    /// A key source serving this issuer's public key.
    pub fn key_source(&self) -> Result<KeySource, KeySetError> {
        KeySource::jwks_json(self.jwks.as_bytes())
    }

    /// How the guard of a development-mode server knows this issuer
    /// ([`Environment::development_builder`](mfa_guard_core::config::Environment::development_builder)):
    /// its issuer, public key, tenant ([`DEV_TENANT`]) and audience ([`DEV_AUDIENCE`]).
    pub fn development(&self) -> Result<DevelopmentIssuer, KeySetError> {
        Ok(DevelopmentIssuer::new(&self.issuer, self.key_source()?, DEV_TENANT, DEV_AUDIENCE))
    }

    /// Signs arbitrary claims (RS256, with this issuer's `kid`).
    pub fn sign(&self, claims: &Value) -> Result<String, DevKeyError> {
        let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| DevKeyError::Sign { reason: e.to_string() })
    }

    /// Signs `header.claims` with this key (RS256) whatever the header says: for tests
    /// that need a correctly signed token with a hostile header.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, DevKeyError> {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let message = format!("{h}.{c}");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, jsonwebtoken::Algorithm::RS256)
                .map_err(|e| DevKeyError::Sign { reason: e.to_string() })?;
        Ok(format!("{message}.{signature}"))
    }
}

impl fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

//! The signing key and token minter of core's own unit tests.
//!
//! Core's unit tests cannot use `mfa-guard-dev` (it depends on core, so its types
//! would be a second copy of core's); integration tests, benchmarks and every other
//! crate do. This is that crate's minter, trimmed to what the unit tests use.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Map, Value, json};

use crate::keys::{KeySetError, KeySource};
use crate::policy::wids;
use crate::time::{Clock, SystemClock};

/// The tenant id of development tokens.
pub(crate) const DEV_TENANT: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
/// The audience of development tokens (Partner Center's, as in the seed document).
pub(crate) const DEV_AUDIENCE: &str = "https://api.partnercenter.microsoft.com";

/// Why a development key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DevKeyError(String);

/// An issuer that holds its own signing key.
pub(crate) struct DevIssuer {
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    jwks: String,
}

impl DevIssuer {
    /// A new RSA-2048 key for `issuer` (exact, or with `{tenantid}`; tokens carry
    /// [`DEV_TENANT`] as `tid` and the substituted issuer as `iss`).
    pub(crate) fn generate(issuer: impl Into<String>) -> Result<Self, DevKeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| DevKeyError("RSA key generation failed".into()))?;
        let der = pair.as_der().map_err(|_| DevKeyError("cannot encode the key".into()))?;
        Self::from_pkcs8_der(issuer, der.as_ref())
    }

    fn from_pkcs8_der(issuer: impl Into<String>, der: &[u8]) -> Result<Self, DevKeyError> {
        let pair =
            KeyPair::from_pkcs8(der).map_err(|_| DevKeyError("not a PKCS#8 RSA private key".into()))?;
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
            .map_err(|e| DevKeyError(format!("the key cannot sign: {e}")))?;
        Ok(Self { issuer: issuer.into(), kid, encoding, jwks })
    }

    /// The issuer (as configured, possibly a template).
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer tokens carry in `iss` (the template filled with [`DEV_TENANT`]).
    pub(crate) fn token_issuer(&self) -> String {
        self.issuer.replacen("{tenantid}", DEV_TENANT, 1)
    }

    /// The key id.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWKS document.
    pub(crate) fn jwks_json(&self) -> &str {
        &self.jwks
    }

    /// A key source serving this issuer's public key.
    pub(crate) fn key_source(&self) -> Result<KeySource, KeySetError> {
        KeySource::jwks_json(self.jwks.as_bytes())
    }

    /// Signs arbitrary claims (RS256, with this issuer's `kid`).
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, DevKeyError> {
        let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| DevKeyError(format!("cannot sign: {e}")))
    }

    /// Signs `header.claims` with this key (RS256) whatever the header says: for tests
    /// that need a correctly signed token with a hostile header.
    pub(crate) fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, DevKeyError> {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let message = format!("{h}.{c}");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, jsonwebtoken::Algorithm::RS256)
                .map_err(|e| DevKeyError(format!("cannot sign: {e}")))?;
        Ok(format!("{message}.{signature}"))
    }

    /// Starts a token for a user with MFA, AdminAgent, one hour of validity.
    pub(crate) fn user(&self) -> TokenSpec<'_> {
        TokenSpec::new(self, Caller::User)
    }

    /// Starts an app-only token (client credentials), one hour of validity.
    pub(crate) fn app(&self) -> TokenSpec<'_> {
        TokenSpec::new(self, Caller::App)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    User,
    App,
}

/// A token to mint; defaults are a realistic Entra v1 access token.
#[derive(Debug, Clone)]
#[must_use]
pub(crate) struct TokenSpec<'a> {
    issuer: &'a DevIssuer,
    caller: Caller,
    claims: Map<String, Value>,
    lifetime: Duration,
    clock_now: Option<i64>,
}

impl<'a> TokenSpec<'a> {
    fn new(issuer: &'a DevIssuer, caller: Caller) -> Self {
        let mut claims = Map::new();
        claims.insert("aud".into(), json!(DEV_AUDIENCE));
        claims.insert("iss".into(), json!(issuer.token_issuer()));
        claims.insert("tid".into(), json!(DEV_TENANT));
        claims.insert("ver".into(), json!("1.0"));
        claims.insert("appid".into(), json!("00001111-aaaa-2222-bbbb-3333cccc4444"));
        match caller {
            Caller::User => {
                let oid = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
                claims.insert("oid".into(), json!(oid));
                claims.insert("sub".into(), json!("user-subject-0001"));
                claims.insert("scp".into(), json!("user_impersonation"));
                claims.insert("amr".into(), json!(["pwd", "mfa"]));
                claims.insert("roles".into(), json!(["AdminAgent"]));
                claims.insert("upn".into(), json!("adminagent@dev.example"));
                claims.insert("name".into(), json!("Dev Admin Agent"));
            }
            Caller::App => {
                let oid = "cccccccc-0000-1111-2222-dddddddddddd";
                claims.insert("oid".into(), json!(oid));
                claims.insert("sub".into(), json!(oid));
                claims.insert("idtyp".into(), json!("app"));
                claims.insert("roles".into(), json!(["Catalog.Read"]));
            }
        }
        Self { issuer, caller, claims, lifetime: Duration::from_secs(3600), clock_now: None }
    }

    /// With or without `mfa` in `amr` (users only).
    pub(crate) fn mfa(mut self, mfa: bool) -> Self {
        if self.caller == Caller::User {
            self.claims.insert("amr".into(), if mfa { json!(["pwd", "mfa"]) } else { json!(["pwd"]) });
        }
        self
    }

    /// Sets `roles`.
    pub(crate) fn roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        self.claims.insert("roles".into(), json!(roles));
        self
    }

    /// Sets `wids` (e.g. [`wids::SECURITY_ADMINISTRATOR`]).
    pub(crate) fn wids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        self.claims.insert("wids".into(), json!(ids));
        self
    }

    /// Makes the user a Security administrator (by `wids`), with no agent role.
    pub(crate) fn security_admin(self) -> Self {
        self.roles(Vec::<String>::new()).wids([wids::SECURITY_ADMINISTRATOR])
    }

    /// Sets the audience.
    pub(crate) fn audience(mut self, aud: impl Into<String>) -> Self {
        self.claims.insert("aud".into(), json!(aud.into()));
        self
    }

    /// Sets any claim (or removes it with `Value::Null`).
    pub(crate) fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        let name = name.into();
        if value.is_null() {
            self.claims.remove(&name);
        } else {
            self.claims.insert(name, value);
        }
        self
    }

    /// How long the token is valid from now (an expired token: set `exp` with
    /// [`claim`](Self::claim)).
    pub(crate) fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Issues the token as of this clock's time instead of the system clock's.
    pub(crate) fn at(mut self, clock: &dyn Clock) -> Self {
        self.clock_now = Some(clock.now_unix());
        self
    }

    /// The claims the token will carry.
    pub(crate) fn claims(&self) -> Value {
        let now = self.clock_now.unwrap_or_else(|| SystemClock.now_unix());
        let mut claims = self.claims.clone();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        claims.entry("iat").or_insert(json!(now));
        claims.entry("nbf").or_insert(json!(now));
        claims.entry("exp").or_insert(json!(now.saturating_add(lifetime)));
        Value::Object(claims)
    }

    /// Signs the token.
    pub(crate) fn sign(&self) -> Result<String, DevKeyError> {
        self.issuer.sign(&self.claims())
    }
}

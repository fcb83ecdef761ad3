//! The signed identity assertion: who `serve` admitted, signed for one upstream.
//!
//! The identity headers are only as safe as the network between the proxy and the
//! application: anything that can reach the application directly can send them.
//! So every admitted request also gets [`ASSERTION_HEADER`], a JWT signed with
//! `serve`'s own key (ES256), which the application verifies against `serve`'s
//! JWKS ([`JWKS_PATH`]) before believing any of it.
//!
//! | claim | value |
//! |---|---|
//! | `iss` | `serve`'s configured name ([`Assertions::new`]; `MFA_ASSERTION_ISSUER`) |
//! | `aud` | the upstream's name, as the recipe names it ([`AUDIENCE_HEADER`], or Envoy's `context_extensions`) |
//! | `iat`, `exp` | now, and at most [`ASSERTION_LIFETIME`] later (never after the caller's own token or session expires) |
//! | `sub`, `oid`, `tid` | the caller's, when the token carried them |
//! | `kind` | `user` or `app`, as `X-Mfa-Guard-Kind`; `idtyp` says the same under the name mfa-guard's own verifier reads |
//! | `roles` | the roles the caller holds under `serve`'s role map, as `X-Mfa-Guard-Roles` |
//! | `amr` | `["mfa"]` when `serve` judged the caller's MFA sufficient (`X-Mfa-Guard-Mfa: true`), absent otherwise |
//! | `acr` | the strongest assurance level the caller showed (`mfa`, or a stronger level of the policy), absent without MFA |
//! | `auth_time` | when the user authenticated, when known |
//! | `rule` | the rule that admitted the request (its name, or its pattern) |
//!
//! The audience is what stops one upstream replaying an assertion it received at
//! another: it names the upstream the proxy was about to call, set by the recipe
//! per upstream, never by the client (the proxy replaces a client's copy, and a
//! copy beside the proxy's is refused with `400 invalid_request`). Without an
//! audience, no assertion is sent: an application that verifies refuses the request.
//!
//! **Signatures are cached**, per everything the assertion says but its times
//! (caller, audience, rule, and the expiry of the caller's token): an assertion is
//! signed once and handed out again while at least [`REUSE_MARGIN`] seconds of its
//! life remain, so a busy caller costs one ES256 signature per 40 seconds per
//! upstream, not one per request. The cache is bounded ([`CACHE_CAPACITY`]).
//!
//! **Keys** ([`AssertionKeys`]) rotate as the session keys do: the first key signs,
//! the others are published in the JWKS for verification only. To rotate, add the
//! new key *second* on every replica (published, not yet signing) and wait until the
//! upstreams' JWKS caches have it; then make it first; drop the old key once its
//! last assertion has expired (a minute later). Keys generated at start (no
//! `MFA_ASSERTION_KEYS`) belong to one process: an upstream verifies only the
//! assertions of the replica whose JWKS it fetched, so replicas must share key
//! files.
//!
//! **Verifying with mfa-guard.** An application built on mfa-guard's adapters
//! verifies the assertion with the normal verifier: `serve` is its issuer, the
//! JWKS its key source, its upstream name the audience. The adapters read a bearer
//! token from `Authorization`, so the assertion is put there first, replacing
//! whatever the client sent (an application behind `serve` trusts `serve`, not the
//! client's token):
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::http::{HeaderValue, Request, header::AUTHORIZATION};
//! use mfa_guard_core::{Guard, KeySource};
//! use mfa_guard_tower::MfaLayer;
//!
//! let guard = Guard::partner_center()
//!     .verifier(|v| {
//!         v.issuer("mfa-guard-serve") // serve's MFA_ASSERTION_ISSUER
//!             .keys(KeySource::jwks_url("http://mfa-guard.internal:9000/.well-known/jwks.json"))
//!             .audience("partner-center") // the recipe's name for this upstream
//!     })
//!     .build()?;
//! // Only the assertion counts: every Authorization header the request carried is
//! // replaced by it (none when the request came without one).
//! fn assertion_as_bearer<B>(mut req: Request<B>) -> Request<B> {
//!     let bearer = req
//!         .headers()
//!         .get("x-mfa-guard-assertion")
//!         .and_then(|a| HeaderValue::from_bytes(&[b"Bearer ", a.as_bytes()].concat()).ok());
//!     req.headers_mut().remove(AUTHORIZATION);
//!     if let Some(bearer) = bearer {
//!         req.headers_mut().insert(AUTHORIZATION, bearer);
//!     }
//!     req
//! }
//! let app: axum::Router = axum::Router::new()
//!     .route("/commerce/customers", axum::routing::get(|| async { "customers" }))
//!     .layer(MfaLayer::new(guard))
//!     .layer(tower::util::MapRequestLayer::new(assertion_as_bearer));
//! # let _ = app;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use mfa_guard_core::{Guard, Principal, Role};
use serde::Serialize;

/// The header carrying the assertion to the upstream.
pub const ASSERTION_HEADER: &str = "x-mfa-guard-assertion";
// What the proxy sets is read where every header the proxy sets is read.
pub use crate::original::AUDIENCE_HEADER;
/// The key of Envoy's per-route `context_extensions` naming the upstream, for the
/// gRPC check (whose request headers are the client's).
pub const AUDIENCE_CONTEXT_EXTENSION: &str = "mfa_guard_audience";
/// Where `serve` publishes the public keys of its assertions.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The longest an assertion lives, in seconds: long enough for the proxy to call
/// the upstream, short enough that a leaked one is soon worthless.
pub const ASSERTION_LIFETIME: i64 = 60;
/// A cached assertion is handed out again only while it has at least this many
/// seconds left, so the upstream receives one that is still valid however its
/// clock and the request's way there differ a little.
pub const REUSE_MARGIN: i64 = 20;
/// The most assertions kept for reuse; the least used go first.
pub const CACHE_CAPACITY: u64 = 10_000;

/// Why assertion keys or settings cannot be used. Says which key, never its bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionKeyError {
    /// A document that is not a PKCS#8 P-256 private key.
    #[error(
        "{name} is not a PKCS#8 P-256 private key (make one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)"
    )]
    NotP256 {
        /// The key's name (its file).
        name: String,
    },
    /// A public key the crypto library encoded unexpectedly.
    #[error("{name}: unexpected public key encoding")]
    PublicKeyEncoding {
        /// The key's name (its file).
        name: String,
    },
    /// The operating system could not make a key.
    #[error("cannot generate a P-256 key")]
    Generate,
    /// A document that starts as PEM and is not.
    #[error("{name} is not PEM")]
    NotPem {
        /// The key's name (its file).
        name: String,
    },
    /// A PEM block other than `PRIVATE KEY`.
    #[error(
        "{name} holds a {tag:?} PEM block; a PKCS#8 PRIVATE KEY is needed (convert one with `openssl pkcs8 -topk8 -nocrypt`)"
    )]
    PemTag {
        /// The key's name (its file).
        name: String,
        /// The block's tag.
        tag: String,
    },
    /// The same key twice.
    #[error("{name} is a key given twice")]
    Duplicate {
        /// The key's name (its file).
        name: String,
    },
    /// No key at all.
    #[error("no assertion key given")]
    Empty,
    /// A key file larger than a key can be.
    #[error("{path} is larger than {max} bytes; not a key")]
    TooLarge {
        /// The file.
        path: String,
        /// The largest key file read.
        max: u64,
    },
    /// A key file that cannot be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// An issuer that is empty, too long or not visible ASCII.
    #[error("the assertion issuer {issuer:?} must be 1 to 256 visible ASCII characters")]
    Issuer {
        /// The issuer given.
        issuer: String,
    },
}

/// One signing key: a P-256 private key, its key id (the RFC 7638 thumbprint of
/// its public key), and its public JWK.
struct AssertionKey {
    kid: String,
    encoding: EncodingKey,
    jwk: serde_json::Value,
}

impl AssertionKey {
    fn from_pkcs8_der(der: &[u8], which: &str) -> Result<Self, AssertionKeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| AssertionKeyError::NotP256 { name: which.to_owned() })?;
        // The uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let (x, y) = match point {
            [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
            _ => return Err(AssertionKeyError::PublicKeyEncoding { name: which.to_owned() }),
        };
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        // RFC 7638: the required members, in lexicographic order, no spaces.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
        let encoding = EncodingKey::from_ec_der(der);
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid, "x": x, "y": y,
        });
        Ok(Self { kid, encoding, jwk })
    }
}

/// `serve`'s assertion key ring: the first key signs, every key is published.
pub struct AssertionKeys {
    keys: Vec<AssertionKey>,
}

impl fmt::Debug for AssertionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids only: they are public (the JWKS has them); the keys are not.
        f.debug_struct("AssertionKeys").field("kids", &self.kids().collect::<Vec<_>>()).finish()
    }
}

impl AssertionKeys {
    /// One new P-256 key, made now. It lives as long as this process: only this
    /// process's JWKS publishes it (see the module documentation).
    pub fn generate() -> Result<Self, AssertionKeyError> {
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| AssertionKeyError::Generate)?;
        Ok(Self { keys: vec![AssertionKey::from_pkcs8_der(doc.as_ref(), "the generated key")?] })
    }

    /// Keys from PKCS#8 documents, PEM (`-----BEGIN PRIVATE KEY-----`) or DER, the
    /// signing key first. `names` say which is which in errors (file names).
    pub fn from_pkcs8<'a>(
        documents: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, AssertionKeyError> {
        let mut keys: Vec<AssertionKey> = Vec::new();
        for (name, bytes) in documents {
            let der = if bytes.starts_with(b"-----BEGIN") {
                let pem =
                    pem::parse(bytes).map_err(|_| AssertionKeyError::NotPem { name: name.to_owned() })?;
                if pem.tag() != "PRIVATE KEY" {
                    return Err(AssertionKeyError::PemTag {
                        name: name.to_owned(),
                        tag: pem.tag().to_owned(),
                    });
                }
                pem.into_contents()
            } else {
                bytes.to_vec()
            };
            let key = AssertionKey::from_pkcs8_der(&der, name)?;
            if keys.iter().any(|k| k.kid == key.kid) {
                return Err(AssertionKeyError::Duplicate { name: name.to_owned() });
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(AssertionKeyError::Empty);
        }
        Ok(Self { keys })
    }

    /// Keys from files (`MFA_ASSERTION_KEYS`: comma-separated paths, the signing
    /// key first), each PKCS#8 PEM or DER, at most 16 KiB.
    pub fn read_files(paths: &str) -> Result<Self, AssertionKeyError> {
        const MAX_FILE: u64 = 16 * 1024;
        let mut read = Vec::new();
        for path in paths.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let too_big = std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_FILE);
            if too_big {
                return Err(AssertionKeyError::TooLarge { path: path.to_owned(), max: MAX_FILE });
            }
            let bytes = std::fs::read(path).map_err(|e| AssertionKeyError::Unreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            read.push((path, bytes));
        }
        Self::from_pkcs8(read.iter().map(|(p, b)| (*p, b.as_slice())))
    }

    /// The key ids, the signing key's first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// The public keys as a JWKS document, the signing key first.
    pub fn jwks_json(&self) -> String {
        serde_json::json!({ "keys": self.keys.iter().map(|k| &k.jwk).collect::<Vec<_>>() }).to_string()
    }

    fn signing(&self) -> &AssertionKey {
        // `from_pkcs8` and `generate` never make an empty ring.
        &self.keys[0]
    }
}

/// Signs assertions for admitted callers, and remembers them for reuse.
pub struct Assertions {
    issuer: String,
    keys: AssertionKeys,
    jwks: String,
    header: Header,
    cache: moka::sync::Cache<String, Arc<Cached>>,
}

impl fmt::Debug for Assertions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assertions")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

/// A signed assertion and until when it may be handed out.
struct Cached {
    value: HeaderValue,
    reuse_until: i64,
}

/// The claims. Field order is the JSON's.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tid: Option<&'a str>,
    kind: &'static str,
    idtyp: &'static str,
    roles: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    rule: &'a str,
}

impl Assertions {
    /// Assertions issued as `issuer` (visible ASCII, at most 256 bytes), signed with
    /// the first of `keys`.
    pub fn new(issuer: impl Into<String>, keys: AssertionKeys) -> Result<Self, AssertionKeyError> {
        let issuer = issuer.into();
        if issuer.is_empty() || issuer.len() > 256 || !issuer.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(AssertionKeyError::Issuer { issuer });
        }
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(keys.signing().kid.clone());
        let jwks = keys.jwks_json();
        let cache = moka::sync::Cache::builder()
            .max_capacity(CACHE_CAPACITY)
            // The reuse window: nothing is handed out later than this anyway.
            .time_to_live(Duration::from_secs((ASSERTION_LIFETIME - REUSE_MARGIN).unsigned_abs()))
            .build();
        Ok(Self { issuer, keys, jwks, header, cache })
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The JWKS document served at [`JWKS_PATH`].
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    /// The assertion of `principal` for the upstream `audience` at `now` (seconds
    /// since the epoch): a cached one while it has [`REUSE_MARGIN`] left, else a new
    /// one. `None` when the caller's token expires before a usable assertion could
    /// (it would be refused by the upstream anyway) or signing failed (logged).
    pub fn assert(&self, principal: &Principal, audience: &str, now: i64) -> Option<HeaderValue> {
        let mut claims = claims(&self.issuer, principal, audience);
        // Everything the assertion says but its times, and the caller's own expiry
        // (a later token of the same caller gets its own).
        let key = format!("{} {}", principal.expires_at(), serde_json::to_string(&claims).ok()?);
        if let Some(cached) = self.cache.get(&key)
            && now <= cached.reuse_until
        {
            return Some(cached.value.clone());
        }
        let exp = (now + ASSERTION_LIFETIME).min(principal.expires_at());
        if exp <= now {
            return None;
        }
        claims.iat = Some(now);
        claims.exp = Some(exp);
        let token = match jsonwebtoken::encode(&self.header, &claims, &self.keys.signing().encoding) {
            Ok(token) => token,
            Err(e) => {
                tracing::warn!("cannot sign an identity assertion: {e}");
                return None;
            }
        };
        let value = HeaderValue::from_str(&token).ok()?;
        let reuse_until = exp - REUSE_MARGIN;
        if reuse_until > now {
            self.cache.insert(key, Arc::new(Cached { value: value.clone(), reuse_until }));
        }
        Some(value)
    }
}

/// The claims of `principal`'s assertion for `audience`, without times.
fn claims<'a>(issuer: &'a str, principal: &'a Principal, audience: &'a str) -> Claims<'a> {
    let kind = principal.kind().as_str();
    Claims {
        iss: issuer,
        aud: audience,
        iat: None,
        exp: None,
        sub: principal.sub(),
        oid: principal.oid(),
        tid: principal.tid(),
        kind,
        idtyp: kind,
        roles: principal.roles().map(Role::name).collect(),
        amr: principal.mfa().then_some(["mfa"]),
        acr: principal.assurance_level(),
        auth_time: principal.auth_time(),
        rule: principal.rule(),
    }
}

/// The upstream a proxy named, already checked by the decision (`decide` refuses a
/// copy beside the proxy's, or a malformed one): `None` when it named none.
pub(crate) fn audience(headers: &HeaderMap) -> Option<&str> {
    crate::original::audience(headers).ok().flatten()
}

/// What the HTTP endpoints need to attach assertions: the signer, and the guard
/// whose clock decided the request.
#[derive(Clone)]
pub(crate) struct Signer {
    pub(crate) assertions: Arc<Assertions>,
    pub(crate) guard: Arc<Guard>,
}

/// After an endpoint answered: an admission's `200` (the principal in its
/// extensions) gets the assertion for the upstream the proxy named. On Envoy's
/// endpoint an admission without one names the header for removal, so a client's
/// copy never reaches the upstream (the other proxies' recipes strip it).
pub(crate) async fn attach(State(signer): State<Signer>, req: Request<Body>, next: Next) -> Response {
    let audience = audience(req.headers()).map(str::to_owned);
    let envoy = req.uri().path().starts_with(crate::routes::ENVOY_PREFIX);
    let mut response = next.run(req).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let Some(principal) = response.extensions_mut().remove::<Principal>() else {
        if envoy {
            name_for_removal(response.headers_mut());
        }
        return response;
    };
    let assertion =
        audience.and_then(|a| signer.assertions.assert(&principal, &a, signer.guard.clock().now_unix()));
    match assertion {
        Some(value) => {
            response.headers_mut().insert(ASSERTION_HEADER, value);
        }
        None if envoy => name_for_removal(response.headers_mut()),
        None => {}
    }
    response
}

/// Adds [`ASSERTION_HEADER`] to Envoy's list of request headers to remove.
fn name_for_removal(headers: &mut HeaderMap) {
    let list = match headers.get(crate::routes::ENVOY_HEADERS_TO_REMOVE).and_then(|v| v.to_str().ok()) {
        Some(names) if !names.is_empty() => format!("{names},{ASSERTION_HEADER}"),
        _ => ASSERTION_HEADER.to_owned(),
    };
    if let Ok(list) = HeaderValue::from_str(&list) {
        headers.insert(crate::routes::ENVOY_HEADERS_TO_REMOVE, list);
    }
}

/// `GET /.well-known/jwks.json`: the public keys of the assertions.
pub(crate) async fn jwks(State(signer): State<Signer>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            // Short enough that a key added for rotation is seen well before it signs.
            (header::CACHE_CONTROL, HeaderValue::from_static("max-age=300")),
        ],
        signer.assertions.jwks_json().to_owned(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::{Value, json};

    use super::*;
    use crate::testing::{Issuer, NOW, call, new_key, user_with_mfa};

    /// The assertion's claims, verified against `keys`' JWKS as an upstream would.
    fn verify(keys: &AssertionKeys, token: &HeaderValue, audience: &str, now: i64) -> Value {
        let token = token.to_str().unwrap();
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        let jwks: JwkSet = serde_json::from_str(&keys.jwks_json()).unwrap();
        let jwk = jwks.find(&kid).expect("the signing key is in the JWKS");
        let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&["mfa-guard-serve"]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
        // Checked below against the test's clock, not the system's.
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .expect("the assertion verifies")
            .claims;
        assert!(claims["exp"].as_i64().unwrap() > now, "expired: {claims}");
        claims
    }

    fn ring(keys: &[&[u8]]) -> AssertionKeys {
        AssertionKeys::from_pkcs8(keys.iter().enumerate().map(|(i, k)| (["first", "second"][i], *k))).unwrap()
    }

    #[test]
    fn an_assertion_names_the_admitted_caller_for_the_upstream_the_proxy_named() {
        let issuer = Issuer::new();
        let key = new_key();
        let assertions = Assertions::new("mfa-guard-serve", ring(&[&key])).unwrap();
        let principal = issuer.admit(user_with_mfa(), "/commerce/customers");
        let token = assertions.assert(&principal, "partner-center", NOW).unwrap();
        let claims = verify(&ring(&[&key]), &token, "partner-center", NOW);
        assert_eq!(
            claims,
            json!({
                "iss": "mfa-guard-serve", "aud": "partner-center", "iat": NOW, "exp": NOW + 60,
                "sub": "sub-1", "oid": "oid-1", "tid": "aaaabbbb-0000-cccc-1111-dddd2222eeee",
                "kind": "user", "idtyp": "user", "roles": ["AdminAgent"], "amr": ["mfa"], "acr": "mfa",
                "auth_time": NOW - 100, "rule": "customers",
            })
        );
        // A caller without MFA on a rule that does not ask for it: no amr, no acr.
        let mut without = user_with_mfa();
        without["amr"] = json!(["pwd"]);
        let principal = issuer.admit(without, "/overview");
        let claims = verify(&ring(&[&key]), &assertions.assert(&principal, "a", NOW).unwrap(), "a", NOW);
        assert_eq!((claims.get("amr"), claims.get("acr")), (None, None), "{claims}");
        assert_eq!(claims["rule"], principal.rule(), "{claims}");
    }

    #[test]
    fn an_app_only_caller_is_asserted_as_an_app() {
        let issuer = Issuer::new();
        let key = new_key();
        let assertions = Assertions::new("mfa-guard-serve", ring(&[&key])).unwrap();
        let app =
            json!({"sub": "app-1", "oid": "app-1", "tid": "t", "roles": ["AdminAgent"], "idtyp": "app"});
        let principal = issuer.admit(app, "/overview");
        let claims = verify(&ring(&[&key]), &assertions.assert(&principal, "a", NOW).unwrap(), "a", NOW);
        assert_eq!(
            (&claims["kind"], &claims["idtyp"], claims.get("amr")),
            (&json!("app"), &json!("app"), None)
        );
    }

    #[test]
    fn an_assertion_lives_at_most_60_seconds_and_never_past_the_callers_token() {
        let issuer = Issuer::new();
        let key = new_key();
        let assertions = Assertions::new("mfa-guard-serve", ring(&[&key])).unwrap();
        let principal = issuer.admit(user_with_mfa(), "/commerce/customers");
        let claims = verify(&ring(&[&key]), &assertions.assert(&principal, "a", NOW).unwrap(), "a", NOW);
        assert_eq!(
            (claims["iat"].as_i64(), claims["exp"].as_i64()),
            (Some(NOW), Some(NOW + ASSERTION_LIFETIME))
        );
        assert_eq!(ASSERTION_LIFETIME, 60);

        let mut short = user_with_mfa();
        short["exp"] = json!(NOW + 30);
        let principal = issuer.admit(short, "/commerce/customers");
        let claims = verify(&ring(&[&key]), &assertions.assert(&principal, "a", NOW).unwrap(), "a", NOW);
        assert_eq!(claims["exp"].as_i64(), Some(NOW + 30), "not past the caller's token: {claims}");
        // At the token's expiry nothing is signed.
        assert_eq!(assertions.assert(&principal, "a", NOW + 30), None);
    }

    #[test]
    fn a_signed_assertion_is_reused_until_its_margin_and_only_for_the_same_upstream_and_rule() {
        let issuer = Issuer::new();
        let assertions = Assertions::new("mfa-guard-serve", ring(&[&new_key()])).unwrap();
        let principal = issuer.admit(user_with_mfa(), "/commerce/customers");
        let first = assertions.assert(&principal, "a", NOW).unwrap();
        // The same caller through another admission (a new Principal, as every
        // request has): the same bytes, not a new signature (ES256 signatures are
        // randomised, so a new one would differ).
        let again = issuer.admit(user_with_mfa(), "/commerce/customers");
        assert_eq!(assertions.assert(&again, "a", NOW + ASSERTION_LIFETIME - REUSE_MARGIN).unwrap(), first);
        let renewed = assertions.assert(&again, "a", NOW + ASSERTION_LIFETIME - REUSE_MARGIN + 1).unwrap();
        assert_ne!(renewed, first, "past the reuse window a new assertion is signed");
        // Another upstream, or another rule: never the same assertion.
        assert_ne!(assertions.assert(&principal, "b", NOW).unwrap(), first);
        let other_rule = issuer.admit(user_with_mfa(), "/overview");
        assert_ne!(other_rule.rule(), principal.rule());
        assert_ne!(assertions.assert(&other_rule, "a", NOW).unwrap(), first);
    }

    #[test]
    fn an_assertion_of_the_previous_key_still_verifies_from_the_rotated_jwks() {
        let issuer = Issuer::new();
        let (old, new) = (new_key(), new_key());
        let before = Assertions::new("mfa-guard-serve", ring(&[&old])).unwrap();
        let principal = issuer.admit(user_with_mfa(), "/commerce/customers");
        let signed_by_old = before.assert(&principal, "a", NOW).unwrap();

        let after = Assertions::new("mfa-guard-serve", ring(&[&new, &old])).unwrap();
        let published: Value = serde_json::from_str(after.jwks_json()).unwrap();
        let kids: Vec<&str> =
            published["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(
            kids,
            ring(&[&new, &old]).kids().collect::<Vec<_>>(),
            "both published, the signing key first"
        );
        verify(&ring(&[&new, &old]), &signed_by_old, "a", NOW);
        // New assertions are signed by the new key.
        let signed_by_new = after.assert(&principal, "a", NOW).unwrap();
        let kid = jsonwebtoken::decode_header(signed_by_new.to_str().unwrap()).unwrap().kid.unwrap();
        assert_eq!(kid, kids[0]);
        // Once the old key is dropped, its assertions no longer verify.
        let jwks: JwkSet = serde_json::from_str(&ring(&[&new]).jwks_json()).unwrap();
        let old_kid = jsonwebtoken::decode_header(signed_by_old.to_str().unwrap()).unwrap().kid.unwrap();
        assert!(jwks.find(&old_kid).is_none());
    }

    #[test]
    fn the_published_keys_are_public_es256_keys_named_by_their_thumbprints() {
        let keys = ring(&[&new_key()]);
        let jwks: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(
            (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
            (&json!("EC"), &json!("P-256"), &json!("ES256"), &json!("sig"))
        );
        assert!(key.get("d").is_none(), "no private part: {key}");
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            key["x"].as_str().unwrap(),
            key["y"].as_str().unwrap()
        );
        let thumbprint = URL_SAFE_NO_PAD
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()));
        assert_eq!(key["kid"], thumbprint.as_str());
        // Debug shows key ids, never a key.
        let debug = format!("{keys:?}");
        assert_eq!(debug, format!("AssertionKeys {{ kids: [{thumbprint:?}] }}"));
    }

    #[test]
    fn keys_are_pkcs8_p256_in_pem_or_der_and_anything_else_is_refused_by_name() {
        let der = new_key();
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.clone()));
        let from_pem = AssertionKeys::from_pkcs8([("a.pem", pem.as_bytes())]).unwrap();
        let from_der = AssertionKeys::from_pkcs8([("a.der", der.as_slice())]).unwrap();
        assert_eq!(from_pem.kids().collect::<Vec<_>>(), from_der.kids().collect::<Vec<_>>());

        let sec1 = pem::encode(&pem::Pem::new("EC PRIVATE KEY", der.clone()));
        let e = AssertionKeys::from_pkcs8([("old.pem", sec1.as_bytes())]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(r#"old.pem holds a "EC PRIVATE KEY" PEM block; a PKCS#8 PRIVATE KEY is needed"#),
            "{e}"
        );
        let e = AssertionKeys::from_pkcs8([("junk.der", &b"not a key"[..])]).unwrap_err();
        assert!(e.to_string().starts_with("junk.der is not a PKCS#8 P-256 private key"), "{e}");
        let e = AssertionKeys::from_pkcs8([("a", der.as_slice()), ("b", der.as_slice())]).unwrap_err();
        assert_eq!(e.to_string(), "b is a key given twice");
        let e = AssertionKeys::from_pkcs8([]).unwrap_err();
        assert_eq!(e.to_string(), "no assertion key given");
        let e = AssertionKeys::read_files("/nonexistent/key.pem").unwrap_err();
        assert!(e.to_string().starts_with("cannot read /nonexistent/key.pem: "), "{e}");
    }

    #[test]
    fn an_issuer_must_be_visible_ascii() {
        for bad in ["", "with space", "é"] {
            let e = Assertions::new(bad, ring(&[&new_key()])).unwrap_err();
            assert!(e.to_string().ends_with("must be 1 to 256 visible ASCII characters"), "{bad:?}: {e}");
        }
    }

    fn server(issuer: &Issuer, key: &[u8]) -> crate::AuthServer {
        let assertions = Assertions::new("mfa-guard-serve", ring(&[key])).unwrap();
        crate::AuthServer::new(issuer.guard.clone()).assertions(assertions)
    }

    const PROXY: &str = "127.0.0.1:40000";

    #[tokio::test]
    async fn every_endpoint_sends_the_assertion_for_the_upstream_the_proxy_named() {
        let issuer = Issuer::new();
        let key = new_key();
        let router = server(&issuer, &key).router();
        let bearer = format!("Bearer {}", issuer.token(user_with_mfa()));
        let asks: [(&str, Vec<(&str, &str)>); 3] = [
            ("/auth", vec![("x-forwarded-method", "GET"), ("x-forwarded-uri", "/commerce/customers")]),
            ("/nginx/auth", vec![("x-original-method", "GET"), ("x-original-uri", "/commerce/customers")]),
            ("/envoy/commerce/customers", vec![]),
        ];
        for (endpoint, mut headers) in asks {
            headers.extend([("authorization", bearer.as_str()), (AUDIENCE_HEADER, "partner-center")]);
            let (status, answer, _) = call(&router, PROXY, "GET", endpoint, &headers).await;
            assert_eq!(status, StatusCode::OK, "{endpoint}");
            let claims = verify(&ring(&[&key]), &answer[ASSERTION_HEADER], "partner-center", NOW);
            // The claims say what the identity headers say.
            let header = |name: &str| answer[name].to_str().unwrap().to_owned();
            assert_eq!(claims["oid"], header("x-mfa-guard-oid"), "{endpoint}");
            assert_eq!(claims["tid"], header("x-mfa-guard-tid"), "{endpoint}");
            assert_eq!(claims["kind"], header("x-mfa-guard-kind"), "{endpoint}");
            assert_eq!(claims["roles"], json!(header("x-mfa-guard-roles").split(',').collect::<Vec<_>>()));
            assert_eq!(header("x-mfa-guard-mfa"), "true");
            assert_eq!(
                (&claims["amr"], &claims["rule"]),
                (&json!(["mfa"]), &json!("customers")),
                "{endpoint}"
            );
            let removed = answer.get(crate::routes::ENVOY_HEADERS_TO_REMOVE).map(|v| v.to_str().unwrap());
            assert!(!removed.unwrap_or_default().contains(ASSERTION_HEADER), "{endpoint}: {removed:?}");
        }
    }

    #[tokio::test]
    async fn without_an_audience_no_assertion_is_sent_and_envoy_removes_a_clients_copy() {
        let issuer = Issuer::new();
        let router = server(&issuer, &new_key()).router();
        let bearer = format!("Bearer {}", issuer.token(user_with_mfa()));
        let forwarded = [
            ("authorization", bearer.as_str()),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/commerce/customers"),
        ];
        let (status, answer, _) = call(&router, PROXY, "GET", "/auth", &forwarded).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer.get(ASSERTION_HEADER), None);
        assert_eq!(answer["x-mfa-guard-oid"], "oid-1", "the identity headers stay");

        let client_copy = [("authorization", bearer.as_str()), (ASSERTION_HEADER, "forged.by.client")];
        let (status, answer, _) =
            call(&router, PROXY, "GET", "/envoy/commerce/customers", &client_copy).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer.get(ASSERTION_HEADER), None);
        let removed = answer[crate::routes::ENVOY_HEADERS_TO_REMOVE].to_str().unwrap();
        assert!(removed.split(',').any(|h| h == ASSERTION_HEADER), "{removed}");
    }

    #[tokio::test]
    async fn a_second_audience_beside_the_proxys_is_refused_as_each_proxy_understands() {
        let issuer = Issuer::new();
        let router = server(&issuer, &new_key()).router();
        let bearer = format!("Bearer {}", issuer.token(user_with_mfa()));
        let twice = [
            ("authorization", bearer.as_str()),
            (AUDIENCE_HEADER, "partner-center"),
            (AUDIENCE_HEADER, "billing"),
        ];
        let mut forwarded = vec![("x-forwarded-method", "GET"), ("x-forwarded-uri", "/commerce/customers")];
        forwarded.extend(twice);
        let (status, answer, body) = call(&router, PROXY, "GET", "/auth", &forwarded).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.get(ASSERTION_HEADER), None);
        assert!(answer["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_request""#));
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "invalid_request");
        assert!(
            problem["detail"].as_str().unwrap().contains("x-mfa-guard-audience more than once"),
            "{problem}"
        );
        // nginx's auth_request understands 401 only: a bare one, and the refusal
        // location says why.
        let mut nginx = vec![("x-original-method", "GET"), ("x-original-uri", "/commerce/customers")];
        nginx.extend(twice);
        let (status, answer, body) = call(&router, PROXY, "GET", "/nginx/auth", &nginx).await;
        assert_eq!(
            (status, answer.get(ASSERTION_HEADER), body.as_str()),
            (StatusCode::UNAUTHORIZED, None, "")
        );
        let (status, _, body) = call(&router, PROXY, "GET", "/nginx/refusal", &nginx).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("x-mfa-guard-audience more than once"), "{body}");
        let (status, _, _) = call(&router, PROXY, "GET", "/envoy/commerce/customers", &twice).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn the_jwks_publishes_every_key_of_the_ring() {
        let issuer = Issuer::new();
        let (new, old) = (new_key(), new_key());
        let assertions = Assertions::new("mfa-guard-serve", ring(&[&new, &old])).unwrap();
        let router = crate::AuthServer::new(issuer.guard.clone()).assertions(assertions).router();
        let (status, answer, body) = call(&router, PROXY, "GET", JWKS_PATH, &[]).await;
        assert_eq!((status, answer["content-type"].to_str().unwrap()), (StatusCode::OK, "application/json"));
        assert_eq!(body, ring(&[&new, &old]).jwks_json());
        // Without assertions there is nothing to publish.
        let router = crate::AuthServer::new(issuer.guard.clone()).router();
        let (status, _, _) = call(&router, PROXY, "GET", JWKS_PATH, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

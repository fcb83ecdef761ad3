//! What the unit tests of the assertion and the peer check share: an issuer of the
//! test's own (a P-256 key; no development issuer), a guard trusting it on a clock
//! that stands still, and a way to ask the HTTP endpoints as a given peer.

use std::net::SocketAddr;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use jsonwebtoken::{EncodingKey, Header};
use mfa_guard_core::{Admission, Guard, KeySource, ManualClock, PathRules, Policy, Principal, RequestInfo};
use serde_json::{Value, json};

use crate::AssertionKeys;

/// The tests' now (the guard's clock).
pub(crate) const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";

/// A P-256 key as PKCS#8 DER.
pub(crate) fn new_key() -> Vec<u8> {
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .expect("a key")
        .as_ref()
        .to_vec()
}

/// A user who signed in with MFA and holds AdminAgent.
pub(crate) fn user_with_mfa() -> Value {
    json!({
        "sub": "sub-1", "oid": "oid-1", "tid": "aaaabbbb-0000-cccc-1111-dddd2222eeee",
        "scp": "user_impersonation", "roles": ["AdminAgent"], "amr": ["pwd", "mfa"], "auth_time": NOW - 100,
    })
}

/// The callers' tokens, signed by a key of the test's own, and a guard (Partner
/// Center policy, strict paths as `serve` builds it) that trusts them.
pub(crate) struct Issuer {
    der: Vec<u8>,
    kid: String,
    pub(crate) guard: Guard,
}

impl Issuer {
    pub(crate) fn new() -> Self {
        let der = new_key();
        // The assertion key ring only lends its JWKS writer.
        let ring = AssertionKeys::from_pkcs8([("issuer key", der.as_slice())]).expect("a key");
        let keys = KeySource::jwks_json(ring.jwks_json().as_bytes()).expect("a JWKS");
        let guard = Guard::builder()
            .verifier(|v| v.issuer(ISSUER).keys(keys).audience(AUDIENCE).clock(ManualClock::new(NOW)))
            .policy(Policy::partner_center())
            .path_rules(PathRules::strict())
            .build()
            .expect("a guard");
        Self { kid: ring.kids().next().expect("a kid").to_owned(), der, guard }
    }

    /// A token carrying `claims` (over the issuer, audience and a lifetime of an
    /// hour).
    pub(crate) fn token(&self, claims: Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let mut all = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": NOW - 10, "exp": NOW + 3600});
        all.as_object_mut().expect("an object").extend(claims.as_object().expect("an object").clone());
        jsonwebtoken::encode(&header, &all, &EncodingKey::from_ec_der(&self.der)).expect("signed")
    }

    /// The principal the guard admits for a token with `claims` on `path`.
    pub(crate) fn admit(&self, claims: Value, path: &str) -> Principal {
        let authorization = format!("Bearer {}", self.token(claims));
        let req = RequestInfo::new("GET", path).with_authorizations([authorization.as_bytes()]);
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        match rt.block_on(self.guard.check(&req)) {
            Admission::Admitted(principal) => principal,
            other => panic!("not admitted: {other:?}"),
        }
    }
}

/// Asks `router` as `peer` (the connection's address, as `serve_http` sets it):
/// status, headers, body.
pub(crate) async fn call(
    router: &axum::Router,
    peer: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let mut req = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(Body::empty()).expect("a request");
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().expect("a peer address")));
    let response = router.clone().oneshot(req).await.expect("an answer");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
}

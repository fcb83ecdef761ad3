//! The signed identity assertion end to end: real nginx and real Caddy with the
//! shipped recipes, `mfa-guard serve`'s endpoints, and behind them the plain Python
//! application of `tests/upstream/app.py`, which verifies every assertion with
//! PyJWT against serve's JWKS and its own name. It must see a valid assertion
//! whose claims equal the identity headers, and refuse a forged, an expired, a
//! wrong-audience and a replayed-from-another-upstream one; a peer outside
//! `MFA_TRUSTED_PROXIES` gets no decision over a real connection.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::{EncodingKey, Header};
use mfa_guard_conformance::fixture::{Style, Tok};
use mfa_guard_conformance::forward::{Proxy, serve_guard, start_caddy, start_nginx};
use mfa_guard_conformance::upstream::start_python_upstream;
use mfa_guard_serve::{
    ASSERTION_HEADER, AUDIENCE_HEADER, AssertionKeys, Assertions, AuthServer, TrustedProxies,
};
use serde_json::{Value, json};

const SUITE: &str = "the identity assertion tests";
const ISSUER: &str = "mfa-guard-serve";
/// The application's name in the recipes (nginx's `$mfa_guard_audience` in the
/// tests' configuration, the Caddyfile's default).
const AUDIENCE: &str = "app";

fn new_key() -> Vec<u8> {
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap()
        .as_ref()
        .to_vec()
}

/// `serve`'s HTTP endpoints with assertions signed by `key`, on loopback.
async fn start_serve(key: &[u8], peers: TrustedProxies) -> SocketAddr {
    let keys = AssertionKeys::from_pkcs8([("the test key", key)]).unwrap();
    let server = AuthServer::new(serve_guard(Style::PartnerCenter))
        .assertions(Assertions::new(ISSUER, keys).unwrap())
        .trusted_proxies(peers);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { server.serve_http(listener, std::future::pending()).await });
    addr
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// An assertion made by hand: `claims` signed with `key` under `kid`.
fn sign(key: &[u8], kid: &str, claims: &Value) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(key)).unwrap()
}

/// GET `url` with `headers`: status and the JSON the application answered (or
/// the body as a string).
async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let response = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// What every proxy must deliver: a valid assertion for the application, equal to
/// the identity headers, never a client's copy; no upstream answer for a refused
/// caller.
async fn through(name: &str, proxy: &Proxy) -> Vec<String> {
    let mut failures = Vec::new();
    let url = format!("http://{}/commerce/customers", proxy.addr);
    let bearer = format!("Bearer {}", Tok::AdminMfa.mint());
    let forged = "eyJhbGciOiJFUzI1NiJ9.eyJvaWQiOiJtYWxsb3J5In0.c2ln";
    let (status, seen) = get(&url, &[("authorization", &bearer), (ASSERTION_HEADER, forged)]).await;
    let assertion = &seen["assertion"];
    let claims = &assertion["claims"];
    if status != 200 || assertion["verdict"] != "valid" {
        failures.push(format!("{name}: an admitted caller's request: {status} {seen}"));
    } else {
        if assertion["matches_headers"] != true {
            failures.push(format!(
                "{name}: the claims differ from the identity headers: {}",
                assertion["mismatches"]
            ));
        }
        let lifetime = claims["exp"].as_i64().unwrap_or(i64::MAX) - claims["iat"].as_i64().unwrap_or(0);
        if claims["aud"] != AUDIENCE || claims["iss"] != ISSUER || !(1..=60).contains(&lifetime) {
            failures.push(format!("{name}: audience, issuer or lifetime: {claims}"));
        }
        if claims["rule"] != "customers" || claims["amr"] != json!(["mfa"]) || claims["oid"].is_null() {
            failures.push(format!("{name}: the caller's claims: {claims}"));
        }
        if seen["headers"][ASSERTION_HEADER] == forged {
            failures.push(format!("{name}: the client's own assertion reached the application"));
        }
    }
    // Refused: nothing reaches the application (its JSON would say so).
    let without_mfa = format!("Bearer {}", Tok::AdminNoMfa.mint());
    let (status, seen) = get(&url, &[("authorization", &without_mfa)]).await;
    if status != 401 || seen.get("assertion").is_some() {
        failures.push(format!("{name}: a caller without MFA: {status} {seen}"));
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_upstream_verifies_the_assertion_through_nginx_and_caddy_and_refuses_every_other() {
    let key = new_key();
    let kid = AssertionKeys::from_pkcs8([("k", key.as_slice())]).unwrap().kids().next().unwrap().to_owned();
    let serve = start_serve(&key, TrustedProxies::loopback()).await;
    let jwks = format!("http://{serve}/.well-known/jwks.json");
    let Some(app) = start_python_upstream(SUITE, &jwks, AUDIENCE, ISSUER).unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let mut failures = Vec::new();
    if let Some(nginx) = start_nginx(serve, app.addr).await.unwrap_or_else(|e| panic!("{e}")) {
        failures.extend(through("nginx", &nginx).await);
    }
    if let Some(caddy) = start_caddy(serve, app.addr).await.unwrap_or_else(|e| panic!("{e}")) {
        failures.extend(through("Caddy", &caddy).await);
    }

    // Straight to the application, past the proxy: only serve's assertion for
    // this application, unexpired, is believed.
    let direct = format!("http://{}/commerce/customers", app.addr);
    let n = now();
    let good = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": n, "exp": n + 60, "oid": "o", "kind": "user",
        "roles": [], "rule": "customers"});
    let mut expired = good.clone();
    expired["iat"] = json!(n - 180);
    expired["exp"] = json!(n - 120);
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("billing");
    // A real assertion of serve for another upstream, as that upstream would have
    // received it (asked as nginx asks).
    let bearer = format!("Bearer {}", Tok::AdminMfa.mint());
    let for_billing = reqwest::Client::new()
        .get(format!("http://{serve}/nginx/auth"))
        .header("authorization", &bearer)
        .header("x-original-method", "GET")
        .header("x-original-uri", "/commerce/customers")
        .header(AUDIENCE_HEADER, "billing")
        .send()
        .await
        .unwrap();
    let replayed = for_billing.headers()[ASSERTION_HEADER].to_str().unwrap().to_owned();
    let refused: [(&str, String, &str); 4] = [
        ("forged (another key, serve's kid)", sign(&new_key(), &kid, &good), "InvalidSignatureError"),
        ("expired", sign(&key, &kid, &expired), "ExpiredSignatureError"),
        ("for another audience", sign(&key, &kid, &wrong_audience), "InvalidAudienceError"),
        ("replayed from another upstream", replayed, "InvalidAudienceError"),
    ];
    for (what, assertion, error) in refused {
        let (status, seen) = get(&direct, &[(ASSERTION_HEADER, &assertion), ("x-mfa-guard-oid", "o")]).await;
        let reason = seen["assertion"]["reason"].as_str().unwrap_or_default();
        if status != 401 || seen["assertion"]["verdict"] != "refused" || !reason.starts_with(error) {
            failures.push(format!("direct, {what}: {status} {seen}"));
        }
    }
    // Control: serve's key, this audience, unexpired: believed.
    let (status, seen) = get(&direct, &[(ASSERTION_HEADER, &sign(&key, &kid, &good))]).await;
    if status != 200 || seen["assertion"]["verdict"] != "valid" {
        failures.push(format!("direct, well made: {status} {seen}"));
    }
    // Identity headers alone are not believed.
    let (status, seen) = get(&direct, &[("x-mfa-guard-oid", "o"), ("x-mfa-guard-roles", "AdminAgent")]).await;
    if status != 401 || seen["assertion"]["verdict"] != "refused" {
        failures.push(format!("direct, identity headers without an assertion: {status} {seen}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_outside_the_trusted_proxies_gets_no_decision_over_a_real_connection() {
    // This test's connections come from 127.0.0.1, outside the configured network.
    let serve = start_serve(&new_key(), TrustedProxies::parse("10.0.0.0/8").unwrap()).await;
    let bearer = format!("Bearer {}", Tok::AdminMfa.mint());
    let response = reqwest::Client::new()
        .get(format!("http://{serve}/auth"))
        .header("authorization", &bearer)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/commerce/customers")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.headers().get("x-mfa-guard-oid").is_none());
    assert_eq!(
        response.text().await.unwrap(),
        "mfa-guard serve answers only its trusted proxies (MFA_TRUSTED_PROXIES); 127.0.0.1 is not one of them"
    );
    let (status, _) = get(&format!("http://{serve}/health"), &[]).await;
    assert_eq!(status, 200);
    let (status, jwks) = get(&format!("http://{serve}/.well-known/jwks.json"), &[]).await;
    assert_eq!((status, jwks["keys"].as_array().map(Vec::len)), (200, Some(1)));
}

/// The assertion as the bearer token, replacing whatever the client sent: the
/// function `mfa_guard_serve`'s assertion documentation shows.
fn assertion_as_bearer<B>(mut req: http::Request<B>) -> http::Request<B> {
    let bearer = req
        .headers()
        .get(ASSERTION_HEADER)
        .and_then(|a| http::HeaderValue::from_bytes(&[b"Bearer ", a.as_bytes()].concat()).ok());
    req.headers_mut().remove(http::header::AUTHORIZATION);
    if let Some(bearer) = bearer {
        req.headers_mut().insert(http::header::AUTHORIZATION, bearer);
    }
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axum_service_behind_serve_accepts_its_assertion_with_the_normal_verifier() {
    use mfa_guard_core::{Guard, KeySource};

    let serve = start_serve(&new_key(), TrustedProxies::loopback()).await;
    // The application: mfa-guard's tower layer, serve as its issuer, serve's JWKS
    // its keys, its own name the audience; the Partner Center policy again.
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer(ISSUER)
                .keys(KeySource::jwks_url(format!("http://{serve}/.well-known/jwks.json")))
                .audience(AUDIENCE)
        })
        .build()
        .unwrap();
    let app: axum::Router = axum::Router::new()
        .route(
            "/commerce/customers",
            axum::routing::get(|mfa_guard_tower::Principal(p): mfa_guard_tower::Principal| async move {
                format!("customers for {} ({})", p.oid().unwrap_or("?"), p.kind())
            }),
        )
        .layer(mfa_guard_tower::MfaLayer::new(guard))
        .layer(tower::util::MapRequestLayer::new(assertion_as_bearer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let Some(nginx) = start_nginx(serve, app_addr).await.unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let url = format!("http://{}/commerce/customers", nginx.addr);
    let bearer = format!("Bearer {}", Tok::AdminMfa.mint());
    let (status, body) = get(&url, &[("authorization", &bearer)]).await;
    assert_eq!((status, body), (200, json!("customers for aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb (user)")));
    // Past nginx, the client's own token is no credential: only serve's assertion is.
    let direct = format!("http://{app_addr}/commerce/customers");
    let (status, body) = get(&direct, &[("authorization", &bearer)]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "missing_token", "{body}");
    // An assertion serve signed for another upstream is refused by this one.
    let for_billing = reqwest::Client::new()
        .get(format!("http://{serve}/nginx/auth"))
        .header("authorization", &bearer)
        .header("x-original-method", "GET")
        .header("x-original-uri", "/commerce/customers")
        .header(AUDIENCE_HEADER, "billing")
        .send()
        .await
        .unwrap();
    let replayed = for_billing.headers()[ASSERTION_HEADER].to_str().unwrap().to_owned();
    let (status, body) = get(&direct, &[(ASSERTION_HEADER, &replayed)]).await;
    assert_eq!((status, &body["code"]), (401, &json!("invalid_token")), "{body}");
}

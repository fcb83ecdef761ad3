//! OpenID Connect back-channel logout over HTTP on both example servers (issue 22).
//!
//! Each server runs as `cargo run` runs it in development mode, with its session
//! store on a real `redis-server` (`MFA_SESSION_STORE`, connected as the examples'
//! `main` connects it). Logout tokens are signed with the development issuer's key,
//! the key the server trusts for its own sign-in. Core's tests check every rule at
//! the `Guard` level; these check what reaches the wire through each adapter: the
//! path `/auth/backchannel-logout`, the status, `Cache-Control: no-store`, the OAuth
//! error body, and that a refused token signs nobody out while an accepted one does.
//!
//! The Chromium walk with oidc-provider's own logout tokens is in `chromium.rs`
//! (`chromium_back_channel_logout_from_oidc_provider_reaches_every_replica`).
//!
//! Needs `redis-server` (skipped with a line outside CI, failing under `CI=true`).
//! Run: `cargo test -p mfa-guard-conformance --test backchannel_logout`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_guard_conformance::redis::{Persistence, RedisServer};
use mfa_guard_conformance::servers::{Started, start_actix_connected, start_axum_connected};
use mfa_guard_core::Claims;
use mfa_guard_dev::{DEV_CLIENT_ID, DevIssuer};
use serde_json::{Map, Value, json};

/// The back-channel logout path of both examples (core's default).
const PATH: &str = "/auth/backchannel-logout";
/// The event that makes a token a logout token.
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("an HTTP client")
}

/// The claims of a valid logout token of `issuer` for its provider session `sid`,
/// with the token id `jti`.
fn logout_claims(issuer: &DevIssuer, sid: &str, jti: &str) -> Map<String, Value> {
    let mut claims = issuer.user().audience(DEV_CLIENT_ID).lifetime(Duration::from_secs(120)).claims();
    let object = claims.as_object_mut().expect("claims are an object");
    for name in ["scp", "roles", "amr", "wids", "nbf", "upn", "name", "appid", "ver"] {
        object.remove(name);
    }
    object.insert("jti".into(), json!(jti));
    object.insert("sid".into(), json!(sid));
    object.insert("events".into(), json!({ EVENT: {} }));
    object.clone()
}

/// Signs `claims` as a provider signs a logout token (`typ` `logout+jwt`).
fn sign(issuer: &DevIssuer, claims: &Map<String, Value>) -> String {
    let header = json!({"alg": "RS256", "kid": issuer.kid(), "typ": "logout+jwt"});
    issuer.sign_with_header(&header, &Value::Object(claims.clone())).expect("signed")
}

/// The same claims unsigned: `alg` `none` and an empty signature.
fn unsigned(claims: &Map<String, Value>) -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", part(json!({"alg": "none", "typ": "logout+jwt"})), part(Value::Object(claims.clone())))
}

/// POSTs `logout_token=<token>` to the server's back-channel endpoint.
async fn post_logout(server: &Started, token: &str) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", token).finish();
    client()
        .post(format!("http://{}{PATH}", server.target.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: POST {PATH}: {e}", server.target.name))
}

/// A browser navigation to `path` with `cookie`: its status and `Location`.
async fn navigate(server: &Started, path: &str, cookie: &str) -> (u16, String) {
    let res = client()
        .get(format!("http://{}{path}", server.target.addr))
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .header("accept", "text/html")
        .header("cookie", cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: GET {path}: {e}", server.target.name));
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (res.status().as_u16(), location)
}

/// Asserts a refusal as Back-Channel Logout 1.0 §2.8 says: `400`, `no-store`, an
/// OAuth error body whose description says `why`.
async fn assert_refused(server: &Started, res: reqwest::Response, case: &str, why: &str) {
    let name = server.target.name;
    assert_eq!(res.status().as_u16(), 400, "{name}: {case}");
    let header = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(header("cache-control").as_deref(), Some("no-store"), "{name}: {case}");
    assert_eq!(header("content-type").as_deref(), Some("application/json"), "{name}: {case}");
    let body: Value = res.json().await.unwrap_or_else(|e| panic!("{name}: {case}: not JSON: {e}"));
    assert_eq!(body["error"], "invalid_request", "{name}: {case}: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(why), "{name}: {case}: {description:?} should say {why:?}");
}

/// Runs every case against one server; `tag` keeps its token ids and provider
/// sessions apart from the other server's (both share the store).
async fn refusals_then_acceptance(server: &Started, tag: &str) {
    let name = server.target.name;
    let issuer = server.dev.as_deref().unwrap_or_else(|| panic!("{name}: not in development mode"));
    let sid = format!("op-{tag}");
    // A browser session signed in with the provider session `sid`, MFA done.
    let user = issuer.user().audience(DEV_CLIENT_ID).claim("sid", json!(sid)).claims();
    let claims = Claims::from_json(user.to_string().as_bytes()).expect("claims");
    let cookie = mfa_guard_core::dev::session_cookie(&server.guard, &claims).expect("browser mode");
    let mfa_page = "/commerce/customers";
    assert_eq!(navigate(server, mfa_page, &cookie).await.0, 200, "{name}: the session opens the MFA page");

    let refused: [(&str, String, &str); 4] = [
        ("unsigned (alg none)", unsigned(&logout_claims(issuer, &sid, &format!("{tag}-none"))), "refused"),
        (
            "another client's audience",
            sign(issuer, &{
                let mut c = logout_claims(issuer, &sid, &format!("{tag}-aud"));
                c.insert("aud".into(), json!("another-client"));
                c
            }),
            "refused",
        ),
        (
            "a nonce (an ID token's claim)",
            sign(issuer, &{
                let mut c = logout_claims(issuer, &sid, &format!("{tag}-nonce"));
                c.insert("nonce".into(), json!("n-0S6_WzA2Mj"));
                c
            }),
            "nonce",
        ),
        (
            "signed by a key the server does not trust",
            sign(
                &DevIssuer::generate(issuer.issuer()).expect("another key"),
                &logout_claims(issuer, &sid, &format!("{tag}-key")),
            ),
            "refused",
        ),
    ];
    for (case, token, why) in &refused {
        let res = post_logout(server, token).await;
        assert_refused(server, res, case, why).await;
    }
    assert_eq!(
        navigate(server, mfa_page, &cookie).await.0,
        200,
        "{name}: a refused logout token signed nobody out"
    );

    let good = sign(issuer, &logout_claims(issuer, &sid, &format!("{tag}-good")));
    let res = post_logout(server, &good).await;
    assert_eq!(res.status().as_u16(), 200, "{name}: a valid logout token");
    let cache = res.headers().get("cache-control").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(cache.as_deref(), Some("no-store"), "{name}: a valid logout token");
    assert!(res.bytes().await.expect("body").is_empty(), "{name}: the 200 has an empty body");
    let (status, location) = navigate(server, mfa_page, &cookie).await;
    assert_eq!(status, 302, "{name}: the logged-out session opens nothing");
    assert!(location.contains("/authorize?"), "{name}: a new sign-in starts, not {location:?}");

    // The very same token again: its jti is known (stored in Redis).
    let res = post_logout(server, &good).await;
    assert_refused(server, res, "replayed", "used before").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_channel_logout_over_http_refuses_bad_tokens_and_accepts_a_good_one_on_both_servers() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap_or_else(|e| panic!("{e}")) else { return };
    let env = [("MFA_SESSION_STORE", redis.url())];
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let axum = start_axum_connected(&env, bind()).await.unwrap_or_else(|e| panic!("axum example: {e}"));
    let actix = start_actix_connected(&env, bind()).await.unwrap_or_else(|e| panic!("actix example: {e}"));
    refusals_then_acceptance(&axum, "axum").await;
    refusals_then_acceptance(&actix, "actix").await;
    // What the store holds: the two provider sessions ended and the two token ids.
    let ended = redis.command(&["ZRANGE", "mfa-guard:provider-sessions", "0", "-1"]).expect("ZRANGE");
    let mut ended: Vec<&str> = ended.lines().collect();
    ended.sort_unstable();
    assert_eq!(ended, ["op-actix", "op-axum"]);
    for tag in ["axum", "actix"] {
        let key = format!("mfa-guard:jti:{tag}-good");
        assert_eq!(redis.command(&["EXISTS", &key]).expect("EXISTS"), "1", "{key}");
        let refused = format!("mfa-guard:jti:{tag}-nonce");
        assert_eq!(
            redis.command(&["EXISTS", &refused]).expect("EXISTS"),
            "0",
            "a refused token's id is not kept"
        );
    }
}

//! Back-channel logout at the gate (issue 23): the provider's `POST` of a logout
//! token reaches `serve` through **real nginx** and **real Caddy** with the shipped
//! recipes (`/.mfa-guard/backchannel-logout`, on the application's origin), which
//! answers as the in-process adapters do — `200`, then the session it names is
//! refused at the gate: the next navigation is sent to sign in again, and the
//! application behind the proxy (`tests/upstream/echo.py`) never sees it. `serve`
//! shares a session store (`MFA_SESSION_STORE=memory` here); the logout token is
//! signed by the development issuer's key, as the provider would sign it.
//!
//! Needs nginx, Caddy and python3 (missing tools skip outside CI, fail under it:
//! `mfa_guard_conformance::tools`).
//!
//! Run: `cargo test -p mfa-guard-conformance --test gate_backchannel`.

use std::net::SocketAddr;
use std::time::Duration;

use mfa_guard_conformance::forward::{Proxy, start_caddy, start_nginx};
use mfa_guard_conformance::gate::{gate_guard_with_store, start_application, start_provider};
use mfa_guard_conformance::http1::{RawResponse, request};
use mfa_guard_conformance::tools::{self, Missing};
use mfa_guard_core::Claims;
use mfa_guard_core::browser::MAX_BACKCHANNEL_BODY;
use mfa_guard_core::revocation::Revocations;
use mfa_guard_dev::{DEV_CLIENT_ID, DevIssuer};
use mfa_guard_serve::AuthServer;
use serde_json::json;

const PATH: &str = "/.mfa-guard/backchannel-logout";
const FORM: &str = "application/x-www-form-urlencoded";

/// A logout token of the development issuer for the provider session `sid`, as
/// the provider posts it (the client's audience, an event, a `jti`, no `nonce`).
fn logout_token(issuer: &DevIssuer, sid: &str, jti: &str) -> String {
    let mut claims = issuer.user().audience(DEV_CLIENT_ID).lifetime(Duration::from_secs(120)).claims();
    let object = claims.as_object_mut().expect("claims are an object");
    for name in ["scp", "roles", "amr", "wids", "nbf"] {
        object.remove(name);
    }
    object.insert("jti".into(), json!(jti));
    object.insert("sid".into(), json!(sid));
    object.insert("events".into(), json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    issuer.sign(&claims).expect("a signed logout token")
}

/// A person's top-level navigation of `path` with the session `cookie`.
async fn navigate(gate: SocketAddr, path: &str, cookie: &str) -> RawResponse {
    let headers = [
        format!("Cookie: {cookie}").into_bytes(),
        b"Sec-Fetch-Mode: navigate".to_vec(),
        b"Sec-Fetch-Site: none".to_vec(),
        b"Accept: text/html".to_vec(),
    ];
    request(gate, "GET", path, &headers).await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// The provider's `POST` of `body` (form-encoded) to the back-channel logout path.
async fn post_logout(gate: SocketAddr, body: &str) -> RawResponse {
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: {gate}\r\nConnection: close\r\nContent-Type: {FORM}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    mfa_guard_conformance::http1::send_raw(gate, &bytes).await.unwrap_or_else(|e| panic!("POST {PATH}: {e}"))
}

fn body(r: &RawResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Stands the gate up behind `proxy` with a session store, signs a person in
/// (provider session `op-1`), posts the provider's logout token through the proxy,
/// and checks what the gate answers before and after.
async fn logout_through<F, Fut>(name: &str, start: F)
where
    F: FnOnce(SocketAddr, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Proxy>, String>>,
{
    let python = tools::probe_version("python3", "--version")
        .map_err(|why| Missing::new("python3", "Debian: apt-get install python3", why));
    if !tools::require("the gate's back-channel logout", python).unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    let (_application, application) = start_application();
    let serve_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let serve = serve_listener.local_addr().expect("addr");
    let Some(proxy) = start(serve, application).await.unwrap_or_else(|e| panic!("{e}")) else { return };
    let gate = proxy.addr;
    let (issuer, provider) = start_provider(gate).await;
    let guard = gate_guard_with_store(&issuer, &provider, gate, Some(Revocations::memory()));
    assert_eq!(guard.backchannel_logout_path(), Some(PATH), "serve answers it under the prefix");
    let claims = Claims::from_json(
        br#"{"sub":"user-1","oid":"00000000-0000-0000-0000-0000000000a1","amr":["pwd"],"sid":"op-1"}"#,
    )
    .expect("claims");
    let cookie = mfa_guard_core::dev::session_cookie(&guard, &claims).expect("a session cookie");
    let server = AuthServer::new(guard);
    let serving =
        tokio::spawn(async move { server.serve_http(serve_listener, std::future::pending()).await });

    let before = navigate(gate, "/overview", &cookie).await;
    assert_eq!(before.status, 200, "{name}: the signed-in person reaches the application: {}", body(&before));
    assert!(body(&before).contains("00000000-0000-0000-0000-0000000000a1"), "{name}: {}", body(&before));

    let token = logout_token(&issuer, "op-1", "jti-1");
    let done = post_logout(gate, &format!("logout_token={token}")).await;
    assert_eq!(
        (done.status, done.header("cache-control"), body(&done)),
        (200, Some("no-store"), String::new()),
        "{name}: the logout is done, as the spec answers it:\n{}",
        proxy.log()
    );

    let after = navigate(gate, "/overview", &cookie).await;
    let location = after.header("location").unwrap_or_default().to_owned();
    assert!(
        after.status == 302 && location.starts_with(&provider) && location.contains("/authorize"),
        "{name}: the ended session is sent to sign in again, not to the application: {} {location} {}",
        after.status_line,
        body(&after)
    );

    let replayed = post_logout(gate, &format!("logout_token={token}")).await;
    assert_eq!(replayed.status, 400, "{name}: a logout token is used once: {}", body(&replayed));
    assert!(body(&replayed).contains("used before"), "{name}: {}", body(&replayed));

    // The bound the adapters read: the proxy (nginx: client_max_body_size 16k) or
    // serve refuses a longer body, and nothing past it is read.
    let long = post_logout(gate, &format!("logout_token={}", "a".repeat(MAX_BACKCHANNEL_BODY))).await;
    assert!(
        long.status == 413 || (long.status == 400 && body(&long).contains("longer than 16 KiB")),
        "{name}: a body over 16 KiB: {} {}",
        long.status_line,
        body(&long)
    );

    // The path takes the provider's POST only.
    let get = request(gate, "GET", PATH, &[]).await.expect("GET");
    assert_eq!((get.status, get.header("allow")), (405, Some("POST")), "{name}: {}", body(&get));

    serving.abort();
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_channel_logout_through_nginx_ends_the_session_at_the_gate() {
    logout_through("nginx", start_nginx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_channel_logout_through_caddy_ends_the_session_at_the_gate() {
    logout_through("caddy", start_caddy).await;
}

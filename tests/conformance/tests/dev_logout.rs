//! "Sign out at the provider" on the development issuer, end to end on both example
//! servers in development mode with nothing else running (no `MFA_SESSION_STORE`:
//! development mode's memory store): a browser signs in, opens an MFA page, signs
//! out at the provider, whose back-channel logout token reaches the server over
//! HTTP (`200`), and the same session cookie opens no MFA page after that. The
//! token, caught on its way by a relay, is a logout token the server's verifier
//! took, that no API takes as a bearer token, and that a second delivery cannot
//! use again (`400`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_guard_conformance::browser::{Browser, SignIn, Visit, shown_answer};
use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::http1;
use mfa_guard_conformance::servers::{all_from_env, all_from_env_with};
use mfa_guard_dev::server::Client;
use reqwest::Url;
use serde_json::{Value, json};

fn url(target: &Target, path: &str) -> Url {
    Url::parse(&format!("http://{}{path}", target.addr)).unwrap()
}

/// Signs in with MFA and opens an MFA page: `200`, MFA on.
async fn signed_in_on_an_mfa_page(target: &Target) -> (Browser, Visit) {
    let mut browser = Browser::new();
    let page =
        browser.open(&url(target, "/commerce/customers"), &mut vec![SignIn::PasswordAndMfa("admin")]).await;
    assert_eq!(page.status(), 200, "{}: {}", target.name, page.text());
    assert_eq!(shown_answer(&page.text()).unwrap()["mfa"], true, "{}", target.name);
    assert!(browser.jar.contains_key("mfa-guard"), "{}: a session", target.name);
    assert!(browser.jar.contains_key("mfa_dev_idp_session"), "{}: a provider session", target.name);
    (browser, page)
}

/// The page's "Sign out at the provider": the provider's end-session page, and its
/// button; the page that says what the server answered.
async fn sign_out_at_the_provider(target: &Target, browser: &mut Browser, mfa_page: &Visit) -> Visit {
    let link = r#"<a href="/dev-idp/sign-out" id="provider-sign-out">Sign out at the provider</a>"#;
    assert!(mfa_page.text().contains(link), "{}: {}", target.name, mfa_page.text());
    let page = browser.get(&url(target, "/dev-idp/sign-out")).await;
    assert_eq!(page.status(), 200, "{}", target.name);
    assert!(page.text().contains(r#"<button type="submit" id="provider-sign-out">"#), "{}", page.text());
    let done = browser.submit_form(&page, "/dev-idp/sign-out", &[]).await;
    assert_eq!(done.status(), 200, "{}: {}", target.name, done.text());
    assert!(!browser.jar.contains_key("mfa_dev_idp_session"), "{}: the provider session ended", target.name);
    done
}

/// A browser holding only a copy of this session cookie opens the MFA page: it is
/// sent to sign in, and ends on the provider's sign-in page.
async fn copy_is_refused(target: &Target, cookie: &str) {
    let mut thief = Browser::new();
    thief.jar.insert("mfa-guard".into(), cookie.to_owned());
    let first = thief.get(&url(target, "/commerce/customers")).await;
    assert_eq!(first.status(), 302, "{}: {}", target.name, first.text());
    let end = thief.open(&url(target, "/commerce/customers"), &mut vec![]).await;
    assert_eq!(end.url.path(), "/dev-idp/authorize", "{}: a sign-in starts", target.name);
    assert_eq!(end.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_at_the_provider_ends_the_session_on_both_servers_with_nothing_else_running() {
    for target in all_from_env(&[]).await.expect("the example servers start in development mode") {
        let (mut browser, mfa_page) = signed_in_on_an_mfa_page(&target).await;
        let cookie = browser.jar["mfa-guard"].clone();
        let done = sign_out_at_the_provider(&target, &mut browser, &mfa_page).await;
        let text = done.text();
        let delivered = format!(
            "Back-channel logout token delivered to <code>http://{}/auth/backchannel-logout</code>; the \
             application answered <strong id=\"backchannel-status\">200</strong> OK.",
            target.addr
        );
        assert!(text.contains(&delivered), "{}: {text}", target.name);
        assert!(
            text.contains(r#"<a href="http://"#) && text.contains(r#"id="back">Back to the application</a>"#)
        );

        copy_is_refused(&target, &cookie).await;
        // The browser that signed out too: its next MFA page is a sign-in.
        let again = browser.open(&url(&target, "/commerce/customers"), &mut vec![]).await;
        assert_eq!(again.url.path(), "/dev-idp/authorize", "{}", target.name);
    }
}

/// What the relay saw: each request's content type and body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// `POST /relay/{port}`: recorded, then forwarded to the example server on `port`'s
/// back-channel logout endpoint, whose answer goes back as it came.
async fn relay(
    State(seen): State<Seen>,
    Path(port): Path<u16>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    seen.lock().unwrap().push((kind.clone(), String::from_utf8_lossy(&body).into_owned()));
    let forwarded = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/auth/backchannel-logout"))
        .header("content-type", kind)
        .body(body)
        .send()
        .await;
    match forwarded {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
            (status, answer.text().await.unwrap_or_default())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

async fn start_relay() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let app =
        axum::Router::new().route("/relay/{port}", axum::routing::post(relay)).with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_logout_token_sent_is_verified_by_the_server_and_a_replay_is_refused_with_400() {
    let (relay_addr, seen) = start_relay().await;
    let targets = all_from_env_with(&[], |site| {
        let base = format!("http://{}", site.bound);
        let through = format!("http://{relay_addr}/relay/{}", site.bound.port());
        site.with_client(Client::at(&base).with_backchannel_logout_uri(through))
    })
    .await
    .expect("the example servers start in development mode");
    for target in targets {
        let (mut browser, mfa_page) = signed_in_on_an_mfa_page(&target).await;
        let cookie = browser.jar["mfa-guard"].clone();
        seen.lock().unwrap().clear();
        let done = sign_out_at_the_provider(&target, &mut browser, &mfa_page).await;
        assert!(done.text().contains(r#"data-delivered="true" data-status="200""#), "{}", done.text());

        let sent = seen.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{}: one delivery", target.name);
        let (kind, body) = &sent[0];
        assert_eq!(kind, "application/x-www-form-urlencoded");
        let token = body.strip_prefix("logout_token=").expect("a logout_token form").to_owned();
        assert_eq!(part(&token, 0)["typ"], "logout+jwt", "{}", target.name);
        let claims = part(&token, 1);
        assert_eq!(claims["aud"], "mfa-guard-dev");
        assert_eq!(claims["sub"], "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb", "the admin agent's");
        assert_eq!(claims["events"], json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
        assert!(claims["sid"].is_string() && claims["jti"].is_string() && claims.get("nonce").is_none());
        // The server's verifier took it (the 200 above), and the cookie is refused.
        copy_is_refused(&target, &cookie).await;

        // A second delivery of the same token: refused, as the spec says.
        let replay = reqwest::Client::new()
            .post(url(&target, "/auth/backchannel-logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), 400, "{}", target.name);
        assert_eq!(replay.headers()["cache-control"], "no-store");
        let why: Value = replay.json().await.unwrap();
        assert_eq!(why["error"], "invalid_request");
        assert_eq!(why["error_description"], "this logout token was used before (its jti is known)");

        // Never a bearer token: typed logout+jwt, no API takes it.
        let bearer = format!("Authorization: Bearer {token}").into_bytes();
        let api = http1::request(target.addr, "GET", "/commerce/customers", &[bearer]).await.unwrap();
        assert_eq!(api.status, 401, "{}", target.name);
        assert_eq!(api.code().as_deref(), Some("invalid_token"));
    }
}

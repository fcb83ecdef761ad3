//! The server through its router, as a browser and a relying party reach it.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::grants::pkce_challenge;
use super::*;
use crate::DEV_CLIENT_ID;

const BASE: &str = "http://127.0.0.1:1";
const REDIRECT: &str = "http%3A%2F%2F127.0.0.1%3A1%2Fauth%2Fcallback";

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

fn idp() -> Arc<DevIdp> {
    Arc::new(DevIdp::new(Arc::new(DevIssuer::generate(format!("{BASE}/{{tenantid}}/")).unwrap()), BASE))
}

async fn call(idp: &Arc<DevIdp>, method: Method, uri: &str, body: &str) -> Reply {
    call_with(idp, method, uri, body, &[]).await
}

async fn call_with(
    idp: &Arc<DevIdp>,
    method: Method,
    uri: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if !body.is_empty() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let response =
        Arc::clone(idp).router().oneshot(req.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply { status: parts.status, headers: parts.headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

/// Signs `user` in with MFA through the page's form: the code and the redirect.
async fn sign_in(idp: &Arc<DevIdp>, user: &str, verifier: &str, state: &str) -> (String, Reply) {
    let form = format!(
        "client_id={DEV_CLIENT_ID}&redirect_uri={REDIRECT}&state={state}&nonce=n\
         &code_challenge={}&user={user}&method=mfa",
        pkce_challenge(verifier)
    );
    let back = call(idp, Method::POST, "/dev-idp/authorize", &form).await;
    let code = back.header("location").split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    (code, back)
}

async fn exchange(idp: &Arc<DevIdp>, code: &str, verifier: &str) -> Reply {
    let body = format!(
        "grant_type=authorization_code&code={code}&client_id={DEV_CLIENT_ID}\
         &redirect_uri={REDIRECT}&code_verifier={verifier}"
    );
    call(idp, Method::POST, "/dev-idp/token", &body).await
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn discovery_and_jwks_are_served_as_json() {
    let idp = idp();
    let discovery = call(&idp, Method::GET, "/.well-known/openid-configuration", "").await;
    assert_eq!(discovery.status, StatusCode::OK);
    assert_eq!(discovery.header("content-type"), "application/json");
    assert_eq!(discovery.json(), idp.discovery());
    assert_eq!(discovery.json()["token_endpoint"], format!("{BASE}/dev-idp/token"));
    let jwks = call(&idp, Method::GET, "/.well-known/jwks.json", "").await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert_eq!(jwks.header("content-type"), "application/json");
    assert_eq!(jwks.body, idp.issuer().jwks_json());
    assert!(!jwks.body.contains("\"d\""), "public key only");
}

#[tokio::test]
async fn the_sign_in_page_lists_the_users_and_carries_the_request() {
    let idp = idp();
    let query = format!(
        "/dev-idp/authorize?client_id={DEV_CLIENT_ID}&redirect_uri={REDIRECT}&response_type=code\
         &code_challenge=c&code_challenge_method=S256&state=%22%3Cs%3E&acr_values=c2"
    );
    let page = call(&idp, Method::GET, &query, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page.header("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(page.body.contains("<title>Sign in</title>"), "{}", page.body);
    assert!(page.body.contains(r#"id="mfa-requested""#), "acr_values asks for MFA");
    assert!(
        page.body.contains(r#"<input type="hidden" name="state" value="&quot;&lt;s&gt;">"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"id="user-admin" value="admin" checked>"#), "{}", page.body);
    assert!(page.body.contains(r#"id="user-sales" value="sales">"#), "{}", page.body);
    assert!(page.body.contains(r#"id="sign-in-password""#) && page.body.contains(r#"id="sign-in-mfa""#));
    let without = query.replace("&acr_values=c2", "");
    assert!(!call(&idp, Method::GET, &without, "").await.body.contains("mfa-requested"));
}

#[tokio::test]
async fn a_code_is_exchanged_once_with_its_verifier() {
    let idp = idp();
    let verifier = "v".repeat(43);
    let (code, back) = sign_in(&idp, "incompatible", &verifier, "s%201").await;
    assert_eq!(back.status, StatusCode::FOUND);
    assert_eq!(back.header("location"), format!("{BASE}/auth/callback?code={code}&state=s+1"));
    assert_eq!(back.header("cache-control"), "no-store");
    let wrong = exchange(&idp, &code, "w").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "a wrong verifier spends the code too");
    assert_eq!(wrong.json()["error"], "invalid_grant");
    let again = exchange(&idp, &code, &verifier).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json(),
        json!({"error": "invalid_grant", "error_description": "unknown, expired or already used code"})
    );
}

#[tokio::test]
async fn the_incompatible_users_mfa_never_says_mfa() {
    let idp = idp();
    let verifier = "x".repeat(43);
    let (code, _) = sign_in(&idp, "incompatible", &verifier, "s").await;
    let tokens = exchange(&idp, &code, &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK);
    assert_eq!(tokens.header("cache-control"), "no-store");
    let v = tokens.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    let id = claims(v["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["pwd", "otp"]));
    assert_eq!(id["aud"], json!(DEV_CLIENT_ID));
    assert_eq!(id["nonce"], json!("n"));
    assert_eq!(id["upn"], json!("incompatible.mfa@dev.example"));
    let access = claims(v["access_token"].as_str().unwrap());
    assert_eq!(access["amr"], json!(["pwd", "otp"]));
    assert_eq!(access["aud"], json!(crate::DEV_AUDIENCE));
}

#[tokio::test]
async fn foreign_clients_and_redirects_are_refused() {
    let idp = idp();
    let other = call(&idp, Method::GET, "/dev-idp/authorize?client_id=other&redirect_uri=x", "").await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert!(other.body.contains("unknown client_id (the development issuer knows only mfa-guard-dev)"));
    let evil = format!(
        "/dev-idp/authorize?client_id={DEV_CLIENT_ID}&redirect_uri=https%3A%2F%2Fevil.example%2F\
         &response_type=code&code_challenge=c&code_challenge_method=S256"
    );
    let evil = call(&idp, Method::GET, &evil, "").await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
    assert!(evil.body.contains("redirect_uri must be http://127.0.0.1:1/auth/callback"), "{}", evil.body);
    let script = call(&idp, Method::GET, "/dev-idp/authorize?client_id=%3Cscript%3E", "").await;
    assert_eq!(script.status, StatusCode::BAD_REQUEST);
    assert!(!script.body.contains("<script>"));
    let token =
        call(&idp, Method::POST, "/dev-idp/token", "grant_type=authorization_code&client_id=other").await;
    assert_eq!(token.json()["error"], "invalid_client");
}

#[tokio::test]
async fn another_client_is_served_when_configured() {
    let client =
        Client::new("gate", "https://gate.example/auth/callback", "https://gate.example/auth/signed-out");
    let issuer = Arc::clone(&idp().issuer);
    let idp = Arc::new(DevIdp::new(issuer, BASE).with_client(client));
    let verifier = "g".repeat(43);
    let form = format!(
        "client_id=gate&redirect_uri=https%3A%2F%2Fgate.example%2Fauth%2Fcallback\
         &code_challenge={}&user=sales&method=password",
        pkce_challenge(&verifier)
    );
    let back = call(&idp, Method::POST, "/dev-idp/authorize", &form).await;
    assert_eq!(back.status, StatusCode::FOUND);
    assert!(back.header("location").starts_with("https://gate.example/auth/callback?code="));
    let ours = form.replace("client_id=gate", &format!("client_id={DEV_CLIENT_ID}"));
    assert_eq!(call(&idp, Method::POST, "/dev-idp/authorize", &ours).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_out_returns_only_to_the_clients_registered_uri() {
    let idp = idp();
    let back = call(
        &idp,
        Method::GET,
        "/dev-idp/sign-out?post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fauth%2Fsigned-out",
        "",
    )
    .await;
    assert_eq!(back.status, StatusCode::FOUND);
    assert_eq!(back.header("location"), "http://127.0.0.1:1/auth/signed-out");
    let elsewhere = call(
        &idp,
        Method::GET,
        "/dev-idp/sign-out?post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        "",
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::OK);
    assert_eq!(elsewhere.header("location"), "");
    assert!(elsewhere.body.contains("<title>Signed out</title>"));
}

#[tokio::test]
async fn other_endpoints_and_methods_are_not_found() {
    let idp = idp();
    for (method, path) in [
        (Method::GET, "/dev-idp/nowhere"),
        (Method::GET, "/dev-idp/token"),
        (Method::DELETE, "/dev-idp/authorize"),
        (Method::PUT, "/dev-idp/sign-out"),
    ] {
        let reply = call(&idp, method.clone(), path, "").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert!(reply.body.contains("No such development endpoint."), "{method} {path}");
        assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    }
}

#[tokio::test]
async fn a_form_or_query_over_16_kib_is_refused_with_413() {
    let idp = idp();
    let long = "a".repeat(16 * 1024 + 1);
    let form = call(&idp, Method::POST, "/dev-idp/token", &long).await;
    assert_eq!(form.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(form.body.contains("longer than 16 KiB"), "{}", form.body);
    let query = call(&idp, Method::GET, &format!("/dev-idp/authorize?{long}"), "").await;
    assert_eq!(query.status, StatusCode::PAYLOAD_TOO_LARGE);
    let sign_in = call(&idp, Method::POST, "/dev-idp/authorize", &long).await;
    assert_eq!(sign_in.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The provider session cookie a sign-in set (`name=value`).
fn session_cookie(reply: &Reply) -> String {
    let set =
        reply.headers.get_all(header::SET_COOKIE).iter().find_map(|v| {
            v.to_str().ok().filter(|v| v.starts_with("mfa_dev_idp_session=")).map(str::to_owned)
        });
    set.expect("a provider session cookie").split(';').next().unwrap().to_owned()
}

/// A relying party's back-channel logout endpoint on loopback that records each
/// request's content type and body and answers `status`.
async fn relying_party(status: StatusCode) -> (String, Arc<std::sync::Mutex<Vec<(String, String)>>>) {
    let seen: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/auth/backchannel-logout",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let record = Arc::clone(&record);
            async move {
                let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                record.lock().unwrap().push((kind.to_owned(), body));
                (status, [(header::CONTENT_TYPE, "application/json")], r#"{"error":"invalid_request","error_description":"back-channel logout needs a session store (MFA_SESSION_STORE)"}"#)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/auth/backchannel-logout"), seen)
}

fn idp_for(backchannel: Option<&str>) -> Arc<DevIdp> {
    let mut client = Client::at(BASE);
    if let Some(uri) = backchannel {
        client = client.with_backchannel_logout_uri(uri);
    } else {
        client = Client::new(client.id(), client.redirect_uri(), client.post_logout_redirect_uri());
    }
    let issuer = Arc::new(DevIssuer::generate(format!("{BASE}/{{tenantid}}/")).unwrap());
    Arc::new(DevIdp::new(issuer, BASE).with_client(client))
}

#[test]
fn the_default_client_takes_logout_tokens_beside_its_callback() {
    let client = Client::at("http://127.0.0.1:1/");
    assert_eq!(client.backchannel_logout_uri(), Some("http://127.0.0.1:1/auth/backchannel-logout"));
    assert_eq!(client.home(), "http://127.0.0.1:1/");
    assert_eq!(Client::new("c", "https://gate.example/auth/callback", "x").backchannel_logout_uri(), None);
    assert_eq!(Client::new("c", "https://gate.example/auth/callback", "x").home(), "https://gate.example/");
}

#[tokio::test]
async fn a_sign_in_opens_a_provider_session_whose_sid_the_id_token_carries() {
    let idp = idp();
    let verifier = "s".repeat(43);
    let (code, back) = sign_in(&idp, "admin", &verifier, "s").await;
    let cookie = session_cookie(&back);
    let set = back.headers.get_all(header::SET_COOKIE).iter().next().unwrap().to_str().unwrap().to_owned();
    assert!(set.contains("Path=/dev-idp; HttpOnly; SameSite=Lax"), "{set}");
    let id = claims(exchange(&idp, &code, &verifier).await.json()["id_token"].as_str().unwrap());
    let sid = id["sid"].as_str().expect("the ID token names the provider session").to_owned();
    assert_eq!(sid.len(), 32);
    assert!(!cookie.ends_with(&sid), "the cookie is not the sid");

    // Signing in again in the same browser as the same user (a step-up): one session.
    let form = format!(
        "client_id={DEV_CLIENT_ID}&redirect_uri={REDIRECT}&code_challenge={}&user=admin&method=mfa",
        pkce_challenge(&verifier)
    );
    let again = call_with(&idp, Method::POST, "/dev-idp/authorize", &form, &[("cookie", &cookie)]).await;
    let code = again.header("location").split("code=").nth(1).unwrap().to_owned();
    let id = claims(exchange(&idp, &code, &verifier).await.json()["id_token"].as_str().unwrap());
    assert_eq!(id["sid"], json!(sid));

    // The sign-in page says who is signed in at the provider, and offers the sign-out.
    let query = format!(
        "/dev-idp/authorize?client_id={DEV_CLIENT_ID}&redirect_uri={REDIRECT}&response_type=code\
         &code_challenge=c&code_challenge_method=S256"
    );
    let page = call_with(&idp, Method::GET, &query, "", &[("cookie", &cookie)]).await;
    assert!(page.body.contains(r#"id="provider-session""#), "{}", page.body);
    assert!(page.body.contains("Signed in at the provider as <strong>Adele Vance"), "{}", page.body);
    assert!(page.body.contains(r#"<form method="post" action="/dev-idp/sign-out">"#), "{}", page.body);
    assert!(page.body.contains(r#"id="provider-sign-out""#));
    assert!(!call(&idp, Method::GET, &query, "").await.body.contains("provider-session"), "none without");
}

#[tokio::test]
async fn sign_out_at_the_provider_posts_a_logout_token_naming_the_id_tokens_sid_and_sub() {
    let (uri, seen) = relying_party(StatusCode::OK).await;
    let idp = idp_for(Some(&uri));
    let verifier = "b".repeat(43);
    let (code, back) = sign_in(&idp, "sales", &verifier, "s").await;
    let cookie = session_cookie(&back);
    let id = claims(exchange(&idp, &code, &verifier).await.json()["id_token"].as_str().unwrap());

    let page = call_with(&idp, Method::GET, "/dev-idp/sign-out", "", &[("cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<title>Sign out at the provider</title>"), "{}", page.body);
    assert!(page.body.contains(r#"id="provider-sign-out""#));

    let cross = [("cookie", cookie.as_str()), ("sec-fetch-site", "cross-site")];
    let refused = call_with(&idp, Method::POST, "/dev-idp/sign-out", "", &cross).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "another site cannot sign the browser out");
    let bare = call_with(&idp, Method::POST, "/dev-idp/sign-out", "", &[("cookie", &cookie)]).await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN, "neither fetch metadata nor Origin");
    assert!(seen.lock().unwrap().is_empty(), "nothing sent for a refused post");

    let own = [("cookie", cookie.as_str()), ("origin", BASE)];
    let done = call_with(&idp, Method::POST, "/dev-idp/sign-out", "", &own).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("<title>Signed out at the provider</title>"), "{}", done.body);
    assert!(done.body.contains(r#"data-delivered="true" data-status="200""#), "{}", done.body);
    assert!(done.body.contains(r#"<strong id="backchannel-status">200</strong> OK"#), "{}", done.body);
    assert!(done.body.contains(r#"<a href="http://127.0.0.1:1/" id="back">Back to the application</a>"#));
    assert!(done.header("set-cookie").starts_with("mfa_dev_idp_session=;"), "cleared");
    assert!(done.header("set-cookie").ends_with("Max-Age=0"));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "application/x-www-form-urlencoded");
    let token = seen[0].1.strip_prefix("logout_token=").expect("one logout_token");
    let (header, logout) = (claims_at(token, 0), claims(token));
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["kid"], json!(idp.issuer().kid()));
    assert_eq!(logout["sid"], id["sid"], "the provider session the ID token named");
    assert_eq!(logout["sub"], id["sub"]);
    assert_eq!(logout["iss"], id["iss"]);
    assert_eq!(logout["aud"], json!(DEV_CLIENT_ID));
    assert!(logout.get("nonce").is_none());
    assert_eq!(logout["events"], json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    assert_eq!(logout["jti"].as_str().unwrap().len(), 32);

    // The session is over: the same cookie signs nothing out twice.
    let again = call_with(
        &idp,
        Method::POST,
        "/dev-idp/sign-out",
        "",
        &[("cookie", &cookie), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("You are not signed in at the development identity provider"));
}

#[tokio::test]
async fn the_page_shows_a_refusal_and_an_undeliverable_or_unregistered_token() {
    let (uri, _) = relying_party(StatusCode::BAD_REQUEST).await;
    let refusing = idp_for(Some(&uri));
    let (_, back) = sign_in(&refusing, "admin", &"r".repeat(43), "s").await;
    let cookie = session_cookie(&back);
    let own = [("cookie", cookie.as_str()), ("origin", BASE)];
    let done = call_with(&refusing, Method::POST, "/dev-idp/sign-out", "", &own).await;
    assert!(done.body.contains(r#"data-status="400""#), "{}", done.body);
    assert!(
        done.body.contains(
            "It did not end its sessions: back-channel logout needs a session store (MFA_SESSION_STORE)."
        ),
        "{}",
        done.body
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/auth/backchannel-logout", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = idp_for(Some(&gone));
    let (_, back) = sign_in(&unreachable, "admin", &"u".repeat(43), "s").await;
    let cookie = session_cookie(&back);
    let done = call_with(
        &unreachable,
        Method::POST,
        "/dev-idp/sign-out",
        "",
        &[("cookie", &cookie), ("origin", BASE)],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains(r#"data-delivered="false""#), "{}", done.body);
    assert!(done.body.contains("could not be delivered"), "{}", done.body);

    let unregistered = idp_for(None);
    let (_, back) = sign_in(&unregistered, "admin", &"n".repeat(43), "s").await;
    let cookie = session_cookie(&back);
    let done = call_with(
        &unregistered,
        Method::POST,
        "/dev-idp/sign-out",
        "",
        &[("cookie", &cookie), ("origin", BASE)],
    )
    .await;
    assert!(done.body.contains("registered no back-channel logout URI"), "{}", done.body);
}

#[tokio::test]
async fn the_relying_partys_sign_out_ends_the_provider_session_too() {
    let idp = idp();
    let (_, back) = sign_in(&idp, "admin", &"e".repeat(43), "s").await;
    let cookie = session_cookie(&back);
    let rp = call_with(
        &idp,
        Method::GET,
        "/dev-idp/sign-out?post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fauth%2Fsigned-out",
        "",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(rp.status, StatusCode::FOUND);
    assert!(rp.header("set-cookie").ends_with("Max-Age=0"), "the provider cookie is cleared");
    let after = call_with(&idp, Method::GET, "/dev-idp/sign-out", "", &[("cookie", &cookie)]).await;
    assert!(after.body.contains("<title>Signed out</title>"), "{}", after.body);
}

fn claims_at(token: &str, part: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(part).unwrap()).unwrap()).unwrap()
}

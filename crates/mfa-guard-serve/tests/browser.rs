//! People at the gate: `serve`'s endpoints give a browser's navigation the answers
//! of browser mode (a `302` to the provider, the step-up, the pages), each the way
//! its proxy delivers it, and answer the browser's own paths under the prefix. The
//! provider is a discovery document served in this process; the whole journey
//! through real proxies and a real browser is in the conformance suite
//! (`tests/conformance/tests/gate_browser.rs`).

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use mfa_guard_core::config::Environment;
use mfa_guard_core::{Guard, PathRules};
use mfa_guard_serve::{AuthServer, BrowserPrefix};
use tower::ServiceExt as _;

const KEYS: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const APP: &str = "https://app.example";
const ISSUER: &str = "https://idp.example/";

/// A provider whose discovery document and (empty) JWKS are served on loopback;
/// its authorization endpoint is never reached (the browser would go there).
async fn provider() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let discovery = serde_json::json!({
        "issuer": ISSUER,
        "jwks_uri": format!("{base}/jwks"),
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": format!("{base}/token"),
        "end_session_endpoint": "https://idp.example/logout",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    })
    .to_string();
    let json = |body: String| ([("content-type", "application/json")], body);
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let d = discovery.clone();
                async move { json(d) }
            }),
        )
        .route("/jwks", axum::routing::get(move || async move { json(r#"{"keys":[]}"#.to_owned()) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A guard as `mfa-guard serve` builds it from its environment (browser mode
/// with `redirect_uri`, when given, its paths under the default prefix).
fn guard(base: &str, redirect_uri: Option<&str>) -> Guard {
    let mut vars = vec![
        ("MFA_ISSUER", ISSUER.to_owned()),
        ("MFA_JWKS_URL", format!("{base}/jwks")),
        ("MFA_AUDIENCE", "https://api.partnercenter.microsoft.com".to_owned()),
    ];
    if let Some(redirect_uri) = redirect_uri {
        vars.extend([
            ("MFA_OIDC_CLIENT_ID", "web-app".to_owned()),
            ("MFA_OIDC_REDIRECT_URI", redirect_uri.to_owned()),
            ("MFA_OIDC_DISCOVERY_URL", format!("{base}/.well-known/openid-configuration")),
            ("MFA_SESSION_KEYS", KEYS.to_owned()),
        ]);
    }
    let env = Environment::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("environment");
    let mut builder = env.builder().expect("builder").path_rules(env.path_rules(PathRules::strict()));
    if let Some(browser) = env.browser(([127, 0, 0, 1], 0).into()).expect("browser settings") {
        builder = builder.browser(BrowserPrefix::default().place(browser));
    }
    builder.build().expect("guard")
}

/// A gate with browser mode, its paths under the default prefix.
async fn gate() -> AuthServer {
    let guard = guard(&provider().await, Some(&format!("{APP}/.mfa-guard/callback")));
    BrowserPrefix::default().check(&guard).expect("every browser path under the prefix");
    AuthServer::new(guard)
}

async fn send(server: &AuthServer, mut req: Request<Body>) -> (Response<Body>, String) {
    // The proxy, on this host.
    req.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = server.router().oneshot(req).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (Response::from_parts(parts, Body::empty()), String::from_utf8_lossy(&bytes).into_owned())
}

fn header(r: &Response<Body>, name: &str) -> Vec<String> {
    r.headers().get_all(name).iter().map(|v| v.to_str().unwrap_or("").to_owned()).collect()
}

/// A top-level navigation of `uri` as a proxy asks about it, in `dialect`'s
/// headers (`forwarded` or `original`).
fn navigation(endpoint: &str, dialect: &str, uri: &str) -> Request<Body> {
    Request::get(endpoint)
        .header(format!("x-{dialect}-method"), "GET")
        .header(format!("x-{dialect}-uri"), uri)
        .header("sec-fetch-mode", "navigate")
        .header("accept", "text/html")
        .body(Body::empty())
        .expect("request")
}

/// A `Set-Cookie` value with the attributes of a `__Host-` cookie of the
/// application's origin, in any order.
fn attributes(cookie: &str) -> bool {
    ["Path=/", "HttpOnly", "Secure", "SameSite=Lax"].iter().all(|a| cookie.split("; ").any(|p| p == *a))
}

fn assert_sent_to_sign_in(response: &Response<Body>) {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = header(response, "location").pop().unwrap_or_default();
    assert!(location.starts_with("https://idp.example/authorize?"), "{location}");
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Fapp.example%2F.mfa-guard%2Fcallback"),
        "the provider sends the browser back to serve's callback on the application's origin: {location}"
    );
    let cookies = header(response, "set-cookie");
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-mfa-guard-flow-") && attributes(c)),
        "the sign-in's state cookie, for the application's origin: {cookies:?}"
    );
}

#[tokio::test]
async fn a_navigation_without_a_session_is_sent_to_sign_in_through_traefik_and_caddy() {
    let server = gate().await;
    let (response, _) = send(&server, navigation("/auth", "forwarded", "/commerce/customers")).await;
    assert_sent_to_sign_in(&response);
}

#[tokio::test]
async fn a_navigation_without_a_session_is_a_bare_401_then_the_redirect_for_nginx() {
    let server = gate().await;
    let (auth, body) = send(&server, navigation("/nginx/auth", "original", "/commerce/customers")).await;
    assert_eq!((auth.status(), body.as_str()), (StatusCode::UNAUTHORIZED, ""));
    assert!(header(&auth, "location").is_empty() && header(&auth, "www-authenticate").is_empty());
    let (refusal, _) = send(&server, navigation("/nginx/refusal", "original", "/commerce/customers")).await;
    assert_sent_to_sign_in(&refusal);
}

#[tokio::test]
async fn a_navigation_without_a_session_is_sent_to_sign_in_through_envoy_http() {
    let server = gate().await;
    let req = Request::get("/envoy/commerce/customers")
        .header("sec-fetch-mode", "navigate")
        .header("accept", "text/html")
        .body(Body::empty())
        .expect("request");
    let (response, _) = send(&server, req).await;
    assert_sent_to_sign_in(&response);
}

#[tokio::test]
async fn an_api_call_keeps_the_api_answer_with_browser_mode_on() {
    let server = gate().await;
    let req = Request::get("/auth")
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/commerce/customers")
        .header("accept", "application/json")
        .body(Body::empty())
        .expect("request");
    let (response, body) = send(&server, req).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&response, "www-authenticate"), ["Bearer"]);
    assert!(header(&response, "location").is_empty() && header(&response, "set-cookie").is_empty());
    assert!(body.contains("\"missing_token\""), "{body}");
}

#[tokio::test]
async fn a_path_trick_in_a_navigation_is_the_400_page() {
    let server = gate().await;
    let (response, body) = send(&server, navigation("/auth", "forwarded", "/commerce/%2e%2e/admin")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(header(&response, "content-type")[0].starts_with("text/html"), "{:?}", response.headers());
    assert!(header(&response, "location").is_empty());
    assert!(body.contains("<html"), "a page a person can read: {body}");
}

#[tokio::test]
async fn the_sign_in_path_under_the_prefix_sends_the_browser_to_the_provider() {
    let server = gate().await;
    let req = Request::get("/.mfa-guard/sign-in?return_to=%2Fcommerce%2Fcustomers")
        .header("sec-fetch-mode", "navigate")
        .body(Body::empty())
        .expect("request");
    let (response, _) = send(&server, req).await;
    assert_sent_to_sign_in(&response);
}

#[tokio::test]
async fn a_callback_without_a_sign_in_in_progress_is_refused_with_a_page() {
    let server = gate().await;
    let req = Request::get("/.mfa-guard/callback?code=c&state=s").body(Body::empty()).expect("request");
    let (response, body) = send(&server, req).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(header(&response, "content-type")[0].starts_with("text/html"));
    assert!(body.contains("never issued") || body.contains("cannot be completed here"), "{body}");
}

#[tokio::test]
async fn the_sign_out_page_is_served_under_the_prefix() {
    let server = gate().await;
    let req = Request::get("/.mfa-guard/sign-out").body(Body::empty()).expect("request");
    let (response, body) = send(&server, req).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("action=\"/.mfa-guard/sign-out\""), "the button posts to the gate: {body}");
}

#[tokio::test]
async fn a_sign_out_posted_from_the_applications_pages_clears_the_session() {
    let server = gate().await;
    let req = Request::post("/.mfa-guard/sign-out")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .expect("request");
    let (response, _) = send(&server, req).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let cookies = header(&response, "set-cookie");
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cleared = &cookies[0];
    assert!(cleared.starts_with("__Host-mfa-guard=;") && cleared.contains("; Max-Age=0"), "{cleared}");
    assert!(attributes(cleared), "{cleared}");
}

#[tokio::test]
async fn a_method_the_browser_path_does_not_take_is_405_with_allow() {
    let server = gate().await;
    let cases = [
        ("POST", "/.mfa-guard/callback", "GET"),
        ("HEAD", "/.mfa-guard/callback", "GET"),
        ("PUT", "/.mfa-guard/sign-out", "GET, HEAD, POST"),
        ("POST", "/.mfa-guard/sign-in", "GET, HEAD"),
        ("GET", "/.mfa-guard/backchannel-logout", "POST"),
    ];
    for (method, path, allow) in cases {
        let req = Request::builder().method(method).uri(path).body(Body::empty()).expect("request");
        let (response, _) = send(&server, req).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(header(&response, "allow"), [allow], "{method} {path}");
    }
}

#[tokio::test]
async fn another_path_under_the_prefix_is_404() {
    let server = gate().await;
    for path in ["/.mfa-guard/", "/.mfa-guard/admin", "/.mfa-guard/callback/x"] {
        let (response, body) = send(&server, Request::get(path).body(Body::empty()).expect("request")).await;
        assert_eq!((response.status(), body.as_str()), (StatusCode::NOT_FOUND, "not found\n"), "{path}");
    }
}

#[tokio::test]
async fn without_browser_mode_the_prefix_is_404() {
    let server = AuthServer::new(guard(&provider().await, None));
    let req = Request::get("/.mfa-guard/sign-in").body(Body::empty()).expect("request");
    let (response, _) = send(&server, req).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_redirect_uri_outside_the_prefix_is_refused_at_start() {
    let guard = guard(&provider().await, Some(&format!("{APP}/auth/callback")));
    let e = BrowserPrefix::default().check(&guard).expect_err("the callback would reach the application");
    assert_eq!(
        e.to_string(),
        "browser sign-in answers /auth/callback, outside /.mfa-guard/ (the only paths the proxy sends to \
         serve): register a redirect URI under it, e.g. https://app.example/.mfa-guard/callback"
    );
}

#[tokio::test]
async fn the_back_channel_logout_path_is_served_under_the_prefix() {
    let server = gate().await;
    assert_eq!(server.guard().backchannel_logout_path(), Some("/.mfa-guard/backchannel-logout"));
    // Without a session store nothing can end a session: core says so, as the
    // in-process adapters answer (the journey with a store, through nginx and
    // Caddy, is in tests/conformance/tests/gate_backchannel.rs).
    let req = Request::post("/.mfa-guard/backchannel-logout")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("logout_token=a.b.c"))
        .expect("request");
    let (response, body) = send(&server, req).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(header(&response, "cache-control"), ["no-store"]);
    assert!(body.contains("back-channel logout needs a session store"), "{body}");
}

#[tokio::test]
async fn a_back_channel_logout_body_over_16_kib_is_not_read() {
    let server = gate().await;
    let long = format!("logout_token={}", "a".repeat(mfa_guard_core::browser::MAX_BACKCHANNEL_BODY));
    let req = Request::post("/.mfa-guard/backchannel-logout")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(long))
        .expect("request");
    let (response, body) = send(&server, req).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("longer than 16 KiB"), "{body}");
}

fn browser_table(pages: &str) -> mfa_guard_core::config::Config {
    let toml = format!("[browser]\nclient_id = \"web-app\"\n{pages}");
    mfa_guard_core::config::Config::from_toml_str(&toml, "mfa-guard.toml").expect("the configuration")
}

fn placed_guard(base: &str, browser: mfa_guard_core::browser::Browser) -> Guard {
    let vars = [
        ("MFA_ISSUER", ISSUER.to_owned()),
        ("MFA_JWKS_URL", format!("{base}/jwks")),
        ("MFA_AUDIENCE", "https://api.partnercenter.microsoft.com".to_owned()),
    ];
    let env = Environment::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("environment");
    env.builder().expect("builder").browser(browser).build().expect("guard")
}

fn browser(base: &str) -> mfa_guard_core::browser::Browser {
    mfa_guard_core::browser::Browser::new(
        "web-app",
        format!("{APP}/.mfa-guard/callback"),
        format!("{base}/.well-known/openid-configuration"),
        mfa_guard_core::browser::SessionKeys::random("k1").expect("keys"),
    )
}

#[tokio::test]
async fn page_paths_of_the_browser_table_under_the_prefix_are_honoured() {
    let base = provider().await;
    let prefix = BrowserPrefix::default();
    let config =
        browser_table("sign_out_path = \"/.mfa-guard/logout\"\nsigned_out_path = \"/.mfa-guard/bye\"\n");
    let placed = prefix.place_configured(browser(&base), &config).expect("under the prefix");
    let guard = placed_guard(&base, placed);
    prefix.check(&guard).expect("every path under the prefix");
    assert_eq!(
        guard.browser_paths(),
        Some([
            "/.mfa-guard/callback",
            "/.mfa-guard/sign-in",
            "/.mfa-guard/logout",
            "/.mfa-guard/bye",
            "/.mfa-guard/backchannel-logout"
        ])
    );
}

#[tokio::test]
async fn a_page_path_of_the_browser_table_outside_the_prefix_is_refused_by_its_key() {
    let base = provider().await;
    let prefix = BrowserPrefix::default();
    for (key, path, example) in [
        ("sign_in_path", "/auth/sign-in", "/.mfa-guard/sign-in"),
        ("sign_out_path", "/logout", "/.mfa-guard/sign-out"),
        ("signed_out_path", "/.mfa-guard/", "/.mfa-guard/signed-out"),
    ] {
        let config = browser_table(&format!("{key} = {path:?}\n"));
        let e = prefix.place_configured(browser(&base), &config).expect_err("outside the prefix");
        assert_eq!(
            e.to_string(),
            format!(
                "MFA_CONFIG: browser.{key} = {path:?} is outside /.mfa-guard/, the only paths the proxy \
                 sends to serve: set it under the prefix (e.g. {example}) or remove it (serve places the \
                 page at {example})"
            )
        );
    }
}

#[tokio::test]
async fn two_browser_pages_on_one_path_are_refused() {
    let base = provider().await;
    let prefix = BrowserPrefix::default();
    let config = browser_table("sign_out_path = \"/.mfa-guard/callback\"\n");
    let placed = prefix.place_configured(browser(&base), &config).expect("under the prefix");
    let e = prefix.check(&placed_guard(&base, placed)).expect_err("the sign-out page would never answer");
    assert!(
        e.to_string().starts_with("browser sign-in answers two of its pages at /.mfa-guard/callback"),
        "{e}"
    );
}

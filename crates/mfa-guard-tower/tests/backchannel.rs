//! OpenID Connect back-channel logout through the layer: the development issuer
//! serves discovery and keys on loopback, the layer reads the `POST` body (at most
//! 16 KiB) and answers with core's answer; the inner service never sees it.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use mfa_guard_core::browser::{Browser, MAX_BACKCHANNEL_BODY, SessionKeys};
use mfa_guard_core::revocation::Revocations;
use mfa_guard_core::{Claims, Guard, ManualClock, Policy, SystemClock};
use mfa_guard_dev::server::DevIdp;
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use mfa_guard_tower::MfaLayer;
use serde_json::{Value, json};
use tower::ServiceExt;

const CLIENT: &str = "web-app";
const FORM: &str = "application/x-www-form-urlencoded";

struct App {
    router: Router,
    issuer: Arc<DevIssuer>,
    clock: ManualClock,
    cookie: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The development issuer on loopback, and an application in browser mode with a
/// session store whose user (provider session `op-1`) signed in a second ago.
async fn app() -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bound = listener.local_addr().unwrap();
    let issuer = Arc::new(DevIssuer::for_server(bound).unwrap());
    let idp = Arc::new(DevIdp::new(issuer.clone(), &format!("http://{bound}")));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, idp.router()).await;
    });
    let clock = ManualClock::new(mfa_guard_core::Clock::now_unix(&SystemClock));
    let browser = Browser::new(
        CLIENT,
        "https://app.example/auth/callback",
        format!("http://{bound}/.well-known/openid-configuration"),
        SessionKeys::random("k1").unwrap(),
    )
    .session_store(Revocations::memory());
    let guard = Guard::builder()
        .verifier(|v| {
            v.issuer(issuer.issuer())
                .keys(issuer.key_source().unwrap())
                .audience(DEV_AUDIENCE)
                .clock(clock.clone())
        })
        .policy(Policy::partner_center())
        .browser(browser)
        .build()
        .unwrap();
    let claims = Claims::from_json(br#"{"sub":"user-1","oid":"o","amr":["pwd"],"sid":"op-1"}"#).unwrap();
    let cookie = mfa_guard_core::dev::session_cookie(&guard, &claims).unwrap();
    clock.advance(1);
    let router = Router::new()
        .route("/overview", get(|| async { "overview" }))
        .route("/auth/backchannel-logout", post(|| async { "the inner service" }))
        .layer(MfaLayer::new(guard));
    App { router, issuer, clock, cookie, server }
}

/// A valid logout token of the development issuer for the provider session `sid`.
fn logout_token(app: &App, sid: &str) -> String {
    let mut claims =
        app.issuer.user().audience(CLIENT).at(&app.clock).lifetime(Duration::from_secs(120)).claims();
    let object = claims.as_object_mut().unwrap();
    for name in ["scp", "roles", "amr", "wids", "nbf"] {
        object.remove(name);
    }
    object.insert("jti".into(), json!("jti-1"));
    object.insert("sid".into(), json!(sid));
    object.insert("events".into(), json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    app.issuer.sign(&claims).unwrap()
}

fn logout(content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post("/auth/backchannel-logout").header("content-type", content_type).body(body.into()).unwrap()
}

fn navigation(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header("sec-fetch-mode", "navigate")
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

fn header(res: &Response<impl Sized>, name: &str) -> Vec<String> {
    res.headers().get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

async fn json_body<B>(res: Response<B>) -> Value
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn a_valid_logout_token_is_answered_200_no_store_and_the_session_is_refused_after() {
    let app = app().await;
    let before = app.router.clone().oneshot(navigation("/overview", &app.cookie)).await.unwrap();
    assert_eq!(before.status(), StatusCode::OK);

    let body = format!("logout_token={}", logout_token(&app, "op-1"));
    let res = app.router.clone().oneshot(logout(FORM, body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.is_empty(), "core's empty 200, not the inner service: {bytes:?}");

    let after = app.router.clone().oneshot(navigation("/overview", &app.cookie)).await.unwrap();
    assert_eq!(after.status(), StatusCode::FOUND);
    let location = header(&after, "location");
    assert_eq!(location.len(), 1);
    assert!(location[0].contains("/authorize"), "a new sign-in: {location:?}");
}

#[tokio::test]
async fn a_body_longer_than_16_kib_is_refused_with_400_saying_so() {
    let app = app().await;
    let body = format!("logout_token={}", "a".repeat(MAX_BACKCHANNEL_BODY));
    let res = app.router.clone().oneshot(logout(FORM, body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    assert_eq!(header(&res, "content-type"), ["application/json"]);
    let body = json_body(res).await;
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "the logout request's body is longer than 16 KiB");
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_refused_with_400_saying_so() {
    let app = app().await;
    let body = json!({"logout_token": logout_token(&app, "op-1")}).to_string();
    let res = app.router.clone().oneshot(logout("application/json", body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    let body = json_body(res).await;
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "the logout request's body must be application/x-www-form-urlencoded"
    );
    // Refused, so nothing was revoked.
    let still = app.router.clone().oneshot(navigation("/overview", &app.cookie)).await.unwrap();
    assert_eq!(still.status(), StatusCode::OK);
}

/// A body that never ends: 1 KiB frames for as long as someone reads, counted.
struct Endless(Arc<std::sync::atomic::AtomicUsize>);

impl http_body::Body for Endless {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from(vec![b'a'; 1024])))))
    }
}

#[tokio::test]
async fn an_endless_body_is_refused_after_16_kib_without_reading_the_rest() {
    let app = app().await;
    let read = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let req = Request::post("/auth/backchannel-logout")
        .header("content-type", FORM)
        .body(Body::new(Endless(read.clone())))
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    let body = json_body(res).await;
    assert_eq!(body["error_description"], "the logout request's body is longer than 16 KiB");
    assert_eq!(read.load(std::sync::atomic::Ordering::SeqCst), MAX_BACKCHANNEL_BODY / 1024 + 1);
}

/// The logout token of [`logout_token`], typed `logout+jwt` as providers type them
/// (Back-Channel Logout 1.0 §2.4), with audience `aud`.
fn typed_logout_token(app: &App, aud: &str) -> String {
    let mut claims =
        app.issuer.user().audience(aud).at(&app.clock).lifetime(Duration::from_secs(120)).claims();
    let object = claims.as_object_mut().unwrap();
    for name in ["roles", "nbf"] {
        object.remove(name);
    }
    object.insert("jti".into(), json!("jti-typed"));
    object.insert("sid".into(), json!("op-1"));
    object.insert("events".into(), json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    let header = json!({"alg": "RS256", "kid": app.issuer.kid(), "typ": "logout+jwt"});
    app.issuer.sign_with_header(&header, &claims).unwrap()
}

#[tokio::test]
async fn a_logout_token_typed_logout_jwt_is_accepted_at_the_back_channel_endpoint() {
    let app = app().await;
    let body = format!("logout_token={}", typed_logout_token(&app, CLIENT));
    let res = app.router.clone().oneshot(logout(FORM, body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    let after = app.router.clone().oneshot(navigation("/overview", &app.cookie)).await.unwrap();
    assert_eq!(after.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_logout_token_is_never_accepted_as_a_bearer_token() {
    let app = app().await;
    // Signed by the trusted issuer for the API's own audience: only its type differs
    // from an access token the API would admit.
    let token = typed_logout_token(&app, DEV_AUDIENCE);
    let req =
        Request::get("/overview").header("authorization", format!("Bearer {token}")).body(Body::empty());
    let res = app.router.clone().oneshot(req.unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(&res, "www-authenticate");
    assert_eq!(challenge.len(), 1);
    assert!(challenge[0].contains(r#"error="invalid_token""#), "{challenge:?}");
    let body = json_body(res).await;
    assert_eq!(
        body["detail"],
        "header parameter `typ` names a logout token (logout+jwt), never accepted as an access token or ID token"
    );
}

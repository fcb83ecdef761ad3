//! OpenID Connect back-channel logout through the middleware: the development
//! issuer's discovery document and keys served on loopback, the middleware reads the
//! `POST` body (at most 16 KiB) and answers with core's answer; the inner service
//! never sees it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServiceResponse;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, HttpServer, web};
use mfa_guard_actix::MfaMiddleware;
use mfa_guard_core::browser::{Browser, MAX_BACKCHANNEL_BODY, SessionKeys};
use mfa_guard_core::revocation::Revocations;
use mfa_guard_core::{Claims, Guard, ManualClock, Policy, SystemClock};
use mfa_guard_dev::{DEV_AUDIENCE, DISCOVERY_PATH, DevIssuer, JWKS_PATH};
use serde_json::{Value, json};

const CLIENT: &str = "web-app";
const FORM: &str = "application/x-www-form-urlencoded";

struct Idp {
    issuer: Arc<DevIssuer>,
    discovery_url: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Idp {
    fn drop(&mut self) {
        // Stops the server's worker too; not awaited, as the test's runtime ends.
        drop(self.handle.stop(false));
    }
}

/// The development issuer's discovery document and JWKS, served on loopback.
fn idp() -> Idp {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let bound = listener.local_addr().expect("address");
    let issuer = Arc::new(DevIssuer::for_server(bound).unwrap());
    let discovery = mfa_guard_dev::discovery(&issuer, &format!("http://{bound}")).to_string();
    let jwks = issuer.jwks_json().to_owned();
    let server = HttpServer::new(move || {
        let (discovery, jwks) = (discovery.clone(), jwks.clone());
        App::new()
            .route(
                DISCOVERY_PATH,
                web::get().to(move || {
                    let d = discovery.clone();
                    async move { HttpResponse::Ok().content_type("application/json").body(d) }
                }),
            )
            .route(
                JWKS_PATH,
                web::get().to(move || {
                    let j = jwks.clone();
                    async move { HttpResponse::Ok().content_type("application/json").body(j) }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Idp { issuer, discovery_url: format!("http://{bound}{DISCOVERY_PATH}"), handle }
}

/// A guard in browser mode with a session store, and the cookie of a user
/// (provider session `op-1`) who signed in a second ago.
fn guard(idp: &Idp, clock: &ManualClock) -> (Guard, String) {
    let browser = Browser::new(
        CLIENT,
        "https://app.example/auth/callback",
        idp.discovery_url.clone(),
        SessionKeys::random("k1").unwrap(),
    )
    .session_store(Revocations::memory());
    let guard = Guard::builder()
        .verifier(|v| {
            v.issuer(idp.issuer.issuer())
                .keys(idp.issuer.key_source().unwrap())
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
    (guard, cookie)
}

/// The application: an MFA-free page, and a handler at the back-channel path that
/// must never be reached.
macro_rules! app {
    ($guard:expr) => {
        init_service(
            App::new()
                .wrap(MfaMiddleware::new($guard))
                .route("/overview", web::get().to(|| async { "overview" }))
                .route("/auth/backchannel-logout", web::post().to(|| async { "the inner service" })),
        )
        .await
    };
}

/// A valid logout token of the development issuer for the provider session `sid`.
fn logout_token(idp: &Idp, clock: &ManualClock, sid: &str) -> String {
    let mut claims = idp.issuer.user().audience(CLIENT).at(clock).lifetime(Duration::from_secs(120)).claims();
    let object = claims.as_object_mut().unwrap();
    for name in ["scp", "roles", "amr", "wids", "nbf"] {
        object.remove(name);
    }
    object.insert("jti".into(), json!("jti-1"));
    object.insert("sid".into(), json!(sid));
    object.insert("events".into(), json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    idp.issuer.sign(&claims).unwrap()
}

fn logout(content_type: &str, body: impl Into<actix_web::web::Bytes>) -> TestRequest {
    TestRequest::post()
        .uri("/auth/backchannel-logout")
        .insert_header(("content-type", content_type))
        .set_payload(body.into())
}

fn navigation(cookie: &str) -> TestRequest {
    TestRequest::get()
        .uri("/overview")
        .insert_header(("sec-fetch-mode", "navigate"))
        .insert_header(("cookie", cookie))
}

fn header<B>(res: &ServiceResponse<B>, name: &str) -> Vec<String> {
    res.headers().get_all(name).map(|v| v.to_str().unwrap().to_owned()).collect()
}

fn clock() -> ManualClock {
    ManualClock::new(mfa_guard_core::Clock::now_unix(&SystemClock))
}

#[actix_web::test]
async fn a_valid_logout_token_is_answered_200_no_store_and_the_session_is_refused_after() {
    let (idp, clock) = (idp(), clock());
    let (guard, cookie) = guard(&idp, &clock);
    let app = app!(guard);
    assert_eq!(call_service(&app, navigation(&cookie).to_request()).await.status(), 200);

    let body = format!("logout_token={}", logout_token(&idp, &clock, "op-1"));
    let res = call_service(&app, logout(FORM, body).to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    let bytes = read_body(res).await;
    assert!(bytes.is_empty(), "core's empty 200, not the inner service: {bytes:?}");

    let after = call_service(&app, navigation(&cookie).to_request()).await;
    assert_eq!(after.status(), 302);
    let location = header(&after, "location");
    assert_eq!(location.len(), 1);
    assert!(location[0].contains("/authorize"), "a new sign-in: {location:?}");
}

#[actix_web::test]
async fn a_body_longer_than_16_kib_is_refused_with_400_saying_so() {
    let (idp, clock) = (idp(), clock());
    let (guard, _) = guard(&idp, &clock);
    let app = app!(guard);
    let res = call_service(
        &app,
        logout(FORM, format!("logout_token={}", "a".repeat(MAX_BACKCHANNEL_BODY))).to_request(),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    assert_eq!(header(&res, "content-type"), ["application/json"]);
    let body: Value = serde_json::from_slice(&read_body(res).await).unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "the logout request's body is longer than 16 KiB");
}

#[actix_web::test]
async fn a_body_that_is_not_a_form_is_refused_with_400_saying_so() {
    let (idp, clock) = (idp(), clock());
    let (guard, cookie) = guard(&idp, &clock);
    let app = app!(guard);
    let body = json!({"logout_token": logout_token(&idp, &clock, "op-1")}).to_string();
    let res = call_service(&app, logout("application/json", body).to_request()).await;
    assert_eq!(res.status(), 400);
    assert_eq!(header(&res, "cache-control"), ["no-store"]);
    let body: Value = serde_json::from_slice(&read_body(res).await).unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "the logout request's body must be application/x-www-form-urlencoded"
    );
    // Refused, so nothing was revoked.
    assert_eq!(call_service(&app, navigation(&cookie).to_request()).await.status(), 200);
}

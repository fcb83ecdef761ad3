//! MfaLayer inside axum routers, driven in-process (`oneshot`) and over a socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use mfa_guard_core::keys::{KeyFuture, KeyProvider, KeySet, Lookup, StaticKeys};
use mfa_guard_core::{Algorithm, Guard, KeySource, Rejection, RejectionCode, Requirement, Role};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use mfa_guard_tower::{MfaLayer, Principal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const ISSUER: &str = "https://sts.windows.net/{tenantid}/";

fn issuer() -> &'static DevIssuer {
    static I: OnceLock<DevIssuer> = OnceLock::new();
    I.get_or_init(|| DevIssuer::generate(ISSUER).unwrap())
}

fn guard() -> Guard {
    Guard::partner_center()
        .verifier(|v| v.issuer(ISSUER).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
        .build()
        .unwrap()
}

async fn whoami(caller: Principal) -> String {
    format!("{}:{}", caller.kind(), caller.oid().unwrap_or("-"))
}

async fn maybe(caller: Option<Principal>) -> String {
    match caller {
        Some(p) => format!("hello {}", p.kind()),
        None => "hello stranger".to_owned(),
    }
}

fn app(guard: Guard) -> Router {
    Router::new()
        .route("/commerce/customers", get(whoami))
        .route("/health", get(maybe))
        .route("/v1/catalog/prices", get(whoami))
        .layer(MfaLayer::new(guard))
}

fn request(path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

async fn body_string<B>(res: Response<B>) -> String
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn an_admitted_request_reaches_the_handler_with_its_principal() {
    let token = issuer().user().sign().unwrap();
    let res = app(guard()).oneshot(request("/commerce/customers", Some(&token))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_string(res).await, "user:aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb");
}

/// What a handler behind the layer sees of the request's headers: the names of the
/// sensitive ones, then the whole map as `Debug` prints it.
async fn shown_headers(headers: http::HeaderMap) -> String {
    let sensitive: Vec<&str> =
        headers.iter().filter(|(_, v)| v.is_sensitive()).map(|(n, _)| n.as_str()).collect();
    format!("{}\n{headers:?}", sensitive.join(","))
}

#[tokio::test]
async fn the_handler_sees_every_credential_marked_sensitive_and_never_printed() {
    let token = issuer().user().sign().unwrap();
    let app = Router::new().route("/commerce/customers", get(shown_headers)).layer(MfaLayer::new(guard()));
    let req = Request::get("/commerce/customers")
        .header("authorization", format!("Bearer {token}"))
        .header("cookie", "theme=secret-theme")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_string(res).await;
    let (sensitive, shown) = body.split_once('\n').unwrap();
    assert_eq!(sensitive, "authorization,cookie,proxy-authorization");
    for secret in [token.as_str(), "secret-theme", "c2VjcmV0"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("application/json"), "{shown}");
}

#[tokio::test]
async fn the_mfa_refusal_carries_the_reason_phrase_and_the_rejection() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let res = app(guard()).oneshot(request("/commerce/customers", Some(&token))).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], r#"Bearer error="invalid_token""#);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let reason = res.extensions().get::<hyper::ext::ReasonPhrase>().unwrap();
    assert_eq!(reason.as_bytes(), b"Unauthorized - MFA required");
    assert_eq!(res.extensions().get::<Rejection>().unwrap().code(), RejectionCode::MfaRequired);
    let body: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(body["code"], "mfa_required");
}

#[tokio::test]
async fn an_outer_layer_reads_why_a_request_was_refused() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let app = app(guard()).layer(axum::middleware::map_response(move |res: axum::response::Response| {
        let log = Arc::clone(&log);
        async move {
            if let Some(r) = res.extensions().get::<Rejection>() {
                log.lock().unwrap().push(r.code());
            }
            res
        }
    }));
    let app_token = issuer().app().sign().unwrap();
    let _ = app.clone().oneshot(request("/commerce/customers", Some(&app_token))).await.unwrap();
    let _ = app.clone().oneshot(request("/commerce/customers", None)).await.unwrap();
    let ok = app.oneshot(request("/v1/catalog/prices", Some(&app_token))).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(*seen.lock().unwrap(), [RejectionCode::AppOnlyNotAllowed, RejectionCode::MissingToken]);
}

#[tokio::test]
async fn option_principal_on_a_public_route_with_and_without_a_token() {
    let res = app(guard()).oneshot(request("/health", None)).await.unwrap();
    assert_eq!(body_string(res).await, "hello stranger");
    let token = issuer().app().sign().unwrap();
    let res = app(guard()).oneshot(request("/health", Some(&token))).await.unwrap();
    assert_eq!(body_string(res).await, "hello app");
    // An invalid token on a public route is not an error there; it is simply no caller.
    let res = app(guard()).oneshot(request("/health", Some("garbage"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_string(res).await, "hello stranger");
}

#[tokio::test]
async fn a_required_principal_on_a_public_route_gets_the_layers_missing_token_answer() {
    let app = Router::new().route("/health", get(whoami)).layer(MfaLayer::new(guard()));
    let res = app.oneshot(request("/health", None)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(body["code"], "missing_token");
}

#[tokio::test]
async fn route_layer_requirements_apply_next_to_their_routes() {
    let g = guard();
    let app = Router::new()
        .route("/reports", get(whoami))
        .route_layer(MfaLayer::require(&g, Requirement::mfa().any_role([Role::SecurityAdmin])).unwrap());
    let admin = issuer().user().sign().unwrap();
    let res = app.clone().oneshot(request("/reports", Some(&admin))).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.extensions().get::<Rejection>().unwrap().code(), RejectionCode::InsufficientRole);
    let sec = issuer().user().security_admin().sign().unwrap();
    let res = app.clone().oneshot(request("/reports", Some(&sec))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Unrouted paths are not touched by a route layer: axum answers 404 itself.
    let res = app.oneshot(request("/elsewhere", None)).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[test]
fn a_route_requirement_naming_an_undefined_role_is_an_error() {
    let err = MfaLayer::require(&guard(), Requirement::mfa().any_role([Role::Custom("Auditor".into())]));
    assert!(err.unwrap_err().to_string().contains("Auditor"));
}

/// Keys that arrive only after a delay, counting how often they were asked for.
#[derive(Debug)]
struct SlowKeys(StaticKeys, Arc<AtomicUsize>);

impl KeyProvider for SlowKeys {
    fn lookup(&self, _: Option<&str>, _: Algorithm) -> Lookup {
        Lookup::NotLoaded
    }

    fn resolve<'a>(&'a self, kid: Option<&'a str>, alg: Algorithm) -> KeyFuture<'a> {
        self.1.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.0.resolve(kid, alg).await
        })
    }
}

#[tokio::test]
async fn a_check_waiting_for_keys_then_calls_the_ready_inner_service() {
    let resolves = Arc::new(AtomicUsize::new(0));
    let set = KeySet::from_json(issuer().jwks_json().as_bytes()).unwrap();
    let g = Guard::partner_center()
        .verifier(|v| {
            v.issuer(ISSUER)
                .keys(KeySource::custom(SlowKeys(StaticKeys::new(set), Arc::clone(&resolves))))
                .audience(DEV_AUDIENCE)
        })
        .token_cache_capacity(0)
        .build()
        .unwrap();
    let ok = issuer().user().sign().unwrap();
    let res = app(g.clone()).oneshot(request("/commerce/customers", Some(&ok))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let no_mfa = issuer().user().mfa(false).sign().unwrap();
    let res = app(g).oneshot(request("/commerce/customers", Some(&no_mfa))).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.extensions().get::<hyper::ext::ReasonPhrase>().is_some());
    assert_eq!(resolves.load(Ordering::SeqCst), 2, "both went through the waiting path");
}

#[tokio::test]
async fn http1_sends_the_partner_center_status_line_over_a_socket() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(guard())).await });
    let token = issuer().user().mfa(false).sign().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /commerce/customers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 401 Unauthorized - MFA required\r\n"), "{text}");
    assert!(text.contains("\r\nwww-authenticate: Bearer error=\"invalid_token\"\r\n"), "{text}");
}

/// A guard in browser mode on a clock the test moves, and a session cookie it
/// wrote just now for a user without MFA.
fn browser_guard() -> (Guard, mfa_guard_core::ManualClock, String) {
    use mfa_guard_core::browser::{Browser, SessionKeys};
    let clock = mfa_guard_core::ManualClock::new(1_700_000_000);
    let guard = Guard::builder()
        .verifier(|v| {
            v.issuer(ISSUER).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE).clock(clock.clone())
        })
        .policy(mfa_guard_core::Policy::partner_center())
        .browser(Browser::new(
            "web-app",
            "https://app.example/auth/callback",
            "https://idp.example/.well-known/openid-configuration",
            SessionKeys::random("k1").unwrap(),
        ))
        .build()
        .unwrap();
    let claims = mfa_guard_core::Claims::from_json(br#"{"sub":"s","oid":"o","amr":["pwd"]}"#).unwrap();
    let cookie = mfa_guard_core::dev::session_cookie(&guard, &claims).unwrap();
    (guard, clock, cookie)
}

fn navigation(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header("sec-fetch-mode", "navigate")
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

fn all(res: &Response<impl Sized>, name: &str) -> Vec<String> {
    res.headers().get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_signed_in_page_is_private_and_never_cached_when_it_writes_the_session_again() {
    let (guard, clock, cookie) = browser_guard();
    let app = Router::new()
        .route("/overview", get(|| async { "overview" }))
        .route(
            "/cached",
            get(|| async {
                ([("cache-control", "public, max-age=600"), ("set-cookie", "theme=dark")], "cached")
            }),
        )
        .layer(MfaLayer::new(guard));
    // The handler said nothing: private. It said something: its word stands.
    let res = app.clone().oneshot(navigation("/overview", &cookie)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(all(&res, "cache-control"), ["private"]);
    assert!(all(&res, "set-cookie").is_empty());
    let res = app.clone().oneshot(navigation("/cached", &cookie)).await.unwrap();
    assert_eq!(all(&res, "cache-control"), ["public, max-age=600"]);
    // A minute on, the session cookie is written again: no cache may keep that
    // response, whatever the handler said, and the handler's own cookie stays.
    clock.advance(60);
    let res = app.oneshot(navigation("/cached", &cookie)).await.unwrap();
    assert_eq!(all(&res, "cache-control"), ["private, no-store"]);
    let cookies = all(&res, "set-cookie");
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert_eq!(cookies[0], "theme=dark");
    assert!(cookies[1].starts_with("__Host-mfa-guard=v1."), "{cookies:?}");
    // The session cookie the guard set is a credential: never printed.
    let sensitive: Vec<bool> = res.headers().get_all("set-cookie").iter().map(|v| v.is_sensitive()).collect();
    assert_eq!(sensitive, [false, true]);
}

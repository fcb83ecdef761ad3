//! `MfaMiddleware`: who reaches the handler, and what the others are answered.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::Service as _;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpMessage as _, HttpRequest, HttpResponse, test, web};
use common::{DEV, app, bearer, code, expected, guard, parts, user_mfa, user_no_mfa};
use mfa_guard_actix::MfaMiddleware;
use mfa_guard_core::{MFA_REQUIRED_REASON, Rejection, RejectionCode, Requirement, Role};

/// Answers with the principal's oid, counting the calls.
fn counting_handler(calls: Arc<AtomicUsize>) -> actix_web::Route {
    web::route().to(move |req: HttpRequest| {
        calls.fetch_add(1, Ordering::SeqCst);
        let oid = req
            .extensions()
            .get::<mfa_guard_core::Principal>()
            .map(|p| p.oid().unwrap_or("?").to_owned())
            .unwrap_or_else(|| "anonymous".to_owned());
        async move { HttpResponse::Ok().body(oid) }
    })
}

#[actix_web::test]
async fn admitted_user_reaches_the_handler_with_the_principal_in_request_extensions() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = test::init_service(
        App::new().wrap(MfaMiddleware::new(guard())).default_service(counting_handler(calls.clone())),
    )
    .await;
    let req =
        test::TestRequest::get().uri("/commerce/customers").insert_header(bearer(&user_mfa())).to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn public_route_without_token_reaches_the_handler_without_a_principal() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = test::init_service(
        App::new().wrap(MfaMiddleware::new(guard())).default_service(counting_handler(calls.clone())),
    )
    .await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, "anonymous");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn user_without_mfa_gets_401_mfa_required_with_the_partner_center_reason_phrase() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = test::init_service(
        App::new().wrap(MfaMiddleware::new(guard())).default_service(counting_handler(calls.clone())),
    )
    .await;
    let req = test::TestRequest::get()
        .uri("/commerce/customers")
        .insert_header(bearer(&user_no_mfa()))
        .to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.response().head().reason(), MFA_REQUIRED_REASON);
    assert_eq!(res.headers().get(header::WWW_AUTHENTICATE).unwrap(), r#"Bearer error="invalid_token""#);
    assert_eq!(res.headers().get(header::CONTENT_TYPE).unwrap(), "application/problem+json");
    let (_, _, body) = parts(res).await;
    assert_eq!(code(&body), "mfa_required");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a refused request never reaches the handler");
}

#[actix_web::test]
async fn every_refusal_is_rendered_byte_for_byte_from_the_core_rejection() {
    let svc = test::init_service(
        App::new()
            .wrap(MfaMiddleware::new(guard()))
            .default_service(web::to(|| async { HttpResponse::Ok().finish() })),
    )
    .await;
    let no_role = DEV.user().roles(Vec::<String>::new()).sign().unwrap();
    let cases: Vec<(&str, Vec<String>, RejectionCode)> = vec![
        ("/commerce/customers", vec![], RejectionCode::MissingToken),
        ("/commerce/customers", vec!["Bearer not-a-jwt".into()], RejectionCode::InvalidToken),
        ("/commerce/customers", vec![format!("Bearer {}", user_no_mfa())], RejectionCode::MfaRequired),
        ("/v1/customers/contoso", vec![format!("Bearer {}", app())], RejectionCode::AppOnlyNotAllowed),
        ("/billing/invoices", vec![format!("Bearer {no_role}")], RejectionCode::InsufficientRole),
        (
            "/overview",
            vec![format!("Bearer {}", user_mfa()), format!("Bearer {}", user_mfa())],
            RejectionCode::InvalidRequest,
        ),
    ];
    for (path, authorizations, want) in cases {
        let mut req = test::TestRequest::get().uri(path);
        for value in &authorizations {
            req = req.append_header((header::AUTHORIZATION, value.as_str()));
        }
        let res = test::call_service(&svc, req.to_request()).await;
        let rejection =
            res.response().extensions().get::<Rejection>().cloned().expect("the rejection travels along");
        assert_eq!(rejection.code(), want, "{path}");
        let reason = res.response().head().reason;
        assert_eq!(reason, rejection.reason_phrase(), "{path}");
        let got = parts(res).await;
        assert_eq!(got, expected(&rejection), "{path}");
        assert_eq!(code(&got.2), want.as_str(), "{path}");
    }
}

#[actix_web::test]
async fn outer_middleware_sees_why_a_request_was_refused() {
    let svc = test::init_service(
        App::new()
            .wrap(MfaMiddleware::new(guard()))
            .wrap_fn(|req, srv| {
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    let seen = res.response().extensions().get::<Rejection>().map(|r| r.code().as_str());
                    if let Some(code) = seen {
                        res.headers_mut().insert(
                            header::HeaderName::from_static("x-refused-for"),
                            HeaderValue::from_static(code),
                        );
                    }
                    Ok(res)
                }
            })
            .default_service(web::to(|| async { HttpResponse::Ok().finish() })),
    )
    .await;
    let req = test::TestRequest::get()
        .uri("/commerce/customers")
        .insert_header(bearer(&user_no_mfa()))
        .to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers().get("x-refused-for").unwrap(), "mfa_required");

    let req =
        test::TestRequest::get().uri("/commerce/customers").insert_header(bearer(&user_mfa())).to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-refused-for").is_none(), "admitted responses carry no rejection");
}

#[actix_web::test]
async fn require_applies_its_requirement_to_its_scope_only() {
    let guard = guard();
    let reports = MfaMiddleware::require(&guard, Requirement::mfa().any_role([Role::AdminAgent])).unwrap();
    let svc = test::init_service(
        App::new()
            .service(
                web::scope("/reports")
                    .wrap(reports)
                    .route("/q3", web::get().to(|| async { HttpResponse::Ok().body("q3") })),
            )
            .route("/open", web::get().to(|| async { HttpResponse::Ok().body("open") })),
    )
    .await;
    let get = |path: &str, token: Option<String>| {
        let mut req = test::TestRequest::get().uri(path);
        if let Some(token) = token {
            req = req.insert_header(bearer(&token));
        }
        req.to_request()
    };
    let no_role = DEV.user().roles(Vec::<String>::new()).sign().unwrap();
    let cases = [
        (get("/reports/q3", Some(user_mfa())), 200, None),
        (get("/reports/q3", None), 401, Some("missing_token")),
        (get("/reports/q3", Some(user_no_mfa())), 401, Some("mfa_required")),
        (get("/reports/q3", Some(app())), 403, Some("app_only_not_allowed")),
        (get("/reports/q3", Some(no_role)), 403, Some("insufficient_role")),
        // Outside the scope nothing is checked.
        (get("/open", None), 200, None),
    ];
    for (req, status, want) in cases {
        let path = req.path().to_owned();
        let res = test::call_service(&svc, req).await;
        assert_eq!(res.status(), status, "{path}");
        let (_, _, body) = parts(res).await;
        if let Some(want) = want {
            assert_eq!(code(&body), want, "{path}");
        }
    }
}

#[actix_web::test]
async fn require_refuses_a_role_the_role_map_does_not_define() {
    let unknown = Role::from_name("NoSuchRole");
    let err = MfaMiddleware::require(&guard(), Requirement::mfa().any_role([unknown]));
    assert!(err.is_err());
}

#[actix_web::test]
async fn a_signed_in_page_is_private_and_never_cached_when_it_writes_the_session_again() {
    use mfa_guard_core::browser::{Browser, SessionKeys};
    let clock = mfa_guard_core::ManualClock::new(1_700_000_000);
    let guard = mfa_guard_core::Guard::builder()
        .verifier(|v| {
            v.issuer(DEV.issuer())
                .keys(DEV.key_source().unwrap())
                .audience(mfa_guard_dev::DEV_AUDIENCE)
                .clock(clock.clone())
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
    let svc = test::init_service(
        App::new()
            .wrap(MfaMiddleware::new(guard))
            .route("/overview", web::get().to(|| async { HttpResponse::Ok().body("overview") }))
            .route(
                "/cached",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .insert_header((header::CACHE_CONTROL, "public, max-age=600"))
                        .append_header((header::SET_COOKIE, "theme=dark"))
                        .body("cached")
                }),
            ),
    )
    .await;
    let navigation = |path: &str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header(("sec-fetch-mode", "navigate"))
            .insert_header((header::COOKIE, cookie.clone()))
            .to_request()
    };
    let all = |headers: &header::HeaderMap, name: header::HeaderName| -> Vec<String> {
        headers.get_all(name).map(|v| v.to_str().unwrap().to_owned()).collect()
    };
    // The handler said nothing: private. It said something: its word stands.
    let res = test::call_service(&svc, navigation("/overview")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(all(res.headers(), header::CACHE_CONTROL), ["private"]);
    assert!(all(res.headers(), header::SET_COOKIE).is_empty());
    let res = test::call_service(&svc, navigation("/cached")).await;
    assert_eq!(all(res.headers(), header::CACHE_CONTROL), ["public, max-age=600"]);
    // A minute on, the session cookie is written again: no cache may keep that
    // response, whatever the handler said, and the handler's own cookie stays.
    clock.advance(60);
    let res = test::call_service(&svc, navigation("/cached")).await;
    assert_eq!(all(res.headers(), header::CACHE_CONTROL), ["private, no-store"]);
    let mut cookies = all(res.headers(), header::SET_COOKIE);
    cookies.sort();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies[0].starts_with("__Host-mfa-guard=v1."), "{cookies:?}");
    assert_eq!(cookies[1], "theme=dark");
    // The session cookie the guard set is a credential: never printed.
    for value in res.headers().get_all(header::SET_COOKIE) {
        assert_eq!(value.is_sensitive(), value.as_bytes().starts_with(b"__Host-mfa-guard="), "{value:?}");
    }
}

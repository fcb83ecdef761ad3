//! The `Principal` extractor, required and optional.

mod common;

use actix_web::{App, HttpResponse, test, web};
use common::{bearer, code, expected, guard, parts, user_mfa};
use mfa_guard_actix::{MfaMiddleware, Principal};
use mfa_guard_core::RejectionCode;

async fn required(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} {}", caller.kind(), caller.oid().unwrap_or("?")))
}

async fn optional(caller: Option<Principal>) -> HttpResponse {
    HttpResponse::Ok().body(match caller {
        Some(caller) => format!("{} {}", caller.kind(), caller.oid().unwrap_or("?")),
        None => "anonymous".to_owned(),
    })
}

#[actix_web::test]
async fn principal_extractor_yields_the_admitted_caller() {
    let svc = test::init_service(
        App::new().wrap(MfaMiddleware::new(guard())).route("/overview", web::get().to(required)),
    )
    .await;
    let req = test::TestRequest::get().uri("/overview").insert_header(bearer(&user_mfa())).to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, "user aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb");
}

#[actix_web::test]
async fn principal_extractor_on_a_public_route_without_token_answers_the_guards_missing_token() {
    let guard = guard();
    let svc = test::init_service(
        App::new().wrap(MfaMiddleware::new(guard.clone())).route("/health", web::get().to(required)),
    )
    .await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    let rejection = res
        .response()
        .extensions()
        .get::<mfa_guard_core::Rejection>()
        .cloned()
        .expect("the extractor's answer carries the rejection too");
    assert_eq!(rejection.code(), RejectionCode::MissingToken);
    let got = parts(res).await;
    assert_eq!(got.0, 401);
    assert!(got.1.contains(&("www-authenticate".to_owned(), "Bearer".to_owned())));
    assert_eq!(code(&got.2), "missing_token");
    // The very bytes the middleware sends for a missing token.
    assert_eq!(got, expected(&guard.missing_token()));
}

#[actix_web::test]
async fn optional_principal_is_none_on_a_public_route_without_token_and_some_with_a_valid_one() {
    let svc = test::init_service(
        App::new().wrap(MfaMiddleware::new(guard())).route("/health", web::get().to(optional)),
    )
    .await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, "anonymous");

    let req = test::TestRequest::get().uri("/health").insert_header(bearer(&user_mfa())).to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, "user aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb");
}

#[actix_web::test]
async fn principal_extractor_without_the_middleware_fails_closed() {
    let svc = test::init_service(
        App::new().route("/required", web::get().to(required)).route("/optional", web::get().to(optional)),
    )
    .await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/required").to_request()).await;
    let (status, _, body) = parts(res).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "missing_token");

    let res = test::call_service(&svc, test::TestRequest::get().uri("/optional").to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, "anonymous");
}

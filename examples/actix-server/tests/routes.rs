//! The example's app in-process: its routes answer the shared JSON, byte for byte
//! what the axum example answers, behind the guard.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::test;
use example_shared::{Startup, areas, caller_body, dev_tokens, discovery_document, health_body};
use mfa_guard_core::{Guard, Principal, RequestInfo};
use mfa_guard_dev::DevIssuer;

const BOUND: &str = "127.0.0.1:3999";

/// The guard and development issuer exactly as `run` makes them with no MFA_* set.
fn dev_mode() -> (Guard, Arc<DevIssuer>, SocketAddr) {
    let bound: SocketAddr = BOUND.parse().expect("address");
    let settings =
        Startup::from_lookup(|name| (name == "MFA_LISTEN").then(|| BOUND.to_owned())).expect("settings");
    let (guard, dev) = settings.guard(bound).expect("guard");
    (guard, Arc::new(dev.expect("development mode")), bound)
}

fn token(dev: &DevIssuer, name: &str) -> String {
    let tokens = dev_tokens(dev).expect("tokens");
    tokens.into_iter().find(|(n, _)| *n == name).map(|(_, t)| t).expect("token")
}

async fn principal(guard: &Guard, token: &str) -> Principal {
    let value = format!("Bearer {token}");
    let info = RequestInfo::new("GET", "/overview").with_authorization(value.as_bytes());
    guard.check(&info).await.into_result().expect("admitted").expect("a principal")
}

fn json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

#[actix_web::test]
async fn every_area_answers_the_shared_caller_body_as_application_json() {
    let (guard, dev, bound) = dev_mode();
    let token = token(&dev, "TOKEN_MFA");
    let caller = principal(&guard, &token).await;
    let svc =
        test::init_service(example_actix_server::app(guard, Some(example_shared::DevSite::new(dev, bound))))
            .await;
    let mut cases = Vec::new();
    for area in areas().into_iter().filter(|a| a.name != "health") {
        cases.push((area.name, area.path().to_owned()));
        if area.is_prefix() {
            cases.push((area.name, format!("{}/one/two", area.path())));
        }
    }
    // Not areas: the trailing slash of an exact or prefix area, and unknown paths.
    cases.extend([
        ("unmatched", "/overview/".to_owned()),
        ("unmatched", "/commerce/".to_owned()),
        ("unmatched", "/nowhere".to_owned()),
    ]);
    for (area, path) in cases {
        for method in ["GET", "POST", "DELETE"] {
            let req = test::TestRequest::default()
                .method(method.parse().expect("method"))
                .uri(&path)
                .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
                .to_request();
            let res = test::call_service(&svc, req).await;
            assert_eq!(res.status(), 200, "{method} {path}");
            assert_eq!(res.headers().get(header::CONTENT_TYPE).unwrap(), "application/json", "{path}");
            let body = test::read_body(res).await;
            assert_eq!(body, json(&caller_body(area, method, &path, Some(&caller))), "{method} {path}");
        }
    }
}

#[actix_web::test]
async fn health_is_public_and_answers_get_and_head_only() {
    let (guard, dev, bound) = dev_mode();
    let svc =
        test::init_service(example_actix_server::app(guard, Some(example_shared::DevSite::new(dev, bound))))
            .await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, json(&health_body()));
    let res = test::call_service(
        &svc,
        test::TestRequest::default().method("HEAD".parse().unwrap()).uri("/health").to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    // The same 405 as axum's `get(..)` routes: `allow: GET,HEAD` and no body.
    let res = test::call_service(&svc, test::TestRequest::post().uri("/health").to_request()).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers().get(header::ALLOW).unwrap(), "GET,HEAD");
    assert!(test::read_body(res).await.is_empty());
}

#[actix_web::test]
async fn development_mode_serves_its_discovery_and_jwks_without_a_token() {
    let (guard, dev, bound) = dev_mode();
    let svc = test::init_service(example_actix_server::app(
        guard,
        Some(example_shared::DevSite::new(Arc::clone(&dev), bound)),
    ))
    .await;
    let req = test::TestRequest::get().uri("/.well-known/openid-configuration").to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 200);
    assert_eq!(test::read_body(res).await, json(&discovery_document(&dev, bound)));
    let res =
        test::call_service(&svc, test::TestRequest::get().uri("/.well-known/jwks.json").to_request()).await;
    assert_eq!(res.status(), 200);
    let jwks: serde_json::Value = serde_json::from_str(dev.jwks_json()).expect("jwks");
    assert_eq!(test::read_body(res).await, json(&jwks));
}

#[actix_web::test]
async fn mfa_refusal_comes_from_the_guard_before_any_handler() {
    let (guard, dev, bound) = dev_mode();
    let token = token(&dev, "TOKEN_NO_MFA");
    let svc =
        test::init_service(example_actix_server::app(guard, Some(example_shared::DevSite::new(dev, bound))))
            .await;
    let req = test::TestRequest::get()
        .uri("/commerce/customers")
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.response().head().reason(), mfa_guard_core::MFA_REQUIRED_REASON);
    assert_eq!(res.headers().get(header::WWW_AUTHENTICATE).unwrap(), r#"Bearer error="invalid_token""#);
}

//! What the adapter's tests share: one development issuer and a guard on it.

#![allow(dead_code, unreachable_pub)]

use std::sync::LazyLock;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::AUTHORIZATION;
use mfa_guard_core::{Guard, Policy, Rejection};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};

/// One RSA key for the whole test binary: generating one per test is wasted time.
pub static DEV: LazyLock<DevIssuer> =
    LazyLock::new(|| DevIssuer::generate("https://sts.windows.net/{tenantid}/").expect("development issuer"));

/// A guard on [`DEV`] with the Partner Center preset.
pub fn guard() -> Guard {
    Guard::builder()
        .verifier(|v| {
            v.issuer(DEV.issuer()).keys(DEV.key_source().expect("key source")).audience(DEV_AUDIENCE)
        })
        .policy(Policy::partner_center())
        .build()
        .expect("guard")
}

pub fn user_mfa() -> String {
    DEV.user().sign().expect("token")
}

pub fn user_no_mfa() -> String {
    DEV.user().mfa(false).sign().expect("token")
}

pub fn app() -> String {
    DEV.app().sign().expect("token")
}

pub fn bearer(token: &str) -> (actix_web::http::header::HeaderName, String) {
    (AUTHORIZATION, format!("Bearer {token}"))
}

/// Status, headers (lowercase name, value; in order, without `date`/`content-length`)
/// and body of a response.
pub async fn parts<B: MessageBody>(res: ServiceResponse<B>) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let status = res.status().as_u16();
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("<binary>").to_owned()))
        .collect();
    headers.sort();
    let body = actix_web::test::read_body(res).await.to_vec();
    (status, headers, body)
}

/// What core says the response to `rejection` is, in the shape of [`parts`].
pub fn expected(rejection: &Rejection) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut headers: Vec<(String, String)> =
        rejection.headers().map(|(n, v)| (n.to_owned(), v.into_owned())).collect();
    headers.sort();
    (rejection.status(), headers, rejection.body())
}

/// The `code` member of a problem+json body.
pub fn code(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).expect("problem+json body");
    json["code"].as_str().unwrap_or_default().to_owned()
}

//! A refusal body of the application's own (`GuardBuilder::refusal_body`), over real
//! sockets from both example servers: the body and its media type change, the
//! status line (`401 Unauthorized - MFA required`) and `WWW-Authenticate` do not, and
//! refusals the renderer leaves alone keep problem+json.

use mfa_guard_conformance::fixture::{ISSUER, Tok, issuer};
use mfa_guard_conformance::http1::request;
use mfa_guard_conformance::servers;
use mfa_guard_core::{CustomBody, Guard, RejectionCode};
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT};

fn guard() -> Guard {
    Guard::partner_center()
        .verifier(|v| {
            v.issuer(ISSUER)
                .keys(issuer().key_source().expect("keys"))
                .audience(DEV_AUDIENCE)
                .tenants([DEV_TENANT])
        })
        .refusal_body(|r| {
            (r.code() == RejectionCode::MfaRequired).then(|| {
                CustomBody::new(
                    "text/html; charset=utf-8",
                    format!("<h1>{}</h1><p>{}</p>", r.title(), r.detail()),
                )
            })
        })
        .build()
        .expect("guard")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_body_keeps_the_exact_status_line_and_challenge() {
    let g = guard();
    for target in servers::all(g).await {
        let no_mfa = format!("Authorization: Bearer {}", Tok::AdminNoMfa.mint()).into_bytes();
        let res = request(target.addr, "GET", "/commerce/customers", &[no_mfa]).await.expect("answer");
        assert_eq!(res.status_line, "HTTP/1.1 401 Unauthorized - MFA required", "[{}]", target.name);
        assert_eq!(res.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
        assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
        let body = String::from_utf8(res.body.clone()).expect("UTF-8");
        assert!(body.starts_with("<h1>Multi-factor authentication required</h1>"), "{body}");

        let expired = format!("Authorization: Bearer {}", Tok::Expired.mint()).into_bytes();
        let res = request(target.addr, "GET", "/commerce/customers", &[expired]).await.expect("answer");
        assert_eq!(res.status_line, "HTTP/1.1 401 Unauthorized");
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
        assert_eq!(res.code().as_deref(), Some("invalid_token"));
    }
}

//! The floor of the load benchmark: the example servers' route table, handler JSON
//! and page, on axum 0.8, with no authentication at all. The routes (exact areas,
//! and prefix areas as `path` + `path/{*rest}`) and the JSON (the caller's kind,
//! oid, tid, upn, roles and MFA, built per request from owned strings as the
//! examples build it from the principal) are those of `example-axum-server`; a
//! person's navigation (a GET or HEAD with `Sec-Fetch-Mode: navigate` and no
//! `Authorization`, what load.sh's browser scenarios send) gets the examples' page,
//! rendered per request by the same template (`example-page`) for the caller the
//! development issuer's admin agent makes, with the sign-out controls of
//! development mode. So the only difference measured is authentication.
//! Usage: `bench-noauth 127.0.0.1:PORT [SPIN]`. With SPIN, each request also runs a
//! tight multiply loop of SPIN iterations: pure user-space work standing in for a
//! signature check, to see how this machine charges a slower server (BENCHMARKS.md).

use std::sync::Arc;

use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, any};
use axum::{Json, Router};
use example_page::{Links, PAGE_HEADERS};
use serde_json::json;

#[path = "../../common.rs"]
mod common;
use common::AREAS;

/// What the examples read from the principal, as owned data.
struct Caller {
    oid: String,
    tid: String,
    upn: String,
    roles: Vec<String>,
}

/// Whether the examples would answer with their page (see the module's comment).
fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
        && !headers.contains_key("authorization")
        && headers.get("sec-fetch-mode").is_some_and(|mode| mode == "navigate")
}

fn handler(area: &'static str, title: &'static str, spin: u64, links: Links) -> MethodRouter {
    any(move |method: Method, uri: Uri, headers: HeaderMap| async move {
        let mut x = 0u64;
        for i in 0..spin {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
        std::hint::black_box(x);
        let c = Caller {
            oid: "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb".to_owned(),
            tid: "aaaabbbb-0000-cccc-1111-dddd2222eeee".to_owned(),
            upn: "adminagent@dev.example".to_owned(),
            roles: vec!["AdminAgent".to_owned()],
        };
        let answer = json!({
            "area": area, "method": method.as_str(), "path": uri.path(), "kind": "user",
            "oid": c.oid, "tid": c.tid, "upn": c.upn, "roles": c.roles, "mfa": true,
        });
        if !is_navigation(&method, &headers) {
            return Json(answer).into_response();
        }
        let shown = example_page::Caller {
            name: None,
            upn: Some(&c.upn),
            oid: Some(&c.oid),
            kind: "user",
            roles: c.roles.iter().map(String::as_str).collect(),
            level: Some("mfa"),
            report_only: None,
        };
        let page = example_page::render(title, uri.path(), &answer.to_string(), Some(&shown), &links);
        (PAGE_HEADERS, page).into_response()
    })
}

fn main() {
    common::block_on(serve());
}

async fn serve() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3100".into());
    let spin: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let links = Links {
        sign_out: Some(Arc::from("/auth/sign-out")),
        provider_sign_out: Some(Arc::from("/dev-idp/sign-out")),
    };
    let mut app = Router::new().route("/health", any(|| async { Json(json!({"status": "ok"})) }));
    for &(area, title, path, prefix) in AREAS {
        app = app.route(path, handler(area, title, spin, links.clone()));
        if prefix {
            app = app.route(&format!("{path}/{{*rest}}"), handler(area, title, spin, links.clone()));
        }
    }
    let app = app.fallback(handler("unmatched", "mfa-guard example", spin, links));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

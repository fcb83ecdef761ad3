//! The floor of the load benchmark: the example servers' route table and handler
//! JSON, on axum 0.8, with no authentication at all. The routes (exact areas, and
//! prefix areas as `path` + `path/{*rest}`) and the JSON (the caller's kind, oid,
//! tid, upn, roles and MFA, built per request from owned strings as the examples
//! build it from the principal) are those of `example-axum-server`, so the only
//! difference measured is authentication.
//! Usage: `bench-noauth 127.0.0.1:PORT [SPIN]`. With SPIN, each request also runs a
//! tight multiply loop of SPIN iterations: pure user-space work standing in for a
//! signature check, to see how this machine charges a slower server (BENCHMARKS.md).

use axum::http::{Method, Uri};
use axum::routing::{MethodRouter, any};
use axum::{Json, Router};
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

fn handler(area: &'static str, spin: u64) -> MethodRouter {
    any(move |method: Method, uri: Uri| async move {
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
        Json(json!({
            "area": area, "method": method.as_str(), "path": uri.path(), "kind": "user",
            "oid": c.oid, "tid": c.tid, "upn": c.upn, "roles": c.roles, "mfa": true,
        }))
    })
}

fn main() {
    common::block_on(serve());
}

async fn serve() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3100".into());
    let spin: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut app = Router::new().route("/health", any(|| async { Json(json!({"status": "ok"})) }));
    for &(area, path, prefix) in AREAS {
        app = app.route(path, handler(area, spin));
        if prefix {
            app = app.route(&format!("{path}/{{*rest}}"), handler(area, spin));
        }
    }
    let app = app.fallback(handler("unmatched", spin));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

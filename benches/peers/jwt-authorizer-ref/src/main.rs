//! The peer of the load benchmark: the example's route behind jwt-authorizer 0.15,
//! doing the checks mfa-guard does on `/commerce/*` — RS256 from the issuer's JWKS,
//! `iss` and `aud`, then `amr` holding `mfa` and the AdminAgent role in its checker.
//! The route table and handler JSON are the example servers' (axum 0.7 spells the
//! prefix routes `path/*rest`).
//! Usage: `bench-jwt-authorizer 127.0.0.1:PORT JWKS_URL ISSUER AUDIENCE`.

use axum::http::{Method, Uri};
use axum::routing::any;
use axum::{Json, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use serde::Deserialize;
use serde_json::json;

#[path = "../../common.rs"]
mod common;
use common::AREAS;

#[derive(Debug, Clone, Deserialize)]
struct Claims {
    oid: Option<String>,
    tid: Option<String>,
    upn: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
}

fn admin_agent_with_mfa(c: &Claims) -> bool {
    c.amr.iter().any(|a| a == "mfa") && c.roles.iter().any(|r| r == "AdminAgent")
}

fn main() {
    common::block_on(serve());
}

async fn serve() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3200".into());
    let jwks: &'static str = Box::leak(args.next().expect("JWKS URL").into_boxed_str());
    let issuer = args.next().expect("issuer");
    let audience = args.next().expect("audience");
    let auth: Authorizer<Claims> = JwtAuthorizer::from_jwks_url(jwks)
        .validation(Validation::new().iss(&[issuer.as_str()]).aud(&[audience.as_str()]))
        .check(admin_agent_with_mfa)
        .build()
        .await
        .expect("authorizer");
    let handler = |area: &'static str| {
        any(move |JwtClaims(c): JwtClaims<Claims>, method: Method, uri: Uri| async move {
            Json(json!({
                "area": area, "method": method.as_str(), "path": uri.path(), "kind": "user",
                "oid": c.oid, "tid": c.tid, "upn": c.upn, "roles": c.roles, "mfa": true,
            }))
        })
    };
    let mut app = Router::new();
    for &(area, _, path, prefix) in AREAS {
        app = app.route(path, handler(area));
        if prefix {
            app = app.route(&format!("{path}/*rest"), handler(area));
        }
    }
    let app = app.fallback(handler("unmatched")).layer(auth.into_layer());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

//! A minimal identity provider on loopback: the fixture issuer's discovery document
//! and JWKS, for tests of the environment contract.

use std::net::SocketAddr;

use axum::Json;
use axum::routing::get;
use serde_json::{Value, json};

use crate::fixture::{ISSUER, issuer};

/// Serves `/.well-known/openid-configuration` (declaring [`ISSUER`]) and `/keys`.
pub async fn serve_static_idp() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let jwks: Value = serde_json::from_str(issuer().jwks_json()).expect("jwks");
    let discovery = json!({"issuer": ISSUER, "jwks_uri": format!("http://{addr}/keys")});
    let app = axum::Router::new()
        .route("/keys", get(move || async move { Json(jwks) }))
        .route("/.well-known/openid-configuration", get(move || async move { Json(discovery) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

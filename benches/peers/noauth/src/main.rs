//! The floor of the load benchmark: the same route and the same JSON shape as the
//! example servers, on axum 0.8, with no authentication at all.
//! Usage: `bench-noauth 127.0.0.1:PORT`.

use axum::http::{Method, Uri};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::json;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3100".into());
    let app = Router::new().route(
        "/commerce/customers",
        any(|method: Method, uri: Uri| async move {
            Json(json!({
                "area": "customers", "method": method.as_str(), "path": uri.path(), "kind": "user",
                "oid": "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb", "tid": "aaaabbbb-0000-cccc-1111-dddd2222eeee",
                "upn": "adminagent@dev.example", "roles": ["AdminAgent"], "mfa": true,
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

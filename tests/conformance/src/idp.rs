//! An identity provider on loopback for tests of the environment contract: the
//! development identity server of `mfa-guard-dev` for the fixture issuer, whose
//! discovery document declares [`ISSUER`](crate::fixture::ISSUER) and whose JWKS is at
//! [`JWKS_PATH`](mfa_guard_dev::JWKS_PATH).

use std::net::SocketAddr;
use std::sync::Arc;

use mfa_guard_dev::server::DevIdp;

use crate::fixture::issuer;

/// Serves the fixture issuer's ([`ISSUER`](crate::fixture::ISSUER)) discovery document, JWKS and sign-in
/// endpoints until the test's runtime ends.
pub async fn serve_static_idp() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let idp = Arc::new(DevIdp::new(Arc::clone(issuer()), &format!("http://{addr}")));
    tokio::spawn(async move { axum::serve(listener, idp.router()).await });
    addr
}

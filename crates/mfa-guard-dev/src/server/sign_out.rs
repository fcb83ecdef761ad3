//! The end-session endpoint: signs the browser out of the provider and, when the
//! client asks with its registered URI, sends it back there.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::DevIdp;
use super::pages::{self, message};
use super::params::Params;

/// `GET /sign-out`: back to `post_logout_redirect_uri` when it is the client's,
/// else a page saying the browser is signed out.
pub(crate) async fn sign_out(State(idp): State<Arc<DevIdp>>, uri: Uri) -> Response {
    let Ok(params) = Params::parse(uri.query().unwrap_or("").as_bytes()) else { return pages::too_large() };
    match params.get("post_logout_redirect_uri") {
        Some(back) if back == idp.client.post_logout_redirect_uri() => pages::redirect(back),
        _ => {
            message(StatusCode::OK, "Signed out", "You are signed out of the development identity provider.")
        }
    }
}

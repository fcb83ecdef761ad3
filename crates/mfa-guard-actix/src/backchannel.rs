//! OpenID Connect back-channel logout through the middleware: a `POST` to the
//! guard's [`backchannel_logout_path`](mfa_guard_core::Guard::backchannel_logout_path)
//! is answered here, never by the inner service. Core decides which requests these
//! are and every byte of the answer; this reads the body, never more than
//! [`MAX_BACKCHANNEL_BODY`](mfa_guard_core::browser::MAX_BACKCHANNEL_BODY) bytes.

use actix_web::dev::ServiceRequest;
use actix_web::web;
use mfa_guard_core::browser::MAX_BACKCHANNEL_BODY;
use mfa_guard_core::{Answer, Guard};

/// Reads `req`'s body (at most 16 KiB: actix's `to_bytes_limited` stops there)
/// and answers it with core's back-channel logout answer.
pub(crate) async fn answer(guard: &Guard, req: &mut ServiceRequest) -> Answer {
    let content_type =
        req.headers().get(actix_web::http::header::CONTENT_TYPE).map(|v| v.as_bytes().to_vec());
    let payload = match req.extract::<web::Payload>().await {
        Ok(payload) => payload,
        Err(_) => return guard.backchannel_logout_unreadable(),
    };
    match payload.to_bytes_limited(MAX_BACKCHANNEL_BODY).await {
        Ok(Ok(body)) => guard.backchannel_logout(content_type.as_deref(), &body).await,
        Ok(Err(_)) => guard.backchannel_logout_unreadable(),
        Err(_) => guard.backchannel_logout_too_long(),
    }
}

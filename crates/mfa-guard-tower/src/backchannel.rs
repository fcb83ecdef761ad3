//! OpenID Connect back-channel logout through the layer: a `POST` to the guard's
//! [`backchannel_logout_path`](mfa_guard_core::Guard::backchannel_logout_path) is
//! answered here, never by the inner service. Core decides which requests these are
//! and every byte of the answer; this reads the body, never more than
//! [`MAX_BACKCHANNEL_BODY`](mfa_guard_core::browser::MAX_BACKCHANNEL_BODY) bytes.

use std::future::Future;
use std::pin::Pin;

#[cfg(feature = "browser")]
use bytes::Bytes;
#[cfg(feature = "browser")]
use http::Request;
#[cfg(feature = "browser")]
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use mfa_guard_core::Answer;
#[cfg(feature = "browser")]
use mfa_guard_core::Guard;

/// The answer to a back-channel logout request, on its way.
pub(crate) type Answering = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// A request body [`MfaService`](crate::MfaService) accepts.
///
/// With the `browser` feature: any [`http_body::Body`] of `Bytes` that is `Send`
/// and `'static` and whose error converts to a boxed error (axum's and hyper's
/// bodies are), so the layer can read a back-channel logout request's body. Without
/// it: any type at all. Implemented for every type that qualifies; there is nothing
/// to implement.
pub trait RequestBody: Sized {
    /// Reads the body, at most `limit` bytes: `Err(true)` when it is longer (the rest
    /// is never read), `Err(false)` when it cannot be read.
    #[cfg(feature = "browser")]
    #[doc(hidden)]
    fn read_up_to(self, limit: usize) -> Pin<Box<dyn Future<Output = Result<Bytes, bool>> + Send>>;
}

#[cfg(feature = "browser")]
impl<B> RequestBody for B
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn read_up_to(self, limit: usize) -> Pin<Box<dyn Future<Output = Result<Bytes, bool>> + Send>> {
        Box::pin(async move {
            match Limited::new(self, limit).collect().await {
                Ok(collected) => Ok(collected.to_bytes()),
                Err(e) => Err(e.downcast_ref::<LengthLimitError>().is_some()),
            }
        })
    }
}

#[cfg(not(feature = "browser"))]
impl<B> RequestBody for B {}

/// Reads `req`'s body and answers it with core's back-channel logout answer.
#[cfg(feature = "browser")]
pub(crate) fn answer<B: RequestBody>(guard: Guard, req: Request<B>) -> Answering {
    let content_type =
        req.headers().get(http::header::CONTENT_TYPE).map(|v| Bytes::copy_from_slice(v.as_bytes()));
    let body = req.into_body().read_up_to(mfa_guard_core::browser::MAX_BACKCHANNEL_BODY);
    Box::pin(async move {
        match body.await {
            Ok(body) => guard.backchannel_logout(content_type.as_deref(), &body).await,
            Err(true) => guard.backchannel_logout_too_long(),
            Err(false) => guard.backchannel_logout_unreadable(),
        }
    })
}

//! [`MfaService`]: checks each request, then calls the inner service or answers.

use std::task::{Context, Poll};

use http::{Request, Response, Uri};
use mfa_guard_core::{Evaluation, Guard, RequestHeaders, RequestInfo};
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::{MfaLayer, RequestBody, ResponseBody};

/// Checks every request with a [`Guard`] before the inner service sees it.
///
/// Admitted requests carry the [`Principal`](mfa_guard_core::Principal) in their
/// extensions, and their credentials (`Authorization`, `Cookie`, ...) marked
/// sensitive, so no handler or layer behind this one prints them (see
/// [`mark_credentials`](mfa_guard_core::mark_credentials)); refused ones are
/// answered here with core's response, which carries the
/// [`Rejection`](mfa_guard_core::Rejection) in its extensions.
#[derive(Clone, Debug)]
pub struct MfaService<S> {
    inner: S,
    guard: Guard,
}

impl<S> MfaService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, guard: Guard) -> Self {
        Self { inner, guard }
    }

    /// A layer of this service (same as [`MfaLayer::new`]).
    pub fn layer(guard: Guard) -> MfaLayer {
        MfaLayer::new(guard)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MfaService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ReqBody: RequestBody,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Nothing behind the guard prints a credential it read.
        mfa_guard_core::mark_credentials(req.headers_mut());
        let evaluation = {
            let headers = RequestHeaders::from_map(req.headers());
            let info = RequestInfo::from_http(req.method(), routed_uri(&req), &headers);
            // Core's answer, which needs the body: the inner service never sees it.
            #[cfg(feature = "browser")]
            {
                if self.guard.is_backchannel_logout(&info) {
                    return ResponseFuture::answering(crate::backchannel::answer(self.guard.clone(), req));
                }
            }
            self.guard.evaluate(&info)
        };
        match evaluation {
            Evaluation::Ready(admission) => match admission.admit(req.extensions_mut()) {
                Ok(headers) => ResponseFuture::inner(self.inner.call(req), headers),
                Err(answer) => ResponseFuture::rejected(answer),
            },
            Evaluation::Pending(pending) => {
                // The inner service was driven to readiness by `poll_ready`; that
                // instance is the one to call once the keys arrive, so it goes into the
                // future and a clone stays here. See
                // https://docs.rs/tower/latest/tower/trait.Service.html#be-careful-when-cloning-inner-services
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::checking(Box::pin(pending.finish()), ready, req)
            }
        }
    }
}

/// The URI the request was routed by, as received: matchit (axum) and hyper
/// services match the raw path, so no other reading is needed. Under axum's `nest`
/// and `nest_service` the router strips the prefix before inner layers run; the URI
/// the outermost router received is then in axum's `OriginalUri`, and its full path
/// is the one the route table is written for, wherever the layer sits.
fn routed_uri<B>(req: &Request<B>) -> &Uri {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::OriginalUri(uri)) = req.extensions().get() {
        return uri;
    }
    req.uri()
}

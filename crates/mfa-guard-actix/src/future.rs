//! [`ResponseFuture`] of [`MfaService`](crate::MfaService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use pin_project_lite::pin_project;

use mfa_guard_core::ResponseEdits;

use crate::response::ActixHeaders;

/// A check that had to wait for signing keys, followed by the inner call.
pub(crate) type Checking<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<EitherBody<B>>, Error>>>>;

pin_project! {
    /// Response future of [`MfaService`](crate::MfaService).
    ///
    /// Three states: the inner service's own future (the common case, not boxed), a
    /// rejection ready to send, or a check waiting for signing keys (boxed: it only
    /// happens on cold start or rotation) followed by the inner call.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner { #[pin] future: F, headers: ResponseEdits },
        Rejected { response: Option<ServiceResponse<EitherBody<B>>> },
        Checking { future: Checking<B> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F, headers: ResponseEdits) -> Self {
        Self { state: State::Inner { future, headers } }
    }

    pub(crate) fn rejected(response: ServiceResponse<EitherBody<B>>) -> Self {
        Self { state: State::Rejected { response: Some(response) } }
    }

    pub(crate) fn checking(future: Checking<B>) -> Self {
        Self { state: State::Checking { future } }
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future, headers } => future.poll(cx).map_ok(|mut res| {
                headers.apply(&mut ActixHeaders(res.headers_mut()));
                res.map_into_left_body()
            }),
            // Polling a future again after it completed is a bug of the caller,
            // answered as tower-http answers it.
            StateProj::Rejected { response } => {
                Poll::Ready(Ok(response.take().expect("ResponseFuture polled after completion")))
            }
            StateProj::Checking { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

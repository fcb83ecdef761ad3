//! [`ResponseFuture`] of [`MfaService`](crate::MfaService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use mfa_guard_core::{Admission, Answer, ResponseEdits};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::ResponseBody;
use crate::backchannel::Answering;
use crate::response::render;

type Check = Pin<Box<dyn Future<Output = Admission> + Send>>;

pin_project! {
    /// Response future of [`MfaService`](crate::MfaService).
    ///
    /// Four states: the inner service's own future (the common case, not boxed), a
    /// rejection ready to send, core's answer to a back-channel logout request once
    /// its body is read (boxed), or a check waiting for signing keys (boxed: it only
    /// happens on cold start or rotation) followed by the inner call.
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Inner { #[pin] future: S::Future, headers: ResponseEdits },
        Rejected { answer: Option<Answer> },
        Answering { answer: Answering },
        Checking {
            check: Check,
            service: Option<S>,
            request: Option<Request<ReqBody>>,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future, headers: ResponseEdits) -> Self {
        Self { state: State::Inner { future, headers } }
    }

    pub(crate) fn rejected(answer: Answer) -> Self {
        Self { state: State::Rejected { answer: Some(answer) } }
    }

    #[cfg_attr(not(feature = "browser"), allow(dead_code))]
    pub(crate) fn answering(answer: Answering) -> Self {
        Self { state: State::Answering { answer } }
    }

    pub(crate) fn checking(check: Check, service: S, request: Request<ReqBody>) -> Self {
        Self { state: State::Checking { check, service: Some(service), request: Some(request) } }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner { future, headers } => {
                    let mut response = ready!(future.poll(cx))?;
                    headers.apply(response.headers_mut());
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                StateProj::Rejected { answer } => {
                    // Polling a future again after it completed is a bug of the caller,
                    // answered as tower-http answers it.
                    let answer = answer.take().expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(render(&answer, ResponseBody::rejection)));
                }
                StateProj::Answering { answer } => {
                    let answer = ready!(answer.as_mut().poll(cx));
                    return Poll::Ready(Ok(render(&answer, ResponseBody::rejection)));
                }
                StateProj::Checking { check, service, request } => {
                    let admission = ready!(check.as_mut().poll(cx));
                    let mut service = service.take().expect("ResponseFuture polled after completion");
                    let mut req = request.take().expect("ResponseFuture polled after completion");
                    match admission.admit(req.extensions_mut()) {
                        Ok(headers) => this.state.set(State::Inner { future: service.call(req), headers }),
                        Err(a) => this.state.set(State::Rejected { answer: Some(a) }),
                    }
                }
            }
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

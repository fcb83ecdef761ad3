//! [`MfaMiddleware`] (the `Transform`) and [`MfaService`] (the `Service`): check each
//! request, then call the inner service or answer.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage as _};
use mfa_guard_core::{
    Admission, Answer, BuildError, Evaluation, Guard, RequestHeaders, RequestInfo, Requirement, ResponseEdits,
};

use crate::future::ResponseFuture;
use crate::response::{ActixExtensions, ActixHeaders, render};

/// Protects an actix-web `App`, `Scope` or `Resource` with a [`Guard`].
///
/// [`MfaMiddleware::new`] applies the guard's route table (e.g. the Partner Center
/// preset) to every request; [`MfaMiddleware::require`] applies one requirement, for
/// `web::scope(..).wrap(..)` next to the routes it protects.
#[derive(Clone, Debug)]
#[must_use]
pub struct MfaMiddleware {
    guard: Guard,
}

impl MfaMiddleware {
    /// Checks every request against `guard`'s route policy.
    pub fn new(guard: Guard) -> Self {
        Self { guard }
    }

    /// Checks every request against `requirement`, with `guard`'s keys and settings.
    /// Fails when the requirement names a role the guard's role map does not define.
    pub fn require(guard: &Guard, requirement: Requirement) -> Result<Self, BuildError> {
        Ok(Self::new(guard.for_requirement(&requirement)?))
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }
}

impl<S, B> Transform<S, ServiceRequest> for MfaMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = MfaService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MfaService { inner: Rc::new(service), guard: self.guard.clone() }))
    }
}

/// Checks every request with a [`Guard`] before the inner service sees it.
///
/// Admitted requests carry the [`Principal`](mfa_guard_core::Principal) in their
/// extensions; refused ones are answered here with core's response, which carries
/// the [`Rejection`](mfa_guard_core::Rejection) in its extensions. Made by [`MfaMiddleware`].
///
/// The session cookie core sets is marked sensitive. The request's own credentials
/// are not, unlike the tower adapter: actix-web lets a middleware change the
/// request's head only while nothing else holds the request, and panics otherwise
/// (an outer middleware may keep a clone), so this middleware never changes it. Do
/// not log `Authorization` or `Cookie` (actix's `Logger` prints `%{Cookie}i` as sent).
///
/// actix-web owns its services and calls them through `&self`; the inner service is
/// held in an `Rc` so a check that waits for keys can call it afterwards, which is
/// why there is no `get_mut` or `into_inner`.
#[derive(Debug)]
pub struct MfaService<S> {
    inner: Rc<S>,
    guard: Guard,
}

impl<S> MfaService<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B> Service<ServiceRequest> for MfaService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Core's answer, which needs the body: the inner service never sees it.
        #[cfg(feature = "browser")]
        {
            let info = RequestInfo::new(req.method().as_str(), req.uri().path());
            if self.guard.is_backchannel_logout(&info) {
                let guard = self.guard.clone();
                let mut req = req;
                return ResponseFuture::checking(Box::pin(async move {
                    let answer = crate::backchannel::answer(&guard, &mut req).await;
                    Ok(respond(req, &answer))
                }));
            }
        }
        let evaluation = {
            let headers =
                RequestHeaders::from_pairs(req.headers().iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
            // The URI's own path and query, read exactly as the tower adapter reads them
            // (not actix's `query_string()`, which cannot tell a bare `?` from none) ...
            let info = RequestInfo::new(req.method().as_str(), req.uri().path())
                .with_query(req.uri().query())
                .with_headers(&headers)
                // ... and the path as actix's router matches it: percent-decoded except
                // `%2F`, `%25` and `%2B`, whole even inside a `scope` (whose prefix is
                // only skipped, never cut off), so the rule is that of the handler the
                // router reaches.
                .with_routed_path(req.match_info().as_str());
            self.guard.evaluate(&info)
        };
        match evaluation {
            Evaluation::Ready(admission) => match admit(&req, admission) {
                Ok(headers) => ResponseFuture::inner(self.inner.call(req), headers),
                Err(answer) => ResponseFuture::rejected(respond(req, &answer)),
            },
            Evaluation::Pending(pending) => {
                // actix-web services are shared and always called through `&self`
                // (readiness is forwarded above, and actix's own services are always
                // ready), so the inner service can be called once the keys are here.
                let inner = Rc::clone(&self.inner);
                ResponseFuture::checking(Box::pin(async move {
                    let admission = pending.finish().await;
                    match admit(&req, admission) {
                        Ok(headers) => inner.call(req).await.map(|mut res| {
                            headers.apply(&mut ActixHeaders(res.headers_mut()));
                            res.map_into_left_body()
                        }),
                        Err(answer) => Ok(respond(req, &answer)),
                    }
                }))
            }
        }
    }
}

/// Puts core's decision on the request (see [`Admission::admit`]).
fn admit(req: &ServiceRequest, admission: Admission) -> Result<ResponseEdits, Answer> {
    admission.admit(&mut ActixExtensions(&mut req.extensions_mut()))
}

/// Answers `req` with `answer`, without calling the inner service.
fn respond<B>(req: ServiceRequest, answer: &Answer) -> ServiceResponse<EitherBody<B>> {
    let (request, _payload) = req.into_parts();
    ServiceResponse::new(request, render(answer)).map_into_right_body()
}

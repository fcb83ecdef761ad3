//! The verified caller as an actix-web extractor, required or (through actix's
//! blanket `Option<T>` impl) optional.

use std::fmt;
use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use mfa_guard_core::{Anonymous, Rejection};

use crate::response::render;

/// The caller admitted by [`MfaMiddleware`](crate::MfaMiddleware), as an actix-web
/// extractor.
///
/// Dereferences to [`mfa_guard_core::Principal`]. On a route the middleware let
/// through without a token (a public route), extracting it refuses the request with
/// the same `401` the middleware sends for a missing token; use `Option<Principal>`
/// on routes that serve anonymous callers too.
///
/// ```
/// use mfa_guard_actix::Principal;
///
/// async fn whoami(caller: Principal) -> String {
///     format!("{} ({})", caller.oid().unwrap_or("?"), caller.kind())
/// }
///
/// async fn greeting(caller: Option<Principal>) -> &'static str {
///     if caller.is_some() { "hello again" } else { "hello, stranger" }
/// }
/// # let _ = actix_web::web::get().to(whoami);
/// # let _ = actix_web::web::get().to(greeting);
/// ```
#[derive(Clone, Debug)]
pub struct Principal(pub mfa_guard_core::Principal);

impl Deref for Principal {
    type Target = mfa_guard_core::Principal;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<Principal> for mfa_guard_core::Principal {
    fn from(p: Principal) -> Self {
        p.0
    }
}

impl FromRequest for Principal {
    type Error = RejectionResponse;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(principal(req))
    }
}

fn principal(req: &HttpRequest) -> Result<Principal, RejectionResponse> {
    let extensions = req.extensions();
    let principal = extensions.get::<mfa_guard_core::Principal>();
    let anonymous = extensions.get::<Anonymous>();
    mfa_guard_core::extract_caller(principal, anonymous).map(Principal).map_err(RejectionResponse)
}

/// A [`Rejection`] as an actix-web error: it renders the very bytes the middleware
/// sends.
#[derive(Clone, Debug)]
pub struct RejectionResponse(pub Rejection);

impl From<Rejection> for RejectionResponse {
    fn from(r: Rejection) -> Self {
        Self(r)
    }
}

impl fmt::Display for RejectionResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for RejectionResponse {}

impl ResponseError for RejectionResponse {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.response_status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        render(&mfa_guard_core::Answer::from(self.0.clone()))
    }
}

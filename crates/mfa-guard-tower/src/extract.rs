//! axum extractors (feature `axum`): the verified caller, required or optional.

use std::convert::Infallible;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use mfa_guard_core::{Anonymous, Rejection};

use crate::response::render;

/// The caller admitted by [`MfaLayer`](crate::MfaLayer), as an axum extractor.
///
/// Dereferences to [`mfa_guard_core::Principal`]. On a route the layer let through
/// without a token (a public route), extracting it refuses the request with the
/// same `401` the layer sends for a missing token; use `Option<Principal>` on
/// routes that serve anonymous callers too.
///
/// ```
/// use mfa_guard_tower::Principal;
///
/// async fn whoami(caller: Principal) -> String {
///     format!("{} ({})", caller.oid().unwrap_or("?"), caller.kind())
/// }
///
/// async fn greeting(caller: Option<Principal>) -> &'static str {
///     if caller.is_some() { "hello again" } else { "hello, stranger" }
/// }
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

/// A [`Rejection`] as an axum response: the very bytes the layer sends.
#[derive(Clone, Debug)]
pub struct RejectionResponse(pub Rejection);

impl From<Rejection> for RejectionResponse {
    fn from(r: Rejection) -> Self {
        Self(r)
    }
}

impl IntoResponse for RejectionResponse {
    fn into_response(self) -> Response {
        render(&mfa_guard_core::Answer::from(self.0), axum::body::Body::from)
    }
}

/// Any core [`Answer`](mfa_guard_core::Answer) as an axum response — a refusal, or
/// a browser-mode redirect or page — with the very bytes the layer sends (for a
/// server that decides for others, such as `mfa-guard serve`).
#[derive(Debug)]
pub struct AnswerResponse(pub mfa_guard_core::Answer);

impl IntoResponse for AnswerResponse {
    fn into_response(self) -> Response {
        render(&self.0, axum::body::Body::from)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = RejectionResponse;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = parts.extensions.get::<mfa_guard_core::Principal>();
        let anonymous = parts.extensions.get::<Anonymous>();
        mfa_guard_core::extract_caller(principal, anonymous).map(Principal).map_err(RejectionResponse)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<mfa_guard_core::Principal>().cloned().map(Principal))
    }
}

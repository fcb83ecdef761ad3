//! A refusal ready to be sent ([`Rejection`]): its status, reason phrase, headers
//! and body, every byte decided here (the gRPC form is in `grpc.rs`, the body in
//! `problem.rs`).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::{Challenges, CustomBody, Refusal, RejectionCode, problem};

/// The reason phrase Partner Center sends with its MFA refusal.
pub const MFA_REQUIRED_REASON: &str = "Unauthorized - MFA required";

/// A refusal, ready to be sent: every byte of the response is decided here.
///
/// Cheap to clone (adapters put a copy in the response's extensions so outer layers
/// can see why a request was refused).
#[derive(Clone)]
pub struct Rejection(pub(super) Arc<Inner>);

#[derive(Clone)]
pub(super) struct Inner {
    /// One more header (the compliance signal), name validated at build.
    pub(super) extra: Option<(Arc<str>, &'static str)>,
    /// The application's body, replacing problem+json.
    pub(super) body: Option<Arc<CustomBody>>,
    pub(super) code: RejectionCode,
    pub(super) detail: Cow<'static, str>,
    pub(super) reason: Option<&'static str>,
    pub(super) www_authenticate: Option<String>,
    pub(super) retry_after: Option<u64>,
    /// Rendered for a gRPC client: a trailers-only `200` carrying `grpc-status`.
    pub(super) grpc: bool,
}

impl Rejection {
    /// A rejection rendered with default challenge settings (no realm, Partner
    /// Center style), for code that has no guard at hand. Prefer `Guard::reject`.
    pub(crate) fn standalone(refusal: Refusal) -> Self {
        Challenges::default().reject(refusal, false)
    }

    pub(crate) fn with_header(mut self, name: Arc<str>, value: &'static str) -> Self {
        Arc::make_mut(&mut self.0).extra = Some((name, value));
        self
    }

    /// Why: the body's `code`.
    pub fn code(&self) -> RejectionCode {
        self.0.code
    }

    /// The HTTP status code of the refusal (`401` for `mfa_required`, ...), also
    /// for a gRPC client (see [`response_status`](Self::response_status)).
    pub fn status(&self) -> u16 {
        self.0.code.status()
    }

    /// The HTTP/1.1 reason phrase when it is not the standard one
    /// (`Unauthorized - MFA required`); `None` means the standard phrase (and a gRPC
    /// response has none).
    pub fn reason_phrase(&self) -> Option<&'static str> {
        if self.0.grpc { None } else { self.0.reason }
    }

    /// The `WWW-Authenticate` value, if the response carries one.
    pub fn www_authenticate(&self) -> Option<&str> {
        self.0.www_authenticate.as_deref()
    }

    /// `Retry-After` in seconds, if the response carries one.
    pub fn retry_after(&self) -> Option<u64> {
        self.0.retry_after
    }

    /// The human description (`detail` of the body).
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The body's media type.
    pub fn content_type(&self) -> &str {
        if self.0.grpc {
            return "application/grpc";
        }
        self.0.body.as_deref().map_or(problem::CONTENT_TYPE, |b| &b.content_type)
    }

    /// The body: `application/problem+json`, or the application's own (see
    /// [`GuardBuilder::refusal_body`](crate::GuardBuilder::refusal_body)).
    pub fn body(&self) -> Vec<u8> {
        if self.0.grpc {
            return Vec::new();
        }
        match &self.0.body {
            Some(custom) => custom.bytes.clone(),
            None => problem::render(self.0.code, &self.0.detail),
        }
    }

    /// The human title of the refusal (the problem's `title`), for a body of the
    /// application's own.
    pub fn title(&self) -> &'static str {
        self.0.code.title()
    }

    /// Every header of the response, in the order to send them: `Content-Type`,
    /// (for gRPC: `grpc-status`, `grpc-message`, `mfa-guard-code`),
    /// `WWW-Authenticate` when present, `Retry-After` when present, then the
    /// compliance signal when configured. Names are lowercase.
    pub fn headers(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        [Some(("content-type", Cow::Borrowed(self.content_type())))]
            .into_iter()
            .chain(self.grpc_headers().into_iter().flatten().map(Some))
            .chain([
                self.0.www_authenticate.as_deref().map(|v| ("www-authenticate", Cow::Borrowed(v))),
                self.0.retry_after.map(|s| ("retry-after", Cow::Owned(s.to_string()))),
                self.0.extra.as_ref().map(|(n, v)| (&**n, Cow::Borrowed(*v))),
            ])
            .flatten()
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("code", &self.0.code)
            .field("status", &self.status())
            .field("detail", &self.0.detail)
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.detail)
    }
}

impl std::error::Error for Rejection {}

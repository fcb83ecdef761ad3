//! actix-web's own types under core's two adapter traits, and a core [`Answer`] (a
//! refusal, or a browser-mode redirect or page) as an `HttpResponse`. actix-web
//! has a header map and extensions of its own, not the `http` crate's that core
//! writes into itself, so each gets a wrapper here; every decision and every byte
//! stays core's.

use actix_web::HttpResponse;
use actix_web::dev::Extensions;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use mfa_guard_core::{Answer, HeaderSink};

/// actix-web's request extensions, where core puts the admitted caller.
pub(crate) struct ActixExtensions<'a>(pub(crate) &'a mut Extensions);

impl mfa_guard_core::Extensions for ActixExtensions<'_> {
    fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(value);
    }
}

/// actix-web's response headers, where core writes its own.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a mut HeaderMap);

impl HeaderSink for ActixHeaders<'_> {
    fn append(&mut self, name: &str, value: &str) {
        if let Some((name, value)) = typed(name, value) {
            self.0.append(name, value);
        }
    }

    fn replace(&mut self, name: &str, value: &str) {
        if let Some((name, value)) = typed(name, value) {
            self.0.insert(name, value);
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Core renders header names and values from visible ASCII only; one that still
/// failed to convert is dropped rather than turned into a 500. A value of a
/// [credential](mfa_guard_core::is_credential) (the session cookie core sets) is
/// marked sensitive.
fn typed(name: &str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    let (name, mut value) =
        (HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?);
    value.set_sensitive(mfa_guard_core::is_credential(name.as_str()));
    Some((name, value))
}

/// Renders `answer`.
///
/// The response carries the [`Rejection`](mfa_guard_core::Rejection) behind the
/// answer, if any, in its extensions (so outer middleware can see why) and, when
/// core asks for one, a custom reason in its head so HTTP/1.1 sends
/// `401 Unauthorized - MFA required` (HTTP/2 has no reason phrase).
pub(crate) fn render(answer: &Answer) -> HttpResponse {
    // Core only produces 200 (gRPC), 302, 400, 401, 403 and 503, all valid codes.
    let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::with_body(status, answer.body()).map_into_boxed_body();
    answer.write_headers(&mut ActixHeaders(response.headers_mut()));
    response.head_mut().reason = answer.reason_phrase();
    if let Some(rejection) = answer.rejection() {
        response.extensions_mut().insert(rejection.clone());
    }
    response
}

//! Core's [`Answer`] (a refusal, or a browser-mode redirect or page) as an
//! `http::Response`. Every byte, and every header core puts on an admitted
//! request's response, comes from core ([`Answer::to_http`],
//! [`ResponseEdits`](mfa_guard_core::ResponseEdits)); this adds only what hyper
//! carries in its own type, the HTTP/1.1 reason phrase. The service and its future
//! both use it; neither imports the other (the future never imports its service,
//! as in tower-http).

use bytes::Bytes;
use http::Response;
use hyper::ext::ReasonPhrase;
use mfa_guard_core::Answer;

/// Renders `answer`, with the body type made by `body`.
///
/// The response carries the [`Rejection`](mfa_guard_core::Rejection) behind the
/// answer, if any, in its extensions (so outer layers can see why), and, when core
/// asks for one, hyper's [`ReasonPhrase`] so HTTP/1.1 sends
/// `401 Unauthorized - MFA required` (HTTP/2 has no reason phrase).
pub(crate) fn render<B>(answer: &Answer, body: impl FnOnce(Bytes) -> B) -> Response<B> {
    let mut response = answer.to_http(|bytes| body(Bytes::from(bytes)));
    if let Some(reason) = answer.reason_phrase() {
        response.extensions_mut().insert(ReasonPhrase::from_static(reason.as_bytes()));
    }
    response
}

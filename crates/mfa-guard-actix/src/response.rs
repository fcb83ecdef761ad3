//! A core [`Answer`] (a refusal, or a browser-mode redirect or page) as an actix-web
//! `HttpResponse`: every byte comes from core; this only copies status, headers,
//! body and the HTTP/1.1 reason phrase across.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use mfa_guard_core::Answer;

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
    let headers = response.headers_mut();
    for (name, value) in answer.headers() {
        // Core renders header values from visible ASCII only; a value that still
        // failed to convert would be dropped rather than turned into a 500.
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
        {
            headers.append(name, value);
        }
    }
    if let Some(reason) = answer.reason_phrase() {
        response.head_mut().reason = Some(reason);
    }
    if let Some(rejection) = answer.rejection() {
        response.extensions_mut().insert(rejection.clone());
    }
    response
}

/// The headers core asks to add to an admitted request's response (the compliance
/// signal when configured); empty, without allocating, otherwise.
pub(crate) fn admitted_headers(principal: &mfa_guard_core::Principal) -> Vec<(HeaderName, HeaderValue)> {
    principal
        .response_headers()
        .filter_map(|(n, v)| {
            Some((HeaderName::from_bytes(n.as_bytes()).ok()?, HeaderValue::from_str(v).ok()?))
        })
        .collect()
}

/// Appends core's headers to the inner service's response.
pub(crate) fn add_headers<B>(
    res: &mut actix_web::dev::ServiceResponse<B>,
    headers: Vec<(HeaderName, HeaderValue)>,
) {
    for (name, value) in headers {
        res.headers_mut().append(name, value);
    }
}

//! A core [`Answer`] (a refusal, or a browser-mode redirect or page) as an actix-web
//! `HttpResponse`: every byte comes from core; this only copies status, headers,
//! body and the HTTP/1.1 reason phrase across.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use mfa_guard_core::{Answer, HeaderMerge};

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

/// Headers core puts on an admitted request's response, each with how.
pub(crate) type AdmittedHeaders = Vec<(HeaderName, HeaderValue, HeaderMerge)>;

/// The headers core asks to put on an admitted request's response (the compliance
/// signal when configured; a session's cookie and caching in browser mode); empty,
/// without allocating, otherwise.
pub(crate) fn admitted_headers(principal: &mfa_guard_core::Principal) -> AdmittedHeaders {
    principal
        .response_edits()
        .filter_map(|(n, v, merge)| {
            Some((HeaderName::from_bytes(n.as_bytes()).ok()?, HeaderValue::from_str(v).ok()?, merge))
        })
        .collect()
}

/// Puts core's headers on the handler's response, each as core says.
pub(crate) fn merge_headers(headers: &mut HeaderMap, admitted: AdmittedHeaders) {
    for (name, value, merge) in admitted {
        match merge {
            HeaderMerge::Append => {
                headers.append(name, value);
            }
            HeaderMerge::Replace => {
                headers.insert(name, value);
            }
            HeaderMerge::IfAbsent => {
                if !headers.contains_key(&name) {
                    headers.insert(name, value);
                }
            }
        }
    }
}

/// Puts core's headers on the inner service's response, each as core says.
pub(crate) fn add_headers<B>(res: &mut actix_web::dev::ServiceResponse<B>, headers: AdmittedHeaders) {
    merge_headers(res.headers_mut(), headers);
}

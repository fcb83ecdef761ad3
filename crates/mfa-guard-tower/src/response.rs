//! Core's decision in `http` terms: an admission copied onto the request (and the
//! headers it adds to the response), a core [`Answer`] (a refusal, or a
//! browser-mode redirect or page) as an `http::Response`. Every byte comes from
//! core; this only copies status, headers, body and the HTTP/1.1 reason phrase
//! across. The service and its future both use it; neither imports the other's
//! internals (the future never imports its service, as in tower-http).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use hyper::ext::ReasonPhrase;
use mfa_guard_core::{Admission, Admitted, Answer, HeaderMerge};

/// Renders `answer`, with the body type made by `body`.
///
/// The response carries the [`Rejection`](mfa_guard_core::Rejection) behind the
/// answer, if any, in its extensions (so outer layers can see why), and, when core
/// asks for one, hyper's [`ReasonPhrase`] so HTTP/1.1 sends
/// `401 Unauthorized - MFA required` (HTTP/2 has no reason phrase).
pub(crate) fn render<B>(answer: &Answer, body: impl FnOnce(Bytes) -> B) -> Response<B> {
    let mut response = Response::new(body(Bytes::from(answer.body())));
    // Core only produces 200 (gRPC), 302, 400, 401, 403 and 503, all valid codes.
    *response.status_mut() = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::UNAUTHORIZED);
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
        response.extensions_mut().insert(ReasonPhrase::from_static(reason.as_bytes()));
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

/// Copies core's decision onto the request: the caller (or the anonymous marker) into
/// its extensions, and back the headers core wants on the response; a refusal comes
/// back as `Err`.
pub(crate) fn admit<B>(req: &mut Request<B>, admission: Admission) -> Result<AdmittedHeaders, Answer> {
    match admission.into_answer()? {
        Admitted::Caller(principal) => {
            let headers = admitted_headers(&principal);
            req.extensions_mut().insert(principal);
            Ok(headers)
        }
        Admitted::Anonymous(marker) => {
            req.extensions_mut().insert(marker);
            Ok(Vec::new())
        }
    }
}

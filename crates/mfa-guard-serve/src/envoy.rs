//! Envoy's `ext_authz` over gRPC (`envoy.service.auth.v3.Authorization/Check`).

use std::sync::Arc;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use envoy_types::ext_authz::v3::pb::{
    Authorization, CheckRequest, CheckResponse, HeaderAppendAction, HttpStatusCode,
};
use envoy_types::ext_authz::v3::{CheckResponseExt as _, DeniedHttpResponseBuilder, OkHttpResponseBuilder};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::HttpRequest;
use mfa_guard_core::{Admission, Answer, Guard, Rejection};

use crate::identity::{self, IDENTITY_HEADERS};
use crate::original::{self, Original};
use crate::routes::decide;

/// The gRPC service Envoy asks. Admitted: `OK`, the identity headers set on the
/// upstream request (overwriting, and any the caller sent but the guard did not set
/// removed). Refused: Envoy's denied response carrying the refusal's status,
/// headers and body, with the matching gRPC status in the check's own status.
#[derive(Debug, Clone)]
pub struct EnvoyAuthorization {
    guard: Arc<Guard>,
}

impl EnvoyAuthorization {
    pub(crate) fn new(guard: Arc<Guard>) -> Self {
        Self { guard }
    }
}

#[tonic::async_trait]
impl Authorization for EnvoyAuthorization {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let request = request.into_inner();
        let Some(http) = request.attributes.and_then(|a| a.request).and_then(|r| r.http) else {
            return Err(tonic::Status::invalid_argument(
                "the check request carries no HTTP request attributes (configure Envoy's ext_authz for HTTP)",
            ));
        };
        let headers = request_headers(&http);
        let (path, query) = match http.path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (http.path.clone(), None),
        };
        let method = match original::method(&http.method) {
            Ok(method) => method,
            Err(refusal) => return Ok(tonic::Response::new(denied(&self.guard.reject(refusal)))),
        };
        let original = Original { method, path, query };
        // The compliance signal goes to the client (`response_headers_to_add`): a
        // client's own copy on the request is removed like an unset identity header.
        let compliance = self.guard.compliance_header();
        let response = match decide(&self.guard, &original, &headers).await {
            Admission::Refused(rejection) => denied(&rejection),
            // Browser mode's redirect or page, as Envoy's denied response.
            Admission::Answered(answer) => denied_answer(&answer),
            Admission::Admitted(principal) => {
                let set = identity::headers(&principal);
                let mut ok = OkHttpResponseBuilder::new();
                for name in IDENTITY_HEADERS.iter().filter(|n| !set.iter().any(|(s, _)| s == *n)) {
                    ok.remove_header(*name);
                }
                if let Some(name) = compliance {
                    ok.remove_header(name);
                }
                for (name, value) in set {
                    ok.add_header(name, value, Some(HeaderAppendAction::OverwriteIfExistsOrAdd), false);
                }
                for (name, value) in principal.response_headers() {
                    ok.add_response_header(
                        name,
                        value,
                        Some(HeaderAppendAction::OverwriteIfExistsOrAdd),
                        false,
                    );
                }
                allowed(ok)
            }
            Admission::Anonymous(_) => {
                let mut ok = OkHttpResponseBuilder::new();
                for name in IDENTITY_HEADERS.into_iter().chain(compliance) {
                    ok.remove_header(name);
                }
                allowed(ok)
            }
        };
        Ok(tonic::Response::new(response))
    }
}

fn allowed(ok: OkHttpResponseBuilder) -> CheckResponse {
    let mut response = CheckResponse::with_status(tonic::Status::ok("admitted"));
    response.set_http_response(ok);
    response
}

fn denied(rejection: &Rejection) -> CheckResponse {
    let mut denied = DeniedHttpResponseBuilder::new();
    let status = HttpStatusCode::try_from(i32::from(rejection.response_status()))
        .unwrap_or(HttpStatusCode::Unauthorized);
    denied.set_http_status(status);
    for (name, value) in rejection.headers() {
        denied.add_header(name, value.into_owned(), Some(HeaderAppendAction::OverwriteIfExistsOrAdd), false);
    }
    denied.set_body(String::from_utf8_lossy(&rejection.body()).into_owned());
    let code = tonic::Code::from_i32(i32::from(rejection.grpc_status()));
    let mut response = CheckResponse::with_status(tonic::Status::new(code, rejection.detail()));
    response.set_http_response(denied);
    response
}

/// Browser mode's redirect (`302`, `Location`, the sign-in's `Set-Cookie`) or page
/// as Envoy's denied response, every header kept (a redirect sets two cookies when
/// it clears a stale sign-in). The check's gRPC status is the refusal's behind a
/// page, `UNAUTHENTICATED` for a redirect to sign in.
fn denied_answer(answer: &Answer) -> CheckResponse {
    let mut denied = DeniedHttpResponseBuilder::new();
    let status = HttpStatusCode::try_from(i32::from(answer.status())).unwrap_or(HttpStatusCode::Unauthorized);
    denied.set_http_status(status);
    for (name, value) in answer.headers() {
        denied.add_header(name, value.into_owned(), Some(HeaderAppendAction::AppendIfExistsOrAdd), false);
    }
    denied.set_body(String::from_utf8_lossy(&answer.body()).into_owned());
    let status = match answer.rejection() {
        Some(r) => tonic::Status::new(tonic::Code::from_i32(i32::from(r.grpc_status())), r.detail()),
        None => tonic::Status::unauthenticated("sign in first"),
    };
    let mut response = CheckResponse::with_status(status);
    response.set_http_response(denied);
    response
}

/// The original request's headers. With `encode_raw_headers: true` Envoy sends
/// each header separately, as bytes (`header_map`); otherwise (`headers`) it joins
/// repeated headers with `,`, which would hide a second `Authorization`: a joined
/// value whose parts each read `scheme credentials` is split back, so the guard
/// sees two headers and refuses the request as it would unproxied. A header that is
/// not a valid HTTP header is left out.
fn request_headers(http: &HttpRequest) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(raw) = http.header_map.as_ref().filter(|m| !m.headers.is_empty()) {
        for h in &raw.headers {
            let value = if h.raw_value.is_empty() { h.value.as_bytes() } else { &h.raw_value };
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(h.key.as_bytes()), HeaderValue::from_bytes(value))
            {
                headers.append(name, value);
            }
        }
        return headers;
    }
    for (name, value) in &http.headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else { continue };
        let parts = if name == AUTHORIZATION { joined_credentials(value) } else { None };
        for part in parts.unwrap_or_else(|| vec![value.as_str()]) {
            if let Ok(value) = HeaderValue::from_str(part) {
                headers.append(name.clone(), value);
            }
        }
    }
    headers
}

/// The credentials of an `Authorization` value Envoy joined from several headers
/// (`Bearer a,Bearer b`), or `None` for one header's value. Bearer, Basic and
/// other token68 credentials hold no comma; a scheme with comma-separated
/// parameters (`Digest realm="x", nonce="y"`) has parts without a scheme of their
/// own and stays one value.
fn joined_credentials(value: &str) -> Option<Vec<&str>> {
    if !value.contains(',') {
        return None;
    }
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let is_credentials = |p: &str| {
        p.split_once(' ').is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && !rest.trim().is_empty()
        })
    };
    (parts.len() > 1 && parts.iter().all(|p| is_credentials(p))).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::joined_credentials;

    #[test]
    fn joined_authorization_headers_are_split_back() {
        assert_eq!(
            joined_credentials("Bearer a.b.c,Bearer d.e.f"),
            Some(vec!["Bearer a.b.c", "Bearer d.e.f"])
        );
        assert_eq!(
            joined_credentials("Bearer a.b.c, Basic dXNlcg=="),
            Some(vec!["Bearer a.b.c", "Basic dXNlcg=="])
        );
    }

    #[test]
    fn one_header_stays_one_value() {
        assert_eq!(joined_credentials("Bearer a.b.c"), None);
        assert_eq!(joined_credentials(r#"Digest username="u", realm="r", nonce="n""#), None);
        // A comma inside what would be a token: one malformed value, refused as such.
        assert_eq!(joined_credentials("Bearer a,b"), None);
    }
}

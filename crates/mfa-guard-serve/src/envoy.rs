//! Envoy's `ext_authz` over gRPC (`envoy.service.auth.v3.Authorization/Check`).

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use envoy_types::ext_authz::v3::pb::{
    Authorization, CheckRequest, CheckResponse, HeaderAppendAction, HttpStatusCode,
};
use envoy_types::ext_authz::v3::{CheckResponseExt as _, DeniedHttpResponseBuilder, OkHttpResponseBuilder};
use mfa_guard_core::{Admission, Guard, Rejection};

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
        // Envoy sends header names lowercase, repeated ones joined with ','.
        let mut headers = HeaderMap::new();
        for (name, value) in &http.headers {
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            {
                headers.append(name, value);
            }
        }
        let (path, query) = match http.path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (http.path.clone(), None),
        };
        let routed = match original::single(&headers, original::ROUTED_PATH, 16 * 1024) {
            Ok(r) => r.map(str::to_owned),
            Err(refusal) => return Ok(tonic::Response::new(denied(&self.guard.reject(refusal)))),
        };
        let original = Original { method: http.method.to_ascii_uppercase(), path, query, routed };
        let response = match decide(&self.guard, &original, &headers).await {
            Admission::Refused(rejection) => denied(&rejection),
            Admission::Admitted(principal) => {
                let set = identity::headers(&principal);
                let mut ok = OkHttpResponseBuilder::new();
                for name in IDENTITY_HEADERS.iter().filter(|n| !set.iter().any(|(s, _)| s == *n)) {
                    ok.remove_header(*name);
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
                for name in IDENTITY_HEADERS {
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

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

use crate::assertion::{ASSERTION_HEADER, AUDIENCE_CONTEXT_EXTENSION, Assertions};
use crate::identity::{self, IDENTITY_HEADERS};
use crate::original::{self, MAX_AUDIENCE, Original};
use crate::peers::TrustedProxies;
use crate::routes::decide;

/// The gRPC service Envoy asks. Admitted: `OK`, the identity headers set on the
/// upstream request (overwriting, and any the caller sent but the guard did not set
/// removed). Refused: Envoy's denied response carrying the refusal's status,
/// headers and body, with the matching gRPC status in the check's own status.
///
/// The identity assertion's audience is the route's `context_extensions` entry
/// [`AUDIENCE_CONTEXT_EXTENSION`] (the check's headers are the client's, so none
/// of them may name it). A peer outside the trusted proxies gets a denied `403`.
#[derive(Debug, Clone)]
pub struct EnvoyAuthorization {
    guard: Arc<Guard>,
    assertions: Option<Arc<Assertions>>,
    peers: TrustedProxies,
}

impl EnvoyAuthorization {
    pub(crate) fn new(guard: Arc<Guard>, assertions: Option<Arc<Assertions>>, peers: TrustedProxies) -> Self {
        Self { guard, assertions, peers }
    }
}

#[tonic::async_trait]
impl Authorization for EnvoyAuthorization {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        if let Err(why) = self.peers.admit(request.remote_addr()) {
            return Ok(tonic::Response::new(untrusted(why.to_string())));
        }
        let request = request.into_inner();
        let audience = request
            .attributes
            .as_ref()
            .and_then(|a| a.context_extensions.get(AUDIENCE_CONTEXT_EXTENSION))
            .filter(|a| {
                !a.is_empty() && a.len() <= MAX_AUDIENCE && a.bytes().all(|b| (0x21..0x7f).contains(&b))
            })
            .cloned();
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
                let now = self.guard.clock().now_unix();
                let assertion = self
                    .assertions
                    .as_ref()
                    .zip(audience.as_deref())
                    .and_then(|(a, audience)| a.assert(&principal, audience, now))
                    .and_then(|v| v.to_str().ok().map(str::to_owned));
                match assertion {
                    Some(assertion) => ok.add_header(
                        ASSERTION_HEADER,
                        assertion,
                        Some(HeaderAppendAction::OverwriteIfExistsOrAdd),
                        false,
                    ),
                    None => ok.remove_header(ASSERTION_HEADER),
                };
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
                for name in IDENTITY_HEADERS.into_iter().chain([ASSERTION_HEADER]).chain(compliance) {
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

/// The denied `403` of a peer outside the trusted proxies, `PERMISSION_DENIED`.
fn untrusted(why: String) -> CheckResponse {
    let mut denied = DeniedHttpResponseBuilder::new();
    denied.set_http_status(HttpStatusCode::Forbidden);
    denied.add_header("content-type", "text/plain; charset=utf-8", None, false);
    denied.set_body(why.clone());
    let mut response = CheckResponse::with_status(tonic::Status::permission_denied(why));
    response.set_http_response(denied);
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
    mod check {
        use std::collections::HashMap;

        use envoy_types::ext_authz::v3::pb::{Authorization as _, CheckRequest, CheckResponse, HttpResponse};
        use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
        use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
        use tonic::transport::server::TcpConnectInfo;

        use super::super::*;
        use crate::testing::{Issuer, new_key, user_with_mfa};
        use crate::{AssertionKeys, Assertions};

        fn service(issuer: &Issuer, peers: &str) -> EnvoyAuthorization {
            let keys = AssertionKeys::from_pkcs8([("key", new_key().as_slice())]).unwrap();
            let assertions = Assertions::new("mfa-guard-serve", keys).unwrap();
            EnvoyAuthorization::new(
                Arc::new(issuer.guard.clone()),
                Some(Arc::new(assertions)),
                TrustedProxies::parse(peers).unwrap(),
            )
        }

        /// Envoy's check for `GET /commerce/customers` with `headers`, the route
        /// naming `audience` (if any), from `peer`.
        async fn check(
            service: &EnvoyAuthorization,
            peer: &str,
            headers: &[(&str, &str)],
            audience: Option<&str>,
        ) -> CheckResponse {
            let http = HttpRequest {
                method: "GET".into(),
                path: "/commerce/customers".into(),
                headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
                ..Default::default()
            };
            let context_extensions: HashMap<String, String> =
                audience.map(|a| (AUDIENCE_CONTEXT_EXTENSION.to_owned(), a.to_owned())).into_iter().collect();
            let mut request = tonic::Request::new(CheckRequest {
                attributes: Some(AttributeContext {
                    request: Some(Request { http: Some(http), ..Default::default() }),
                    context_extensions,
                    ..Default::default()
                }),
            });
            request
                .extensions_mut()
                .insert(TcpConnectInfo { local_addr: None, remote_addr: Some(peer.parse().unwrap()) });
            service.check(request).await.unwrap().into_inner()
        }

        fn ok_headers(response: &CheckResponse) -> (Vec<(String, String)>, Vec<String>) {
            let Some(HttpResponse::OkResponse(ok)) = &response.http_response else {
                panic!("not allowed: {response:?}");
            };
            let set =
                ok.headers.iter().filter_map(|o| o.header.as_ref()).map(|h| (h.key.clone(), h.value.clone()));
            (set.collect(), ok.headers_to_remove.clone())
        }

        #[tokio::test]
        async fn an_untrusted_peer_is_denied_the_grpc_check_with_403() {
            let issuer = Issuer::new();
            let bearer = format!("Bearer {}", issuer.token(user_with_mfa()));
            let service = service(&issuer, "10.0.0.0/8");
            let response =
                check(&service, "192.0.2.1:5000", &[("authorization", &bearer)], Some("app")).await;
            assert_eq!(response.status.as_ref().map(|s| s.code), Some(tonic::Code::PermissionDenied as i32));
            let Some(HttpResponse::DeniedResponse(denied)) = &response.http_response else {
                panic!("not denied: {response:?}");
            };
            assert_eq!(denied.status.as_ref().map(|s| s.code), Some(HttpStatusCode::Forbidden as i32));
            assert_eq!(
                denied.body,
                "mfa-guard serve answers only its trusted proxies (MFA_TRUSTED_PROXIES); 192.0.2.1 is not one of them"
            );
            let trusted = check(&service, "10.9.9.9:5000", &[("authorization", &bearer)], Some("app")).await;
            assert_eq!(trusted.status.as_ref().map(|s| s.code), Some(0));
        }

        #[tokio::test]
        async fn the_grpc_check_asserts_for_the_routes_audience_never_for_a_clients_header() {
            let issuer = Issuer::new();
            let bearer = format!("Bearer {}", issuer.token(user_with_mfa()));
            let service = service(&issuer, "127.0.0.0/8");
            let response =
                check(&service, "127.0.0.1:5000", &[("authorization", &bearer)], Some("billing")).await;
            let (set, removed) = ok_headers(&response);
            let assertion = set.iter().find(|(n, _)| n == ASSERTION_HEADER).map(|(_, v)| v.as_str()).unwrap();
            let header = jsonwebtoken::decode_header(assertion).unwrap();
            assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
            let payload = assertion.split('.').nth(1).unwrap();
            let claims: serde_json::Value = serde_json::from_slice(
                &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
            )
            .unwrap();
            assert_eq!(
                (&claims["aud"], &claims["oid"]),
                (&serde_json::json!("billing"), &serde_json::json!("oid-1"))
            );
            assert!(!removed.iter().any(|r| r == ASSERTION_HEADER), "{removed:?}");

            // No audience on the route: a client's own header does not name one,
            // and a client's copy of the assertion is removed.
            let headers = [("authorization", bearer.as_str()), (crate::AUDIENCE_HEADER, "billing")];
            let response = check(&service, "127.0.0.1:5000", &headers, None).await;
            let (set, removed) = ok_headers(&response);
            assert!(!set.iter().any(|(n, _)| n == ASSERTION_HEADER), "{set:?}");
            assert!(removed.iter().any(|r| r == ASSERTION_HEADER), "{removed:?}");
        }
    }
}

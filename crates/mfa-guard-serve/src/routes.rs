//! The HTTP endpoints: each reads the original request its proxy's way, asks the
//! guard, and answers as its proxy understands.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use mfa_guard_core::{Admission, Guard, Refusal, RejectionCode, RequestInfo};
use mfa_guard_tower::{AnswerResponse, RejectionResponse};

use crate::browser;
use crate::identity::{self, IDENTITY_HEADERS};
use crate::original::{self, Dialect, Original};
use crate::spelling;

/// Envoy's HTTP `ext_authz` is configured with this `path_prefix`; the rest of
/// the path is the original request's.
pub(crate) const ENVOY_PREFIX: &str = "/envoy";

pub(crate) fn router(guard: Arc<Guard>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/auth", any(forwarded))
        .route("/nginx/auth", any(nginx_auth))
        .route("/nginx/refusal", any(nginx_refusal))
        .route(ENVOY_PREFIX, any(envoy))
        .route(&format!("{ENVOY_PREFIX}/{{*rest}}"), any(envoy))
        .fallback(browser::own_path)
        .with_state(guard)
}

/// Asks the guard about `original`, with the headers the proxy passed on.
///
/// The request's content type is not passed on: the guard would render a gRPC
/// client's refusal as gRPC does, `200` with `grpc-status` in the headers, and a
/// proxy reads any `2xx` from its authorizer as "allow". Every refusal here keeps
/// its HTTP status; the proxy turns it into the gRPC status a gRPC client expects
/// (Envoy converts its local replies for gRPC requests; gRPC clients map `401` to
/// `UNAUTHENTICATED`, `403` to `PERMISSION_DENIED`, `503` to `UNAVAILABLE`).
///
/// Every endpoint comes here, so this is where a request carrying one of
/// mfa-guard's own headers under another spelling is refused (`spelling.rs`).
///
/// With browser mode on, a top-level navigation is decided with the client's
/// session cookie and fetch metadata, which every proxy passes to its authorizer,
/// and may be answered with a redirect or a page ([`Admission::Answered`]): each
/// endpoint delivers it as its proxy can (`browser.rs`).
pub(crate) async fn decide(guard: &Guard, original: &Original, headers: &HeaderMap) -> Admission {
    if let Err(refusal) = spelling::check(headers, guard.compliance_header()) {
        return Admission::Refused(guard.reject(refusal));
    }
    // The upstream the assertion is for: named once, by the proxy (assertion.rs).
    if let Err(refusal) = original::audience(headers) {
        return Admission::Refused(guard.reject(refusal));
    }
    let cookies = browser::cookies(headers);
    let req = RequestInfo::new(&original.method, &original.path)
        .with_query(original.query.as_deref())
        .with_authorizations(headers.get_all(AUTHORIZATION).iter().map(HeaderValue::as_bytes));
    guard.check(&browser::reading(req, headers, &cookies)).await
}

/// What the original request is, or the refusal of a request that does not say.
/// The handlers lend the request's own headers (axum's `HeaderMap` extractor would
/// copy every one of them for each decision).
async fn ask(guard: &Guard, headers: &HeaderMap, dialect: Dialect) -> Admission {
    match original::read(headers, dialect) {
        Ok(original) => decide(guard, &original, headers).await,
        Err(refusal) => Admission::Refused(guard.reject(refusal)),
    }
}

/// `200` with the identity headers; `200` alone for a caller-less admission.
fn allow(admission: &Admission) -> Response {
    let mut response = StatusCode::OK.into_response();
    if let Admission::Admitted(principal) = admission {
        let headers = response.headers_mut();
        for (name, value) in identity::headers(principal) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        for (name, value) in principal.response_headers() {
            if let (Ok(name), Ok(mut value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            {
                // The session cookie is a credential: never printed.
                value.set_sensitive(mfa_guard_core::is_credential(name.as_str()));
                headers.insert(name, value);
            }
        }
        // Who was admitted, for the identity assertion (`assertion::attach`).
        response.extensions_mut().insert(principal.clone());
    }
    response
}

/// Traefik ForwardAuth and Caddy forward_auth: a refusal, or browser mode's
/// redirect or page, is copied to the client.
async fn forwarded(State(guard): State<Arc<Guard>>, req: Request<Body>) -> Response {
    match ask(&guard, req.headers(), Dialect::Forwarded).await {
        Admission::Refused(rejection) => RejectionResponse(rejection).into_response(),
        Admission::Answered(answer) => AnswerResponse(answer).into_response(),
        admitted => allow(&admitted),
    }
}

/// nginx auth_request: only 2xx, 401 and 403 mean something to nginx (anything
/// else is its own 500), and it copies a 401's `WWW-Authenticate` into the answer.
/// So every refusal is a bare 401 here, and the recipe's `error_page` location asks
/// [`nginx_refusal`] for the real answer, which nginx then sends as it is.
async fn nginx_auth(State(guard): State<Arc<Guard>>, req: Request<Body>) -> Response {
    match ask(&guard, req.headers(), Dialect::Nginx).await {
        Admission::Refused(_) | Admission::Answered(_) => StatusCode::UNAUTHORIZED.into_response(),
        admitted => allow(&admitted),
    }
}

/// The answer nginx sends after [`nginx_auth`] refused: the refusal itself, status
/// line, `WWW-Authenticate`, `Retry-After` and body; or browser mode's redirect
/// (`302`, `Location`, the sign-in's `Set-Cookie`) or page, decided again here
/// (the subrequest's answer never reaches the client).
async fn nginx_refusal(State(guard): State<Arc<Guard>>, req: Request<Body>) -> Response {
    match ask(&guard, req.headers(), Dialect::Nginx).await {
        Admission::Refused(rejection) => RejectionResponse(rejection).into_response(),
        Admission::Answered(answer) => AnswerResponse(answer).into_response(),
        // Admitted now, refused a moment ago (an enforcement date passing, keys
        // arriving): never an admission from here, which would replace the
        // upstream's answer; the client asks again.
        _ => RejectionResponse(guard.reject(Refusal::new(
            RejectionCode::InvalidRequest,
            "the decision changed while the request was checked; send it again",
        )))
        .into_response(),
    }
}

/// Envoy's HTTP ext_authz: the original method and path are this request's own
/// (behind `path_prefix`); a refusal is passed to the client as it is.
async fn envoy(State(guard): State<Arc<Guard>>, req: Request<Body>) -> Response {
    let (parts, _) = req.into_parts();
    let full = parts.uri.path();
    let path = full.strip_prefix(ENVOY_PREFIX).filter(|p| !p.is_empty()).unwrap_or("/");
    let original = Original {
        method: method_name(&parts.method),
        path: path.to_owned(),
        query: parts.uri.query().map(str::to_owned),
    };
    match decide(&guard, &original, &parts.headers).await {
        Admission::Refused(rejection) => RejectionResponse(rejection).into_response(),
        Admission::Answered(answer) => AnswerResponse(answer).into_response(),
        admitted => {
            let mut response = allow(&admitted);
            // Envoy copies the identity headers set here over the request's own,
            // and removes those named in this header: a client's copy of one the
            // guard did not set (no roles, an anonymous request) never arrives,
            // nor its copy of the compliance header, whose signal the recipe sends
            // to the client.
            let unset = IDENTITY_HEADERS
                .iter()
                .filter(|h| !response.headers().contains_key(**h))
                .copied()
                .chain(guard.compliance_header())
                .collect::<Vec<_>>()
                .join(",");
            if let Ok(unset) = HeaderValue::from_str(&unset)
                && !unset.is_empty()
            {
                response.headers_mut().insert(ENVOY_HEADERS_TO_REMOVE, unset);
            }
            response
        }
    }
}

/// The header of Envoy's HTTP ext_authz naming request headers to remove.
pub(crate) const ENVOY_HEADERS_TO_REMOVE: &str = "x-envoy-auth-headers-to-remove";

fn method_name(method: &Method) -> String {
    method.as_str().to_owned()
}

//! The axum example server of mfa-guard, as a library so tests can serve its router.
//!
//! Everything it decides comes from `mfa-guard-core` through [`MfaLayer`]; the
//! route table, handler JSON and page, and development issuer come from `example-shared`,
//! which the actix example uses too.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{Json, Router};
use example_shared::page::{Links, PAGE_HEADERS, UNMATCHED, caller_page, links};
use example_shared::{DevSite, Startup, areas, caller_body, health_body};
use http::header::{ACCEPT, AUTHORIZATION};
use mfa_guard_core::{Guard, REQUEST_CREDENTIALS, RequestInfo};
use mfa_guard_tower::{MfaLayer, Principal};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tracing::Level;

/// The router: the Partner Center routes (and, in development mode, the
/// development identity server's: its discovery and JWKS documents and sign-in
/// pages) behind [`MfaLayer`].
pub fn app(guard: Guard, dev: Option<DevSite>) -> Router {
    let links = links(&guard, dev.is_some());
    let mut router = Router::new();
    for area in areas() {
        let handler = area_handler((area.name, area.title), links.clone());
        let path = area.path();
        router = match area.name {
            "health" => router.route(path, get(|| async { Json(health_body()) })),
            _ if area.is_prefix() => {
                router.route(path, handler.clone()).route(&format!("{path}/{{*rest}}"), handler)
            }
            _ => router.route(path, handler),
        };
    }
    if let Some(site) = dev {
        router = router.merge(site.router());
    }
    // The layer marks the request's credentials sensitive (Authorization,
    // Proxy-Authorization, Cookie) before any handler sees them.
    let router = router.fallback(area_handler(UNMATCHED, links)).layer(MfaLayer::new(guard));
    // Request spans and response events only when someone reads them: the trace layer
    // times and wraps every response even when its events are disabled, which cost
    // ~8% of the throughput of cached requests (BENCHMARKS.md). Like the actix
    // example's access log, it joins the stack when debug logging is on.
    if !(tracing::enabled!(Level::DEBUG) || tracing::enabled!(target: "tower_http::trace", Level::DEBUG)) {
        return router;
    }
    // Spans record the path, never the query: a token sent in the query (which the
    // guard refuses) must not reach the logs. The trace layer sits outside the guard,
    // so that it also sees the requests the guard answers, and the credentials are
    // marked sensitive before it sees them too. (`Router::layer` wraps every route;
    // in the common case, without tracing, that would be a layer per request for
    // nothing: ~1.8k instructions, BENCHMARKS.md.)
    router
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .layer(SetSensitiveRequestHeadersLayer::new(REQUEST_CREDENTIALS))
}

/// Any method: who called, and how they were admitted; as JSON, or as a page for a
/// person's browser (titled by the area's title, with the sign-out controls of `links`).
fn area_handler((area, title): (&'static str, &'static str), links: Links) -> axum::routing::MethodRouter {
    any(move |caller: Option<Principal>, method: Method, uri: Uri, headers: HeaderMap| {
        let links = links.clone();
        async move {
            let (method, path, caller) = (method.as_str(), uri.path(), caller.as_deref());
            if is_navigation(method, path, &headers) {
                (PAGE_HEADERS, caller_page(area, title, method, path, caller, &links)).into_response()
            } else {
                Json(caller_body(area, method, path, caller)).into_response()
            }
        }
    })
}

/// Whether a person's browser asked for the page: core's rule, read from the
/// headers the layer read.
fn is_navigation(method: &str, path: &str, headers: &HeaderMap) -> bool {
    RequestInfo::new(method, path)
        .with_authorizations(headers.get_all(AUTHORIZATION).iter().map(HeaderValue::as_bytes))
        .with_navigation_headers(
            headers.get("sec-fetch-mode").map(HeaderValue::as_bytes),
            headers.get(ACCEPT).map(HeaderValue::as_bytes),
        )
        .is_navigation()
}

/// Binds, builds the guard (making the development issuer if none is configured),
/// prints the development banner, and serves until SIGINT or SIGTERM.
pub async fn run(startup: Startup) -> Result<(), String> {
    let addr = startup.listen_addr()?;
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| format!(
            "cannot listen on {addr}: {e} (another server on that port? stop it, or set MFA_LISTEN to another address)"
        ))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics = startup.bind_metrics()?;
    let (guard, dev) = startup.connect_store().await?.guard(bound)?;
    if let Some(metrics) = metrics {
        tokio::spawn(metrics.serve(guard.clone()));
    }
    let dev = dev.map(Arc::new);
    example_shared::announce("axum", dev.as_deref(), bound)?;
    tokio::spawn(example_shared::warm_up(guard.clone()));
    let app = app(guard, dev.map(|d| DevSite::new(d, bound)));
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    mfa_guard_runtime::shutdown_signal().await;
    tracing::info!("shutting down");
}

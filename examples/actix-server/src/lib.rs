//! The actix example server of mfa-guard, as a library so tests can serve its app.
//!
//! Everything it decides comes from `mfa-guard-core` through [`MfaMiddleware`]; the
//! route table, handler JSON and page, and development issuer come from `example-shared`,
//! which the axum example uses too, so both servers answer with the same status line,
//! headers and body (actix writes the headers in an order of its own).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use actix_web::middleware::{Condition, Logger};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, Resource, Route, web};
use example_shared::page::{Links, PAGE_HEADERS, UNMATCHED, caller_page, links};
use example_shared::{DevSite, Startup, areas, caller_body, health_body};
use mfa_guard_actix::{MfaMiddleware, Principal};
use mfa_guard_core::{Guard, RequestInfo};
use mfa_guard_dev::{DEV_SIGN_IN_PREFIX, DISCOVERY_PATH, JWKS_PATH};
use serde_json::Value;

/// The access log: method, path (never the query, which might carry a token the
/// guard refuses) and status, and no request header, so never `Authorization`.
const ACCESS_LOG: &str = r#"%a "%{method}xi %U" %s %b %Dms"#;

/// The app: the Partner Center routes (and, in development mode, the development
/// identity server's: its discovery and JWKS documents and sign-in pages) behind
/// [`MfaMiddleware`], inside an access log.
pub fn app(
    guard: Guard,
    dev: Option<DevSite>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let links = links(&guard, dev.is_some());
    let mut app = App::new();
    for area in areas() {
        let path = area.path();
        app = match area.name {
            "health" => app.service(get_only(path, health_body())),
            // `.+`, not `.*`: `/commerce/` is not the area, as in the axum example,
            // whose `{*rest}` needs at least one character.
            _ if area.is_prefix() => app
                .route(path, area_route((area.name, area.title), links.clone()))
                .route(&format!("{path}/{{tail:.+}}"), area_route((area.name, area.title), links.clone())),
            _ => app.route(path, area_route((area.name, area.title), links.clone())),
        };
    }
    if let Some(site) = dev {
        // The development identity server is an axum Router (example-shared's
        // DevSite): these routes hand it the request and copy its answer out.
        let site = Arc::new(site);
        for path in
            [DISCOVERY_PATH.to_owned(), JWKS_PATH.to_owned(), format!("{DEV_SIGN_IN_PREFIX}/{{endpoint:.+}}")]
        {
            app = app.route(&path, dev_route(Arc::clone(&site)));
        }
    }
    app.default_service(area_route(UNMATCHED, links))
        .wrap(MfaMiddleware::new(guard))
        // Outermost, so it logs refusals too; its format reads no request header.
        // actix's Logger renders parts of every request eagerly, whatever the log
        // level, so it is only in the stack when debug logging is on (like axum's
        // trace spans, which cost nothing when disabled).
        .wrap(Condition::new(
            log::log_enabled!(log::Level::Debug),
            Logger::new(ACCESS_LOG)
                .custom_request_replace("method", |req| req.method().to_string())
                .log_level(log::Level::Debug),
        ))
}

/// Any method: the development identity server's answer.
fn dev_route(site: Arc<DevSite>) -> Route {
    web::route().to(move |req: HttpRequest, body: web::Bytes| {
        let site = Arc::clone(&site);
        async move {
            let mut request =
                http::Request::builder().method(req.method().as_str()).uri(req.uri().to_string());
            for (name, value) in req.headers() {
                request = request.header(name.as_str(), value.as_bytes());
            }
            let Ok(request) = request.body(body) else {
                return HttpResponse::BadRequest().finish();
            };
            let (parts, body) = site.respond(request).await.into_parts();
            let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = HttpResponse::build(status);
            for (name, value) in &parts.headers {
                response.append_header((name.as_str(), value.as_bytes()));
            }
            response.body(body)
        }
    })
}

/// Any method: who called, and how they were admitted; as JSON, or as a page for a
/// person's browser (titled by the area's title, with the sign-out controls of `links`).
fn area_route((area, title): (&'static str, &'static str), links: Links) -> Route {
    web::route().to(move |req: HttpRequest, caller: Option<Principal>| {
        let links = links.clone();
        async move {
            let (method, path, caller) = (req.method().as_str(), req.uri().path(), caller.as_deref());
            if is_navigation(method, path, req.headers()) {
                let mut page = HttpResponse::Ok();
                for header in PAGE_HEADERS {
                    page.insert_header(header);
                }
                page.body(caller_page(area, title, method, path, caller, &links))
            } else {
                HttpResponse::Ok().json(caller_body(area, method, path, caller))
            }
        }
    })
}

/// Whether a person's browser asked for the page: core's rule, read from the
/// headers the middleware read.
fn is_navigation(method: &str, path: &str, headers: &HeaderMap) -> bool {
    RequestInfo::new(method, path)
        .with_authorizations(headers.get_all(AUTHORIZATION).map(HeaderValue::as_bytes))
        .with_navigation_headers(
            headers.get("sec-fetch-mode").map(HeaderValue::as_bytes),
            headers.get(ACCEPT).map(HeaderValue::as_bytes),
        )
        .is_navigation()
}

/// A fixed JSON document for `GET` (and `HEAD`); other methods get the same `405`
/// as the axum example's `get(..)` routes.
fn get_only(path: &str, body: Value) -> Resource {
    let body = Arc::new(body);
    let document = move || {
        let body = Arc::clone(&body);
        async move { HttpResponse::Ok().json(&*body) }
    };
    web::resource(path)
        .route(web::get().to(document.clone()))
        .route(web::head().to(document))
        .default_service(web::to(|| async {
            HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET,HEAD")).finish()
        }))
}

/// The server on `listener`, not yet running: await it (or spawn it) to serve.
/// actix-web stops it on SIGINT and SIGTERM.
pub fn server(listener: TcpListener, guard: Guard, dev: Option<DevSite>) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || app(guard.clone(), dev.clone())).listen(listener)?.run())
}

/// Binds, builds the guard (making the development issuer if none is configured),
/// prints the development banner, and serves until SIGINT or SIGTERM.
pub async fn run(startup: Startup) -> Result<(), String> {
    let addr = startup.listen_addr()?;
    let listener = TcpListener::bind(addr).map_err(|e| format!(
            "cannot listen on {addr}: {e} (another server on that port? stop it, or set MFA_LISTEN to another address)"
        ))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics = startup.bind_metrics()?;
    let (guard, dev) = startup.connect_store().await?.guard(bound)?;
    if let Some(metrics) = metrics {
        actix_web::rt::spawn(metrics.serve(guard.clone()));
    }
    let dev = dev.map(Arc::new);
    example_shared::announce("actix", dev.as_deref(), bound)?;
    actix_web::rt::spawn(example_shared::warm_up(guard.clone()));
    let server = server(listener, guard, dev.map(|d| DevSite::new(d, bound))).map_err(|e| e.to_string())?;
    server.await.map_err(|e| e.to_string())
}

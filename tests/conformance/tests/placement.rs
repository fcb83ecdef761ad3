//! Where the layer sits: the route table holds wherever an application places
//! `MfaLayer` or `MfaMiddleware` — at the top, outside the router, inside a nested
//! router or service whose prefix the router strips (axum's `nest`, `nest_service`),
//! inside actix's `scope`s and on single resources. Each placement serves the
//! Partner Center areas (each handler says which area it is) and runs the path
//! differential of `tests/paths.rs`: no generated path reaches a protected handler
//! under a weaker rule than that handler's.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::routing::{any, get};
use example_shared::{areas, caller_body};
use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::fixture::{Style, Tok, guard};
use mfa_guard_conformance::paths::{Caller, Generated, generate, run, seed_from_env};
use mfa_guard_core::Guard;
use mfa_guard_tower::{MfaLayer, Principal};
use tower::Layer as _;

/// Fewer paths than the main differential: each placement runs them all.
const PATHS: usize = 1_000;

fn tokens() -> Vec<(Caller, String)> {
    vec![
        (Caller::AdminMfa, Tok::AdminMfa.mint()),
        (Caller::UserNoMfa, Tok::AdminNoMfa.mint()),
        (Caller::App, Tok::App.mint()),
    ]
}

fn axum_area(area: &'static str) -> axum::routing::MethodRouter {
    any(move |caller: Option<Principal>, req: axum::extract::Request| async move {
        axum::Json(caller_body(area, req.method().as_str(), req.uri().path(), caller.as_deref()))
    })
}

/// A plain tower service (not axum) answering as the handler of `area`, reading the
/// principal from the request's extensions.
fn tower_area(
    area: &'static str,
) -> impl tower::Service<
    axum::extract::Request,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |req: axum::extract::Request| async move {
        let caller = req.extensions().get::<mfa_guard_core::Principal>().cloned();
        let body = caller_body(area, req.method().as_str(), req.uri().path(), caller.as_ref());
        Ok::<_, Infallible>(axum::response::IntoResponse::into_response(axum::Json(body)))
    })
}

async fn serve_axum(name: &'static str, app: Router) -> Target {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Target { name, addr }
}

/// Every area routed at the top level, in `router`.
fn axum_areas() -> Router {
    let mut router = Router::new();
    for area in areas() {
        let path = area.path();
        router = match area.name {
            "health" => router.route(path, get(|| async { axum::Json(example_shared::health_body()) })),
            _ if area.is_prefix() => router
                .route(path, axum_area(area.name))
                .route(&format!("{path}/{{*rest}}"), axum_area(area.name)),
            _ => router.route(path, axum_area(area.name)),
        };
    }
    router.fallback(axum_area("unmatched"))
}

async fn check(targets: &[Target], paths: &[Generated], seed: u64) {
    let tokens = tokens();
    let mut failures = Vec::new();
    for target in targets {
        let report = run(target, paths, &tokens).await;
        eprintln!("{}", report.summary(target.name));
        assert!(
            report.mutated_into_protected.len() >= 4,
            "{}: the placement routes too few mutated paths to protected handlers: {:?}",
            target.name,
            report.mutated_into_protected
        );
        failures.extend(report.failures);
    }
    assert!(
        failures.is_empty(),
        "{} failures (seed {seed}):\n{}",
        failures.len(),
        failures.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_placements_keep_every_handlers_rule() {
    let seed = seed_from_env();
    eprintln!("placement differential: {PATHS} paths from seed {seed} (replay with MFA_PATHS_SEED={seed})");
    let paths = generate(seed, PATHS);
    let g = guard(Style::PartnerCenter);

    // 1. Outside the router: the layer wraps the whole `Router` as a tower service.
    let outside = {
        let svc = MfaLayer::new(g.clone()).layer(axum_areas());
        Router::new().fallback_service(svc)
    };

    // 2. Inside nested routers: each area is its own router, nested at its prefix
    //    with the layer inside it, so the layer runs after axum stripped the prefix.
    let nested = {
        let mut top = Router::new()
            .route("/health", get(|| async { axum::Json(example_shared::health_body()) }))
            .route("/overview", axum_area("overview"))
            .fallback(axum_area("unmatched"))
            .layer(MfaLayer::new(g.clone()));
        for area in areas().into_iter().filter(|a| a.is_prefix()) {
            let inner = Router::new()
                .route("/", axum_area(area.name))
                .route("/{*rest}", axum_area(area.name))
                .layer(MfaLayer::new(g.clone()));
            top = top.nest(area.path(), inner);
        }
        top
    };

    // 3. Inside nested services that are not axum routers (`nest_service`).
    let nested_services = {
        let mut top = Router::new()
            .route("/health", get(|| async { axum::Json(example_shared::health_body()) }))
            .route("/overview", axum_area("overview"))
            .fallback(axum_area("unmatched"))
            .layer(MfaLayer::new(g.clone()));
        for area in areas().into_iter().filter(|a| a.is_prefix()) {
            top = top.nest_service(area.path(), MfaLayer::new(g.clone()).layer(tower_area(area.name)));
        }
        top
    };

    let targets = [
        serve_axum("axum, layer outside the router", outside).await,
        serve_axum("axum, layer inside nest", nested).await,
        serve_axum("axum, layer inside nest_service", nested_services).await,
    ];
    check(&targets, &paths, seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_placements_keep_every_handlers_rule() {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use mfa_guard_actix::MfaMiddleware;

    let seed = seed_from_env();
    eprintln!("placement differential: {PATHS} paths from seed {seed} (replay with MFA_PATHS_SEED={seed})");
    let paths = generate(seed, PATHS);
    let g = guard(Style::PartnerCenter);

    fn area_route(area: &'static str) -> actix_web::Route {
        web::route().to(move |req: HttpRequest, caller: Option<mfa_guard_actix::Principal>| async move {
            HttpResponse::Ok().json(caller_body(
                area,
                req.method().as_str(),
                req.uri().path(),
                caller.as_deref(),
            ))
        })
    }

    // Scopes and resources, each wrapped on its own: the middleware runs after actix
    // matched the scope's prefix.
    fn scoped(
        g: Guard,
    ) -> App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        let mut app = App::new();
        for area in areas() {
            let mw = MfaMiddleware::new(g.clone());
            app = if area.is_prefix() {
                app.service(
                    web::scope(area.path())
                        .wrap(mw)
                        .route("", area_route(area.name))
                        .route("/{tail:.+}", area_route(area.name)),
                )
            } else {
                app.service(web::resource(area.path()).wrap(mw).route(area_route(area.name)))
            };
        }
        app.service(web::scope("").wrap(MfaMiddleware::new(g)).default_service(area_route("unmatched")))
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let make = move || scoped(g.clone());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(make).workers(1).listen(listener).expect("listen").run();
            let _ = ready_tx.send(());
            let _ = server.await;
        });
    });
    ready_rx.recv().expect("the actix server starts");
    check(&[Target { name: "actix, middleware on scopes and resources", addr }], &paths, seed).await;
}

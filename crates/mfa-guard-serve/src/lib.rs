//! mfa-guard as the external authorizer of a proxy: the same engine, policy and
//! answers as the in-process adapters, asked by nginx (`auth_request`, and
//! ingress-nginx's `auth-url`), Traefik (`ForwardAuth`), Caddy (`forward_auth`) and
//! Envoy (`ext_authz`, HTTP and gRPC) about every request.
//!
//! | endpoint | asked by | the original request is read from | allow | deny |
//! |---|---|---|---|---|
//! | `/auth` | Traefik, Caddy | `X-Forwarded-Method`, `X-Forwarded-Uri` | `200` + identity headers | the refusal, as is |
//! | `/nginx/auth` | nginx `auth_request` | `X-Original-Method`, `X-Original-URI` (or ingress-nginx's `X-Original-URL`) | `200` + identity headers | a bare `401` (nginx understands only 401 and 403), for `error_page` |
//! | `/nginx/refusal` | nginx's `error_page` location | the same | — | the refusal, as is (nginx keeps its status line, reason phrase included) |
//! | `/envoy/…` | Envoy `ext_authz` HTTP (`path_prefix: /envoy`) | the request's own method and path | `200` + identity headers | the refusal, as is |
//! | gRPC `envoy.service.auth.v3.Authorization/Check` | Envoy `ext_authz` gRPC | `attributes.request.http` | `OK` + identity headers (client copies removed) | the refusal as Envoy's denied response |
//! | `/health` | probes | — | `200` | — |
//! | the browser's own paths (under [`DEFAULT_PREFIX`]) | the proxy, for the client | the request itself, on the application's origin | — | browser mode's answer, as is |
//!
//! **People at the gate.** When the guard signs people in with a browser
//! ([`GuardBuilder::browser`](mfa_guard_core::GuardBuilder::browser)), a top-level
//! navigation is decided as an in-process adapter decides it, with the session
//! cookie and fetch metadata of the client's request (every proxy passes them to
//! its authorizer): no session, a `302` to the provider; a session without the
//! rule's MFA, the step-up `302`; the 401 (`Unauthorized - MFA required`), 403
//! and 503 pages. Every endpoint delivers that answer as its proxy can: as is for
//! Traefik, Caddy and Envoy (HTTP, and gRPC's denied response); for nginx, the
//! bare `401` sends `error_page` to `/nginx/refusal`, which answers with it. An
//! admitted navigation's `200` carries the session's refreshed `Set-Cookie` for
//! the proxies that copy it to the client. The callback, sign-in, sign-out,
//! signed-out and back-channel logout paths are served on the application's own
//! origin: the proxy sends everything under one prefix ([`BrowserPrefix`], default
//! `/.mfa-guard/`) to `serve`, which answers them with their request's own method,
//! path and headers (and, for the provider's back-channel logout `POST`, its body,
//! at most 16 KiB). Sign-out and back-channel logout end sessions early only with
//! a session store shared by every replica (`MFA_SESSION_STORE`).
//!
//! The rule is chosen from the path as the client sent it: the application behind
//! the proxy routes the request again, its own way, so the guard is built with
//! [`PathRules::strict`](mfa_guard_core::PathRules::strict), which refuses every
//! path two routers could read differently (escapes of plain characters, `%2F`,
//! dot segments, `//`, `;`) before a rule is chosen. Nothing a client can send
//! chooses the rule: the method and URI headers are set by the proxy, which
//! replaces a client's copy, and a header found twice (a client's copy beside the
//! proxy's) is `400 invalid_request`, never a choice between them.
//!
//! The identity headers of an admitted caller are `X-Mfa-Guard-Oid`, `-Tid`,
//! `-Kind` (`user` or `app`), `-Roles` (comma-separated) and `-Mfa` (`true` or
//! `false`), plus the compliance header when one is configured. The recipes in
//! `deploy/` copy them to the upstream and strip any copy a client sent. A copy
//! under another spelling (`X_Mfa_Guard_Roles`, which CGI-style gateways read as
//! `X-Mfa-Guard-Roles`) passes a proxy untouched, so every endpoint refuses a
//! request carrying one (`400 invalid_request`): `spelling.rs` has the rule.
//!
//! [`AuthServer::serve_http`] serves the HTTP endpoints as `mfa-guard serve` does,
//! reading up to [`MAX_HEADERS`] header lines per request: a proxy asks with its
//! client's headers, more than hyper's default limit lets through.
//!
//! mfa-guard keeps no state but its caches: any number of replicas can stand
//! behind a proxy.

mod assertion;
mod browser;
mod envoy;
mod identity;
mod original;
mod peers;
mod routes;
mod spelling;
#[cfg(test)]
mod testing;

use std::sync::Arc;

pub use assertion::{
    ASSERTION_HEADER, ASSERTION_LIFETIME, AUDIENCE_CONTEXT_EXTENSION, AUDIENCE_HEADER, AssertionKeyError,
    AssertionKeys, Assertions, CACHE_CAPACITY, JWKS_PATH, REUSE_MARGIN,
};
pub use browser::{BrowserPrefix, DEFAULT_PREFIX, InvalidPrefix};
pub use envoy::EnvoyAuthorization;
pub use identity::IDENTITY_HEADERS;
use mfa_guard_core::Guard;
pub use peers::{
    DEFAULT_TRUSTED_PROXIES, InvalidTrustedProxies, TrustedProxies, UNTRUSTED_PEERS_METRIC, WARN_INTERVAL,
};

/// The authorization server: the HTTP endpoints and the Envoy gRPC service, all
/// deciding with one [`Guard`].
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use mfa_guard_core::{Guard, KeySource, PathRules, Policy};
/// use mfa_guard_serve::AuthServer;
///
/// let guard = Guard::partner_center()
///     .verifier(|v| {
///         v.issuer("https://sts.windows.net/{tenantid}/")
///             .keys(KeySource::discovery("https://login.microsoftonline.com/common/.well-known/openid-configuration"))
///             .tenants(["aaaabbbb-0000-cccc-1111-dddd2222eeee"])
///             .audience("https://api.partnercenter.microsoft.com")
///     })
///     // The upstream routes again, its own way: refuse what routers read differently.
///     .path_rules(PathRules::strict())
///     .build()?;
/// let server = AuthServer::new(guard);
/// let http = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
/// tokio::spawn({
///     let server = server.clone();
///     async move { server.serve_http(http, std::future::pending()).await }
/// });
/// tonic::transport::Server::builder()
///     .add_service(server.grpc())
///     .serve("127.0.0.1:9001".parse()?)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AuthServer {
    guard: Arc<Guard>,
    assertions: Option<Arc<Assertions>>,
    peers: TrustedProxies,
}

/// The most header lines one HTTP/1 request to the endpoints may carry when they are
/// served by [`AuthServer::serve_http`]; beyond it the answer is `431 Request Header
/// Fields Too Large`.
///
/// A proxy asks with the client's headers and a few of its own, so the bound sits
/// above what a proxy accepts from a client with its defaults: nginx accepts at most
/// 1,000 header lines (measured with nginx 1.22), and turns any answer of its
/// authorizer but 2xx, 401 and 403 into its own `500`. hyper's default, 100, made a
/// client's request of about 97 headers a `500` behind nginx. Caddy and Traefik
/// accept more (Go's 1 MiB of headers): beyond this bound they pass the `431` on.
/// hyper keeps the header slots of a request on the heap past its default of 100,
/// about 70 KiB for this bound, allocated and freed per request.
pub const MAX_HEADERS: usize = 1_100;

/// The connections accepted by `listener`, with `TCP_NODELAY` set: the gRPC
/// service answers in several HTTP/2 frames, which Nagle's algorithm would hold
/// back for the peer's delayed acknowledgement (tens of milliseconds per check).
/// Pass it to tonic's `serve_with_incoming`.
pub fn nodelay(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt as _;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

impl AuthServer {
    /// A server deciding with `guard`. Build the guard with
    /// [`PathRules::strict`](mfa_guard_core::PathRules::strict) unless every upstream
    /// reads paths exactly as the proxy does.
    ///
    /// It answers peers on this host only ([`TrustedProxies::loopback`]) and signs
    /// no identity assertion until given [`assertions`](Self::assertions).
    pub fn new(guard: Guard) -> Self {
        Self { guard: Arc::new(guard), assertions: None, peers: TrustedProxies::loopback() }
    }

    /// Signs an identity assertion for every admitted request whose proxy names
    /// the upstream, and publishes its keys at [`JWKS_PATH`] (see [`Assertions`]).
    #[must_use]
    pub fn assertions(mut self, assertions: Assertions) -> Self {
        self.assertions = Some(Arc::new(assertions));
        self
    }

    /// The proxies whose requests are answered (default: loopback); any other peer
    /// gets `403` on every endpoint but `/health` and [`JWKS_PATH`], and on the gRPC
    /// check.
    #[must_use]
    pub fn trusted_proxies(mut self, peers: TrustedProxies) -> Self {
        self.peers = peers;
        self
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The HTTP endpoints, as an axum router (see the table of the crate docs).
    /// Served by anything but [`serve_http`](Self::serve_http) (`axum::serve`, for
    /// one), requests get that server's limits: hyper's default refuses more than 100
    /// header lines, fewer than a proxy forwards (see [`MAX_HEADERS`]). The peer
    /// check needs each request's [`ConnectInfo`](axum::extract::ConnectInfo)
    /// (`into_make_service_with_connect_info::<SocketAddr>()`); without it every
    /// request but `/health` and [`JWKS_PATH`] is refused.
    pub fn router(&self) -> axum::Router {
        use axum::middleware::from_fn_with_state;
        let mut router = routes::router(Arc::clone(&self.guard));
        if let Some(assertions) = &self.assertions {
            let signer =
                assertion::Signer { assertions: Arc::clone(assertions), guard: Arc::clone(&self.guard) };
            router = router
                .layer(from_fn_with_state(signer.clone(), assertion::attach))
                .route(JWKS_PATH, axum::routing::get(assertion::jwks).with_state(signer));
        }
        router.layer(from_fn_with_state(self.peers.clone(), peers::only_trusted))
    }

    /// Serves the HTTP endpoints on `listener` until `shutdown` completes, then waits
    /// for the requests in flight: HTTP/1.1, and HTTP/2 with prior knowledge. Up to
    /// [`MAX_HEADERS`] header lines per HTTP/1 request, `431` beyond. Every connection
    /// gets `TCP_NODELAY`: an answer is small and written in a few pieces, which
    /// Nagle's algorithm would hold back for the peer's delayed acknowledgement.
    pub async fn serve_http(&self, listener: tokio::net::TcpListener, shutdown: impl Future<Output = ()>) {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto;
        use hyper_util::server::graceful::GracefulShutdown;
        use hyper_util::service::TowerToHyperService;

        // hyper directly, not axum::serve: axum offers no way to set hyper's header
        // limit.
        use tower_layer::Layer as _;
        let router = self.router();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().max_headers(MAX_HEADERS);
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        accept_failed(e).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY: {e}");
            }
            // The peer, for the trusted-proxy check (peers.rs).
            let service = TowerToHyperService::new(
                axum::Extension(axum::extract::ConnectInfo(peer)).layer(router.clone()),
            );
            let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::trace!("connection ended: {e}");
                }
            });
        }
        drop(listener);
        graceful.shutdown().await;
    }

    /// Envoy's `ext_authz` gRPC service.
    pub fn grpc(&self) -> envoy_types::ext_authz::v3::pb::AuthorizationServer<EnvoyAuthorization> {
        envoy_types::ext_authz::v3::pb::AuthorizationServer::new(EnvoyAuthorization::new(
            Arc::clone(&self.guard),
            self.assertions.clone(),
            self.peers.clone(),
        ))
    }
}

/// What `accept` failing means: a connection that died in the queue is nothing; any
/// other error (out of file descriptors) is logged and waited out for a second
/// rather than retried at once in a busy loop, as `axum::serve` does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!("cannot accept a connection: {e}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}

//! `mfa-guard serve`: mfa-guard as the external authorizer of a proxy (nginx
//! `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth`, Envoy `ext_authz`
//! over HTTP and gRPC), configured by the same environment as the example servers.

use std::net::SocketAddr;

use mfa_guard_core::PathRules;
use mfa_guard_core::config::Environment;
use mfa_guard_serve::{AuthServer, BrowserPrefix};

use crate::exit::{Exit, Failure};
use crate::out::outln;

/// Options of `serve` (the rest comes from the `MFA_*` environment).
#[derive(Debug)]
pub(crate) struct Options {
    /// Overrides `MFA_LISTEN`.
    pub(crate) listen: Option<String>,
    /// The gRPC listener (overrides `MFA_GRPC_LISTEN`); none unless given.
    pub(crate) grpc_listen: Option<String>,
}

fn env_failure(e: impl std::fmt::Display) -> Failure {
    Failure::error(e.to_string()).hint("see `mfa-guard serve --help` for the MFA_* variables")
}

/// Reads the environment, builds the guard (before binding, so a configuration
/// mistake is said even when a port is taken), binds, and serves until SIGINT or
/// SIGTERM.
pub(crate) fn run(options: &Options) -> Result<Exit, Failure> {
    mfa_guard_runtime::init_logs();
    let env = Environment::from_lookup(|name| {
        let cli = match name {
            "MFA_LISTEN" => options.listen.clone(),
            "MFA_GRPC_LISTEN" => options.grpc_listen.clone(),
            _ => None,
        };
        cli.or_else(|| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    })
    .map_err(env_failure)?;
    if env.is_dev_mode() {
        // A configuration error (exit 1) like any other: the arguments were fine.
        return Err(Failure::error("mfa-guard serve needs an issuer and its keys").hint(
            "set MFA_ISSUER with MFA_JWKS_URL, or MFA_DISCOVERY_URL (and MFA_AUDIENCE), or [[issuers]] in MFA_CONFIG; \
             to try it locally, run `mfa-guard dev-issuer` and point MFA_DISCOVERY_URL at it",
        ));
    }
    let http = env.listen_addr().map_err(env_failure)?;
    // People at the gate: browser sign-in as the example servers read it
    // (MFA_OIDC_*, MFA_SESSION_KEYS, MFA_STEP_UP, the [browser] table), its own
    // paths under the prefix the proxy sends to serve.
    let prefix = browser_prefix()?;
    let browser = match env.browser(http).map_err(env_failure)? {
        Some(b) => Some(match env.config() {
            Some(config) => prefix.place_configured(b, config).map_err(|e| {
                Failure::error(e.to_string()).hint("MFA_BROWSER_PREFIX decides where serve answers browsers")
            })?,
            None => prefix.place(b),
        }),
        None => None,
    };
    if browser.is_none() && env.config().is_some_and(mfa_guard_core::config::Config::has_browser) {
        tracing::warn!(
            "MFA_CONFIG has a [browser] table but no client id (client_id, or MFA_OIDC_CLIENT_ID): \
             browser sign-in is off, and browsers get the API's answers"
        );
    }
    // The session store (MFA_SESSION_STORE, or [browser] session_store): read now,
    // connected once the runtime runs, shared by sign-out and back-channel logout.
    let store = env.session_store().map_err(env_failure)?;
    if browser.is_some() && store.is_none() {
        tracing::warn!(
            "sessions are cookie-only: sign-out and back-channel logout cannot end a copied session \
             before it expires; set MFA_SESSION_STORE (memory, or redis://… for several replicas) to \
             revoke sessions"
        );
    }
    if browser.is_none() && store.is_some() {
        tracing::warn!("a session store is configured but browser sign-in is off: serve does not use it");
    }
    // The upstream behind the proxy routes the request again, its own way.
    let build = |browser: Option<mfa_guard_core::browser::Browser>| {
        let mut builder = env.builder().map_err(env_failure)?.path_rules(env.path_rules(PathRules::strict()));
        if let Some(browser) = browser {
            builder = builder.browser(browser);
        }
        builder.build().map_err(env_failure)
    };
    // Built now without the store, so a configuration mistake is said before
    // connecting anywhere; built again below with the store once it is connected.
    let guard = build(browser.clone())?;
    prefix.check(&guard).map_err(|e| {
        Failure::error(e.to_string()).hint("set MFA_OIDC_REDIRECT_URI to a URI under MFA_BROWSER_PREFIX")
    })?;
    let grpc = env.grpc_addr().map_err(env_failure)?;
    let metrics = env.metrics_addr().map_err(env_failure)?;
    let peers = trusted_proxies()?;
    let assertions = assertions()?;
    crate::runtime::for_servers()?.block_on(async {
        let guard = match (browser, store) {
            (Some(browser), Some(settings)) => {
                let revocations = mfa_guard_core::revocation::Revocations::connect(settings)
                    .await
                    .map_err(|e| Failure::error(format!("session store: {e}")))?;
                build(Some(browser.session_store(revocations)))?
            }
            _ => guard,
        };
        let server = AuthServer::new(guard).trusted_proxies(peers).assertions(assertions);
        serve(server, http, grpc, metrics).await
    })
}

/// `MFA_TRUSTED_PROXIES`: the peers whose requests serve answers (comma-separated
/// CIDRs; default loopback).
fn trusted_proxies() -> Result<mfa_guard_serve::TrustedProxies, Failure> {
    match std::env::var("MFA_TRUSTED_PROXIES") {
        Ok(spec) if !spec.trim().is_empty() => mfa_guard_serve::TrustedProxies::parse(&spec).map_err(|e| {
            Failure::error(format!("MFA_TRUSTED_PROXIES: {e}"))
                .hint("name the proxies' networks, e.g. MFA_TRUSTED_PROXIES=10.0.0.0/8,fd00::/8")
        }),
        _ => Ok(mfa_guard_serve::TrustedProxies::loopback()),
    }
}

/// The identity assertions: issued as `MFA_ASSERTION_ISSUER` (default
/// `mfa-guard-serve`), signed with the keys of `MFA_ASSERTION_KEYS` (PKCS#8 files,
/// the signing key first), or with a key made now, which only this process holds.
fn assertions() -> Result<mfa_guard_serve::Assertions, Failure> {
    use mfa_guard_serve::{AssertionKeys, Assertions};
    let var = |name| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let keys = match var("MFA_ASSERTION_KEYS") {
        Some(paths) => AssertionKeys::read_files(&paths).map_err(|e| {
            Failure::error(format!("MFA_ASSERTION_KEYS: {e}")).hint(
                "comma-separated PKCS#8 P-256 key files, the signing key first \
                 (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out assertion.pem`)",
            )
        })?,
        None => {
            outln!(
                "identity assertions signed with a key made at start (MFA_ASSERTION_KEYS unset): upstreams \
                 verify only this process's assertions; give replicas the same key files"
            )?;
            AssertionKeys::generate().map_err(|e| Failure::error(e.to_string()))?
        }
    };
    let issuer = var("MFA_ASSERTION_ISSUER").unwrap_or_else(|| "mfa-guard-serve".to_owned());
    Assertions::new(issuer, keys).map_err(|e| Failure::error(format!("MFA_ASSERTION_ISSUER: {e}")))
}

/// `MFA_BROWSER_PREFIX`: where the browser's own paths live on the application's
/// origin (default `/.mfa-guard/`).
fn browser_prefix() -> Result<BrowserPrefix, Failure> {
    match std::env::var("MFA_BROWSER_PREFIX") {
        Ok(p) if !p.trim().is_empty() => p.trim().parse().map_err(|e: mfa_guard_serve::InvalidPrefix| {
            Failure::error(format!("MFA_BROWSER_PREFIX: {e}"))
                .hint(format!("the default, {}, suits every application", mfa_guard_serve::DEFAULT_PREFIX))
        }),
        _ => Ok(BrowserPrefix::default()),
    }
}

async fn serve(
    server: AuthServer,
    http: SocketAddr,
    grpc: Option<SocketAddr>,
    metrics: Option<SocketAddr>,
) -> Result<Exit, Failure> {
    let listener = tokio::net::TcpListener::bind(http).await.map_err(|e| {
        Failure::error(format!("cannot listen on {http}: {e}")).hint("pick another MFA_LISTEN")
    })?;
    let bound =
        listener.local_addr().map_err(|e| Failure::error(format!("cannot read the bound address: {e}")))?;
    if let Some(addr) = metrics {
        let listener = mfa_guard_metrics::MetricsListener::bind(addr)
            .map_err(|e| Failure::error(format!("MFA_METRICS_LISTEN: {e}")))?;
        outln!("metrics on http://{}/metrics", listener.local_addr())?;
        tokio::spawn(listener.serve(server.guard().clone()));
    }
    let grpc_listener = match grpc {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure::error(format!("cannot listen on {addr} for gRPC: {e}")))?;
            let bound =
                l.local_addr().map_err(|e| Failure::error(format!("cannot read the bound address: {e}")))?;
            outln!("grpc ext_authz on {bound}")?;
            Some(l)
        }
        None => None,
    };
    outln!("listening on http://{bound}")?;
    tokio::spawn({
        let guard = server.guard().clone();
        async move { guard.verifier().warm_up().await }
    });
    // serve_http sets TCP_NODELAY on every connection, as nodelay() below does for
    // gRPC: an answer is small and written in a few pieces, which Nagle's algorithm
    // would hold back (measured: a gRPC check on a fresh connection 23 ms with it,
    // 1.3 ms without). It also reads more header lines than hyper's default 100
    // (mfa_guard_serve::MAX_HEADERS).
    let http_server = server.serve_http(listener, crate::runtime::shutdown_signal());
    match grpc_listener {
        Some(l) => {
            let incoming = mfa_guard_serve::nodelay(l);
            let grpc_server = tonic::transport::Server::builder()
                .add_service(server.grpc())
                .serve_with_incoming_shutdown(incoming, crate::runtime::shutdown_signal());
            let ((), g) = tokio::join!(http_server, grpc_server);
            g.map_err(|e| Failure::error(format!("the gRPC server failed: {e}")))?;
        }
        None => http_server.await,
    }
    Ok(Exit::Ok)
}

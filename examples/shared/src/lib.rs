//! What both example servers share, so the axum and actix examples differ only in
//! framework glue: starting from the environment contract (core's
//! [`Environment`]), the development banner, the Partner Center route table (the
//! preset's own areas) and what their handlers answer: JSON to programs, and to a
//! person's browser the page of [`page`].

pub mod page;
pub mod testkit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use mfa_guard_core::browser::Browser;
use mfa_guard_core::config::Environment;
use mfa_guard_core::revocation::{Revocations, StoreSettings};
use mfa_guard_core::{Guard, Policy, Principal, Role};
use mfa_guard_dev::DevIssuer;
use mfa_guard_dev::server::DevIdp;
#[cfg(doc)]
use mfa_guard_dev::{DEV_SIGN_IN_PREFIX, DISCOVERY_PATH, JWKS_PATH};
use mfa_guard_metrics::MetricsListener;
use serde_json::{Value, json};

/// The start-up line of browser mode without a session store.
pub const COOKIE_ONLY: &str = "sessions are cookie-only: sign-out and back-channel logout cannot end a copied session before it expires; set MFA_SESSION_STORE (memory, or redis://… for several replicas) to revoke sessions";

/// The start-up line of development mode without a session store: the memory
/// store stands in, so revocation works with nothing else running.
pub const DEV_MEMORY_STORE: &str = "development mode: sessions use the in-process memory store, so sign-out and the development issuer's \"Sign out at the provider\" (a back-channel logout) end them at once; it is this process's own: set MFA_SESSION_STORE=redis://… to share revocations between replicas";

/// How long the printed development tokens are valid.
pub const DEV_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// What a server knows before it binds: its environment (`MFA_*`, see
/// [`Environment`]) and, outside development mode, its guard — built before
/// binding, so a configuration mistake is reported even when the port is taken.
#[derive(Debug)]
pub struct Startup {
    env: Environment,
    configured: Option<Guard>,
    /// `MFA_SESSION_STORE` (or `[browser] session_store`), read before binding.
    store: Option<StoreSettings>,
    /// The store, once [`Startup::connect_store`] connected it; in development
    /// mode without one, the memory store ([`DEV_MEMORY_STORE`]).
    revocations: Option<Revocations>,
}

impl Startup {
    /// Reads the process environment and builds what can be built before binding.
    pub fn from_env() -> Result<Self, String> {
        Self::new(Environment::from_env().map_err(|e| e.to_string())?)
    }

    /// The same from variables looked up through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Self::new(Environment::from_lookup(get).map_err(|e| e.to_string())?)
    }

    fn new(env: Environment) -> Result<Self, String> {
        let store = env.session_store().map_err(|e| e.to_string())?;
        // Development mode is one process with its own provider: revocations kept in
        // memory are the whole truth there, so sign-out and back-channel logout work
        // with nothing else running. Elsewhere no store means cookie-only sessions.
        let revocations = (store.is_none() && env.is_dev_mode()).then(Revocations::memory);
        let configured = if env.is_dev_mode() {
            None
        } else {
            let mut builder = env.builder().map_err(|e| e.to_string())?;
            // Outside development mode the redirect URI names the server's address,
            // so the bound one is not needed.
            let unbound = SocketAddr::from(([127, 0, 0, 1], 0));
            if let Some(browser) = env.browser(unbound).map_err(|e| e.to_string())? {
                builder = builder.browser(browser);
            }
            Some(builder.build().map_err(|e| e.to_string())?)
        };
        Ok(Self { env, configured, store, revocations })
    }

    /// Connects the session store when one is configured (`MFA_SESSION_STORE`, or
    /// the file's `[browser] session_store`): once per process, before
    /// [`guard`](Self::guard), so every worker's guard shares it and sign-out,
    /// back-channel logout and `revoke_user` end sessions early. Without one, does
    /// nothing: sessions are their cookies alone, except in development mode, which
    /// uses the memory store.
    pub async fn connect_store(mut self) -> Result<Self, String> {
        if let Some(settings) = self.store.clone() {
            let revocations =
                Revocations::connect(settings).await.map_err(|e| format!("session store: {e}"))?;
            self.revocations = Some(revocations);
        }
        Ok(self)
    }

    /// Browser mode as the environment describes it, sharing the connected store.
    fn browser(&self, bound: SocketAddr) -> Result<Option<Browser>, String> {
        let browser = self.env.browser(bound).map_err(|e| e.to_string())?;
        match (browser, &self.revocations, &self.store) {
            (Some(b), Some(revocations), store) => {
                if store.is_none() {
                    eprintln!("{DEV_MEMORY_STORE}");
                }
                Ok(Some(b.session_store(revocations.clone())))
            }
            (Some(_), None, Some(_)) => Err(
                "a session store is configured (MFA_SESSION_STORE) but not connected: call Startup::connect_store first"
                    .to_owned(),
            ),
            (Some(b), None, None) => {
                eprintln!("{COOKIE_ONLY}");
                Ok(Some(b))
            }
            (None, ..) => Ok(None),
        }
    }

    /// The address to bind (`MFA_LISTEN`, names resolved).
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.env.listen_addr().map_err(|e| e.to_string())
    }

    /// Binds `MFA_METRICS_LISTEN`, when it is set, for a listener of its own that
    /// serves Prometheus metrics (`mfa_guard_decisions_total` and the others of
    /// `mfa_guard_core::metrics`) at `/metrics` and the guard's MFA adoption report
    /// at `/mfa-adoption` ([`mfa_guard_metrics`]), and says where. Call it before the
    /// first request (counters attach to the recorder installed when they are first
    /// used), and spawn [`MetricsListener::serve`] once the guard is built.
    pub fn bind_metrics(&self) -> Result<Option<MetricsListener>, String> {
        let Some(addr) = self.env.metrics_addr().map_err(|e| e.to_string())? else { return Ok(None) };
        let listener = MetricsListener::bind(addr).map_err(|e| format!("MFA_METRICS_LISTEN: {e}"))?;
        println!("metrics on http://{}/metrics", listener.local_addr());
        Ok(Some(listener))
    }

    /// The guard; in development mode made now, on an issuer named after `bound`
    /// (the address actually bound), which is returned too.
    pub fn guard(mut self, bound: SocketAddr) -> Result<(Guard, Option<DevIssuer>), String> {
        if let Some(prebuilt) = self.configured.take() {
            if self.revocations.is_none() {
                // Says when browser mode is cookie-only; refuses a store left unconnected.
                self.browser(bound)?;
                return Ok((prebuilt, None));
            }
            // Built before binding without the store; built again to share it.
            let mut builder = self.env.builder().map_err(|e| e.to_string())?;
            if let Some(browser) = self.browser(bound)? {
                builder = builder.browser(browser);
            }
            return Ok((builder.build().map_err(|e| e.to_string())?, None));
        }
        let dev = DevIssuer::for_server(bound).map_err(|e| format!("development issuer: {e}"))?;
        let embedded = dev.development().map_err(|e| format!("development issuer: {e}"))?;
        let mut builder = self.env.development_builder(bound, &embedded).map_err(|e| e.to_string())?;
        if let Some(browser) = self.browser(bound)? {
            builder = builder.browser(browser);
        }
        Ok((builder.build().map_err(|e| e.to_string())?, Some(dev)))
    }
}

/// The routes both servers serve: the areas of the Partner Center preset (the same
/// list the policy is made from); anything else answers as `unmatched`.
pub fn areas() -> Vec<mfa_guard_core::policy::Area> {
    Policy::partner_center_areas()
}

/// The answer of `/health`.
pub fn health_body() -> Value {
    json!({ "status": "ok" })
}

/// The answer of every other route: who called, and how they were admitted. A
/// request that report-only mode let through says what it would have been refused
/// with (`report_only`).
pub fn caller_body(area: &str, method: &str, path: &str, caller: Option<&Principal>) -> Value {
    let mut body = match caller {
        Some(p) => json!({
            "area": area,
            "method": method,
            "path": path,
            "kind": p.kind().as_str(),
            "oid": p.oid(),
            "tid": p.tid(),
            "upn": p.upn(),
            "roles": p.roles().map(Role::name).collect::<Vec<_>>(),
            "mfa": p.mfa(),
        }),
        None => json!({ "area": area, "method": method, "path": path, "kind": null }),
    };
    if let Some(r) = caller.and_then(Principal::report_only_refusal) {
        body["report_only"] = json!({ "would_refuse": r.code().as_str(), "status": r.status() });
    }
    body
}

/// What a development-mode server serves beside its routes: the development
/// identity server of `mfa-guard-dev` (its discovery and JWKS documents and its
/// sign-in endpoints), shared by every worker of the server (codes issued by one
/// are exchanged at another).
#[derive(Debug, Clone)]
pub struct DevSite {
    /// The issuer.
    pub issuer: Arc<DevIssuer>,
    /// Where the server listens.
    pub bound: SocketAddr,
    /// The development identity server, for the server's own client.
    pub idp: Arc<DevIdp>,
    router: axum::Router,
}

impl DevSite {
    /// The site of `issuer` for a server bound at `bound`.
    pub fn new(issuer: Arc<DevIssuer>, bound: SocketAddr) -> Self {
        let idp = Arc::new(DevIdp::new(Arc::clone(&issuer), &format!("http://{bound}")));
        let router = Arc::clone(&idp).router();
        DevSite { issuer, bound, idp, router }
    }

    /// The same site serving `client` instead of the server's own (another
    /// back-channel logout URI, say).
    #[must_use]
    pub fn with_client(self, client: mfa_guard_dev::server::Client) -> Self {
        let base = self.idp.base().to_owned();
        let idp = Arc::new(DevIdp::new(Arc::clone(&self.issuer), &base).with_client(client));
        let router = Arc::clone(&idp).router();
        DevSite { idp, router, ..self }
    }

    /// The identity server's routes ([`DISCOVERY_PATH`], [`JWKS_PATH`], and the
    /// sign-in endpoints under [`DEV_SIGN_IN_PREFIX`]), for a server on axum to merge
    /// into its own.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// The identity server's answer to `request`, for a server on another framework
    /// than axum (the actix example), which translates the request and the answer:
    /// the same server, so both examples answer alike.
    pub async fn respond(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;

        let Ok(response) = self.router().oneshot(request.map(axum::body::Body::from)).await;
        let (parts, body) = response.into_parts();
        // The server's own answers (pages, JSON documents): small, and read whole.
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => Bytes::new(),
        };
        http::Response::from_parts(parts, body)
    }
}

/// The OpenID configuration the development issuer serves (with its sign-in
/// endpoints, [`mfa_guard_dev::server`]).
pub fn discovery_document(dev: &DevIssuer, bound: SocketAddr) -> Value {
    mfa_guard_dev::discovery(dev, &format!("http://{bound}"))
}

/// The development tokens printed at start: user with MFA, user without, app-only.
pub fn dev_tokens(dev: &DevIssuer) -> Result<[(&'static str, String); 3], String> {
    let sign = |spec: mfa_guard_dev::TokenSpec<'_>| {
        spec.lifetime(DEV_TOKEN_LIFETIME).sign().map_err(|e| e.to_string())
    };
    Ok([
        ("TOKEN_MFA", sign(dev.user())?),
        ("TOKEN_NO_MFA", sign(dev.user().mfa(false))?),
        ("TOKEN_APP", sign(dev.app())?),
    ])
}

/// What a development-mode server prints: where it listens, ready-to-paste tokens
/// and curl lines showing a 200, the MFA-required 401 and a 403.
pub fn dev_banner(framework: &str, dev: &DevIssuer, bound: SocketAddr) -> Result<String, String> {
    let tokens = dev_tokens(dev)?;
    let base = format!("http://{bound}");
    let mut out = format!(
        "mfa-guard example ({framework}) in development mode\n\
         listening on http://{bound}\n\
         issuer       {}  (embedded development issuer; its key was made at start)\n\
         discovery    {base}/.well-known/openid-configuration\n\n\
         Development tokens, valid {} hours on this server only: its key is made at start, so\n\
         paste them again after a restart (the other example prints the same names for its\n\
         own tokens, so the lines below work against either). Paste into your shell:\n",
        dev.issuer(),
        DEV_TOKEN_LIFETIME.as_secs() / 3600,
    );
    for (name, token) in &tokens {
        out.push_str(&format!("export {name}='{token}'\n"));
    }
    out.push_str(&format!(
        "\nTry:\n\
         curl -i {base}/health\n\
         curl -i -H \"Authorization: Bearer $TOKEN_MFA\" {base}/commerce/customers      # 200\n\
         curl -i -H \"Authorization: Bearer $TOKEN_NO_MFA\" {base}/commerce/customers   # 401 Unauthorized - MFA required\n\
         curl -i -H \"Authorization: Bearer $TOKEN_APP\" {base}/v1/customers/contoso    # 403 app_only_not_allowed\n\
         curl -i -H \"Authorization: Bearer $TOKEN_APP\" {base}/v1/catalog/prices       # 200 (apps allowed)\n\n\
         In a browser (sign in on the development issuer's page; pick \"password\" to be asked\n\
         for MFA when a page needs it, or the user whose MFA is not recognised):\n\
         open {base}/commerce/customers\n\n\
         Then end the session at the provider (\"Sign out at the provider\" sends this server a\n\
         back-channel logout token; the same cookie then opens no MFA page):\n\
         open {base}{}/sign-out\n",
        mfa_guard_dev::DEV_SIGN_IN_PREFIX,
    ));
    Ok(out)
}

/// Says on stdout where the server listens: in development mode the whole banner
/// (tokens and curl lines), otherwise one `listening on http://ADDR` line, which
/// scripts that bind port 0 read.
pub fn announce(framework: &str, dev: Option<&DevIssuer>, bound: SocketAddr) -> Result<(), String> {
    use std::io::Write as _;
    match dev {
        Some(issuer) => print!("{}", dev_banner(framework, issuer, bound)?),
        None => println!("listening on http://{bound}"),
    }
    std::io::stdout().flush().map_err(|e| format!("cannot write to stdout: {e}"))
}

/// Fetches every issuer's signing keys once, at start, so an unreachable key
/// source is reported now rather than at the first request; the server keeps
/// serving either way (requests retry the fetch with backoff).
pub async fn warm_up(guard: Guard) {
    guard.verifier().warm_up().await;
}

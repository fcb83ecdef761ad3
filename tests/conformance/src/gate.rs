//! People at the gate: what the gate suites (`gate_browser`, `gate_paths`,
//! `gate_envoy`) stand up before their proxy — the plain Python application, the
//! development identity server on an origin of its own, and serve's guard as
//! `mfa-guard serve` builds it from its environment with browser sign-in on.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use mfa_guard_core::config::Environment;
use mfa_guard_core::revocation::Revocations;
use mfa_guard_core::{Guard, PathRules};
use mfa_guard_dev::server::{Client, DevIdp};
use mfa_guard_dev::{DEV_AUDIENCE, DEV_CLIENT_ID, DEV_TENANT, DISCOVERY_PATH, DevIssuer, JWKS_PATH};
use mfa_guard_serve::BrowserPrefix;
use serde_json::Value;

/// The session keys of the gate's guard (a test key: all zeros).
pub const SESSION_KEYS: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// A child process killed (and reaped) when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The plain Python application (`tests/upstream/echo.py`), on a free port; it also
/// stops when its stdin closes.
pub fn start_application() -> (Killed, SocketAddr) {
    let mut child = Killed(
        Command::new("python3")
            .arg(repo_root().join("tests/upstream/echo.py"))
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3: {e}")),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("stdout")).read_line(&mut line).expect("its first line");
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("echo.py said {line:?}"));
    let addr = ready["listening"].as_str().and_then(|a| a.parse().ok()).expect("its address");
    (child, addr)
}

/// The development identity server on an origin of its own, for the client whose
/// pages are at `gate` (the proxy's origin) under the default prefix.
pub async fn start_provider(gate: SocketAddr) -> (Arc<DevIssuer>, String) {
    let prefix = BrowserPrefix::default();
    start_provider_for(Client::new(
        DEV_CLIENT_ID,
        format!("http://{gate}{}", prefix.path("callback")),
        format!("http://{gate}{}", prefix.path("signed-out")),
    ))
    .await
}

/// The development identity server on an origin of its own, for `client` (an
/// example server elsewhere: [`Client::at`] its origin); its issuer, and its base
/// URL (`http://127.0.0.1:port`).
pub async fn start_provider_for(client: Client) -> (Arc<DevIssuer>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let bound = listener.local_addr().expect("addr");
    let issuer = Arc::new(DevIssuer::for_server(bound).expect("a development key"));
    let base = format!("http://{bound}");
    let idp = Arc::new(DevIdp::new(Arc::clone(&issuer), &base).with_client(client));
    tokio::spawn(async move { axum::serve(listener, idp.router()).await });
    (issuer, base)
}

/// The environment of an application signing people in through the provider of
/// [`start_provider_for`] (`issuer`, at `provider`), its tokens checked as the
/// development issuer's, its callback at `redirect_uri`, sessions sealed with
/// [`SESSION_KEYS`].
pub fn provider_env(issuer: &DevIssuer, provider: &str, redirect_uri: String) -> Vec<(&'static str, String)> {
    vec![
        ("MFA_ISSUER", issuer.issuer().to_owned()),
        ("MFA_TENANTS", DEV_TENANT.to_owned()),
        ("MFA_JWKS_URL", format!("{provider}{JWKS_PATH}")),
        ("MFA_AUDIENCE", DEV_AUDIENCE.to_owned()),
        ("MFA_OIDC_CLIENT_ID", DEV_CLIENT_ID.to_owned()),
        ("MFA_OIDC_REDIRECT_URI", redirect_uri),
        ("MFA_OIDC_DISCOVERY_URL", format!("{provider}{DISCOVERY_PATH}")),
        ("MFA_SESSION_KEYS", SESSION_KEYS.to_owned()),
    ]
}

/// serve's guard as `mfa-guard serve` builds it from its environment: the
/// provider's tokens, strict path rules, browser sign-in for the client at `gate`.
pub fn gate_guard(issuer: &DevIssuer, provider: &str, gate: SocketAddr) -> Guard {
    gate_guard_with_store(issuer, provider, gate, None)
}

/// [`gate_guard`] whose sessions are checked against `store` (what `serve` connects
/// when `MFA_SESSION_STORE` is set): sign-out and back-channel logout end them.
pub fn gate_guard_with_store(
    issuer: &DevIssuer,
    provider: &str,
    gate: SocketAddr,
    store: Option<Revocations>,
) -> Guard {
    let prefix = BrowserPrefix::default();
    let vars = provider_env(issuer, provider, format!("http://{gate}{}", prefix.path("callback")));
    gate_guard_from(&vars, gate, store)
}

/// serve's guard as `mfa-guard serve` builds it from the environment `vars`: strict
/// path rules, browser sign-in (which `vars` must turn on) for the client at `gate`,
/// its pages under the default prefix, its sessions checked against `store`.
pub fn gate_guard_from(vars: &[(&str, String)], gate: SocketAddr, store: Option<Revocations>) -> Guard {
    let prefix = BrowserPrefix::default();
    let env = Environment::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("the environment");
    let mut browser = env.browser(gate).expect("browser settings").expect("browser sign-in is on");
    if let Some(store) = store {
        browser = browser.session_store(store);
    }
    let guard = env
        .builder()
        .expect("the builder")
        .path_rules(env.path_rules(PathRules::strict()))
        .browser(prefix.place(browser))
        .build()
        .expect("the guard");
    prefix.check(&guard).expect("every browser path under the prefix");
    guard
}

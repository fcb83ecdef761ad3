//! Starting the example servers in this process, each on its own loopback port.

use std::net::SocketAddr;
use std::sync::Arc;

use example_shared::DevSite;
use mfa_guard_core::Guard;
use mfa_guard_dev::DevIssuer;

use crate::cases::Target;

/// Every example server, each serving with `guard` (one process serving both
/// frameworks would share it). A new adapter's example is one entry here, and
/// every suite that runs "on both servers" runs on it.
pub async fn all(guard: Guard) -> Vec<Target> {
    vec![start_axum(guard.clone()).await, start_actix(guard)]
}

/// Every example server, each started from `env` as its `MFA_*` variables would
/// start it, the session store it names connected ([`start_axum_connected`]).
pub async fn all_from_env(env: &[(&str, String)]) -> Result<Vec<Target>, String> {
    all_from_env_with(env, |site| site).await
}

/// [`all_from_env`], each server's development identity server (in development
/// mode) made by `site` of the one it would embed: another client, say.
pub async fn all_from_env_with(
    env: &[(&str, String)],
    site: impl Fn(DevSite) -> DevSite,
) -> Result<Vec<Target>, String> {
    Ok(vec![serve_axum(env, bind()?, &site).await?.target, serve_actix(env, bind()?, &site).await?.target])
}

/// Serves the axum example's router with `guard` on an ephemeral port.
pub async fn start_axum(guard: Guard) -> Target {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let app = example_axum_server::app(guard, None);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Target { name: "axum", addr }
}

/// Serves the actix example's app with `guard` on an ephemeral port, in a thread of
/// its own running an actix system (actix services are not `Send`).
pub fn start_actix(guard: Guard) -> Target {
    start_actix_with(guard, None).expect("the actix example starts")
}

fn start_actix_with(guard: Guard, dev: Option<DevSite>) -> Result<Target, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    start_actix_on(listener, guard, dev)?;
    Ok(Target { name: "actix", addr })
}

fn start_actix_on(listener: std::net::TcpListener, guard: Guard, dev: Option<DevSite>) -> Result<(), String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match example_actix_server::server(listener, guard, dev) {
                Ok(server) => {
                    let _ = ready_tx.send(Ok(()));
                    let _ = server.await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
        });
    });
    ready_rx.recv().map_err(|_| "the actix thread ended early".to_owned())?
}

/// An example server started from an environment with its session store connected
/// (`MFA_SESSION_STORE`, as the examples' `run` connects it), so sign-out and
/// back-channel logout revoke through it.
#[derive(Debug)]
pub struct Started {
    /// Where it listens.
    pub target: Target,
    /// The guard it serves with (a clone: the same store, keys and provider).
    pub guard: Guard,
    /// In development mode, its development issuer (whose key it trusts).
    pub dev: Option<Arc<DevIssuer>>,
}

/// Reads `env` as the `MFA_*` variables, connects the session store it names
/// (`MFA_SESSION_STORE`, as the examples' `run` does before it serves), and makes
/// the guard (and development issuer) of a server on `listener`. Every starter from
/// an environment goes through here, so none can start without the store its
/// environment names.
async fn connected_guard(
    env: &[(&str, String)],
    listener: &std::net::TcpListener,
) -> Result<(SocketAddr, Guard, Option<Arc<DevIssuer>>), String> {
    let startup =
        example_shared::Startup::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))?
            .connect_store()
            .await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (guard, dev) = startup.guard(addr)?;
    Ok((addr, guard, dev.map(Arc::new)))
}

/// A loopback listener on an ephemeral port.
fn bind() -> Result<std::net::TcpListener, String> {
    std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))
}

/// Serves the axum example from `env`, its session store connected, on `listener`
/// (bound by the caller, so a provider can know its address first).
pub async fn start_axum_connected(
    env: &[(&str, String)],
    listener: std::net::TcpListener,
) -> Result<Started, String> {
    serve_axum(env, listener, &|site| site).await
}

/// Serves the actix example from `env`, its session store connected, on `listener`.
pub async fn start_actix_connected(
    env: &[(&str, String)],
    listener: std::net::TcpListener,
) -> Result<Started, String> {
    serve_actix(env, listener, &|site| site).await
}

/// Starts the axum example from an environment (as `MFA_*` variables would give it),
/// on an ephemeral port, the session store it names connected.
pub async fn start_axum_from_env(env: &[(&str, String)]) -> Result<Target, String> {
    Ok(serve_axum(env, bind()?, &|site| site).await?.target)
}

/// Starts the actix example from an environment (as `MFA_*` variables would give it),
/// on an ephemeral port, the session store it names connected.
pub async fn start_actix_from_env(env: &[(&str, String)]) -> Result<Target, String> {
    Ok(serve_actix(env, bind()?, &|site| site).await?.target)
}

/// The axum example from `env` on `listener`, its development site (in development
/// mode) made by `site`.
async fn serve_axum(
    env: &[(&str, String)],
    listener: std::net::TcpListener,
    site: &dyn Fn(DevSite) -> DevSite,
) -> Result<Started, String> {
    let (addr, guard, dev) = connected_guard(env, &listener).await?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    let app = example_axum_server::app(guard.clone(), dev.clone().map(|d| site(DevSite::new(d, addr))));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Started { target: Target { name: "axum", addr }, guard, dev })
}

/// The actix example from `env` on `listener`, its development site made by `site`.
async fn serve_actix(
    env: &[(&str, String)],
    listener: std::net::TcpListener,
    site: &dyn Fn(DevSite) -> DevSite,
) -> Result<Started, String> {
    let (addr, guard, dev) = connected_guard(env, &listener).await?;
    start_actix_on(listener, guard.clone(), dev.clone().map(|d| site(DevSite::new(d, addr))))?;
    Ok(Started { target: Target { name: "actix", addr }, guard, dev })
}

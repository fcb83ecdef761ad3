//! Starting the example servers in this process, each on its own loopback port.

use std::net::SocketAddr;

use mfa_guard_core::Guard;

use crate::cases::Target;

/// Every example server, each serving with `guard` (one process serving both
/// frameworks would share it). A new adapter's example is one entry here, and
/// every suite that runs "on both servers" runs on it.
pub async fn all(guard: Guard) -> Vec<Target> {
    vec![start_axum(guard.clone()).await, start_actix(guard)]
}

/// Every example server, each started from `env` as its `MFA_*` variables would
/// start it.
pub async fn all_from_env(env: &[(&str, String)]) -> Result<Vec<Target>, String> {
    Ok(vec![start_axum_from_env(env).await?, start_actix_from_env(env)?])
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

fn start_actix_with(
    guard: Guard,
    dev: Option<(std::sync::Arc<mfa_guard_dev::DevIssuer>, SocketAddr)>,
) -> Result<Target, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    start_actix_on(listener, guard, dev)?;
    Ok(Target { name: "actix", addr })
}

fn start_actix_on(
    listener: std::net::TcpListener,
    guard: Guard,
    dev: Option<(std::sync::Arc<mfa_guard_dev::DevIssuer>, SocketAddr)>,
) -> Result<(), String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match example_actix_server::server(
                listener,
                guard,
                dev.map(|(d, a)| example_shared::DevSite::new(d, a)),
            ) {
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

/// Starts the actix example from an environment (as `MFA_*` variables would give it).
pub fn start_actix_from_env(env: &[(&str, String)]) -> Result<Target, String> {
    let startup =
        example_shared::Startup::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (guard, dev) = startup.guard(addr)?;
    start_actix_on(listener, guard, dev.map(|d| (std::sync::Arc::new(d), addr)))?;
    Ok(Target { name: "actix", addr })
}

/// Starts the axum example from an environment (as `MFA_*` variables would give it),
/// on an ephemeral port.
pub async fn start_axum_from_env(env: &[(&str, String)]) -> Result<Target, String> {
    let startup =
        example_shared::Startup::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (guard, dev) = startup.guard(addr)?;
    let app = example_axum_server::app(
        guard,
        dev.map(|d| example_shared::DevSite::new(std::sync::Arc::new(d), addr)),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Target { name: "axum", addr })
}

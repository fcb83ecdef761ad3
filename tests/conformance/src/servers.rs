//! Starting the example servers in this process, each on its own loopback port.

use std::net::SocketAddr;

use mfa_guard_core::Guard;

use crate::cases::Target;

/// Serves the axum example's router with `guard` on an ephemeral port.
pub async fn start_axum(guard: Guard) -> Target {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let app = example_axum_server::app(guard, None);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Target { name: "axum", addr }
}

/// Starts the axum example from an environment (as `MFA_*` variables would give it),
/// on an ephemeral port.
pub async fn start_axum_from_env(env: &[(&str, String)]) -> Result<Target, String> {
    let settings =
        example_shared::Settings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (guard, dev) = settings.guard(addr)?;
    let app = example_axum_server::app(guard, dev.map(|d| (std::sync::Arc::new(d), addr)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Target { name: "axum", addr })
}

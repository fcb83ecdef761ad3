//! The axum example server of mfa-guard.
//!
//! `cargo run -p example-axum-server` starts it in development mode on an embedded
//! issuer and prints ready-to-paste tokens; the environment (`MFA_LISTEN`,
//! `MFA_ISSUER`, `MFA_AUDIENCE`, `MFA_TENANTS`, `MFA_JWKS_URL` or `MFA_DISCOVERY_URL`,
//! `MFA_CONFIG`, `MFA_TOKEN_CACHE_CAPACITY`) points it at a real identity provider
//! instead.

use std::process::ExitCode;

fn main() -> ExitCode {
    mfa_guard_runtime::init_logs();
    let result = runtime().and_then(|runtime| match example_shared::Startup::from_env() {
        Ok(startup) => runtime.block_on(example_axum_server::run(startup)),
        Err(e) => Err(e),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-axum-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The runtime every server on mfa-guard runs on (multi-threaded unless the
/// process may use one CPU).
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    mfa_guard_runtime::server_runtime().map_err(|e| format!("cannot start the tokio runtime: {e}"))
}

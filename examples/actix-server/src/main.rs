//! The actix example server of mfa-guard.
//!
//! `cargo run -p example-actix-server` starts it in development mode on an embedded
//! issuer and prints ready-to-paste tokens; the environment (`MFA_LISTEN`,
//! `MFA_ISSUER`, `MFA_AUDIENCE`, `MFA_TENANTS`, `MFA_JWKS_URL` or `MFA_DISCOVERY_URL`,
//! `MFA_CONFIG`, `MFA_TOKEN_CACHE_CAPACITY`) points it at a real identity provider
//! instead.

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    mfa_guard_runtime::init_logs();
    let result = match example_shared::Startup::from_env() {
        Ok(startup) => example_actix_server::run(startup).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-actix-server: {e}");
            ExitCode::FAILURE
        }
    }
}

//! The axum example server of mfa-guard.
//!
//! `cargo run -p example-axum-server` starts it in development mode on an embedded
//! issuer and prints ready-to-paste tokens; the environment (`MFA_LISTEN`,
//! `MFA_ISSUER`, `MFA_AUDIENCE`, `MFA_TENANTS`, `MFA_JWKS_URL` or `MFA_DISCOVERY_URL`,
//! `MFA_CONFIG`, `MFA_TOKEN_CACHE_CAPACITY`) points it at a real identity provider
//! instead.

use std::process::ExitCode;

fn main() -> ExitCode {
    example_shared::init_tracing();
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

/// Tokio's multi-threaded runtime where the process may use several CPUs. Where it
/// may use one (pinned with `taskset`, or a container whose CPU quota is one core,
/// which `available_parallelism` reads), a single-threaded runtime: the work-stealing
/// scheduler then has nobody to share with and cost ~10% of the throughput of
/// verified requests in `benches/load.sh` (BENCHMARKS.md).
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build().map_err(|e| format!("cannot start the tokio runtime: {e}"))
}

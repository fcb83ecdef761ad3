//! The axum example server of mfa-guard.
//!
//! It will serve the Partner Center preset routes behind the axum adapter (DESIGN §6);
//! it is filled by the axum adapter issue. Until then it says so and exits.

fn main() -> std::process::ExitCode {
    eprintln!("example-axum-server: the axum adapter is not built yet; see the tracker");
    std::process::ExitCode::from(2)
}

//! The actix example server of mfa-guard.
//!
//! It will serve the Partner Center preset routes behind the actix adapter (DESIGN §6);
//! it is filled by the actix adapter issue. Until then it says so and exits.

fn main() -> std::process::ExitCode {
    eprintln!("example-actix-server: the actix adapter is not built yet; see the tracker");
    std::process::ExitCode::from(2)
}

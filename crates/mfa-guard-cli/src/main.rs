//! The `mfa-guard` command-line tool.
//!
//! It will offer `inspect`, `verify`, `check`, `mint` and `dev-issuer` (see the CLI
//! issue). Until then it says so and exits with a usage error rather than pretend.

fn main() -> std::process::ExitCode {
    eprintln!("mfa-guard: the command-line tool is not built yet; see the CLI issue in the tracker");
    std::process::ExitCode::from(2)
}

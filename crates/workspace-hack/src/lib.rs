//! No code: this crate only asks for dependency features, so that the example
//! servers, the `mfa-guard` CLI and the test suites build each dependency once with
//! the same features instead of once per command. Why, and what belongs here: its
//! `Cargo.toml`.

//! Empty: a package has build-dependencies only with a build script, and this one's
//! build-dependencies give the proc macros of every build the same syn (Cargo.toml).

fn main() {}

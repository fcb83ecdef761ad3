//! Writes the seed corpus, `seeds()` of the fuzz crate, into `fuzz/corpus/<target>/`.
//!
//! Run after changing `seeds()`:
//! `cargo run --manifest-path fuzz/Cargo.toml --example write_seeds`.
//! Regression seeds (`seed-regression-*`) are added by hand and left alone.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, name, bytes) in mfa_guard_fuzz::seeds() {
        let dir = root.join(target);
        let path = dir.join(&name);
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &bytes)) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    ExitCode::SUCCESS
}

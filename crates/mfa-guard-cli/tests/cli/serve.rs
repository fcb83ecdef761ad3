//! `mfa-guard serve` as a process: what it says about its configuration.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Stdio;

use crate::support::{AUDIENCE, command, exit, issuer, jwks_file, temp_dir};

/// Starts serve on `config`, waits until it listens (or ends), stops it, and
/// returns what it wrote to stderr.
fn stderr_of_serve_with(config: &str) -> String {
    let file = temp_dir().join("mfa.toml");
    std::fs::write(&file, config).unwrap();
    let mut child = command()
        .arg("serve")
        .env("MFA_CONFIG", &file)
        .env("MFA_AUDIENCE", AUDIENCE)
        .env("MFA_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env_remove("MFA_ISSUER")
        .env_remove("MFA_JWKS_URL")
        .env_remove("MFA_DISCOVERY_URL")
        .env_remove("MFA_OIDC_CLIENT_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let listening = stdout.lines().map_while(Result::ok).any(|l| l.starts_with("listening on http://"));
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(listening, "serve did not start:\n{stderr}");
    stderr
}

#[test]
fn serve_says_it_does_not_use_a_browser_table() {
    let issuers = format!(
        "[[issuers]]\nissuer = {:?}\njwks_file = {:?}\n",
        issuer().issuer(),
        jwks_file().display().to_string()
    );
    let with = stderr_of_serve_with(&format!(
        "{issuers}\n[browser]\nclient_id = \"app\"\nredirect_uri = \"https://app.example/auth/callback\"\n"
    ));
    assert!(with.contains("MFA_CONFIG has a [browser] table, which mfa-guard serve does not use"), "{with}");
    let without = stderr_of_serve_with(&issuers);
    assert!(!without.contains("[browser]"), "{without}");
}

#[test]
fn serve_without_an_issuer_is_a_configuration_error_with_exit_1() {
    let out = command()
        .arg("serve")
        .env("MFA_LISTEN", "127.0.0.1:0")
        .env_remove("MFA_CONFIG")
        .env_remove("MFA_ISSUER")
        .env_remove("MFA_JWKS_URL")
        .env_remove("MFA_DISCOVERY_URL")
        .stdin(Stdio::null())
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::ERROR), "{stderr}");
    assert!(stderr.contains("mfa-guard serve needs an issuer and its keys"), "{stderr}");
    assert!(stderr.contains("mfa-guard dev-issuer"), "the hint says how to try it locally: {stderr}");
}

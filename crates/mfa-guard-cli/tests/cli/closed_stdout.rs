//! A reader that stops reading (`mfa-guard inspect --json | head`): every command
//! that prints ends quietly with its own exit status, and the servers keep serving.

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{AUDIENCE, ISSUER, Run, command, exit, issuer, jwks_file, key_file, temp_dir};

/// Standard output a pipe whose reading end is already closed: the first write
/// fails with `EPIPE`, as behind a `head` that has read its lines.
fn closed_stdout(cmd: &mut Command) -> &mut Command {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    cmd.stdout(writer)
}

/// Runs the binary with `args`, its standard output closed.
fn run_closed(args: &[&str]) -> Run {
    let mut cmd = command();
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
    let out = closed_stdout(&mut cmd).output().expect("the mfa-guard binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn ends_quietly(args: &[&str], code: i32) {
    let run = run_closed(args);
    // The command line, tokens left out (they are long, and secrets elsewhere).
    let shown: Vec<&str> = args.iter().map(|a| if a.starts_with("eyJ") { "<token>" } else { a }).collect();
    assert_eq!(run.code, code, "exit code of {shown:?} with stdout closed; stderr:\n{}", run.stderr);
    assert!(run.stderr.is_empty(), "{shown:?} with stdout closed said:\n{}", run.stderr);
}

/// `args`, then the token, then `flag`.
fn with<'a>(args: &[&'a str], token: &'a str, flag: &[&'a str]) -> Vec<&'a str> {
    [args, &[token], flag].concat()
}

#[test]
fn every_command_that_prints_ends_quietly_with_its_own_status_when_stdout_is_closed() {
    let with_mfa = issuer().user().sign().unwrap();
    let without_mfa = issuer().user().mfa(false).sign().unwrap();
    let jwks = jwks_file();
    let jwks = jwks.to_str().unwrap();
    let config = temp_dir().join("policy.toml");
    std::fs::write(
        &config,
        format!(
            "audiences = [\"{AUDIENCE}\"]\n\n[[issuers]]\nissuer = \"{ISSUER}\"\njwks_file = \"{jwks}\"\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let verify = ["verify", "--jwks-file", jwks, "--issuer", ISSUER, "--audience", AUDIENCE];
    let check = ["check", "--config", config, "--path", "/commerce/customers"];

    for flag in [&[][..], &["--json"]] {
        ends_quietly(&with(&["inspect"], &with_mfa, flag), exit::OK);
        ends_quietly(&with(&verify, &with_mfa, flag), exit::OK);
        ends_quietly(&with(&verify, &without_mfa, flag), exit::MFA_REQUIRED);
        ends_quietly(&with(&check, &with_mfa, flag), exit::OK);
        ends_quietly(&with(&check, &without_mfa, flag), exit::MFA_REQUIRED);
        ends_quietly(&[&["mint"], flag].concat(), exit::OK);
    }
    // A token that cannot be decoded is reported in the JSON, with exit 3.
    ends_quietly(&["inspect", "--json", "not-a-token"], exit::INVALID_TOKEN);
    ends_quietly(&["mint", "--print-jwks"], exit::OK);
    ends_quietly(&["--help"], exit::OK);
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Kills the child when dropped (a failing assertion must not leave it running).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `path` answers 200 on `addr`, or the process ends.
fn answers(server: &mut Killed, addr: SocketAddr, path: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = server.0.try_wait() {
            return false;
        }
        if let Ok(mut stream) = TcpStream::connect(addr) {
            use std::io::Write as _;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.1 200") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn stderr_of(mut server: Killed) -> String {
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut stderr = String::new();
    if let Some(mut pipe) = server.0.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    stderr
}

#[test]
fn the_servers_keep_serving_when_nobody_reads_their_address() {
    let addr = free_port();
    let mut cmd = command();
    cmd.arg("serve")
        .env("MFA_LISTEN", addr.to_string())
        .env("MFA_ISSUER", ISSUER)
        .env("MFA_JWKS_URL", "http://127.0.0.1:9/keys")
        .env("MFA_AUDIENCE", AUDIENCE)
        .env("RUST_LOG", "error")
        .env_remove("MFA_CONFIG")
        .env_remove("MFA_DISCOVERY_URL")
        .env_remove("MFA_METRICS_LISTEN")
        .env_remove("MFA_GRPC_LISTEN")
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let mut serve = Killed(closed_stdout(&mut cmd).spawn().expect("serve starts"));
    let served = answers(&mut serve, addr, "/health");
    let stderr = stderr_of(serve);
    assert!(served, "serve with stdout closed stopped serving:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let addr = free_port();
    let key = key_file();
    let mut cmd = command();
    cmd.args(["dev-issuer", "--listen", &addr.to_string(), "--key", key.to_str().unwrap()])
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let mut dev = Killed(closed_stdout(&mut cmd).spawn().expect("dev-issuer starts"));
    let served = answers(&mut dev, addr, "/.well-known/jwks.json");
    let stderr = stderr_of(dev);
    assert!(served, "dev-issuer with stdout closed stopped serving:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

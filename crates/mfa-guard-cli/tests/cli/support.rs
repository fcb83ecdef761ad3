//! Running the built binary, minting tokens in-process, and loopback servers that
//! bind port 0 and clean up after themselves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use serde_json::Value;

pub(crate) const ISSUER: &str = "https://sts.windows.net/{tenantid}/";
pub(crate) const AUDIENCE: &str = DEV_AUDIENCE;

/// The exit codes the tool documents.
pub(crate) mod exit {
    pub(crate) const OK: i32 = 0;
    pub(crate) const ERROR: i32 = 1;
    pub(crate) const USAGE: i32 = 2;
    pub(crate) const INVALID_TOKEN: i32 = 3;
    pub(crate) const MFA_REQUIRED: i32 = 4;
    pub(crate) const FORBIDDEN: i32 = 5;
    pub(crate) const KEYS_UNAVAILABLE: i32 = 6;
}

/// What a run of the binary left behind.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Standard output parsed as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Asserts the exit code, showing the output when it is not.
    #[track_caller]
    pub(crate) fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// The binary, with a clean environment for colour.
pub(crate) fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfa-guard"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// `mfa-guard serve` on the configuration file `config` (written to a fresh scratch
/// directory), listening on an ephemeral loopback port, logging warnings only, with
/// stdout piped (it prints the address it listens on) and no issuer from the
/// environment: what every serve test starts from. Callers add their own variables.
pub(crate) fn serve_command(config: &str) -> Command {
    let file = temp_dir().join("mfa.toml");
    std::fs::write(&file, config).unwrap();
    let mut cmd = command();
    cmd.arg("serve")
        .env("MFA_CONFIG", &file)
        .env("MFA_AUDIENCE", AUDIENCE)
        .env("MFA_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env_remove("MFA_ISSUER")
        .env_remove("MFA_JWKS_URL")
        .env_remove("MFA_DISCOVERY_URL")
        .stdout(Stdio::piped());
    cmd
}

/// The configuration of one issuer whose keys are the development issuer's JWKS file.
pub(crate) fn issuer_config() -> String {
    format!(
        "[[issuers]]\nissuer = {:?}\njwks_file = {:?}\n",
        issuer().issuer(),
        jwks_file().display().to_string()
    )
}

/// Runs the binary with `args` and `stdin` (empty input when `None`).
pub(crate) fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mfa-guard binary starts");
    {
        let mut input = child.stdin.take().expect("stdin is piped");
        if let Some(text) = stdin {
            // The tool may refuse before reading everything (oversized input).
            let _ = input.write_all(text.as_bytes());
        }
    }
    let out = child.wait_with_output().expect("the mfa-guard binary finishes");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The development issuer tokens are minted with (one key for the whole run).
pub(crate) fn issuer() -> &'static DevIssuer {
    static ISSUER_KEY: OnceLock<DevIssuer> = OnceLock::new();
    ISSUER_KEY.get_or_init(|| DevIssuer::generate(ISSUER).expect("a development key"))
}

/// Another key for the same issuer: its tokens are forgeries to the first one's JWKS.
pub(crate) fn forger() -> &'static DevIssuer {
    static FORGER: OnceLock<DevIssuer> = OnceLock::new();
    FORGER.get_or_init(|| DevIssuer::generate(ISSUER).expect("a development key"))
}

/// A fresh directory under cargo's test scratch space.
pub(crate) fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "mfa-guard-cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The issuer's JWKS written to a file.
pub(crate) fn jwks_file() -> PathBuf {
    let path = temp_dir().join("jwks.json");
    std::fs::write(&path, issuer().jwks_json()).expect("the JWKS file is written");
    path
}

/// The issuer's private key written to a file.
pub(crate) fn key_file() -> PathBuf {
    let path = temp_dir().join("key.pem");
    std::fs::write(&path, issuer().private_key_pem()).expect("the key file is written");
    path
}

/// A loopback server answering every request `503` (a key source that is down).
/// Its thread ends with the test process.
pub(crate) fn failing_key_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    addr
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
pub(crate) fn http_get(addr: SocketAddr, path_and_query: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the loopback server");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    write!(stream, "GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
        .expect("send the request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a complete HTTP response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    (status, body.to_owned())
}

/// `mfa-guard dev-issuer` as a child process on a free loopback port; killed on drop.
pub(crate) struct DevIssuerProcess {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl DevIssuerProcess {
    /// Starts it (with `key`, or a fresh key) and waits for the address it prints.
    pub(crate) fn start(key: Option<&std::path::Path>) -> Self {
        match key {
            Some(key) => Self::start_with(&["--key".as_ref(), key.as_os_str()]),
            None => Self::start_with(&[]),
        }
    }

    /// Starts it with these arguments after `--listen`, and waits for its address.
    pub(crate) fn start_with(args: &[&std::ffi::OsStr]) -> Self {
        let mut cmd = command();
        cmd.args(["dev-issuer", "--listen", "127.0.0.1:0"]).args(args);
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("dev-issuer starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dev-issuer ended before printing its address");
            };
            if let Some(addr) = line.strip_prefix("listening on http://") {
                break addr.trim().parse().expect("a socket address");
            }
        };
        Self { child, addr }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The issuer it declares.
    pub(crate) fn issuer(&self) -> String {
        format!("http://{}/{{tenantid}}/", self.addr)
    }
}

impl Drop for DevIssuerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! For the examples' own tests: start a built example binary in development mode,
//! read its banner, and make raw HTTP/1.1 requests (which show the reason phrase).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running example server; killed when dropped.
#[derive(Debug)]
pub struct DevServer {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Where it serves metrics, if it said so.
    pub metrics: Option<SocketAddr>,
    /// The tokens it printed (`TOKEN_MFA`, `TOKEN_NO_MFA`, `TOKEN_APP`).
    pub tokens: HashMap<String, String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

/// The `MFA_*` variables a test must not inherit.
const MFA_VARIABLES: [&str; 9] = [
    "MFA_ISSUER",
    "MFA_AUDIENCE",
    "MFA_TENANTS",
    "MFA_JWKS_URL",
    "MFA_DISCOVERY_URL",
    "MFA_CONFIG",
    "MFA_TOKEN_CACHE_CAPACITY",
    "MFA_METRICS_LISTEN",
    "RUST_LOG",
];

/// `binary` with none of the `MFA_*` variables (nor `RUST_LOG`) of the test's own
/// environment, and these instead.
fn command(binary: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(binary);
    for var in MFA_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.env("MFA_LISTEN", "127.0.0.1:0");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

/// Runs `binary` with this environment until it exits (at most 60 s); returns its
/// exit status's success, stdout and stderr. For configurations that must refuse
/// to start.
pub fn run_to_exit(binary: &str, env: &[(&str, &str)]) -> Result<(bool, String, String), String> {
    let mut child = command(binary, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {binary}: {e}"))?;
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut out = String::new();
            let mut err = String::new();
            if let Some(mut o) = child.stdout.take() {
                let _ = o.read_to_string(&mut out);
            }
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Ok((status.success(), out, err));
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            return Err(format!("{binary} did not exit within 60 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl DevServer {
    /// Starts `binary` with no `MFA_*` environment but `MFA_LISTEN=127.0.0.1:0`,
    /// and waits (at most 60 s) for its banner.
    pub fn start(binary: &str) -> Result<Self, String> {
        Self::start_with(binary, &[])
    }

    /// [`start`](Self::start) with these variables too.
    pub fn start_with(binary: &str, env: &[(&str, &str)]) -> Result<Self, String> {
        let mut child = command(binary, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(err) = child.stderr.take() {
            let sink = std::sync::Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = DevServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics: None,
            tokens: HashMap::new(),
            stderr,
        };
        while server.tokens.len() < 3 || server.addr.port() == 0 {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| "the banner did not appear within 60 s")?;
            if let Some(addr) = line.strip_prefix("metrics on http://") {
                let addr = addr.trim().trim_end_matches("/metrics");
                server.metrics = Some(addr.parse().map_err(|_| format!("bad address in {line:?}"))?);
            } else if let Some(addr) = line.strip_prefix("listening on http://") {
                server.addr = addr.trim().parse().map_err(|_| format!("bad address in {line:?}"))?;
            } else if let Some(rest) = line.strip_prefix("export ")
                && let Some((name, value)) = rest.split_once('=')
            {
                server.tokens.insert(name.to_owned(), value.trim_matches('\'').to_owned());
            }
        }
        Ok(server)
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The printed token of that name.
    pub fn token(&self, name: &str) -> &str {
        self.tokens.get(name).map_or("", String::as_str)
    }

    /// `GET path` with an optional bearer token; returns the raw response text.
    pub fn get(&self, path: &str, token: Option<&str>) -> Result<String, String> {
        get(self.addr, path, token)
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over a fresh connection (`Connection: close`); the response as text.
pub fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    Ok(raw)
}

/// A loopback port nothing listens on right now (for variables that name a port).
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// With `MFA_METRICS_LISTEN`, the server counts its decisions at `/metrics` in the
/// Prometheus text format, and its MFA adoption per client application there and
/// at `/mfa-adoption`: one refused and one admitted request show in both.
pub fn assert_metrics_are_served(binary: &str) {
    let port = free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let server = DevServer::start_with(binary, &[("MFA_METRICS_LISTEN", &listen)]).unwrap();
    assert_eq!(server.metrics.map(|a| a.port()), Some(port), "the banner names the metrics address");
    let refused = server.get("/commerce/customers", Some(server.token("TOKEN_NO_MFA"))).unwrap();
    assert!(refused.starts_with("HTTP/1.1 401 Unauthorized - MFA required\r\n"), "{refused}");
    let ok = server.get("/commerce/customers", Some(server.token("TOKEN_MFA"))).unwrap();
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
    let metrics = get(server.metrics.unwrap(), "/metrics", None).unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    for line in [
        r#"mfa_guard_decisions_total{rule="customers",code="mfa_required",mode="enforce"} 1"#,
        r#"mfa_guard_decisions_total{rule="customers",code="admitted",mode="enforce"} 1"#,
        r#"mfa_guard_mfa_adoption_total{app="00001111-aaaa-2222-bbbb-3333cccc4444",mode="enforce",mfa="met"} 1"#,
        r#"mfa_guard_mfa_adoption_total{app="00001111-aaaa-2222-bbbb-3333cccc4444",mode="enforce",mfa="missed"} 1"#,
    ] {
        assert!(metrics.contains(line), "no {line:?} in\n{metrics}");
    }
    // The printed tokens are all of the development issuer's one application.
    let adoption = get(server.metrics.unwrap(), "/mfa-adoption", None).unwrap();
    let (head, body) = adoption.split_once("\r\n\r\n").unwrap_or_default();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"), "{adoption}");
    let report: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        report["applications"][0],
        serde_json::json!({
            "app": "00001111-aaaa-2222-bbbb-3333cccc4444",
            "enforce": {"met": 1, "missed": 1},
            "report-only": {"met": 0, "missed": 0},
        }),
        "{report}"
    );
}

/// What a newcomer tripped on: a configuration mistake is reported even when the
/// port is taken (it is checked before binding); development mode says it listens
/// on loopback only; `MFA_LISTEN` may name a host; an
/// unusable `RUST_LOG` is said; logs carry no colour codes when stderr is not a
/// terminal.
pub fn assert_startup_mistakes_are_said(binary: &str) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let (ok, _, err) = run_to_exit(
        binary,
        &[("MFA_LISTEN", &taken_addr), ("MFA_ISSUER", "https://issuer.example/"), ("MFA_AUDIENCE", "api")],
    )
    .unwrap();
    assert!(!ok);
    assert!(err.contains("MFA_ISSUER needs MFA_JWKS_URL or MFA_DISCOVERY_URL"), "{err}");
    assert!(!err.contains("cannot listen"), "{err}");

    // Development mode on every interface: refused before binding, saying what to
    // set (not, as it once did, that a redirect URI nobody set must be https).
    let (ok, _, err) = run_to_exit(binary, &[("MFA_LISTEN", "0.0.0.0:3004")]).unwrap();
    assert!(!ok);
    assert!(err.contains("development mode") && err.contains("set MFA_LISTEN=127.0.0.1:3004"), "{err}");
    assert!(!err.contains("redirect URI"), "{err}");

    let server =
        DevServer::start_with(binary, &[("MFA_LISTEN", "localhost:0"), ("RUST_LOG", "mfa_guard=nonsense")])
            .unwrap();
    let health = server.get("/health", None).unwrap();
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    let started = std::time::Instant::now();
    while !server.stderr().contains("ignoring an unusable log filter")
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.stderr();
    assert!(log.contains("ignoring an unusable log filter (RUST_LOG=\"mfa_guard=nonsense\""), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a log that is not a terminal: {log:?}");
}

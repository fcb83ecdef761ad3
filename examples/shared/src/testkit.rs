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
    /// The tokens it printed (`TOKEN_MFA`, `TOKEN_NO_MFA`, `TOKEN_APP`).
    pub tokens: HashMap<String, String>,
}

impl DevServer {
    /// Starts `binary` with no `MFA_*` environment but `MFA_LISTEN=127.0.0.1:0`,
    /// and waits (at most 60 s) for its banner.
    pub fn start(binary: &str) -> Result<Self, String> {
        let mut cmd = Command::new(binary);
        for var in [
            "MFA_ISSUER",
            "MFA_AUDIENCE",
            "MFA_JWKS_URL",
            "MFA_DISCOVERY_URL",
            "MFA_CONFIG",
            "MFA_TOKEN_CACHE_CAPACITY",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .env("MFA_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server =
            DevServer { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)), tokens: HashMap::new() };
        while server.tokens.len() < 3 || server.addr.port() == 0 {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| "the banner did not appear within 60 s")?;
            if let Some(addr) = line.strip_prefix("listening on http://") {
                server.addr = addr.trim().parse().map_err(|_| format!("bad address in {line:?}"))?;
            } else if let Some(rest) = line.strip_prefix("export ")
                && let Some((name, value)) = rest.split_once('=')
            {
                server.tokens.insert(name.to_owned(), value.trim_matches('\'').to_owned());
            }
        }
        Ok(server)
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

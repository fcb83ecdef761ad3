//! A real `redis-server` for the tests: on 127.0.0.1, on a free port, in a
//! directory of its own, stopped (and its directory removed) when dropped — also
//! when the test fails. A test can stop it, restart it on the same port and
//! directory (what it persisted comes back with `appendonly`), and speak to it.
//!
//! ```no_run
//! # fn main() -> Result<(), String> {
//! use mfa_guard_conformance::redis::{Persistence, RedisServer};
//!
//! let Some(mut redis) = RedisServer::start(Persistence::None)? else { return Ok(()) }; // skipped
//! assert_eq!(redis.command(&["PING"])?, "PONG");
//! redis.stop();
//! redis.restart()?;
//! println!("{}", redis.url()); // redis://127.0.0.1:<port>/0
//! # Ok(()) }
//! ```

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the server keeps its data across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// `--save "" --appendonly no`: a restart starts empty, as Redis does by default
    /// without a configured snapshot.
    None,
    /// `--appendonly yes --appendfsync always`: every write is on disk before it is
    /// acknowledged, and a restart reads it back.
    AppendOnly,
}

/// Whether the redis-server tests can run here (the one rule of [`crate::tools`]:
/// skipped outside CI, failed under `CI=true`): `Ok(true)` run, `Ok(false)` skip,
/// `Err` fail.
pub fn require() -> Result<bool, String> {
    let probe = crate::tools::probe_version("redis-server", "--version").map_err(|why| {
        crate::tools::Missing::new("redis-server", "Debian: apt-get install redis-server", why)
    });
    crate::tools::require("the session store tests (redis-server)", probe)
}

/// A running (or stopped, restartable) redis-server.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    persistence: Persistence,
    password: Option<String>,
}

impl RedisServer {
    /// Starts one, or `Ok(None)` where redis-server is missing outside CI (the test
    /// then returns at once). Under CI a missing redis-server is an `Err`.
    pub fn start(persistence: Persistence) -> Result<Option<Self>, String> {
        Self::start_with(persistence, None)
    }

    /// As [`start`](Self::start), with `requirepass` set to `password`.
    pub fn start_with(persistence: Persistence, password: Option<&str>) -> Result<Option<Self>, String> {
        if !require()? {
            return Ok(None);
        }
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("mfa-guard-redis-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut server = Self { child: None, dir, port, persistence, password: password.map(str::to_owned) };
        server.launch()?;
        Ok(Some(server))
    }

    fn launch(&mut self) -> Result<(), String> {
        use std::os::unix::process::CommandExt as _;
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .args(["--daemonize", "no", "--save", ""]);
        match self.persistence {
            Persistence::None => command.args(["--appendonly", "no"]),
            Persistence::AppendOnly => command.args(["--appendonly", "yes", "--appendfsync", "always"]),
        };
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        // A group of its own: a background rewrite forks a child, stopped with it.
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until the server answers `PING` (at most 10 s).
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.command(&["PING"]) {
                Ok(reply) if reply == "PONG" => return Ok(()),
                _ if Instant::now() > deadline => {
                    return Err(format!(
                        "redis-server did not answer on {} within 10 s: {}",
                        self.addr(),
                        self.log()
                    ));
                }
                _ => {}
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("redis-server exited ({status}): {}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/0` (no password: pass it separately).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Its directory (the append-only file lives there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops it as an operator would (`SIGTERM`: a persistent server writes its
    /// file first), killing it if it is still there after five seconds. Its
    /// directory and port are kept for [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_group(&mut child, rustix::process::Signal::TERM);
        }
    }

    /// Kills it at once (`SIGKILL`), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_group(&mut child, rustix::process::Signal::KILL);
        }
    }

    /// Starts it again on the same port and directory, and waits until it answers.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.launch()
    }

    /// Sends one command and reads its reply: a simple string or an integer as its
    /// text, a bulk string's contents, `(nil)`, an array's elements one per line;
    /// an error reply is an `Err`.
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        let mut stream =
            TcpStream::connect_timeout(&self.addr(), Duration::from_secs(1)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        let mut request = Vec::new();
        let mut push = |args: &[&str]| {
            request.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in args {
                request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
            }
        };
        if let Some(password) = &self.password {
            push(&["AUTH", password]);
        }
        push(args);
        stream.write_all(&request).map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        if self.password.is_some() {
            read_reply(&mut reader)?;
        }
        read_reply(&mut reader)
    }
}

fn read_reply(reader: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at_checked(1).ok_or("the connection closed")?;
    match kind {
        "+" | ":" => Ok(rest.to_owned()),
        "-" => Err(rest.to_owned()),
        "$" => {
            let len: i64 = rest.parse().map_err(|_| format!("bad bulk length {rest:?}"))?;
            let Ok(len) = usize::try_from(len) else { return Ok("(nil)".to_owned()) };
            let mut body = vec![0; len + 2];
            std::io::Read::read_exact(reader, &mut body).map_err(|e| e.to_string())?;
            body.truncate(len);
            String::from_utf8(body).map_err(|e| e.to_string())
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| format!("bad array length {rest:?}"))?;
            let items: Result<Vec<String>, String> = (0..n.max(0)).map(|_| read_reply(reader)).collect();
            Ok(items?.join("\n"))
        }
        other => Err(format!("unexpected reply type {other:?}")),
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Signals the process group led by `child`, then `SIGKILL`s the group if the
/// leader is still there after five seconds, and reaps the leader.
fn stop_group(child: &mut Child, signal: rustix::process::Signal) {
    use rustix::process::{Pid, Signal, kill_process_group};
    let Some(group) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    let _ = kill_process_group(group, signal);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = kill_process_group(group, Signal::KILL);
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persistent_server_keeps_its_data_across_a_restart_and_a_plain_one_does_not() {
        for (persistence, kept) in [(Persistence::AppendOnly, "v"), (Persistence::None, "(nil)")] {
            let Some(mut redis) = RedisServer::start(persistence).unwrap() else { return };
            assert_eq!(redis.command(&["SET", "k", "v"]).unwrap(), "OK");
            let port = redis.port();
            redis.stop();
            assert!(!redis.is_running());
            assert!(redis.command(&["PING"]).is_err(), "stopped means not listening");
            redis.restart().unwrap();
            assert_eq!(redis.port(), port);
            assert_eq!(redis.command(&["GET", "k"]).unwrap(), kept, "{persistence:?}");
        }
    }

    #[test]
    fn dropping_the_server_stops_it_and_removes_its_directory() {
        let Some(redis) = RedisServer::start(Persistence::AppendOnly).unwrap() else { return };
        let (addr, dir) = (redis.addr(), redis.dir().to_owned());
        assert!(dir.exists());
        drop(redis);
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
        assert!(!dir.exists());
    }

    #[test]
    fn a_password_is_required_when_set_and_the_helper_sends_it() {
        let Some(redis) = RedisServer::start_with(Persistence::None, Some("s3cret")).unwrap() else { return };
        assert_eq!(redis.command(&["PING"]).unwrap(), "PONG");
        let mut bare = TcpStream::connect(redis.addr()).unwrap();
        bare.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
        let mut line = String::new();
        BufReader::new(bare).read_line(&mut line).unwrap();
        assert!(line.starts_with("-NOAUTH"), "{line}");
    }
}

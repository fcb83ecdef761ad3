//! The plain Python application of `tests/upstream/app.py` as the upstream behind
//! a real proxy: not Rust, verifying every identity assertion it receives with
//! PyJWT against `serve`'s JWKS and answering what it saw (see the file's own
//! documentation).
//!
//! Its packages (`tests/upstream/requirements.txt`) live in a virtual environment
//! under the target directory, `target/upstream-venv`, made on first use (`.ci/run`
//! makes it beforehand). Without python3, or where pip cannot install them, the
//! suites skip outside CI and fail under it ([`crate::tools`]).

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::tools::Missing;

/// `tests/upstream/` of the repository.
pub fn upstream_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../upstream")
}

/// The virtual environment's directory: `upstream-venv` beside the test binaries'
/// profile directories.
pub fn venv_dir() -> PathBuf {
    crate::tools::skipped_file()
        .and_then(|f| f.parent().map(|t| t.join("upstream-venv")))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/upstream-venv"))
}

fn missing(why: impl Into<String>) -> Missing {
    Missing::new(
        "python3 with PyJWT",
        "Debian: apt-get install python3 python3-venv; pip must reach PyPI for tests/upstream/requirements.txt",
        why,
    )
}

/// The venv's python with the packages installed, made if needed (once per
/// process; concurrent test binaries each check the import first).
fn python() -> Result<PathBuf, Missing> {
    static MADE: Mutex<()> = Mutex::new(());
    let _one = MADE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let venv = venv_dir();
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import jwt, cryptography"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready() {
        return Ok(python);
    }
    let run = |command: &mut Command, what: &str| -> Result<(), Missing> {
        let out = command.stdin(Stdio::null()).output().map_err(|e| missing(format!("{what}: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        Err(missing(format!("{what} failed ({}): {last}", out.status)))
    };
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv), "python3 -m venv")?;
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(upstream_dir().join("requirements.txt")),
        "pip install -r tests/upstream/requirements.txt",
    )?;
    if ready() { Ok(python) } else { Err(missing("PyJWT does not import after pip install")) }
}

/// The running Python application; stopped (its process group) when dropped.
#[derive(Debug)]
pub struct PythonUpstream {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for PythonUpstream {
    fn drop(&mut self) {
        use rustix::process::{Pid, Signal, kill_process_group};
        if let Some(group) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            let _ = kill_process_group(group, Signal::TERM);
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = kill_process_group(group, Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the application on loopback as the upstream named `audience`, trusting
/// the assertions of `issuer` published at `jwks_url`. `Ok(None)`: skipped (no
/// python3 or its packages, outside CI); `Err`: the suite fails (under CI, or the
/// application did not start).
pub fn start_python_upstream(
    suite: &str,
    jwks_url: &str,
    audience: &str,
    issuer: &str,
) -> Result<Option<PythonUpstream>, String> {
    let python = match python() {
        Ok(python) => python,
        Err(m) => {
            return crate::tools::require(suite, Err(m)).map(|_| None);
        }
    };
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(python)
        .arg(upstream_dir().join("app.py"))
        .args(["--listen", "127.0.0.1:0", "--jwks-url", jwks_url, "--audience", audience, "--issuer", issuer])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start tests/upstream/app.py: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let addr = line.trim().strip_prefix("listening on http://").and_then(|a| a.parse().ok());
    let upstream = PythonUpstream { child, addr: addr.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()) };
    match (read, addr) {
        (Ok(_), Some(_)) => Ok(Some(upstream)),
        _ => Err(format!("tests/upstream/app.py did not say where it listens (said {line:?})")),
    }
}

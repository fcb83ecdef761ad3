//! Forward-auth under test: `mfa-guard serve`'s endpoints in this process, an
//! upstream application behind the proxy that says which area it served and which
//! identity headers reached it, and real proxies (nginx, Caddy) started on loopback
//! with the recipes shipped in `deploy/` — the files themselves, not copies.
//!
//! A proxy that is not installed skips its suite with one line on stderr, except
//! under CI (`CI=true`), where a skip would count as a pass: there it fails, saying
//! what to install (`.ci/run` installs Debian's `nginx-light` and `caddy`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use mfa_guard_core::{Guard, PathRules};
use mfa_guard_serve::{AuthServer, IDENTITY_HEADERS};
use serde_json::{Value, json};

use crate::fixture::{Style, guard_builder};

/// The repository's `deploy/` folder.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The fixture's guard for a forward-auth server: strict path rules, as
/// `mfa-guard serve` builds it.
pub fn serve_guard(style: Style) -> Guard {
    guard_builder(style).path_rules(PathRules::strict()).build().expect("the forward-auth guard builds")
}

/// `mfa-guard serve`'s endpoints, in this process.
#[derive(Debug, Clone, Copy)]
pub struct Serve {
    /// The HTTP endpoints.
    pub http: SocketAddr,
    /// The gRPC ext_authz service.
    pub grpc: SocketAddr,
}

/// Starts the HTTP endpoints and the gRPC service of `guard` on ephemeral ports.
pub async fn start_serve(guard: Guard) -> Serve {
    let server = AuthServer::new(guard);
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let http_addr = http.local_addr().expect("addr");
    // As `mfa-guard serve` serves them (its header bound included).
    let http_server = server.clone();
    tokio::spawn(async move { http_server.serve_http(http, std::future::pending()).await });
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let grpc_addr = grpc.local_addr().expect("addr");
    let service = server.grpc();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(mfa_guard_serve::nodelay(grpc))
            .await
    });
    Serve { http: http_addr, grpc: grpc_addr }
}

/// How the application behind the proxy reads the path it routes on. The proxy
/// hands it the path as received; which handler that reaches depends on the
/// application's router, which mfa-guard cannot see. Each reading is a family of
/// real readers; the differential puts one upstream of each behind the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// As received, escapes and all (axum, hyper).
    Raw,
    /// Every escape decoded but `%2F`, `%25` and `%2B` (actix-web).
    Decoded,
    /// Decoded, slashes merged, dot segments resolved (Go's `path.Clean`, nginx's
    /// `$uri`, many frameworks).
    Normalized,
    /// As received, letter case ignored (Express's and ASP.NET's defaults).
    IgnoringCase,
    /// Cut at the first `#`, decoded or not: hyper and the `http` crate, Node's
    /// `URL`, WSGI servers, and code that decodes a path and parses it again.
    FragmentCut,
    /// Each segment cut at its first `;`, raw or decoded (Tomcat, Jetty, Spring's
    /// `;jsessionid` handling).
    SemicolonCut,
    /// Decoded, trailing dots and spaces of each segment dropped (IIS and ASP.NET
    /// on Windows, whose file names cannot end in either).
    TrailingDots,
    /// Decoded, a format suffix of the last segment dropped (`/commerce.json`
    /// routed as `/commerce`: Rails, Spring before 5.3).
    FormatSuffix,
    /// Decoded, letters compared as Java's `equalsIgnoreCase` compares them: `ſ`
    /// reads `s`, `ı` reads `i`, the Kelvin sign reads `k`.
    UnicodeCase,
    /// Decoded, NFKC-normalised (fullwidth `ｃ` reads `c`, fullwidth `／` reads `/`,
    /// fullwidth `．．` reads `..`), then normalised as [`Reading::Normalized`].
    Nfkc,
}

impl Reading {
    /// Every reader family.
    pub const ALL: [Reading; 10] = [
        Reading::Raw,
        Reading::Decoded,
        Reading::Normalized,
        Reading::IgnoringCase,
        Reading::FragmentCut,
        Reading::SemicolonCut,
        Reading::TrailingDots,
        Reading::FormatSuffix,
        Reading::UnicodeCase,
        Reading::Nfkc,
    ];

    /// The path this application routes `path` (as received) on, written back as a
    /// valid request path: bytes a URI cannot hold stay escaped, which no area's
    /// plain-ASCII route matches, as in the real routers.
    pub fn read(self, path: &str) -> String {
        match self {
            Reading::Raw => path.to_owned(),
            Reading::IgnoringCase => path.to_ascii_lowercase(),
            Reading::Decoded => escape(&decode(path, true)),
            Reading::Normalized => normalize(&escape(&decode(path, false))),
            Reading::FragmentCut => {
                let decoded = decode(path, false);
                let cut = decoded.iter().position(|&b| b == b'#').map_or(&decoded[..], |i| &decoded[..i]);
                escape(cut)
            }
            Reading::SemicolonCut => {
                let decoded = decode(path, false);
                let segments: Vec<&[u8]> = decoded
                    .split(|&b| b == b'/')
                    .map(|s| s.split(|&b| b == b';').next().unwrap_or_default())
                    .collect();
                escape(&segments.join(&b'/'))
            }
            Reading::TrailingDots => {
                let decoded = decode(path, false);
                let segments: Vec<&[u8]> = decoded
                    .split(|&b| b == b'/')
                    .map(|s| {
                        let end = s.iter().rposition(|&b| b != b'.' && b != b' ').map_or(0, |e| e + 1);
                        &s[..end]
                    })
                    .collect();
                escape(&segments.join(&b'/'))
            }
            Reading::FormatSuffix => {
                let decoded = decode(path, false);
                let last = decoded.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
                let end = decoded[last..]
                    .iter()
                    .position(|&b| b == b'.')
                    .filter(|&d| d > 0)
                    .map_or(decoded.len(), |d| last + d);
                escape(&decoded[..end])
            }
            Reading::UnicodeCase => {
                let decoded = String::from_utf8_lossy(&decode(path, false)).into_owned();
                let folded: String = decoded.chars().map(java_ignoring_case).collect();
                escape(folded.as_bytes())
            }
            Reading::Nfkc => {
                const NFKC: icu_normalizer::ComposingNormalizerBorrowed<'static> =
                    icu_normalizer::ComposingNormalizerBorrowed::new_nfkc();
                let decoded = String::from_utf8_lossy(&decode(path, false)).into_owned();
                normalize(&escape(NFKC.normalize(&decoded).as_bytes()))
            }
        }
    }
}

/// One character as Java's `String.equalsIgnoreCase` lets it match: two characters
/// are equal when their uppercase forms are, or their lowercase forms are. Written
/// as the lowercase ASCII letter a character matches, if any (`ſ`.toUpperCase() is
/// `S`; `K`.toLowerCase() is `k`; `ı`.toUpperCase() is `I`).
fn java_ignoring_case(c: char) -> char {
    let single = |mut it: std::iter::Peekable<std::vec::IntoIter<char>>| {
        let first = it.next()?;
        (it.peek().is_none() && first.is_ascii_alphabetic()).then(|| first.to_ascii_lowercase())
    };
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let upper: Vec<char> = c.to_uppercase().collect();
    let lower: Vec<char> = c.to_lowercase().collect();
    single(upper.into_iter().peekable()).or_else(|| single(lower.into_iter().peekable())).unwrap_or(c)
}

/// Percent-decodes `path`, keeping `%2F`, `%25` and `%2B` when `keep_reserved`.
fn decode(path: &str, keep_reserved: bool) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) =
                (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b)))
        {
            let v = h << 4 | l;
            if !(keep_reserved && matches!(v, b'/' | b'%' | b'+')) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Escapes again what cannot stand in a URI path.
fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}?#".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Merges slashes and resolves dot segments, as `path.Clean` does (keeping a
/// trailing slash, which routers tell apart).
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let trailing = path.len() > 1 && (path.ends_with('/') || path.ends_with("/.") || path.ends_with("/.."));
    let mut s = format!("/{}", out.join("/"));
    if trailing && s.len() > 1 {
        s.push('/');
    }
    s
}

/// The application behind the proxy, routing the raw path as axum does.
pub async fn start_upstream() -> SocketAddr {
    start_upstream_reading(Reading::Raw).await
}

/// The application behind the proxy: it routes the Partner Center areas with
/// axum's router on its `reading` of the path it receives, and answers which area
/// served it, the path it got, and every `x-mfa-guard-*` header that reached it. It
/// runs no mfa-guard.
pub async fn start_upstream_reading(reading: Reading) -> SocketAddr {
    let mut router = Router::new();
    for area in mfa_guard_core::Policy::partner_center_areas() {
        let path = area.path();
        let handler = echo(area.name);
        router = if area.is_prefix() {
            router.route(path, handler.clone()).route(&format!("{path}/{{*rest}}"), handler)
        } else {
            router.route(path, handler)
        };
    }
    let router = router.fallback(echo("unmatched"));
    let app = tower::ServiceExt::<Request>::map_request(router, move |mut req: Request| {
        if reading != Reading::Raw {
            let read = reading.read(req.uri().path());
            let target = match req.uri().query() {
                Some(q) => format!("{read}?{q}"),
                None => read,
            };
            if let Ok(uri) = target.parse() {
                let received = ReceivedPath(req.uri().path().to_owned());
                req.extensions_mut().insert(received);
                *req.uri_mut() = uri;
            }
        }
        req
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, tower::make::Shared::new(app)).await });
    addr
}

/// The path as the upstream received it, before its reading.
#[derive(Clone)]
struct ReceivedPath(String);

fn echo(area: &'static str) -> axum::routing::MethodRouter {
    any(move |req: Request| async move {
        let identity: serde_json::Map<String, Value> = req
            .headers()
            .iter()
            .filter(|(n, _)| n.as_str().starts_with("x-mfa-guard-"))
            .map(|(n, v)| (n.as_str().to_owned(), json!(v.to_str().unwrap_or("?"))))
            .collect();
        let received = req.extensions().get::<ReceivedPath>().map_or(req.uri().path(), |p| p.0.as_str());
        let compliance = req.headers().get(crate::fixture::COMPLIANCE_HEADER).and_then(|v| v.to_str().ok());
        axum::Json(json!({
            "area": area,
            "compliance": compliance,
            "path": received,
            "read_as": req.uri().path(),
            "kind": identity.get(IDENTITY_HEADERS[2]).cloned().unwrap_or(Value::Null),
            "identity": identity,
        }))
    })
}

/// Whether `tool` can run here, by the suites' one rule ([`crate::tools`]: skip
/// outside CI, fail under `CI=true`): `Ok(true)` run,
/// `Ok(false)` skip (said once on stderr), `Err` fail.
pub fn require(
    tool: &str,
    package: &str,
    probe: impl FnOnce() -> Result<(), String>,
) -> Result<bool, String> {
    let missing = |why| crate::tools::Missing::new(tool, format!("Debian: apt-get install {package}"), why);
    crate::tools::require(&format!("the {tool} forward-auth tests"), probe().map_err(missing))
}

fn probe(binary: &str, arg: &str) -> Result<(), String> {
    crate::tools::probe_version(binary, arg)
}

/// A running proxy, a process or a model in this process; stopped when dropped.
#[derive(Debug)]
pub struct Proxy {
    running: Running,
    /// Where clients reach it.
    pub addr: SocketAddr,
}

#[derive(Debug)]
enum Running {
    Process { child: Child, dir: PathBuf },
    Model { name: &'static str, task: tokio::task::AbortHandle, log: Arc<Mutex<String>> },
}

impl Drop for Proxy {
    fn drop(&mut self) {
        match &mut self.running {
            Running::Process { child, dir } => {
                stop_group(child);
                let _ = std::fs::remove_dir_all(dir);
            }
            Running::Model { task, .. } => task.abort(),
        }
    }
}

/// Starts `command` as the leader of a process group of its own, so that everything
/// it starts (nginx's workers) can be stopped with it.
fn spawn_group(command: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt as _;
    command.process_group(0).spawn()
}

/// Stops a process started by [`spawn_group`] and every process of its group:
/// `SIGQUIT` first (nginx's master then stops its workers and exits; Caddy exits),
/// `SIGKILL` to the whole group for anything still there after five seconds. Killing
/// only nginx's master (as this once did) leaves its workers listening.
fn stop_group(child: &mut Child) {
    use rustix::process::{Pid, Signal, kill_process_group};
    let Some(group) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    let _ = kill_process_group(group, Signal::QUIT);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The leader may be gone while a worker lingers: the group is signalled anyway
    // (ESRCH when it is empty, which is the aim).
    let _ = kill_process_group(group, Signal::KILL);
    let _ = child.wait();
}

impl Proxy {
    fn process(child: Child, addr: SocketAddr, dir: PathBuf) -> Self {
        Self { running: Running::Process { child, dir }, addr }
    }

    pub(crate) fn model(
        name: &'static str,
        addr: SocketAddr,
        task: tokio::task::AbortHandle,
        log: Arc<Mutex<String>>,
    ) -> Self {
        Self { running: Running::Model { name, task, log }, addr }
    }

    /// The process id of a proxy that runs as a process (the leader of its own
    /// process group), `None` for a model.
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Running::Process { child, .. } => Some(child.id()),
            Running::Model { .. } => None,
        }
    }

    /// The proxy's error log (a model's notes), for failure messages.
    pub fn log(&self) -> String {
        match &self.running {
            Running::Process { dir, .. } => {
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            }
            Running::Model { name, log, .. } => {
                format!("({name}) {}", log.lock().map(|l| l.clone()).unwrap_or_default())
            }
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-guard-{name}-{}-{}", std::process::id(), free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// Waits until `addr` accepts connections (at most 10 s).
async fn listening(addr: SocketAddr, child: &mut Child, what: &str, log: &Path) -> Result<(), String> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what} did not listen on {addr} within 10 s"))
}

/// nginx with the shipped recipe (`deploy/nginx/mfa-guard-server.conf` and
/// `mfa-guard-protect.conf`, included as they are) in front of `upstream`, asking
/// `serve`. `None` where nginx is missing outside CI.
pub async fn start_nginx(serve: SocketAddr, upstream: SocketAddr) -> Result<Option<Proxy>, String> {
    if !require("nginx", "nginx-light", || probe("nginx", "-v"))? {
        return Ok(None);
    }
    let dir = scratch("nginx");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let recipe = deploy_dir().canonicalize().map_err(|e| format!("deploy/: {e}"))?.join("nginx");
    let conf = format!(
        r#"worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream mfa_guard {{ server {serve}; keepalive 8; }}
    upstream app {{ server {upstream}; keepalive 8; }}
    server {{
        listen {addr};
        include {recipe}/mfa-guard-server.conf;
        location / {{
            set $mfa_guard_audience app;
            include {recipe}/mfa-guard-protect.conf;
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"#,
        dir = dir.display(),
        recipe = recipe.display(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).map_err(|e| e.to_string())?;
    let mut child = spawn_group(
        Command::new("nginx")
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .map_err(|e| format!("cannot start nginx: {e}"))?;
    listening(addr, &mut child, "nginx", &dir.join("error.log")).await?;
    Ok(Some(Proxy::process(child, addr, dir)))
}

/// Caddy with the shipped `deploy/caddy/Caddyfile` (addresses through its
/// environment placeholders) in front of `upstream`, asking `serve`. `None` where
/// Caddy is missing outside CI.
pub async fn start_caddy(serve: SocketAddr, upstream: SocketAddr) -> Result<Option<Proxy>, String> {
    if !require("Caddy", "caddy", || probe("caddy", "version"))? {
        return Ok(None);
    }
    let dir = scratch("caddy");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let caddyfile = deploy_dir().join("caddy/Caddyfile");
    let log = dir.join("error.log");
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let mut child = spawn_group(
        Command::new("caddy")
            .arg("run")
            .arg("--config")
            .arg(&caddyfile)
            .arg("--adapter")
            .arg("caddyfile")
            .env("MFA_GUARD_SITE", format!("http://{addr}"))
            .env("MFA_GUARD_UPSTREAM", serve.to_string())
            .env("MFA_GUARD_APP", upstream.to_string())
            .env("HOME", &dir)
            .env("XDG_DATA_HOME", &dir)
            .env("XDG_CONFIG_HOME", &dir)
            .stdout(Stdio::null())
            .stderr(log_file),
    )
    .map_err(|e| format!("cannot start caddy: {e}"))?;
    listening(addr, &mut child, "caddy", &log).await?;
    Ok(Some(Proxy::process(child, addr, dir)))
}

/// Where a proxy delivers the compliance signal of an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplianceTo {
    /// To the client, on the response (nginx, Caddy, Envoy).
    Client,
    /// To the application, on the request (Traefik: it copies mfa-guard's
    /// headers onto the request only).
    Application,
}

/// What a proxy lets through of mfa-guard's status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLine {
    /// As mfa-guard wrote it, reason phrase included (nginx).
    Kept,
    /// The standard reason phrase for the code (Go's servers: Caddy, Traefik).
    Standard,
}

/// Sends every case of the conformance table for `style` through the proxy at
/// `addr`, each with forged identity headers beside its own: a refusal must reach
/// the client as mfa-guard answers it (status line per `status_line`, exactly one
/// `WWW-Authenticate`, the body's code, the compliance signal); an admission must
/// reach the upstream's handler of the expected area with mfa-guard's identity
/// headers only. Returns the failures.
pub async fn run_table(
    name: &str,
    addr: SocketAddr,
    style: Style,
    status_line: StatusLine,
    compliance_to: ComplianceTo,
) -> Vec<String> {
    use crate::cases::{Auth, Case, Expect, bearer_line, check, table};
    use crate::http1::request;

    let mut forged: Vec<Vec<u8>> =
        IDENTITY_HEADERS.iter().map(|h| format!("{h}: forged").into_bytes()).collect();
    if compliance_to == ComplianceTo::Application {
        forged.push(format!("{}: forged", crate::fixture::COMPLIANCE_HEADER).into_bytes());
    }
    let mut failures = Vec::new();
    for case in table().into_iter().filter(|c| c.style == style) {
        let mut lines = match &case.auth {
            Auth::None => Vec::new(),
            Auth::Bearer(tok) => vec![bearer_line(*tok)],
            Auth::Raw(lines) => lines.clone(),
        };
        lines.extend(forged.iter().cloned());
        let res = match request(addr, case.method, &case.target, &lines).await {
            Ok(res) => res,
            Err(e) => {
                failures.push(format!("[{name}] {}: no answer: {e}", case.name));
                continue;
            }
        };
        let fail = |why: String| format!("[{name}] {}: {why}", case.name);
        match &case.expect {
            Expect::Refused { status_line: line, www, code } => {
                let expected = match status_line {
                    StatusLine::Kept => (*line).to_owned(),
                    StatusLine::Standard => line.replace(" - MFA required", ""),
                };
                let expected: &'static str = Box::leak(expected.into_boxed_str());
                let as_proxied = Case {
                    expect: Expect::Refused { status_line: expected, www: www.clone(), code },
                    ..case.clone()
                };
                // A proxy may refuse a malformed request before asking anyone (nginx:
                // a second Authorization header is its own 400). Refused all the
                // same, with the proxy's bytes.
                let refused_by_proxy =
                    *code == "invalid_request" && res.status == 400 && res.code().is_none();
                if refused_by_proxy {
                    continue;
                }
                if res.all("www-authenticate").len() > 1 {
                    failures.push(fail(format!(
                        "{} WWW-Authenticate headers",
                        res.all("www-authenticate").len()
                    )));
                } else if let Err(e) = check(&as_proxied, &res) {
                    failures.push(fail(e));
                }
            }
            Expect::Ok { area, kind, .. } => {
                if res.status != 200 {
                    failures.push(fail(format!(
                        "{} {}",
                        res.status_line,
                        String::from_utf8_lossy(&res.body)
                    )));
                    continue;
                }
                let body: Value = match serde_json::from_slice(&res.body) {
                    Ok(b) => b,
                    Err(e) => {
                        failures.push(fail(format!("the upstream's answer is not JSON ({e})")));
                        continue;
                    }
                };
                let (to_client, to_app) =
                    (res.header(crate::fixture::COMPLIANCE_HEADER), body["compliance"].as_str());
                let (compliance, other) = match compliance_to {
                    ComplianceTo::Client => (to_client, to_app),
                    ComplianceTo::Application => (to_app, to_client),
                };
                if compliance != case.compliance {
                    failures.push(fail(format!(
                        "compliance signal {compliance:?} instead of {:?} ({compliance_to:?})",
                        case.compliance
                    )));
                }
                // Where the signal is not meant to go it may still arrive (Caddy
                // passes it through the request), but only as mfa-guard set it.
                if other.is_some() && other != case.compliance {
                    failures.push(fail(format!("another compliance signal on the other side: {other:?}")));
                }
                if body["area"] != *area {
                    failures.push(fail(format!("served by {} instead of {area}", body["area"])));
                }
                let identity = body["identity"].as_object().cloned().unwrap_or_default();
                if identity.values().any(|v| v == "forged") {
                    failures
                        .push(fail(format!("a forged identity header reached the upstream: {identity:?}")));
                }
                // A header mfa-guard did not send must not arrive at all — neither
                // empty nor as the proxy's unexpanded placeholder (Caddy 2.6's
                // `copy_headers` does that; the shipped Caddyfile removes them).
                if identity.values().any(|v| v.as_str().is_none_or(|v| v.is_empty() || v.contains('{'))) {
                    failures.push(fail(format!(
                        "an identity header mfa-guard did not set reached the upstream: {identity:?}"
                    )));
                }
                if matches!(case.auth, Auth::None) && !identity.is_empty() {
                    failures.push(fail(format!("identity headers on an anonymous request: {identity:?}")));
                }
                match kind {
                    // `/health`: the example answers without naming a caller.
                    Some("") => {}
                    Some(kind) => {
                        if identity.get("x-mfa-guard-kind").and_then(Value::as_str) != Some(kind) {
                            failures.push(fail(format!("identity {identity:?} is not of a {kind}")));
                        }
                        if identity.get("x-mfa-guard-oid").and_then(Value::as_str).is_none_or(str::is_empty) {
                            failures.push(fail(format!("no oid in {identity:?}")));
                        }
                    }
                    None if !identity.is_empty() => {
                        failures.push(fail(format!("identity headers without a caller: {identity:?}")));
                    }
                    None => {}
                }
            }
        }
    }
    failures
}

/// The path differential through a proxy: for each [`Reading`] an application may
/// have, `start` puts the proxy (asking `mfa-guard serve` with the strict rules)
/// in front of an upstream reading paths that way, and every generated path is
/// sent with every caller's token. A path that reaches a protected handler under a
/// weaker rule than its own fails. `Ok(None)` when the proxy is not installed.
pub async fn differential<F, Fut>(name: &str, start: F) -> Result<Option<String>, String>
where
    F: Fn(Serve, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Proxy>, String>>,
{
    use crate::cases::Target;
    use crate::fixture::Tok;
    use crate::paths::{Caller, count_from_env, generate, run, seed_from_env};

    let seed = seed_from_env();
    let count = count_from_env();
    let paths = generate(seed, count);
    let tokens = [
        (Caller::AdminMfa, Tok::AdminMfa.mint()),
        (Caller::UserNoMfa, Tok::AdminNoMfa.mint()),
        (Caller::App, Tok::App.mint()),
    ];
    let serve = start_serve(serve_guard(Style::PartnerCenter)).await;
    let mut summary = format!(
        "path differential through {name}: {count} paths from seed {seed} (replay with MFA_PATHS_SEED={seed})\n"
    );
    // One proxy per reading, all asked at once: the runs wait on sockets, not CPU.
    let mut proxies = Vec::with_capacity(Reading::ALL.len());
    for reading in Reading::ALL {
        let upstream = start_upstream_reading(reading).await;
        let Some(proxy) = start(serve, upstream).await? else { return Ok(None) };
        proxies.push((reading, proxy));
    }
    let targets: Vec<Target> = proxies.iter().map(|(_, p)| Target { name: "proxy", addr: p.addr }).collect();
    let reports = futures_util::future::join_all(targets.iter().map(|t| run(t, &paths, &tokens))).await;
    let mut failures = Vec::new();
    for ((reading, proxy), report) in proxies.iter().zip(reports) {
        let label = format!("{name}, upstream reading {reading:?}");
        summary.push_str(&report.summary(&label));
        if report.mutated_into_protected.len() < 4 {
            failures.push(format!(
                "{label}: too few protected areas reached by mutated paths: {:?}",
                report.mutated_into_protected
            ));
        }
        if !report.failures.is_empty() {
            failures.push(format!(
                "{label}: {} failures (seed {seed}):\n{}\n{name} log:\n{}",
                report.failures.len(),
                report.failures.iter().take(25).cloned().collect::<Vec<_>>().join("\n"),
                proxy.log()
            ));
        }
    }
    if failures.is_empty() { Ok(Some(summary)) } else { Err(format!("{summary}\n{}", failures.join("\n"))) }
}

/// Requests for a protected route that also carry, as a client's own headers,
/// every header a proxy uses to name the original request, each pointing at the
/// public `/health`, and gRPC content types. The proxy must replace the former (or
/// mfa-guard must refuse the duplicate), and a gRPC client's refusal must stay a
/// refusal: a `200` means a client steered the decision. Returns the failures.
pub async fn forged_control_headers(name: &str, addr: SocketAddr) -> Vec<String> {
    use crate::fixture::Tok;
    use crate::http1::request;

    let forged: &[&[u8]] = &[
        b"X-Forwarded-Method: OPTIONS",
        b"X-Forwarded-Uri: /health",
        b"X-Original-Method: OPTIONS",
        b"X-Original-URI: /health",
        b"X-Original-URL: http://partner.example/health",
        b"X-Mfa-Guard-Routed-Path: /health",
        b"X-Forwarded-Prefix: /health",
        b"X-Rewrite-URL: /health",
        b"X-Envoy-Original-Path: /health",
        // A gRPC client's refusal is a `200` in-process (grpc-status in the
        // headers); to a proxy, a 2xx from its authorizer means "allow".
        b"Content-Type: application/grpc",
        b"Content-Type: application/grpc+proto",
        b"Content-Type: application/grpc-web",
    ];
    let no_mfa = format!("Authorization: Bearer {}", Tok::AdminNoMfa.mint()).into_bytes();
    let mut failures = Vec::new();
    for (who, token) in [("anonymous", None), ("a user without MFA", Some(&no_mfa))] {
        // Each header alone, then all of them together.
        let mut sets: Vec<Vec<Vec<u8>>> = forged.iter().map(|h| vec![h.to_vec()]).collect();
        sets.push(forged.iter().map(|h| h.to_vec()).collect());
        for mut lines in sets {
            let what = String::from_utf8_lossy(&lines.concat()).into_owned();
            lines.extend(token.cloned());
            match request(addr, "GET", "/commerce/customers", &lines).await {
                Ok(res) if res.status == 200 => failures.push(format!(
                    "[{name}] {who} with {what}: admitted to /commerce/customers: {}",
                    String::from_utf8_lossy(&res.body)
                )),
                Ok(res) if res.status >= 500 => {
                    failures.push(format!("[{name}] {who} with {what}: {}", res.status_line))
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("[{name}] {who} with {what}: no answer: {e}")),
            }
        }
    }
    failures
}

/// The requests of the red-team report that reached protected handlers through the
/// shipped nginx recipe (and, where Caddy passes them on, through Caddy): each with
/// the caller that was let through. `start` puts the proxy in front of an upstream
/// that routes the raw path as hyper does (cutting at `#`), asking `serve` with the
/// strict rules of `mfa-guard serve` — the Partner Center preset, and for `/admin#`
/// a policy whose unmatched paths are public. Every one must be refused before it
/// reaches the upstream. Returns the failures; `Ok(None)` where the proxy is missing.
pub async fn red_team_requests<F, Fut>(name: &str, start: F) -> Result<Option<Vec<String>>, String>
where
    F: Fn(Serve, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Proxy>, String>>,
{
    use mfa_guard_core::{Policy, Requirement, Role};

    use crate::fixture::{Tok, issuer};
    use crate::http1::request;

    let no_mfa_no_roles = issuer().user().mfa(false).roles(Vec::<String>::new()).sign().expect("sign");
    let bearer = |t: &str| vec![format!("Authorization: Bearer {t}").into_bytes()];
    let preset: [(&str, &str, Vec<Vec<u8>>); 3] = [
        ("GET", "/commerce#/customers", bearer(&Tok::AdminNoMfa.mint())),
        ("POST", "/v1/customers#", bearer(&Tok::App.mint())),
        ("GET", "/security#/alerts", bearer(&no_mfa_no_roles)),
    ];
    let public_fallback = crate::fixture::guard_builder(crate::fixture::Style::PartnerCenter)
        .policy(
            Policy::partner_center()
                .fallback(Requirement::public())
                .route("/admin/*", Requirement::mfa().users_only().any_role([Role::AdminAgent])),
        )
        .path_rules(PathRules::strict())
        .build()
        .map_err(|e| e.to_string())?;
    let upstream = start_upstream().await;
    let mut failures = Vec::new();
    for (guard, requests) in [
        (serve_guard(crate::fixture::Style::PartnerCenter), preset.to_vec()),
        (public_fallback, vec![("GET", "/admin#", Vec::new()), ("GET", "/admin#/users", Vec::new())]),
    ] {
        let serve = start_serve(guard).await;
        let Some(proxy) = start(serve, upstream).await? else { return Ok(None) };
        for (method, target, lines) in requests {
            match request(proxy.addr, method, target, &lines).await {
                // Refused by mfa-guard (nginx passes the `#` on: `400 invalid_request`),
                // or by the proxy itself; Caddy cuts the fragment, and mfa-guard then
                // refuses the caller on the protected path. Never the upstream's answer.
                Ok(res)
                    if (400..500).contains(&res.status)
                        && !String::from_utf8_lossy(&res.body).contains("\"area\"") => {}
                Ok(res) => failures.push(format!(
                    "[{name}] {method} {target}: {} {}",
                    res.status_line,
                    String::from_utf8_lossy(&res.body)
                )),
                Err(e) => failures.push(format!("[{name}] {method} {target}: no answer: {e}")),
            }
        }
    }
    Ok(Some(failures))
}

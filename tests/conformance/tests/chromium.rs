//! Headless Chromium walks the browser-mode journeys (`tests/browser/journeys.mjs`)
//! on both example servers, started in this process: examples 1 (MFA at sign-in, no
//! second prompt), 3 (password sign-in, step-up to MFA at an MFA page; sign out and
//! again) and 4 (a second factor that is not `mfa`: the 401 "Unauthorized - MFA
//! required" page, and no new provider round trip for the next MFA page). Once on the
//! development issuer's sign-in page (development mode), once on oidc-provider's pages
//! (`tests/idp/provider.mjs`, the servers configured with `MFA_OIDC_*`).
//!
//! On oidc-provider the servers also carry a per-route assurance policy
//! ([`ASSURANCE_POLICY`], from an `MFA_CONFIG` file), and the journeys walk its
//! step-ups (issue 20): a security key at the step-up to `phishing-resistant`
//! (`acrs` ∋ `c2`) opens the Security workspace, a code there ends on the 401 page
//! naming the level, and a sign-in older than Billing's `max_age` is stepped up.
//!
//! Needs node 20+, Chromium (`/usr/bin/chromium`, or the binary `CHROMIUM` names) and,
//! where `tests/browser/node_modules` is missing, npm (`npm ci` runs once). Without
//! them each test passes at once and one line on stderr says it was skipped — except
//! under `CI=true` (or `1`), where each test fails saying what to install (the rule
//! of `mfa_guard_conformance::tools`).
//!
//! Back-channel logout (issue 22): two replicas of each example server share one real
//! `redis-server` (`MFA_SESSION_STORE`) and their session keys; oidc-provider, with
//! replica A's `/auth/backchannel-logout` as the client's `backchannel_logout_uri`,
//! signs Chromium in on A; the session ended at the provider's end-session endpoint,
//! the provider POSTs its logout token to A, and the next MFA page on B starts a
//! sign-in (journeys.mjs `--back-channel-logout`). Needs `redis-server` too.
//!
//! `MFA_GUARD_SCREENSHOTS=1` makes the development-mode test write
//! `docs/images/dev-sign-in.png` and `docs/images/mfa-required.png`.
//!
//! Run: `cargo test -p mfa-guard-conformance --test chromium`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::oidc::{self, RESOURCE};
use mfa_guard_conformance::redis::{Persistence, RedisServer};
use mfa_guard_conformance::servers::{
    start_actix_connected, start_actix_from_env, start_axum_connected, start_axum_from_env,
};
use mfa_guard_conformance::tools::{self, Missing};
use serde_json::Value;

/// How long one run of the journeys may take (Chromium; six journeys, or twelve with
/// the assurance policy, two of which wait [`BILLING_MAX_AGE_SECS`] and a bit).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// Billing's `max_age` in [`ASSURANCE_POLICY`]: short, as the stale-session journey
/// waits it out; long enough for a step-up's round trip to end inside it on a busy
/// machine (else the page would step up again).
const BILLING_MAX_AGE_SECS: u64 = 5;
/// The per-route assurance policy of the oidc-provider run (issue 20): the Partner
/// Center preset, its Security workspace requiring the level `phishing-resistant`
/// (an Entra authentication context, `acrs` ∋ `c2`, which tests/idp/provider.mjs gives
/// for a security key), and its Billing a sign-in no older than
/// [`BILLING_MAX_AGE_SECS`]. Roles as in the preset.
fn assurance_policy() -> String {
    format!(
        "[[assurance]]\nname = \"phishing-resistant\"\nacrs = [\"c2\"]\n\n\
         [policy]\npreset = \"partner-center\"\n\n\
         [[policy.routes]]\nname = \"security-workspace\"\npath = \"/security/*\"\naccess = \"mfa\"\n\
         roles = [\"AdminAgent\", \"SecurityAdmin\"]\nassurance = \"phishing-resistant\"\n\n\
         [[policy.routes]]\nname = \"billing\"\npath = \"/billing/*\"\naccess = \"mfa\"\n\
         roles = [\"AdminAgent\", \"SecurityAdmin\", \"BillingAdmin\"]\nmax_age = \"{BILLING_MAX_AGE_SECS}s\"\n"
    )
}
/// How long oidc-provider may take to start.
const IDP_START_TIMEOUT: Duration = Duration::from_secs(30);
/// The reason phrase of the MFA-required refusal.
const MFA_REQUIRED_REASON: &str = "Unauthorized - MFA required";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

fn browser_dir() -> PathBuf {
    repo_root().join("tests").join("browser")
}

fn chromium_path() -> String {
    std::env::var("CHROMIUM")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

fn installed() -> bool {
    browser_dir().join("node_modules/playwright-core/package.json").is_file()
}

/// What is missing, if anything: node 20+, npm (when the packages are not installed),
/// Chromium.
fn probe_tools() -> Result<(), Missing> {
    tools::probe_node()?;
    if !installed() {
        tools::probe_npm("tests/browser")?;
    }
    let chromium = chromium_path();
    match Command::new(&chromium).arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(chromium_missing(format!(
            "`{chromium} --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
        Err(_) => Err(chromium_missing(format!("Chromium not found at {chromium}"))),
    }
}

fn chromium_missing(why: String) -> Missing {
    Missing::new("Chromium", "Debian: apt-get install chromium, or set CHROMIUM to its binary", why)
}

/// Probes once per process and installs `tests/browser`'s packages where missing,
/// by the rule of `tools`: `Ok(false)` skipped (said once), `Err` the test must fail.
fn prepare() -> Result<bool, String> {
    static SETUP: OnceLock<Result<bool, String>> = OnceLock::new();
    SETUP
        .get_or_init(|| {
            let ready = probe_tools().and_then(|()| {
                if installed() { Ok(()) } else { tools::npm_ci(&browser_dir(), "tests/browser") }
            });
            tools::require("the headless Chromium tests", ready)
        })
        .clone()
}

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads a pipe to the end in a thread of its own.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs the journeys against `targets` and returns their JSON verdict; panics with
/// the suite's stderr when it fails, says nothing, or outlives [`RUN_TIMEOUT`].
/// `assurance`: the servers carry [`assurance_policy`], walk its journeys too.
fn run_journeys(targets: &[Target], provider: &str, assurance: bool, screenshots: Option<&Path>) -> Value {
    let mut extra: Vec<std::ffi::OsString> = Vec::new();
    if assurance {
        extra.extend(["--assurance".into(), BILLING_MAX_AGE_SECS.to_string().into()]);
    }
    if let Some(dir) = screenshots {
        extra.extend(["--screenshots".into(), dir.into()]);
    }
    run_journeys_with(targets, provider, &extra)
}

/// [`run_journeys`] with the arguments `extra` after the servers.
fn run_journeys_with(targets: &[Target], provider: &str, extra: &[std::ffi::OsString]) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("journeys.mjs")).args(["--provider", provider]);
    for t in targets {
        cmd.arg("--server").arg(format!("{}=http://{}", t.name, t.addr));
    }
    cmd.args(extra);
    let mut child = Killed(
        cmd.current_dir(browser_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}")),
    );
    let stdout = drain(child.0.stdout.take().expect("stdout pipe"));
    let stderr = drain(child.0.stderr.take().expect("stderr pipe"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > RUN_TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(child);
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    let Some(status) = status else {
        panic!("the journeys ({provider}) did not finish within {RUN_TIMEOUT:?}; their stderr:\n{stderr}");
    };
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let verdict: Value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!("the journeys ({provider}) exited {status} saying {stdout:?}; their stderr:\n{stderr}")
    });
    assert!(
        verdict["ok"] == true && status.success(),
        "the journeys ({provider}) failed (exit {status}):\n{}\n\ntheir stderr:\n{stderr}",
        serde_json::to_string_pretty(&verdict["failures"]).unwrap_or_default()
    );
    let _ = writeln!(std::io::stderr(), "chromium journeys ({provider}) in {:?}", started.elapsed());
    verdict
}

/// The journey `example` (a number or a name) of the server `server`.
fn journey<'v>(verdict: &'v Value, server: &str, example: impl Into<Value>) -> &'v Value {
    let example = example.into();
    verdict["journeys"]
        .as_array()
        .expect("a list of journeys")
        .iter()
        .find(|j| j["server"] == server && j["example"] == example)
        .unwrap_or_else(|| panic!("{server}: no journey {example} in {verdict}"))
}

/// Each server walked examples 1, 3 and 4, with the provider round trips each costs.
fn assert_journeys(verdict: &Value, targets: &[Target]) {
    for t in targets {
        let journey = |example: u64| journey(verdict, t.name, example);
        let one = journey(1);
        assert_eq!(
            (&one["finalPath"], &one["status"], &one["providerTrips"]),
            (&Value::from("/commerce/customers"), &Value::from(200), &Value::from(1)),
            "{} example 1 (MFA at sign-in, then an MFA page without a second prompt): {one}",
            t.name
        );
        let three = journey(3);
        assert_eq!(
            (
                &three["finalPath"],
                &three["status"],
                &three["providerTripsBeforeSignOut"],
                &three["providerTripsAfterSignOut"]
            ),
            (&Value::from("/commerce/customers"), &Value::from(200), &Value::from(2), &Value::from(2)),
            "{} example 3 (password, step-up to MFA; sign out, and again): {three}",
            t.name
        );
        let four = journey(4);
        assert_eq!(
            (&four["finalPath"], &four["status"], &four["statusText"], &four["providerTrips"]),
            (
                &Value::from("/billing/invoices"),
                &Value::from(401),
                &Value::from(MFA_REQUIRED_REASON),
                &Value::from(2)
            ),
            "{} example 4 (MFA not recognised: the 401 page, no new round trip): {four}",
            t.name
        );
    }
}

/// Each server walked the step-ups of [`assurance_policy`]: one round trip to sign
/// in, one to step up, and the page or the 401 page naming the level.
fn assert_assurance_journeys(verdict: &Value, targets: &[Target]) {
    for t in targets {
        let key = journey(verdict, t.name, "phishing-resistant");
        assert_eq!(
            (&key["finalPath"], &key["status"], &key["providerTrips"]),
            (&Value::from("/security/alerts"), &Value::from(200), &Value::from(2)),
            "{} (a security key at the step-up to phishing-resistant): {key}",
            t.name
        );
        let code = journey(verdict, t.name, "phishing-resistant-refused");
        assert_eq!(
            (&code["finalPath"], &code["status"], &code["statusText"], &code["providerTrips"]),
            (
                &Value::from("/security/alerts"),
                &Value::from(401),
                &Value::from(MFA_REQUIRED_REASON),
                &Value::from(2)
            ),
            "{} (a code at the step-up to phishing-resistant: the 401 page): {code}",
            t.name
        );
        let stale = journey(verdict, t.name, "stale");
        assert_eq!(
            (&stale["finalPath"], &stale["status"], &stale["providerTrips"]),
            (&Value::from("/billing/invoices"), &Value::from(200), &Value::from(2)),
            "{} (a sign-in older than Billing's max_age is stepped up): {stale}",
            t.name
        );
    }
}

/// Development mode: the servers' own development issuer and its sign-in page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_walks_the_journeys_on_the_development_sign_in_page() {
    if !tokio::task::spawn_blocking(prepare).await.expect("probe").unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    let axum = start_axum_from_env(&[]).await.unwrap_or_else(|e| panic!("axum example: {e}"));
    let actix = start_actix_from_env(&[]).await.unwrap_or_else(|e| panic!("actix example: {e}"));
    let targets = [axum, actix];
    let screenshots = (std::env::var("MFA_GUARD_SCREENSHOTS").as_deref() == Ok("1"))
        .then(|| repo_root().join("docs").join("images"));
    let verdict =
        tokio::task::spawn_blocking(move || run_journeys(&targets, "dev", false, screenshots.as_deref()))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert_journeys(&verdict, &targets);
}

/// oidc-provider (`tests/idp/provider.mjs`), started with the servers' redirect and
/// post-logout URIs and, when `backchannel` names a server, that server's
/// back-channel logout URI; it exits when its stdin closes or it is dropped. Returns
/// it, its issuer, and its stderr (read to the end once it is dropped).
fn start_provider(
    ports: &[u16],
    backchannel: Option<SocketAddr>,
) -> (Killed, String, std::thread::JoinHandle<String>) {
    let redirects: Vec<String> =
        ports.iter().map(|p| format!("http://127.0.0.1:{p}/auth/callback")).collect();
    let logouts: Vec<String> =
        ports.iter().map(|p| format!("http://127.0.0.1:{p}/auth/signed-out")).collect();
    let mut command = Command::new("node");
    command
        .args(["provider.mjs", "0"])
        .current_dir(oidc::idp_dir())
        .env("IDP_REDIRECT_URIS", redirects.join(","))
        .env("IDP_POST_LOGOUT_URIS", logouts.join(","));
    if let Some(addr) = backchannel {
        command.env("IDP_BACKCHANNEL_LOGOUT_URI", format!("http://{addr}/auth/backchannel-logout"));
    }
    let mut child = Killed(
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}")),
    );
    let stderr = drain(child.0.stderr.take().expect("stderr pipe"));
    let stdout = child.0.stdout.take().expect("stdout pipe");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let line = match rx.recv_timeout(IDP_START_TIMEOUT) {
        Ok(Some(Ok(line))) => line,
        _ => {
            drop(child);
            panic!("oidc-provider did not start; its stderr:\n{}", stderr.join().unwrap_or_default());
        }
    };
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("oidc-provider said {line:?}"));
    let issuer = ready["issuer"].as_str().unwrap_or_else(|| panic!("no issuer in {line}")).to_owned();
    (child, issuer, stderr)
}

/// The `MFA_*` environment of a server signing browsers in at oidc-provider.
fn oidc_env(issuer: &str, addr: SocketAddr, session_keys: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MFA_DISCOVERY_URL", format!("{issuer}/.well-known/openid-configuration")),
        ("MFA_AUDIENCE", RESOURCE.to_owned()),
        ("MFA_OIDC_CLIENT_ID", "e2e-browser".to_owned()),
        ("MFA_OIDC_CLIENT_SECRET", "e2e-browser-secret".to_owned()),
        ("MFA_OIDC_REDIRECT_URI", format!("http://{addr}/auth/callback")),
        ("MFA_SESSION_KEYS", session_keys.to_owned()),
        ("MFA_STEP_UP", "generic:http://schemas.openid.net/pape/policies/2007/06/multi-factor".to_owned()),
    ]
}

/// Writes an `MFA_CONFIG` file for the server at `addr` and returns its path.
fn config_file(addr: SocketAddr, toml: &str) -> String {
    let file =
        std::env::temp_dir().join(format!("mfa-guard-chromium-{}-{}.toml", std::process::id(), addr.port()));
    std::fs::write(&file, toml).expect("the configuration file is written");
    file.display().to_string()
}

/// [`oidc_env`] with [`assurance_policy`] in an `MFA_CONFIG` file.
fn oidc_env_with_policy(issuer: &str, addr: SocketAddr, session_keys: &str) -> Vec<(&'static str, String)> {
    let mut env = oidc_env(issuer, addr, session_keys);
    env.push(("MFA_CONFIG", config_file(addr, &assurance_policy())));
    env
}

/// The same, with the browser settings that are not secrets in the `[browser]`
/// table of the `MFA_CONFIG` file instead of variables: one server reads them that
/// way, so a real browser walks the file's configuration too.
fn oidc_env_with_file(issuer: &str, addr: SocketAddr, session_keys: &str) -> Vec<(&'static str, String)> {
    let toml = format!(
        "{}\n[browser]\nclient_id = \"e2e-browser\"\nredirect_uri = \"http://{addr}/auth/callback\"\n\
         step_up = \"generic:http://schemas.openid.net/pape/policies/2007/06/multi-factor\"\n",
        assurance_policy()
    );
    let mut env = oidc_env(issuer, addr, session_keys);
    env.retain(|(name, _)| !matches!(*name, "MFA_OIDC_CLIENT_ID" | "MFA_OIDC_REDIRECT_URI" | "MFA_STEP_UP"));
    env.push(("MFA_CONFIG", config_file(addr, &toml)));
    env
}

/// Removes the `MFA_CONFIG` file of `env`: the environment was read whole, the file
/// is no longer needed.
fn remove_config_file(env: &[(&'static str, String)]) {
    if let Some((_, file)) = env.iter().find(|(name, _)| *name == "MFA_CONFIG") {
        let _ = std::fs::remove_file(file);
    }
}

fn guard_from(env: &[(&'static str, String)], addr: SocketAddr) -> mfa_guard_core::Guard {
    let startup =
        example_shared::Startup::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap_or_else(|e| panic!("the oidc-mode environment: {e}"));
    let (guard, dev) = startup.guard(addr).unwrap_or_else(|e| panic!("the oidc-mode guard: {e}"));
    assert!(dev.is_none(), "with MFA_DISCOVERY_URL the servers are not in development mode");
    guard
}

/// oidc-provider's password and MFA steps instead of the development sign-in page.
/// The servers' ports are bound first, so the provider knows their redirect URIs
/// before it starts; the servers then serve on those very listeners.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_walks_the_journeys_on_oidc_provider_pages() {
    if !tokio::task::spawn_blocking(prepare).await.expect("probe").unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    // oidc-provider's own packages (tests/idp), as the end-to-end suite installs them.
    if !tokio::task::spawn_blocking(oidc::prepare).await.expect("probe").unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    let axum_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let actix_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let axum_addr = axum_listener.local_addr().expect("addr");
    let actix_addr = actix_listener.local_addr().expect("addr");
    let (provider, issuer, _stderr) =
        tokio::task::spawn_blocking(move || start_provider(&[axum_addr.port(), actix_addr.port()], None))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    let session_keys = random_session_keys();

    let axum_env = oidc_env_with_policy(&issuer, axum_addr, &session_keys);
    let axum_guard = guard_from(&axum_env, axum_addr);
    remove_config_file(&axum_env);
    axum_listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::TcpListener::from_std(axum_listener).expect("tokio listener");
    let app = example_axum_server::app(axum_guard, None);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let actix_env = oidc_env_with_file(&issuer, actix_addr, &session_keys);
    let actix_guard = guard_from(&actix_env, actix_addr);
    remove_config_file(&actix_env);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match example_actix_server::server(actix_listener, actix_guard, None) {
                Ok(server) => {
                    let _ = ready_tx.send(Ok(()));
                    let _ = server.await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
        });
    });
    ready_rx.recv().expect("the actix thread").unwrap_or_else(|e| panic!("actix example: {e}"));

    let targets = [Target { name: "axum", addr: axum_addr }, Target { name: "actix", addr: actix_addr }];
    let verdict = tokio::task::spawn_blocking(move || run_journeys(&targets, "oidc", true, None))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert_journeys(&verdict, &targets);
    assert_assurance_journeys(&verdict, &targets);
    drop(provider);
}

/// How long the back-channel journey waits, once the provider shows its "Signed
/// out" page (its POST to replica A answered), before it opens replica B: the
/// design's one second for a revocation to reach every replica, and as much again
/// for a loaded machine.
const PROPAGATION_MS: u64 = 2000;

/// Random session keys, the same for every replica of one application.
fn random_session_keys() -> String {
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).expect("random session key");
    format!("k1:{}", STANDARD.encode(key))
}

/// Two replicas of the `example` server (`axum` or `actix`) on oidc-provider, with
/// the store `redis` and the same session keys; the provider calls replica A's
/// back-channel endpoint. Chromium walks the `back-channel-logout` journey; then
/// the provider's stderr must say it delivered exactly one logout token, to A, and
/// the store must hold the provider session it named.
async fn back_channel_logout_on_two_replicas(example: &'static str, redis: &RedisServer) {
    let (a_name, b_name) = match example {
        "axum" => ("axum-a", "axum-b"),
        _ => ("actix-a", "actix-b"),
    };
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let (a_listener, b_listener) = (bind(), bind());
    let a_addr = a_listener.local_addr().expect("addr");
    let b_addr = b_listener.local_addr().expect("addr");
    let (provider, issuer, stderr) =
        tokio::task::spawn_blocking(move || start_provider(&[a_addr.port(), b_addr.port()], Some(a_addr)))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let session_keys = random_session_keys();
    for (listener, addr) in [(a_listener, a_addr), (b_listener, b_addr)] {
        let mut env = oidc_env(&issuer, addr, &session_keys);
        env.push(("MFA_SESSION_STORE", redis.url()));
        let started = match example {
            "axum" => start_axum_connected(&env, listener).await,
            _ => start_actix_connected(&env, listener).await,
        };
        started.unwrap_or_else(|e| panic!("{example} example at {addr}: {e}"));
    }

    let targets = [Target { name: a_name, addr: a_addr }, Target { name: b_name, addr: b_addr }];
    let extra: Vec<std::ffi::OsString> = vec![
        "--back-channel-logout".into(),
        issuer.clone().into(),
        "--propagation-ms".into(),
        PROPAGATION_MS.to_string().into(),
    ];
    let verdict = tokio::task::spawn_blocking(move || run_journeys_with(&targets, "oidc", &extra))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let walk = journey(&verdict, a_name, "back-channel-logout");
    assert_eq!(walk["replicaBBefore"], 200, "{example}: B opens the MFA page with A's session first: {walk}");
    for replica in ["replicaB", "replicaA"] {
        let seen = &walk[replica];
        assert_eq!(
            (&seen["status"], &seen["location"]),
            (&Value::from(302), &Value::from("/auth")),
            "{example}: after the logout {replica}'s MFA page starts a sign-in at the provider: {walk}"
        );
        let landed = seen["landedOn"].as_str().unwrap_or_default();
        assert!(
            landed.starts_with("/interaction/"),
            "{example}: {replica} ends on the provider's page: {walk}"
        );
    }
    assert_eq!(walk["providerTrips"], 3, "{example}: one sign-in, then one per replica: {walk}");

    drop(provider);
    let stderr = stderr.join().unwrap_or_default();
    let calls: Vec<&str> = stderr.lines().filter(|l| l.starts_with("backchannel-logout ")).collect();
    let delivered =
        format!("backchannel-logout delivered e2e-browser http://{a_addr}/auth/backchannel-logout sid=");
    assert!(
        calls.len() == 1 && calls[0].starts_with(&delivered),
        "{example}: the provider should have delivered one logout token to A; its stderr:\n{stderr}"
    );
    let sid = &calls[0][delivered.len()..];
    let ended = redis.command(&["ZRANGE", "mfa-guard:provider-sessions", "0", "-1"]).expect("ZRANGE");
    assert!(
        ended.lines().any(|l| l == sid),
        "{example}: the store holds no revocation of {sid:?}: {ended:?}"
    );
}

/// Issue 22: oidc-provider's back-channel logout, delivered to one replica, ends the
/// session on the other: axum's two replicas, then actix's, on one redis-server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_back_channel_logout_from_oidc_provider_reaches_every_replica() {
    if !tokio::task::spawn_blocking(prepare).await.expect("probe").unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    if !tokio::task::spawn_blocking(oidc::prepare).await.expect("probe").unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    let Some(redis) = RedisServer::start(Persistence::None).unwrap_or_else(|e| panic!("{e}")) else { return };
    back_channel_logout_on_two_replicas("axum", &redis).await;
    back_channel_logout_on_two_replicas("actix", &redis).await;
}

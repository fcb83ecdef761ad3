//! People at the gate (issue 23): headless Chromium walks the seed's examples 1, 3
//! and 4 (`tests/browser/gate.mjs`) through **real nginx** with the shipped recipe
//! (`deploy/nginx/`), which asks `mfa-guard serve` about every request, in front of
//! a plain Python application (`tests/upstream/echo.py`, no mfa-guard code in it).
//! The same journeys through **real Caddy** (`deploy/caddy/Caddyfile`). The provider,
//! on an origin of its own, is the development identity server, and then
//! oidc-provider (`tests/idp/provider.mjs`) with its interactive password and MFA
//! pages and its end-session endpoint; the callback, sign-in, sign-out and
//! signed-out pages are served by `serve` under `/.mfa-guard/` on the proxy's
//! origin, which the recipe sends there.
//!
//! Needs nginx, Caddy, python3, node 20+ and Chromium (as
//! `tests/conformance/tests/chromium.rs` does; missing tools skip outside CI, fail
//! under it: `mfa_guard_conformance::tools`), and oidc-provider's packages
//! (`tests/idp`, installed by `npm ci` when missing).
//! `MFA_GUARD_SCREENSHOTS=1` writes `docs/images/gate-application.png` and
//! `docs/images/gate-mfa-required.png`.
//!
//! Run: `cargo test -p mfa-guard-conformance --test gate_browser`.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mfa_guard_conformance::forward::{Proxy, start_caddy, start_nginx};
use mfa_guard_conformance::gate::{
    Killed, SESSION_KEYS, gate_guard, gate_guard_from, repo_root, start_application, start_provider,
};
use mfa_guard_conformance::oidc::{self, Idp, RESOURCE};
use mfa_guard_conformance::tools::{self, Missing};
use mfa_guard_dev::DevIssuer;
use mfa_guard_serve::{AuthServer, BrowserPrefix};
use serde_json::Value;

/// How long the three journeys may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// The reason phrase nginx keeps from serve's refusal.
const MFA_REQUIRED_REASON: &str = "Unauthorized - MFA required";

/// node, the journeys' packages, Chromium and python3, by the rule of `tools`.
fn prepare() -> Result<bool, String> {
    let browser = repo_root().join("tests/browser");
    let probe = tools::probe_node()
        .and_then(|()| {
            if browser.join("node_modules/playwright-core/package.json").is_file() {
                Ok(())
            } else {
                tools::probe_npm("tests/browser").and_then(|()| tools::npm_ci(&browser, "tests/browser"))
            }
        })
        .and_then(|()| {
            let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
            tools::probe_version(&chromium, "--version")
                .map_err(|why| Missing::new("Chromium", "Debian: apt-get install chromium", why))
        })
        .and_then(|()| {
            tools::probe_version("python3", "--version")
                .map_err(|why| Missing::new("python3", "Debian: apt-get install python3", why))
        });
    tools::require("the gate's browser journeys", probe)
}

/// The identity provider the journeys sign in at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    /// The development identity server and its sign-in page.
    Dev,
    /// oidc-provider and its interactive pages.
    Oidc,
}

impl Provider {
    fn arg(self) -> &'static str {
        match self {
            Provider::Dev => "dev",
            Provider::Oidc => "oidc",
        }
    }
}

/// Runs `tests/browser/gate.mjs` against `gate` and returns its verdict; panics with
/// its stderr (and the proxy's log) when it fails. The screenshots for the docs come
/// from the development provider's run.
fn run_journeys(name: &str, provider: Provider, gate: SocketAddr, proxy: &Proxy) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg("gate.mjs")
        .arg("--gate")
        .arg(format!("{name}=http://{gate}"))
        .arg("--provider")
        .arg(provider.arg());
    if provider == Provider::Dev && std::env::var("MFA_GUARD_SCREENSHOTS").as_deref() == Ok("1") {
        cmd.arg("--screenshots").arg(repo_root().join("docs/images"));
    }
    let mut child = Killed(
        cmd.current_dir(repo_root().join("tests/browser"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}")),
    );
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = pipe.read_to_string(&mut out);
            out
        })
    };
    let stdout = drain(Box::new(child.0.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.0.stderr.take().expect("stderr")));
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
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let verdict: Value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "the gate journeys ({name}) said {stdout:?} ({status:?}); stderr:\n{stderr}\n{name} log:\n{}",
            proxy.log()
        )
    });
    assert!(
        verdict["ok"] == true && status.is_some_and(|s| s.success()),
        "the gate journeys ({name}) failed:\n{}\n\nstderr:\n{stderr}\n{name} log:\n{}",
        serde_json::to_string_pretty(&verdict["failures"]).unwrap_or_default(),
        proxy.log()
    );
    verdict
}

fn journey(verdict: &Value, example: u64) -> &Value {
    verdict["journeys"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["example"] == example))
        .unwrap_or_else(|| panic!("no journey {example} in {verdict}"))
}

/// The step-up profile the gate asks oidc-provider for MFA with.
const OIDC_STEP_UP: &str = "generic:http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// Stands the gate up — the Python application, serve, `proxy` in front of both
/// (started by `start`), `provider` for the proxy's origin — and runs the journeys
/// through it: `None` when a tool is missing (skipped outside CI).
async fn walk_the_gate<F, Fut>(name: &str, provider: Provider, start: F) -> Option<Value>
where
    F: FnOnce(SocketAddr, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Proxy>, String>>,
{
    if !tokio::task::spawn_blocking(prepare).await.expect("probe").unwrap_or_else(|e| panic!("{e}")) {
        return None;
    }
    if provider == Provider::Oidc
        && !tokio::task::spawn_blocking(oidc::prepare).await.expect("probe").unwrap_or_else(|e| panic!("{e}"))
    {
        return None;
    }
    let (_application, application) = start_application();
    // serve's address first (the proxy is configured with it), its guard once the
    // proxy's origin — the application's, as browsers see it — is known.
    let serve_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let serve = serve_listener.local_addr().expect("addr");
    let proxy = start(serve, application).await.unwrap_or_else(|e| panic!("{e}"))?;
    let gate = proxy.addr;
    // Whichever provider signs people in, it runs until the journeys end.
    let mut _dev: Option<Arc<DevIssuer>> = None;
    let mut _idp: Option<Idp> = None;
    let guard = match provider {
        Provider::Dev => {
            let (issuer, base) = start_provider(gate).await;
            let guard = gate_guard(&issuer, &base, gate);
            _dev = Some(issuer);
            guard
        }
        Provider::Oidc => {
            let prefix = BrowserPrefix::default();
            let idp = Idp::start_with(
                0,
                &[
                    ("IDP_REDIRECT_URIS", format!("http://{gate}{}", prefix.path("callback"))),
                    ("IDP_POST_LOGOUT_URIS", format!("http://{gate}{}", prefix.path("signed-out"))),
                ],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let issuer = idp.issuer().to_owned();
            let vars = [
                ("MFA_DISCOVERY_URL", format!("{issuer}/.well-known/openid-configuration")),
                ("MFA_AUDIENCE", RESOURCE.to_owned()),
                ("MFA_OIDC_CLIENT_ID", "e2e-browser".to_owned()),
                ("MFA_OIDC_CLIENT_SECRET", "e2e-browser-secret".to_owned()),
                ("MFA_OIDC_REDIRECT_URI", format!("http://{gate}{}", prefix.path("callback"))),
                ("MFA_SESSION_KEYS", SESSION_KEYS.to_owned()),
                ("MFA_STEP_UP", OIDC_STEP_UP.to_owned()),
            ];
            _idp = Some(idp);
            gate_guard_from(&vars, gate, None)
        }
    };
    let server = AuthServer::new(guard);
    let serving =
        tokio::spawn(async move { server.serve_http(serve_listener, std::future::pending()).await });
    let name = name.to_owned();
    let verdict = tokio::task::spawn_blocking(move || {
        let verdict = run_journeys(&name, provider, gate, &proxy);
        drop(proxy);
        verdict
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    serving.abort();
    Some(verdict)
}

/// The seed's examples 1, 3 and 4 as they end at the gate; `reason` is the 401's
/// reason phrase the proxy writes.
fn assert_journeys(name: &str, verdict: &Value, reason: &str) {
    let one = journey(verdict, 1);
    assert_eq!(
        (&one["finalPath"], &one["providerTrips"], &one["identity"]["mfa"], &one["identity"]["roles"]),
        (
            &Value::from("/commerce/customers"),
            &Value::from(1),
            &Value::from("true"),
            &Value::from("AdminAgent")
        ),
        "{name}: example 1 (MFA at sign-in, the MFA page without a second prompt): {one}"
    );
    let three = journey(verdict, 3);
    assert_eq!(
        (
            &three["finalPath"],
            &three["providerTripsBeforeSignOut"],
            &three["signOutLanding"],
            &three["providerTripsAfterSignOut"]
        ),
        (
            &Value::from("/commerce/customers"),
            &Value::from(2),
            &Value::from("/.mfa-guard/signed-out"),
            &Value::from(2)
        ),
        "{name}: example 3 (password, one step-up; sign out at the gate, and again): {three}"
    );
    let four = journey(verdict, 4);
    assert_eq!(
        (
            &four["finalPath"],
            &four["status"],
            &four["statusText"],
            &four["firstStatusText"],
            &four["providerTrips"]
        ),
        (
            &Value::from("/billing/invoices"),
            &Value::from(401),
            &Value::from(reason),
            &Value::from(reason),
            &Value::from(2)
        ),
        "{name}: example 4 (MFA not recognised: the 401 page, no new round trip): {four}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_and_step_up_at_the_nginx_gate_of_a_python_application() {
    let Some(verdict) = walk_the_gate("nginx", Provider::Dev, start_nginx).await else { return };
    // nginx keeps serve's status line, reason phrase included.
    assert_journeys("nginx", &verdict, MFA_REQUIRED_REASON);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_and_step_up_at_the_caddy_gate_of_a_python_application() {
    let Some(verdict) = walk_the_gate("caddy", Provider::Dev, start_caddy).await else { return };
    // Caddy writes Go's standard reason phrase; the page and the status say the rest.
    assert_journeys("caddy", &verdict, "Unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_on_oidc_provider_pages_at_the_nginx_gate_of_a_python_application() {
    let Some(verdict) = walk_the_gate("nginx", Provider::Oidc, start_nginx).await else { return };
    assert_journeys("nginx on oidc-provider", &verdict, MFA_REQUIRED_REASON);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_on_oidc_provider_pages_at_the_caddy_gate_of_a_python_application() {
    let Some(verdict) = walk_the_gate("caddy", Provider::Oidc, start_caddy).await else { return };
    assert_journeys("caddy on oidc-provider", &verdict, "Unauthorized");
}

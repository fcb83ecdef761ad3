//! Path tricks at the gate with a session (issue 23): the canonical-path
//! generator of the path differential (`mfa_guard_conformance::paths`) sends its
//! paths as a browser's navigations, with a signed-in session **without** MFA,
//! through **real nginx** with the shipped recipe (`deploy/nginx/`) in front of a
//! plain Python application (`tests/upstream/echo.py`) that answers every path and
//! reports the path it served.
//!
//! The rule: no path the application could route to an MFA page reaches it. Each
//! path the application reports is read the ways real routers read paths
//! (`mfa_guard_conformance::forward::Reading`); if any reading lands in an area of
//! the Partner Center preset that a session without MFA may not enter, the gate
//! let a trick through. Every other answer must be the gate's: the step-up
//! redirect to the provider, a refusal page (`401`, `403`) or a `400`; never a
//! `5xx`.
//!
//! Needs nginx and python3 (missing tools skip outside CI, fail under it:
//! `mfa_guard_conformance::tools`). `MFA_PATHS_SEED` replays a run;
//! `MFA_PATHS_COUNT` sets how many paths (default [`DEFAULT_PATHS`], a subset of
//! the differential's 2,000: each goes through nginx and serve twice).
//!
//! Run: `cargo test -p mfa-guard-conformance --test gate_paths`.

use std::collections::BTreeMap;

use mfa_guard_conformance::forward::{Reading, start_nginx};
use mfa_guard_conformance::gate::{gate_guard, start_application, start_provider};
use mfa_guard_conformance::http1::{Connection, RawResponse};
use mfa_guard_conformance::paths::{self, Caller};
use mfa_guard_conformance::tools::{self, Missing};
use mfa_guard_core::{Claims, Policy};
use mfa_guard_serve::AuthServer;
use serde_json::Value;

/// Paths sent unless `MFA_PATHS_COUNT` says otherwise.
const DEFAULT_PATHS: usize = 600;
/// Where echo.py shows what it served.
const SERVED_OPEN: &str = "<pre id=\"identity\">";

/// The Partner Center area an application routing on `path` serves it from
/// (`unmatched` for none), as the differential's upstream routes it.
fn area_of(path: &str) -> &'static str {
    Policy::partner_center_areas()
        .into_iter()
        .find(|a| {
            path == a.path()
                || (a.is_prefix() && path.strip_prefix(a.path()).is_some_and(|r| r.starts_with('/')))
        })
        .map_or("unmatched", |a| a.name)
}

/// The path echo.py says it served, if the answer is its page.
fn served_path(res: &RawResponse) -> Option<String> {
    let body = String::from_utf8_lossy(&res.body);
    let start = body.find(SERVED_OPEN)? + SERVED_OPEN.len();
    let end = start + body[start..].find("</pre>")?;
    // html.escape's five entities, `&amp;` last.
    let json = body[start..end]
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let seen: Value = serde_json::from_str(&json).ok()?;
    seen["path"].as_str().map(str::to_owned)
}

/// What the gate did with one navigation: `Ok(label)`, or why it broke the rule.
fn judge(res: std::io::Result<RawResponse>, provider: &str) -> Result<String, String> {
    let res = match res {
        Ok(res) => res,
        // nginx closing on a target it cannot parse: nothing reached the application.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok("closed".into()),
        Err(e) => return Err(format!("no answer: {e}")),
    };
    if res.status >= 500 {
        return Err(format!("server error {:?}: {}", res.status_line, String::from_utf8_lossy(&res.body)));
    }
    if let Some(served) = served_path(&res) {
        for reading in Reading::ALL {
            let area = area_of(&reading.read(&served));
            if !Caller::UserNoMfa.admitted_by(area) {
                return Err(format!(
                    "the application served {served:?}, which {reading:?} routes to the MFA area `{area}` \
                     (answer {:?})",
                    res.status_line
                ));
            }
        }
        return Ok(format!("{} application", res.status));
    }
    match res.status {
        302 => {
            let location = res.header("location").unwrap_or_default();
            if !location.starts_with(provider) || !location.contains("prompt=login") {
                return Err(format!("a 302 that is not the step-up to the provider: {location:?}"));
            }
            Ok("302 step-up".into())
        }
        400 | 401 | 403 => Ok(format!("{} from the gate", res.status)),
        _ => Err(format!("unexpected answer {:?}", res.status_line)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_mfa_never_reaches_an_mfa_page_of_the_application_through_path_tricks() {
    let probe = tools::probe_version("python3", "--version")
        .map_err(|why| Missing::new("python3", "Debian: apt-get install python3", why));
    if !tools::require("the gate's path tricks", probe).unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    let (_application, application) = start_application();
    let serve_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let serve = serve_listener.local_addr().expect("addr");
    let Some(nginx) = start_nginx(serve, application).await.unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let (issuer, provider) = start_provider(nginx.addr).await;
    let guard = gate_guard(&issuer, &provider, nginx.addr);
    // An Admin agent signed in with a password only: every rule of the preset
    // admits it but for the MFA.
    let claims = Claims::from_json(issuer.user().mfa(false).claims().to_string().as_bytes()).expect("claims");
    let cookie = mfa_guard_core::dev::session_cookie(&guard, &claims).expect("a session cookie");
    let server = AuthServer::new(guard);
    let serving =
        tokio::spawn(async move { server.serve_http(serve_listener, std::future::pending()).await });

    let count = std::env::var("MFA_PATHS_COUNT").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_PATHS);
    let seed = paths::seed_from_env();
    eprintln!("gate path tricks: seed {seed} (MFA_PATHS_SEED={seed} replays), {count} paths");
    let generated = paths::generate(seed, count);
    let headers = [
        format!("Cookie: {cookie}").into_bytes(),
        b"Sec-Fetch-Mode: navigate".to_vec(),
        b"Sec-Fetch-Site: none".to_vec(),
        b"Accept: text/html,application/xhtml+xml,*/*;q=0.8".to_vec(),
    ];
    let mut conn = Connection::new(nginx.addr);
    let mut failures = Vec::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for g in &generated {
        let res = conn.request("GET", &g.path, &headers).await;
        match judge(res, &provider) {
            Ok(label) => *outcomes.entry(label).or_default() += 1,
            Err(why) => failures.push(format!("GET {} ({:?}): {why}", g.path, g.mutations)),
        }
    }
    // The controls: the overview, which needs a session but no MFA, reaches the
    // application (a gate refusing everything would pass the rule above), and the
    // MFA page itself is the step-up (the session is read, not ignored).
    let overview = conn.request("GET", "/overview", &headers).await.expect("an answer");
    let mfa_page = conn.request("GET", "/commerce/customers", &headers).await.expect("an answer");
    serving.abort();
    let log = nginx.log();
    drop(nginx);

    eprintln!("gate path tricks through nginx: {outcomes:?}");
    assert!(
        failures.is_empty(),
        "{} of {count} paths broke the rule:\n{}\n{log}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        (overview.status, served_path(&overview).as_deref()),
        (200, Some("/overview")),
        "the session reaches a page that needs no MFA"
    );
    let step_up = judge(Ok(mfa_page), &provider);
    assert_eq!(step_up, Ok("302 step-up".to_owned()), "the MFA page itself is the step-up");
}

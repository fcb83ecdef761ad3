//! The example servers' page for people (`example_shared::page`): a browser's
//! top-level navigation with a session gets HTML naming who is signed in, with a
//! button that posts to the sign-out path and every value escaped; an API call to
//! the same route keeps its JSON, byte for byte. On both servers, with one guard in
//! development mode (browser mode on) and sessions minted as its sign-in writes
//! them.

use mfa_guard_conformance::browser::shown_answer;
use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::http1::{self, RawResponse};
use mfa_guard_conformance::servers;
use mfa_guard_core::Claims;
use mfa_guard_core::dev::session_cookie;
use mfa_guard_dev::DevIssuer;

const OID: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";

struct Fixture {
    guard: mfa_guard_core::Guard,
    dev: DevIssuer,
    targets: Vec<Target>,
}

async fn fixture() -> Fixture {
    // Development mode: no MFA_* variable, so an embedded issuer and browser mode.
    let startup = example_shared::Startup::from_lookup(|_| None).expect("development mode starts");
    let (guard, dev) = startup.guard("127.0.0.1:9".parse().unwrap()).expect("a guard");
    let targets = servers::all(guard.clone()).await;
    Fixture { guard, dev: dev.expect("development mode has an issuer"), targets }
}

/// `Cookie: name=value` of a session for a user with this `upn`, with MFA and the
/// AdminAgent role.
fn session(guard: &mfa_guard_core::Guard, upn: &str) -> Vec<u8> {
    let claims = serde_json::json!({
        "sub": "s", "oid": OID, "tid": "aaaabbbb-0000-cccc-1111-dddd2222eeee", "upn": upn,
        "roles": ["AdminAgent"], "amr": ["pwd", "mfa"], "auth_time": 1_700_000_000,
    });
    let claims = Claims::from_json(claims.to_string().as_bytes()).unwrap();
    let cookie = session_cookie(guard, &claims).expect("browser mode is on in development mode");
    format!("Cookie: {cookie}").into_bytes()
}

/// What a browser's address bar sends.
fn navigation(cookie: Vec<u8>) -> Vec<Vec<u8>> {
    vec![
        b"Sec-Fetch-Mode: navigate".to_vec(),
        b"Sec-Fetch-Dest: document".to_vec(),
        b"Accept: text/html,application/xhtml+xml,*/*;q=0.8".to_vec(),
        cookie,
    ]
}

fn text(res: &RawResponse) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_navigation_with_a_session_gets_a_page_naming_the_user_with_a_sign_out_button() {
    let f = fixture().await;
    assert_eq!(f.guard.sign_out_path(), Some("/auth/sign-out"));
    let mut pages = Vec::new();
    for target in &f.targets {
        let res = http1::request(
            target.addr,
            "GET",
            "/overview",
            &navigation(session(&f.guard, "ada@contoso.example")),
        )
        .await
        .unwrap();
        let page = text(&res);
        assert_eq!(res.status, 200, "{}: {page}", target.name);
        assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"), "{}", target.name);
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{}", target.name);
        assert!(
            res.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")),
            "{}: the sign-out button cannot be framed",
            target.name
        );
        for shown in [
            "<h1>Overview</h1>",
            "Signed in as <strong>ada@contoso.example</strong>",
            &format!("<dt>Object id (oid)</dt><dd>{OID}</dd>"),
            "<dt>Kind</dt><dd>user</dd>",
            "<dt>Roles</dt><dd>AdminAgent</dd>",
            "<dt>MFA level</dt><dd id=\"mfa-level\">mfa</dd>",
            r#"<form method="post" action="/auth/sign-out"><button type="submit" id="sign-out">Sign out</button></form>"#,
        ] {
            assert!(page.contains(shown), "{}: no {shown:?} in\n{page}", target.name);
        }
        // The JSON an API call gets is shown too: nothing the answer said is lost.
        let answer = shown_answer(&page).expect("the page shows the JSON answer");
        assert_eq!(
            (answer["area"].as_str(), answer["upn"].as_str()),
            (Some("overview"), Some("ada@contoso.example"))
        );
        pages.push(page);
    }
    assert_eq!(pages[0], pages[1], "axum and actix render the same page");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_s_sign_out_button_signs_out() {
    let f = fixture().await;
    for target in &f.targets {
        let cookie = session(&f.guard, "ada");
        let page =
            http1::request(target.addr, "GET", "/overview", &navigation(cookie.clone())).await.unwrap();
        let html = text(&page);
        let action = html
            .split("<form method=\"post\" action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a form that posts");
        // The button's POST, as a browser sends it from the page: same origin.
        let origin = format!("Origin: http://{}", target.addr).into_bytes();
        let headers =
            [b"Sec-Fetch-Site: same-origin".to_vec(), b"Sec-Fetch-Mode: navigate".to_vec(), origin, cookie];
        let out = http1::request(target.addr, "POST", action, &headers).await.unwrap();
        assert_eq!(out.status, 302, "{}: {}", target.name, text(&out));
        let cleared = out.all("set-cookie");
        assert!(
            cleared.iter().any(|c| c.starts_with("mfa-guard=") && c.contains("Max-Age=0")),
            "{}: the session cookie is cleared: {cleared:?}",
            target.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_user_controlled_value_on_the_page_is_escaped() {
    let f = fixture().await;
    let upn = r#"<script>alert("x")</script>&<b>'"#;
    let escaped = r#"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;b&gt;'"#;
    for target in &f.targets {
        let res = http1::request(target.addr, "GET", "/overview", &navigation(session(&f.guard, upn)))
            .await
            .unwrap();
        let page = text(&res);
        assert_eq!(res.status, 200, "{}: {page}", target.name);
        assert!(
            page.contains(&format!("Signed in as <strong>{escaped}</strong>")),
            "{}: {page}",
            target.name
        );
        assert!(page.contains(&format!("<dt>User name</dt><dd>{escaped}</dd>")), "{}: {page}", target.name);
        assert!(
            !page.contains("<script") && !page.contains("<b>"),
            "{}: markup from the name\n{page}",
            target.name
        );
        // In the JSON shown, too, and it reads back as the name itself.
        assert_eq!(shown_answer(&page).unwrap()["upn"], upn, "{}", target.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_asked_for_is_escaped_on_the_page() {
    let f = fixture().await;
    // Core refuses `< > "` unencoded in a path (400 invalid_request); `&` passes, so
    // a link to /overview/&lt;b&gt; must show those characters, not a bold tag.
    let path = "/overview/&lt;b&gt;";
    for target in &f.targets {
        let res =
            http1::request(target.addr, "GET", path, &navigation(session(&f.guard, "ada"))).await.unwrap();
        let page = text(&res);
        assert_eq!(res.status, 200, "{}: {page}", target.name);
        assert!(page.contains("<code>/overview/&amp;lt;b&amp;gt;</code>"), "{}: {page}", target.name);
        assert_eq!(shown_answer(&page).unwrap()["path"], path, "{}", target.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_call_to_the_same_route_keeps_its_json_byte_for_byte() {
    let f = fixture().await;
    let token = f.dev.user().sign().unwrap();
    let bearer = format!("Authorization: Bearer {token}").into_bytes();
    // As the handler answered before there was a page (fields in serde_json's order).
    let expected = format!(
        r#"{{"area":"overview","kind":"user","method":"GET","mfa":true,"oid":"{OID}","path":"/overview","roles":["AdminAgent"],"tid":"aaaabbbb-0000-cccc-1111-dddd2222eeee","upn":"adminagent@dev.example"}}"#
    );
    for target in &f.targets {
        // A bare API call, and one from a browser tab's address bar that carries a
        // token: a bearer token makes it an API call whatever else is sent (core's rule).
        let with_session = navigation(session(&f.guard, "ada"));
        for headers in [vec![bearer.clone()], [vec![bearer.clone()], with_session].concat()] {
            let res = http1::request(target.addr, "GET", "/overview", &headers).await.unwrap();
            assert_eq!(res.status, 200, "{}: {}", target.name, text(&res));
            assert_eq!(res.header("content-type"), Some("application/json"), "{}", target.name);
            assert_eq!(text(&res), expected, "{}", target.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_without_fetch_metadata_is_told_by_its_accept_and_a_fetch_is_not_a_navigation() {
    let f = fixture().await;
    for target in &f.targets {
        let cookie = session(&f.guard, "ada");
        // An older browser: no Sec-Fetch-Mode, an HTML Accept.
        let old =
            http1::request(target.addr, "GET", "/overview", &[b"Accept: text/html".to_vec(), cookie.clone()])
                .await
                .unwrap();
        assert_eq!(
            (old.status, old.header("content-type")),
            (200, Some("text/html; charset=utf-8")),
            "{}",
            target.name
        );
        // A script's fetch with the same cookie is an API call: core reads no cookie
        // for it, so it is refused as one without a token, in JSON.
        let fetch = http1::request(
            target.addr,
            "GET",
            "/overview",
            &[b"Sec-Fetch-Mode: cors".to_vec(), b"Accept: text/html".to_vec(), cookie],
        )
        .await
        .unwrap();
        assert_eq!((fetch.status, fetch.code().as_deref()), (401, Some("missing_token")), "{}", target.name);
    }
}

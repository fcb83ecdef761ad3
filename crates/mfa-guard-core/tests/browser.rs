//! Browser mode against a scripted provider (wiremock): what a browser cannot be
//! made to do — tampered and foreign cookies, replayed or injected answers, hostile
//! ID tokens, a provider that is down — each refused with a clear page, never a 500,
//! and never a session.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_guard_core::browser::{Browser, SessionKeys, StepUp};
use mfa_guard_core::{
    Admission, Answer, Guard, HeaderMerge, KeySource, ManualClock, Policy, RejectionCode, RequestInfo,
};
use mfa_guard_dev::DevIssuer;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT: &str = "web-app";
const KEYS: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const OTHER_KEYS: &str = "k1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA";
const APP: &str = "https://app.example";

struct Rp {
    guard: Guard,
    dev: Arc<DevIssuer>,
    idp: MockServer,
    clock: ManualClock,
}

fn now() -> i64 {
    mfa_guard_core::Clock::now_unix(&mfa_guard_core::SystemClock)
}

async fn provider(dev: &DevIssuer, idp: &MockServer) {
    let base = idp.uri();
    let discovery = json!({
        "issuer": dev.issuer(),
        "jwks_uri": format!("{base}/jwks"),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "end_session_endpoint": format!("{base}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(discovery))
        .mount(idp)
        .await;
}

async fn rp_with(keys: &str, configure: impl FnOnce(Browser) -> Browser) -> Rp {
    rp_with_policy(keys, Policy::partner_center(), configure).await
}

async fn rp_with_policy(keys: &str, policy: Policy, configure: impl FnOnce(Browser) -> Browser) -> Rp {
    let idp = MockServer::start().await;
    let dev = Arc::new(DevIssuer::generate(idp.uri()).unwrap());
    provider(&dev, &idp).await;
    let clock = ManualClock::new(now());
    let browser = Browser::new(
        CLIENT,
        format!("{APP}/auth/callback"),
        format!("{}/.well-known/openid-configuration", idp.uri()),
        SessionKeys::parse(keys).unwrap(),
    )
    .step_up(StepUp::Generic { acr_values: Some("urn:mfa".into()) });
    let guard = Guard::builder()
        .verifier(|v| {
            v.issuer(dev.issuer())
                .keys(dev.key_source().unwrap())
                .audience("https://api.partnercenter.microsoft.com")
                .clock(clock.clone())
        })
        .policy(policy)
        .browser(configure(browser))
        .build()
        .unwrap();
    Rp { guard, dev, idp, clock }
}

async fn rp() -> Rp {
    rp_with(KEYS, |b| b).await
}

/// A browser's request: a navigation, with these cookies.
async fn navigate(guard: &Guard, target: &str, cookies: &[String]) -> Admission {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let joined = cookies.join("; ");
    let values: Vec<&[u8]> = if joined.is_empty() { Vec::new() } else { vec![joined.as_bytes()] };
    let req = RequestInfo::new("GET", path)
        .with_query(query)
        .with_cookies(&values)
        .with_navigation_headers(Some(b"navigate"), Some(b"text/html"));
    guard.check(&req).await
}

/// A `POST` of a form to `path`, with these cookies and the browser's `Sec-Fetch-Site`
/// and `Origin` as given.
async fn post(
    guard: &Guard,
    path: &str,
    cookies: &[String],
    fetch_site: Option<&str>,
    origin: Option<&str>,
) -> Admission {
    let joined = cookies.join("; ");
    let values: Vec<&[u8]> = if joined.is_empty() { Vec::new() } else { vec![joined.as_bytes()] };
    let req = RequestInfo::new("POST", path)
        .with_cookies(&values)
        .with_navigation_headers(Some(b"navigate"), Some(b"text/html"))
        .with_origin_headers(fetch_site.map(str::as_bytes), origin.map(str::as_bytes));
    guard.check(&req).await
}

fn answer(admission: Admission) -> Answer {
    match admission {
        Admission::Answered(a) => a,
        other => panic!("expected a browser answer, got {other:?}"),
    }
}

fn header(a: &Answer, name: &str) -> Vec<String> {
    a.headers().filter(|(n, _)| *n == name).map(|(_, v)| v.into_owned()).collect()
}

fn location(a: &Answer) -> String {
    header(a, "location").pop().unwrap_or_default()
}

fn body(a: &Answer) -> String {
    String::from_utf8(a.body()).unwrap()
}

/// `name=value` of each `Set-Cookie` that sets (not clears) a cookie.
fn cookies_set(a: &Answer) -> Vec<String> {
    header(a, "set-cookie")
        .into_iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_pairs(query).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(n, v)| {
            (
                n.to_owned(),
                percent_encoding::percent_decode_str(&v.replace('+', " ")).decode_utf8_lossy().into_owned(),
            )
        })
        .collect()
}

/// A sign-in started: the redirect to the provider and the flow cookie.
struct Started {
    state: String,
    nonce: String,
    flow_cookie: String,
    url: String,
}

async fn start(rp: &Rp, target: &str, cookies: &[String]) -> Started {
    let a = answer(navigate(&rp.guard, target, cookies).await);
    assert_eq!(a.status(), 302, "{}", body(&a));
    let url = location(&a);
    assert!(url.starts_with(&format!("{}/authorize?", rp.idp.uri())), "{url}");
    Started {
        state: query_param(&url, "state").unwrap(),
        nonce: query_param(&url, "nonce").unwrap(),
        flow_cookie: cookies_set(&a).pop().expect("a flow cookie"),
        url,
    }
}

/// The provider's token endpoint answers `id_token` (once per call of this).
async fn token_answers(rp: &Rp, id_token: &str) {
    rp.idp.reset().await;
    provider(&rp.dev, &rp.idp).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "opaque", "token_type": "Bearer", "id_token": id_token}),
            ),
        )
        .mount(&rp.idp)
        .await;
}

fn id_token(rp: &Rp, nonce: &str, amr: &[&str], auth_time: i64) -> String {
    rp.dev
        .user()
        .audience(CLIENT)
        .claim("scp", Value::Null)
        .claim("nonce", json!(nonce))
        .claim("amr", json!(amr))
        .claim("auth_time", json!(auth_time))
        .at(&rp.clock)
        .lifetime(Duration::from_secs(600))
        .sign()
        .unwrap()
}

async fn callback(rp: &Rp, query: &str, cookies: &[String]) -> Answer {
    answer(navigate(&rp.guard, &format!("/auth/callback?{query}"), cookies).await)
}

/// Signs in (amr as given) starting at `target`; returns the session cookie.
async fn sign_in(rp: &Rp, target: &str, amr: &[&str]) -> String {
    let s = start(rp, target, &[]).await;
    token_answers(rp, &id_token(rp, &s.nonce, amr, rp.clock.now())).await;
    let back = callback(rp, &format!("code=c1&state={}", s.state), &[s.flow_cookie]).await;
    assert_eq!(back.status(), 302, "{}", body(&back));
    assert_eq!(location(&back), target);
    let session = cookies_set(&back).pop().expect("a session cookie");
    assert!(header(&back, "set-cookie").iter().any(|c| c.contains("-flow-") && c.contains("Max-Age=0")));
    session
}

trait Now {
    fn now(&self) -> i64;
}

impl Now for ManualClock {
    fn now(&self) -> i64 {
        mfa_guard_core::Clock::now_unix(self)
    }
}

#[tokio::test]
async fn a_sign_in_without_mfa_is_stepped_up_once_and_then_admitted() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd"]).await;
    assert!(session.starts_with("__Host-mfa-guard=v1.k1."), "{session}");
    assert!(session.len() <= 1024 + "__Host-mfa-guard=".len());
    match navigate(&rp.guard, "/overview", std::slice::from_ref(&session)).await {
        Admission::Admitted(p) => assert!(!p.mfa()),
        other => panic!("{other:?}"),
    }
    // The MFA page: a step-up asking for MFA.
    let step = start(&rp, "/commerce/customers?page=2", std::slice::from_ref(&session)).await;
    for (name, value) in [("prompt", "login"), ("max_age", "0"), ("acr_values", "urn:mfa")] {
        assert_eq!(query_param(&step.url, name).as_deref(), Some(value), "{}", step.url);
    }
    assert!(query_param(&step.url, "claims").unwrap().contains("\"mfa\""));
    rp.clock.advance(5);
    token_answers(&rp, &id_token(&rp, &step.nonce, &["pwd", "mfa"], rp.clock.now())).await;
    let back = callback(&rp, &format!("code=c2&state={}", step.state), &[session, step.flow_cookie]).await;
    assert_eq!(location(&back), "/commerce/customers?page=2");
    let stepped = cookies_set(&back).pop().unwrap();
    match navigate(&rp.guard, "/commerce/customers", &[stepped]).await {
        Admission::Admitted(p) => assert!(p.mfa() && p.upn().is_some()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_step_up_without_mfa_ends_on_the_mfa_page_not_in_a_loop() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd"]).await;
    let step = start(&rp, "/commerce/customers", std::slice::from_ref(&session)).await;
    token_answers(&rp, &id_token(&rp, &step.nonce, &["pwd", "otp"], rp.clock.now())).await;
    let back = callback(&rp, &format!("code=c&state={}", step.state), &[session, step.flow_cookie]).await;
    assert_eq!(location(&back), "/commerce/customers");
    let failed = cookies_set(&back).pop().unwrap();
    for page in ["/commerce/customers", "/billing/invoices"] {
        let a = answer(navigate(&rp.guard, page, std::slice::from_ref(&failed)).await);
        assert_eq!((a.status(), a.reason_phrase()), (401, Some("Unauthorized - MFA required")));
        assert_eq!(a.rejection().map(|r| r.code()), Some(RejectionCode::MfaRequired));
        let text = body(&a);
        assert!(
            text.contains("amr") && text.contains("pwd, otp") && text.contains("administrator"),
            "{text}"
        );
        assert_eq!(header(&a, "content-type"), ["text/html; charset=utf-8"]);
        assert_eq!(header(&a, "www-authenticate"), [r#"Bearer error="invalid_token""#]);
    }
    // Another day (after the step-up window) the provider is asked again, once.
    rp.clock.advance(601);
    start(&rp, "/commerce/customers", &[failed]).await;
}

#[tokio::test]
async fn mfa_from_before_the_step_up_does_not_count() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd"]).await;
    rp.clock.advance(100);
    let step = start(&rp, "/commerce/customers", std::slice::from_ref(&session)).await;
    // A provider that answers with an old authentication (auth_time before the step-up).
    token_answers(&rp, &id_token(&rp, &step.nonce, &["pwd", "mfa"], rp.clock.now() - 90)).await;
    let back = callback(&rp, &format!("code=c&state={}", step.state), &[session, step.flow_cookie]).await;
    let a = answer(navigate(&rp.guard, "/commerce/customers", &[cookies_set(&back).pop().unwrap()]).await);
    assert_eq!(a.status(), 401);
}

#[tokio::test]
async fn mfa_from_an_authentication_older_than_the_sign_in_does_not_count_either() {
    let rp = rp().await;
    // A link starts the sign-in for an MFA page; the provider's single sign-on
    // answers with the MFA it remembers from six hours ago.
    let s = start(&rp, "/auth/sign-in?return_to=%2Fcommerce%2Fcustomers", &[]).await;
    assert_eq!(query_param(&s.url, "max_age"), None, "a plain sign-in forces no new authentication");
    let six_hours_ago = rp.clock.now() - 6 * 3600;
    token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd", "mfa"], six_hours_ago)).await;
    let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
    assert_eq!(location(&back), "/commerce/customers");
    let session = cookies_set(&back).pop().unwrap();
    // Signed in, without MFA: the MFA page steps up (asking for a fresh
    // authentication), exactly as after a step-up that came back with old MFA.
    let step = start(&rp, "/commerce/customers", std::slice::from_ref(&session)).await;
    assert_eq!(query_param(&step.url, "max_age").as_deref(), Some("0"));
    assert_eq!(query_param(&step.url, "prompt").as_deref(), Some("login"));
    match navigate(&rp.guard, "/overview", &[session]).await {
        Admission::Admitted(p) => assert!(!p.mfa(), "the session holds no MFA"),
        other => panic!("{other:?}"),
    }
    // The same sign-in with MFA from this authentication is admitted at once.
    let s = start(&rp, "/auth/sign-in?return_to=%2Fcommerce%2Fcustomers", &[]).await;
    token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd", "mfa"], rp.clock.now())).await;
    let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
    match navigate(&rp.guard, "/commerce/customers", &[cookies_set(&back).pop().unwrap()]).await {
        Admission::Admitted(p) => assert!(p.mfa()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mfa_without_auth_time_does_not_count_at_sign_in() {
    let rp = rp().await;
    let s = start(&rp, "/commerce/customers", &[]).await;
    let token = rp
        .dev
        .user()
        .audience(CLIENT)
        .claim("scp", Value::Null)
        .claim("nonce", json!(s.nonce))
        .at(&rp.clock)
        .sign()
        .unwrap();
    token_answers(&rp, &token).await;
    let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
    let session = cookies_set(&back).pop().unwrap();
    let step = start(&rp, "/commerce/customers", &[session]).await;
    assert_eq!(query_param(&step.url, "prompt").as_deref(), Some("login"), "a step-up");
}

#[tokio::test]
async fn a_missing_role_is_a_403_page() {
    let rp = rp().await;
    let s = start(&rp, "/billing/x", &[]).await;
    let token = rp
        .dev
        .user()
        .audience(CLIENT)
        .claim("scp", Value::Null)
        .roles(["SalesAgent"])
        .claim("nonce", json!(s.nonce))
        .claim("auth_time", json!(rp.clock.now()))
        .at(&rp.clock)
        .sign()
        .unwrap();
    token_answers(&rp, &token).await;
    let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
    let a = answer(navigate(&rp.guard, "/billing/x", &[cookies_set(&back).pop().unwrap()]).await);
    assert_eq!(a.status(), 403);
    assert_eq!(a.rejection().map(|r| r.code()), Some(RejectionCode::InsufficientRole));
    // A page for a person: who is signed in, what they hold, what the page needs,
    // and a sign-out button that posts (not the API's wording).
    let text = body(&a);
    assert!(text.contains("signed in as <strong>adminagent@dev.example</strong>"), "{text}");
    assert!(text.contains("the roles <span class=\"code\">SalesAgent</span>"), "{text}");
    assert!(text.contains("AdminAgent, SecurityAdmin, BillingAdmin"), "{text}");
    assert!(text.contains(r#"<form method="post" action="/auth/sign-out">"#), "{text}");
    assert!(!text.contains("this operation requires"), "{text}");
}

#[tokio::test]
async fn api_calls_keep_their_answers_and_never_read_the_cookie() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd", "mfa"]).await;
    let values: Vec<&[u8]> = vec![session.as_bytes()];
    for (mode, accept, method) in [
        (Some(&b"cors"[..]), Some(&b"application/json"[..]), "GET"),
        (None, Some(&b"*/*"[..]), "GET"),
        (Some(&b"navigate"[..]), Some(&b"text/html"[..]), "POST"),
    ] {
        let req = RequestInfo::new(method, "/commerce/customers")
            .with_cookies(&values)
            .with_navigation_headers(mode, accept);
        match rp.guard.check(&req).await {
            Admission::Refused(r) => assert_eq!(r.code(), RejectionCode::MissingToken),
            other => panic!("{method} {mode:?}: {other:?}"),
        }
    }
    // A bearer token on a navigation: the API answer for that token.
    let token = rp.dev.user().mfa(false).sign().unwrap();
    let auth = format!("Bearer {token}");
    let req = RequestInfo::new("GET", "/commerce/customers")
        .with_cookies(&values)
        .with_navigation_headers(Some(b"navigate"), None)
        .with_authorization(auth.as_bytes());
    match rp.guard.check(&req).await {
        Admission::Refused(r) => assert_eq!(r.code(), RejectionCode::MfaRequired),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_cookies_are_no_session_never_an_error() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd", "mfa"]).await;
    let (name, value) = session.split_once('=').unwrap();
    let mut flipped = value.to_owned().into_bytes();
    let i = flipped.len() - 5;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let foreign = rp_with(OTHER_KEYS, |b| b).await;
    let foreign_session = sign_in(&foreign, "/overview", &["pwd", "mfa"]).await;
    for bad in [
        format!("{name}={}", String::from_utf8(flipped).unwrap()),
        format!("{name}=garbage"),
        format!("{name}="),
        format!("{name}=v1.k1.{}", "A".repeat(5000)),
        format!("{name}=v1.k2.AAAA"),
        format!("{name}=\u{0}\u{1}"),
        foreign_session,
    ] {
        let a = answer(navigate(&rp.guard, "/commerce/customers", std::slice::from_ref(&bad)).await);
        assert_eq!(a.status(), 302, "{bad:.40}: a new sign-in");
        assert!(location(&a).contains("/authorize?"));
    }
    // On a public page a bad cookie is simply no caller.
    assert!(matches!(
        navigate(&rp.guard, "/health", &[format!("{name}=garbage")]).await,
        Admission::Anonymous(_)
    ));
}

/// A navigation whose cookies come in exactly these `Cookie` header values (HTTP/2
/// sends one header per cookie, HTTP/1.1 browsers one for all).
async fn navigate_with_headers(guard: &Guard, target: &str, headers: &[&str]) -> Admission {
    let values: Vec<&[u8]> = headers.iter().map(|h| h.as_bytes()).collect();
    let req = RequestInfo::new("GET", target)
        .with_cookies(&values)
        .with_navigation_headers(Some(b"navigate"), Some(b"text/html"));
    guard.check(&req).await
}

#[tokio::test]
async fn a_session_is_read_the_same_from_one_cookie_header_or_several_asked_once_or_again() {
    // Each thread remembers the sessions it opened, by the whole `Cookie` header
    // when there is one, else by the session cookie's value: whatever it remembered
    // from earlier requests, every request must be decided as if read afresh.
    let rp = rp().await;
    let good = sign_in(&rp, "/overview", &["pwd", "mfa"]).await;
    let (name, _) = good.split_once('=').unwrap();
    let bad = format!("{name}=v1.k1.AAAA");
    let cases: Vec<(Vec<String>, bool)> = vec![
        (vec![good.clone()], true),
        (vec![format!("theme=dark; {good}")], true),
        (vec![format!("theme=light; {good}; lang=en")], true),
        (vec!["theme=dark".to_owned(), good.clone()], true),
        (vec![good.clone(), "theme=dark".to_owned()], true),
        // The first session cookie wins, in one header or across several.
        (vec![format!("{bad}; {good}")], false),
        (vec![bad.clone(), good.clone()], false),
        (vec![format!("{good}; {bad}")], true),
        (vec![good.clone(), bad.clone()], true),
        (vec![format!("theme=dark; {bad}")], false),
        (vec!["theme=dark".to_owned()], false),
    ];
    // Every case twice in a row, then all of them again in reverse order: the
    // answers never depend on what was asked before.
    let order = (0..cases.len()).flat_map(|i| [i, i]).chain((0..cases.len()).rev());
    for i in order {
        let (headers, admitted) = &cases[i];
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let decided = navigate_with_headers(&rp.guard, "/overview", &headers).await;
        match (admitted, decided) {
            (true, Admission::Admitted(_)) => {}
            (false, Admission::Answered(a)) => assert_eq!(a.status(), 302, "{headers:.60?}: a new sign-in"),
            (_, other) => panic!("{headers:.60?}: expected admitted = {admitted}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_end() {
    let rp = rp_with(KEYS, |b| {
        b.idle_timeout(Duration::from_secs(300)).absolute_timeout(Duration::from_secs(900))
    })
    .await;
    let session = sign_in(&rp, "/overview", &["pwd", "mfa"]).await;
    rp.clock.advance(299);
    // Used within the idle time: admitted, and the cookie written again.
    let refreshed = match navigate(&rp.guard, "/overview", std::slice::from_ref(&session)).await {
        Admission::Admitted(p) => {
            let set: Vec<_> =
                p.response_headers().filter(|(n, _)| *n == "set-cookie").map(|(_, v)| v.to_owned()).collect();
            assert_eq!(set.len(), 1);
            set[0].split(';').next().unwrap().to_owned()
        }
        other => panic!("{other:?}"),
    };
    rp.clock.advance(299);
    assert!(matches!(
        navigate(&rp.guard, "/overview", std::slice::from_ref(&refreshed)).await,
        Admission::Admitted(_)
    ));
    assert_eq!(answer(navigate(&rp.guard, "/overview", &[session]).await).status(), 302, "idle too long");
    // However often it is used, it ends 900 s after sign-in.
    let mut current = refreshed;
    for _ in 0..2 {
        rp.clock.advance(150);
        if let Admission::Admitted(p) = navigate(&rp.guard, "/overview", std::slice::from_ref(&current)).await
            && let Some((_, v)) = p.response_headers().find(|(n, _)| *n == "set-cookie")
        {
            current = v.split(';').next().unwrap().to_owned();
        }
    }
    rp.clock.advance(10);
    assert_eq!(answer(navigate(&rp.guard, "/overview", &[current]).await).status(), 302);
}

#[tokio::test]
async fn callbacks_that_do_not_match_a_sign_in_are_refused() {
    let rp = rp().await;
    let a = start(&rp, "/commerce/a", &[]).await;
    let b = start(&rp, "/commerce/b", &[]).await;
    token_answers(&rp, &id_token(&rp, &a.nonce, &["pwd", "mfa"], rp.clock.now())).await;
    let cases: Vec<(String, Vec<String>, &str)> = vec![
        (format!("code=c&state={}", a.state), vec![], "state cookie is missing"),
        ("code=c".to_owned(), vec![a.flow_cookie.clone()], "no state"),
        (format!("code=c&state={}x", a.state), vec![a.flow_cookie.clone()], "does not match"),
        // B's cookie carried under A's name: sealed for another cookie, it does not open.
        (
            format!("code=c&state={}", a.state),
            vec![format!(
                "{}={}",
                a.flow_cookie.split('=').next().unwrap(),
                b.flow_cookie.split_once('=').unwrap().1
            )],
            "state cookie is missing",
        ),
        (format!("state={}", a.state), vec![a.flow_cookie.clone()], "no authorization code"),
        (format!("code=c&state={}&state={}", a.state, a.state), vec![a.flow_cookie.clone()], "no state"),
    ];
    for (query, cookies, expected) in cases {
        let page = callback(&rp, &query, &cookies).await;
        assert_eq!(page.status(), 400, "{query}");
        assert!(body(&page).contains(expected), "{query}: {}", body(&page));
        assert!(cookies_set(&page).is_empty(), "{query}: no session");
    }
    // B's state with A's ID token (its nonce): refused.
    let page =
        callback(&rp, &format!("code=c&state={}", b.state), std::slice::from_ref(&b.flow_cookie)).await;
    assert_eq!(page.status(), 400);
    assert!(body(&page).contains("nonce"), "{}", body(&page));
    // A flow older than ten minutes.
    rp.clock.advance(601);
    let page = callback(&rp, &format!("code=c&state={}", a.state), &[a.flow_cookie]).await;
    assert!(body(&page).contains("ten minutes"), "{}", body(&page));
}

/// Applies an answer's `Set-Cookie`s to a cookie jar, as a browser does.
fn apply(jar: &mut Vec<String>, a: &Answer) {
    for set in header(a, "set-cookie") {
        let pair = set.split(';').next().unwrap().to_owned();
        let name = pair.split('=').next().unwrap().to_owned();
        jar.retain(|c| !c.starts_with(&format!("{name}=")));
        if !set.contains("Max-Age=0") {
            jar.push(pair);
        }
    }
}

#[tokio::test]
async fn every_failed_callback_clears_its_flow_cookie_so_no_later_callback_completes_it() {
    let rp = rp().await;
    // Each failure, then the callback an attacker (or a delayed provider) sends for
    // the same state with a good code: it must find no sign-in to complete.
    type Failure = fn(&Started) -> String;
    let failures: [(&str, Failure, i64); 5] = [
        ("the provider's error", |s| format!("error=access_denied&state={}", s.state), 0),
        ("no code", |s| format!("state={}", s.state), 0),
        ("a state that does not match", |s| format!("code=c&state={}x", s.state), 0),
        ("an empty code", |s| format!("code=&state={}", s.state), 0),
        ("a flow older than ten minutes", |s| format!("code=c&state={}", s.state), 601),
    ];
    for (what, query, wait) in failures {
        let s = start(&rp, "/commerce/customers", &[]).await;
        let mut jar = vec![s.flow_cookie.clone()];
        rp.clock.advance(wait);
        let failed = callback(&rp, &query(&s), &jar).await;
        assert!(failed.status() >= 400, "{what}: {}", failed.status());
        let flow_name = s.flow_cookie.split('=').next().unwrap();
        assert!(
            header(&failed, "set-cookie")
                .iter()
                .any(|c| c.starts_with(&format!("{flow_name}=;")) && c.contains("Max-Age=0")),
            "{what}: the flow cookie is cleared: {:?}",
            header(&failed, "set-cookie")
        );
        apply(&mut jar, &failed);
        assert!(jar.is_empty(), "{what}");
        rp.clock.advance(-wait);
        token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd", "mfa"], rp.clock.now())).await;
        let later = callback(&rp, &format!("code=good&state={}", s.state), &jar).await;
        assert_eq!(later.status(), 400, "{what}: {}", body(&later));
        assert!(body(&later).contains("state cookie is missing"), "{what}");
        assert!(cookies_set(&later).is_empty(), "{what}: no session");
    }
}

#[tokio::test]
async fn a_replayed_or_foreign_code_is_refused_by_the_provider_and_said() {
    let rp = rp().await;
    let s = start(&rp, "/overview", &[]).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_grant", "error_description": "grant request is invalid (PKCE verification failed)"}),
        ))
        .mount(&rp.idp)
        .await;
    let page = callback(&rp, &format!("code=used&state={}", s.state), &[s.flow_cookie]).await;
    assert_eq!(page.status(), 400);
    let text = body(&page);
    assert!(text.contains("invalid_grant") && text.contains("PKCE"), "{text}");
}

#[tokio::test]
async fn hostile_id_tokens_are_refused() {
    let rp = rp().await;
    let s = start(&rp, "/overview", &[]).await;
    let claims = json!({"iss": rp.dev.issuer(), "aud": CLIENT, "sub": "x", "nonce": s.nonce,
        "exp": rp.clock.now() + 600, "iat": rp.clock.now(), "amr": ["mfa"]});
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{}.", part(&json!({"alg": "none", "typ": "JWT"})), part(&claims));
    // HMAC with the provider's public key as the secret (key confusion).
    let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, rp.dev.jwks_json().as_bytes());
    let signing_input = format!("{}.{}", part(&json!({"alg": "HS256", "kid": rp.dev.kid()})), part(&claims));
    let tag = aws_lc_rs::hmac::sign(&hmac_key, signing_input.as_bytes());
    let hs256 = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    let wrong_audience = rp.dev.user().claim("nonce", json!(s.nonce)).at(&rp.clock).sign().unwrap();
    for (token, why) in [(none, "none"), (hs256, "HS256"), (wrong_audience, "audience")] {
        let s = start(&rp, "/overview", &[]).await;
        token_answers(&rp, &token).await;
        let page = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
        assert_eq!(page.status(), 400, "{why}");
        assert!(body(&page).contains("ID token was refused"), "{why}: {}", body(&page));
        assert!(cookies_set(&page).is_empty(), "{why}: no session");
    }
}

#[tokio::test]
async fn an_id_token_for_several_audiences_must_name_this_client_in_azp() {
    let rp = rp().await;
    let token = |nonce: &str, aud: Value, azp: Option<&str>| {
        rp.dev
            .user()
            .claim("aud", aud)
            .claim("azp", azp.map_or(Value::Null, |a| json!(a)))
            .claim("scp", Value::Null)
            .claim("nonce", json!(nonce))
            .claim("auth_time", json!(rp.clock.now()))
            .at(&rp.clock)
            .sign()
            .unwrap()
    };
    for (aud, azp, why) in [
        (json!([CLIENT, "other-app"]), None, "several audiences and no azp"),
        (json!([CLIENT, "other-app"]), Some("other-app"), "issued to another client"),
        (json!(CLIENT), Some("other-app"), "one audience, azp of another client"),
    ] {
        let s = start(&rp, "/overview", &[]).await;
        token_answers(&rp, &token(&s.nonce, aud, azp)).await;
        let page = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
        assert_eq!(page.status(), 400, "{why}");
        assert!(
            body(&page).contains("ID token was refused") && body(&page).contains("azp"),
            "{why}: {}",
            body(&page)
        );
        assert!(cookies_set(&page).is_empty(), "{why}: no session");
    }
    for (aud, azp) in
        [(json!([CLIENT, "other-app"]), Some(CLIENT)), (json!(CLIENT), Some(CLIENT)), (json!([CLIENT]), None)]
    {
        let s = start(&rp, "/overview", &[]).await;
        token_answers(&rp, &token(&s.nonce, aud.clone(), azp)).await;
        let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
        assert_eq!(back.status(), 302, "{aud} {azp:?}: {}", body(&back));
    }
}

#[tokio::test]
async fn open_redirects_are_not_followed() {
    let rp = rp().await;
    for evil in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "%252F%252Fevil.example",
        "https%3A%2F%2Fevil.example",
    ] {
        let encoded: String =
            percent_encoding::utf8_percent_encode(evil, percent_encoding::NON_ALPHANUMERIC).collect();
        let s = start(&rp, &format!("/auth/sign-in?return_to={encoded}"), &[]).await;
        token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd"], rp.clock.now())).await;
        let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
        let to = location(&back);
        assert!(
            to == "/" || (to.starts_with('/') && !to.starts_with("//") && !to.contains('\\')),
            "{evil} -> {to}"
        );
        assert!(!to.contains("evil.example") || to.starts_with("/%25"), "{evil} -> {to}");
    }
}

#[tokio::test]
async fn return_paths_with_dot_or_empty_segments_go_back_to_the_start_page() {
    let rp = rp().await;
    for evil in ["/.//evil.example", "/x/../..//evil.example", "/x//evil.example", "/%2e%2e//evil.example"] {
        let encoded: String =
            percent_encoding::utf8_percent_encode(evil, percent_encoding::NON_ALPHANUMERIC).collect();
        let s = start(&rp, &format!("/auth/sign-in?return_to={encoded}"), &[]).await;
        token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd"], rp.clock.now())).await;
        let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
        assert_eq!(location(&back), "/", "{evil}");
    }
    // A good return path with its query comes back as it was.
    let s = start(&rp, "/auth/sign-in?return_to=%2Fcommerce%2Fcustomers%3Fpage%3D2", &[]).await;
    token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd"], rp.clock.now())).await;
    let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
    assert_eq!(location(&back), "/commerce/customers?page=2");
}

#[tokio::test]
async fn a_navigation_to_an_unreadable_path_gets_the_refusal_as_a_page() {
    let rp = rp().await;
    for path in ["/commerce/../billing/x", "/commerce/%2e%2e/x", "/commerce%2Fx"] {
        let a = answer(navigate(&rp.guard, path, &[]).await);
        assert_eq!(a.status(), 400, "{path}");
        assert_eq!(a.rejection().map(|r| r.code()), Some(RejectionCode::InvalidRequest), "{path}");
        assert_eq!(header(&a, "content-type"), ["text/html; charset=utf-8"], "{path}");
        assert_eq!(header(&a, "cache-control"), ["private, no-store"]);
        let text = body(&a);
        assert!(text.contains("<h1>This address cannot be opened</h1>"), "{path}: {text}");
        // The path rule's own words, escaped.
        let detail = a.rejection().unwrap().detail().replace('\'', "&#39;");
        assert!(text.contains(&detail), "{path}: {text}");
        // The same path from a script: the API's JSON refusal, as before.
        let req =
            RequestInfo::new("GET", path).with_navigation_headers(Some(b"cors"), Some(b"application/json"));
        match rp.guard.check(&req).await {
            Admission::Refused(r) => assert_eq!(r.code(), RejectionCode::InvalidRequest),
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn five_tabs_sign_in_in_parallel() {
    let rp = rp().await;
    let mut tabs = Vec::new();
    for i in 0..5 {
        tabs.push((i, start(&rp, &format!("/commerce/tab{i}"), &[]).await));
    }
    let jar: Vec<String> = tabs.iter().map(|(_, s)| s.flow_cookie.clone()).collect();
    // They complete in reverse order, each with every tab's cookie in the jar.
    for (i, s) in tabs.iter().rev() {
        token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd", "mfa"], rp.clock.now())).await;
        let back = callback(&rp, &format!("code=c{i}&state={}", s.state), &jar).await;
        assert_eq!(location(&back), format!("/commerce/tab{i}"), "{}", body(&back));
    }
}

#[tokio::test]
async fn a_sign_in_started_on_one_replica_completes_on_another() {
    let rp = rp().await;
    // A second replica: its own guard, the same key configuration and provider.
    let replica = Guard::builder()
        .verifier(|v| {
            v.issuer(rp.dev.issuer())
                .keys(rp.dev.key_source().unwrap())
                .audience("https://api.partnercenter.microsoft.com")
                .clock(rp.clock.clone())
        })
        .policy(Policy::partner_center())
        .browser(Browser::new(
            CLIENT,
            format!("{APP}/auth/callback"),
            format!("{}/.well-known/openid-configuration", rp.idp.uri()),
            SessionKeys::parse(KEYS).unwrap(),
        ))
        .build()
        .unwrap();
    let s = start(&rp, "/commerce/customers", &[]).await;
    token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd", "mfa"], rp.clock.now())).await;
    let back = answer(
        navigate(&replica, &format!("/auth/callback?code=c&state={}", s.state), &[s.flow_cookie]).await,
    );
    assert_eq!(location(&back), "/commerce/customers", "{}", body(&back));
    let session = cookies_set(&back).pop().unwrap();
    // And the session written by the second replica is good on the first.
    assert!(matches!(navigate(&rp.guard, "/commerce/customers", &[session]).await, Admission::Admitted(_)));
}

#[tokio::test]
async fn a_head_request_never_spends_the_code() {
    let rp = rp().await;
    let s = start(&rp, "/overview", &[]).await;
    let joined = s.flow_cookie.clone();
    let values = [joined.as_bytes()];
    let query = format!("code=c&state={}", s.state);
    let head = RequestInfo::new("HEAD", "/auth/callback")
        .with_query(Some(&query))
        .with_cookies(&values)
        .with_navigation_headers(Some(b"navigate"), None);
    let a = answer(rp.guard.check(&head).await);
    assert!(location(&a).contains("/authorize?"), "not handled as the callback: {}", a.status());
    let received = rp.idp.received_requests().await.unwrap_or_default();
    assert!(received.iter().all(|r| r.url.path() != "/token"), "the token endpoint was not called");
}

#[tokio::test]
async fn a_browser_never_holds_more_than_eight_sign_ins_in_progress() {
    let rp = rp().await;
    let mut jar: Vec<String> = Vec::new();
    for i in 0..12 {
        rp.clock.advance(1);
        let a = answer(navigate(&rp.guard, &format!("/commerce/{i}"), &jar).await);
        for set in header(&a, "set-cookie") {
            let pair = set.split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            jar.retain(|c| !c.starts_with(&format!("{name}=")));
            if !set.contains("Max-Age=0") {
                jar.push(pair);
            }
        }
        assert!(jar.len() <= 8, "{} flow cookies after {} sign-ins", jar.len(), i + 1);
    }
    assert_eq!(jar.len(), 8);
}

#[tokio::test]
async fn a_provider_that_is_down_gets_a_503_page_with_retry_after() {
    // A port nothing listens on.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let clock = ManualClock::new(now());
    let dev = DevIssuer::generate("https://issuer.example").unwrap();
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer(dev.issuer())
                .keys(KeySource::jwks_json(dev.jwks_json().as_bytes()).unwrap())
                .audience("aud")
                .clock(clock)
        })
        .browser(Browser::new(
            CLIENT,
            format!("{APP}/auth/callback"),
            format!("{url}/.well-known/openid-configuration"),
            SessionKeys::parse(KEYS).unwrap(),
        ))
        .build()
        .unwrap();
    for _ in 0..2 {
        let a = answer(navigate(&guard, "/commerce/x", &[]).await);
        assert_eq!(a.status(), 503);
        assert!(header(&a, "retry-after").first().is_some_and(|s| s.parse::<u64>().is_ok()));
        assert!(body(&a).contains("cannot be reached"));
    }
}

#[tokio::test]
async fn sign_out_clears_the_session_and_ends_it_at_the_provider() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd"]).await;
    // A link (GET) only shows the button; the button posts from this origin.
    let page = answer(navigate(&rp.guard, "/auth/sign-out", std::slice::from_ref(&session)).await);
    assert_eq!(page.status(), 200);
    assert!(
        body(&page)
            .contains(r#"<form method="post" action="/auth/sign-out"><button type="submit" id="sign-out">"#),
        "{}",
        body(&page)
    );
    assert!(header(&page, "set-cookie").is_empty(), "showing the button signs no one out");
    let csp = header(&page, "content-security-policy").pop().unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {};", rp.idp.uri())),
        "the post may lead to the provider's end-session endpoint and back: {csp}"
    );
    let a = answer(post(&rp.guard, "/auth/sign-out", &[session], Some("same-origin"), Some(APP)).await);
    assert_eq!(a.status(), 302);
    assert_eq!(header(&a, "cache-control"), ["private, no-store"]);
    assert_eq!(
        location(&a),
        format!(
            "{}/logout?client_id=web-app&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Fsigned-out",
            rp.idp.uri()
        )
    );
    let done = answer(navigate(&rp.guard, "/auth/signed-out", &[]).await);
    assert_eq!(done.status(), 200);
    assert!(body(&done).contains("signed out"));
    assert!(
        header(&a, "set-cookie")
            .iter()
            .any(|c| c.starts_with("__Host-mfa-guard=;") && c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn a_sign_out_not_posted_from_this_application_is_refused() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd"]).await;
    for (site, origin) in [
        // The auto-submitted form of another site, as Chromium sends it.
        (Some("cross-site"), Some("https://evil.example")),
        // A sibling subdomain.
        (Some("same-site"), Some("https://other.app.example")),
        // Fetch metadata decides when it is sent.
        (Some("cross-site"), Some(APP)),
        (Some("none"), None),
        // Older browsers send only Origin.
        (None, Some("https://evil.example")),
        (None, Some("null")),
        (None, Some("http://app.example")),
        // Neither: nothing says where it came from.
        (None, None),
    ] {
        let a = answer(post(&rp.guard, "/auth/sign-out", std::slice::from_ref(&session), site, origin).await);
        assert_eq!(a.status(), 403, "{site:?} {origin:?}");
        assert!(header(&a, "set-cookie").is_empty(), "{site:?} {origin:?}: the session stays");
        assert!(body(&a).contains("id=\"sign-out\""), "the page offers the button");
    }
    assert!(matches!(
        navigate(&rp.guard, "/overview", std::slice::from_ref(&session)).await,
        Admission::Admitted(_)
    ));
    // From this origin, by either signal: signed out.
    for (site, origin) in
        [(Some("same-origin"), None), (None, Some(APP)), (None, Some("HTTPS://APP.EXAMPLE"))]
    {
        let a = answer(post(&rp.guard, "/auth/sign-out", std::slice::from_ref(&session), site, origin).await);
        assert_eq!(a.status(), 302, "{site:?} {origin:?}");
        assert!(header(&a, "set-cookie").iter().any(|c| c.starts_with("__Host-mfa-guard=;")));
    }
}

#[tokio::test]
async fn responses_that_write_the_session_are_never_cached_and_signed_in_pages_are_private() {
    let rp = rp().await;
    let s = start(&rp, "/overview", &[]).await;
    token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd"], rp.clock.now())).await;
    let back = callback(&rp, &format!("code=c&state={}", s.state), &[s.flow_cookie]).await;
    assert_eq!(header(&back, "cache-control"), ["private, no-store"], "the sign-in's redirect");
    let session = cookies_set(&back).pop().unwrap();
    let edits = |p: &mfa_guard_core::Principal| -> Vec<(String, String, HeaderMerge)> {
        p.response_edits().map(|(n, v, m)| (n.to_owned(), v.to_owned(), m)).collect()
    };
    // A signed-in page: private unless its handler says otherwise; no cookie.
    match navigate(&rp.guard, "/overview", std::slice::from_ref(&session)).await {
        Admission::Admitted(p) => {
            assert_eq!(
                edits(&p),
                [("cache-control".to_owned(), "private".to_owned(), HeaderMerge::IfAbsent)]
            );
        }
        other => panic!("{other:?}"),
    }
    // A minute later the cookie is written again: then no cache keeps the
    // response, whatever its handler said.
    rp.clock.advance(60);
    match navigate(&rp.guard, "/overview", std::slice::from_ref(&session)).await {
        Admission::Admitted(p) => {
            let edits = edits(&p);
            assert_eq!(edits.len(), 2, "{edits:?}");
            assert!(edits[0].0 == "set-cookie" && edits[0].1.starts_with("__Host-mfa-guard=v1."));
            assert_eq!(edits[0].2, HeaderMerge::Append);
            assert_eq!(
                edits[1],
                ("cache-control".to_owned(), "private, no-store".to_owned(), HeaderMerge::Replace)
            );
        }
        other => panic!("{other:?}"),
    }
    // Core's own pages and redirects, whether or not they write a cookie.
    let refused = answer(navigate(&rp.guard, "/auth/callback?code=c", &[]).await);
    assert_eq!(header(&refused, "cache-control"), ["private, no-store"]);
    let started = answer(navigate(&rp.guard, "/commerce/x", &[]).await);
    assert_eq!(header(&started, "cache-control"), ["private, no-store"]);
}

#[test]
fn cookies_carry_every_protection() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let rp = rp().await;
        let a = answer(navigate(&rp.guard, "/commerce/x", &[]).await);
        let set = header(&a, "set-cookie").pop().unwrap();
        for attribute in
            ["__Host-mfa-guard-flow-", "Path=/", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=600"]
        {
            assert!(set.contains(attribute), "{attribute}: {set}");
        }
        assert!(!set.contains("Domain="), "__Host- cookies have no Domain");
    });
}

#[test]
fn plain_http_is_refused_outside_loopback() {
    let dev = DevIssuer::generate("https://issuer.example").unwrap();
    let build = |redirect: &str| {
        Guard::partner_center()
            .verifier(|v| {
                v.issuer(dev.issuer())
                    .keys(KeySource::jwks_json(dev.jwks_json().as_bytes()).unwrap())
                    .audience("aud")
            })
            .browser(Browser::new(
                CLIENT,
                redirect,
                "https://issuer.example/.well-known/openid-configuration",
                SessionKeys::parse(KEYS).unwrap(),
            ))
            .build()
    };
    let err = build("http://app.example/auth/callback").unwrap_err().to_string();
    assert!(err.contains("must be https"), "{err}");
    assert!(build("http://127.0.0.1:3000/auth/callback").is_ok());
    assert!(build("http://localhost:3000/auth/callback").is_ok());
    assert!(build("/auth/callback").unwrap_err().to_string().contains("absolute"));
}

#[test]
fn an_idle_timeout_under_twice_the_cookie_rewrite_interval_is_refused() {
    let dev = DevIssuer::generate("https://issuer.example").unwrap();
    let build = |idle: u64| {
        Guard::partner_center()
            .verifier(|v| {
                v.issuer(dev.issuer())
                    .keys(KeySource::jwks_json(dev.jwks_json().as_bytes()).unwrap())
                    .audience("aud")
            })
            .browser(
                Browser::new(
                    CLIENT,
                    "https://app.example/auth/callback",
                    "https://issuer.example/.well-known/openid-configuration",
                    SessionKeys::parse(KEYS).unwrap(),
                )
                .idle_timeout(Duration::from_secs(idle)),
            )
            .build()
    };
    for idle in [0, 1, 60, 119] {
        let err = build(idle).unwrap_err().to_string();
        assert!(err.contains("idle_timeout") && err.contains("2m minimum"), "{idle}: {err}");
    }
    assert!(build(120).is_ok());
    // The same rule for the configuration file, at the key.
    let file = |idle: &str| {
        mfa_guard_core::Config::from_toml_str(
            &format!("[browser]\nidle_timeout = \"{idle}\"\n"),
            "mfa-guard.toml",
        )
    };
    let err = file("90s").unwrap_err();
    assert_eq!(err.key(), Some("browser.idle_timeout"));
    assert!(err.message().contains("under the 2m minimum"), "{err}");
    assert!(err.to_string().contains("`browser.idle_timeout`"), "{err}");
    assert!(file("2m").is_ok());
}

#[test]
fn debug_output_holds_no_secret() {
    let browser = Browser::new(
        CLIENT,
        "https://app.example/cb",
        "https://idp.example/d",
        SessionKeys::parse(KEYS).unwrap(),
    )
    .client_secret("s3cr3t-value");
    let shown = format!("{browser:?}");
    assert!(!shown.contains("s3cr3t") && !shown.contains("AAAAAAAA"), "{shown}");
}

/// The Partner Center preset, and the Security workspace asking Entra's
/// phishing-resistant authentication context `c2`.
async fn rp_with_levels() -> Rp {
    use mfa_guard_core::{AssuranceLevel, Requirement, Role};
    let policy = Policy::partner_center()
        .assurance_level(AssuranceLevel::new("phishing-resistant").auth_contexts(["c2"]))
        .route(
            "/security/*",
            Requirement::mfa().any_role([Role::AdminAgent]).assurance("phishing-resistant"),
        );
    rp_with_policy(KEYS, policy, |b| b).await
}

fn id_token_with(rp: &Rp, nonce: &str, amr: &[&str], extra: &[(&str, Value)]) -> String {
    let mut spec = rp
        .dev
        .user()
        .audience(CLIENT)
        .claim("scp", Value::Null)
        .claim("nonce", json!(nonce))
        .claim("amr", json!(amr))
        .claim("auth_time", json!(rp.clock.now()))
        .at(&rp.clock)
        .lifetime(Duration::from_secs(600));
    for (name, value) in extra {
        spec = spec.claim(*name, value.clone());
    }
    spec.sign().unwrap()
}

#[tokio::test]
async fn a_session_below_a_routes_level_is_stepped_up_for_that_level_as_the_same_user() {
    let rp = rp_with_levels().await;
    let session = sign_in(&rp, "/overview", &["pwd", "mfa"]).await;
    // Any MFA opens Customers; the Security workspace asks for more.
    assert!(matches!(
        navigate(&rp.guard, "/commerce/customers", std::slice::from_ref(&session)).await,
        Admission::Admitted(_)
    ));
    let step = start(&rp, "/security/alerts", std::slice::from_ref(&session)).await;
    let claims = query_param(&step.url, "claims").unwrap();
    let asked: Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(asked, json!({"id_token": {"acrs": {"essential": true, "value": "c2"}}}), "{}", step.url);
    assert_eq!(query_param(&step.url, "login_hint").as_deref(), Some("adminagent@dev.example"));
    rp.clock.advance(5);
    token_answers(&rp, &id_token_with(&rp, &step.nonce, &["pwd", "mfa"], &[("acrs", json!(["c2"]))])).await;
    let back = callback(&rp, &format!("code=c&state={}", step.state), &[session, step.flow_cookie]).await;
    assert_eq!(location(&back), "/security/alerts");
    match navigate(&rp.guard, "/security/alerts", &[cookies_set(&back).pop().unwrap()]).await {
        Admission::Admitted(p) => assert_eq!(p.assurance_level(), Some("phishing-resistant")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_step_up_that_brings_only_the_base_level_ends_on_the_page_naming_the_level_it_needed() {
    let rp = rp_with_levels().await;
    let session = sign_in(&rp, "/overview", &["pwd", "mfa"]).await;
    let step = start(&rp, "/security/alerts", std::slice::from_ref(&session)).await;
    rp.clock.advance(5);
    token_answers(&rp, &id_token_with(&rp, &step.nonce, &["pwd", "mfa"], &[])).await;
    let back = callback(&rp, &format!("code=c&state={}", step.state), &[session, step.flow_cookie]).await;
    let failed = cookies_set(&back).pop().unwrap();
    let a = answer(navigate(&rp.guard, "/security/alerts", std::slice::from_ref(&failed)).await);
    assert_eq!((a.status(), a.reason_phrase()), (401, Some("Unauthorized - MFA required")));
    let text = body(&a);
    assert!(text.contains("assurance level <strong>phishing-resistant</strong>"), "{text}");
    // MFA was done, only not strong enough: a method to choose, not a provider to change.
    assert!(text.contains("with multi-factor authentication (<strong>mfa</strong>)"), "{text}");
    assert!(text.contains("security key") && !text.contains("use an MFA provider"), "{text}");
    assert!(text.contains("return_to=%2Fsecurity%2Falerts&amp;step_up=1"), "{text}");
    // Customers still opens: the base level it asks for was shown.
    assert!(matches!(navigate(&rp.guard, "/commerce/customers", &[failed]).await, Admission::Admitted(_)));
}

#[tokio::test]
async fn a_step_up_never_switches_accounts() {
    let rp = rp().await;
    let session = sign_in(&rp, "/overview", &["pwd"]).await;
    let step = start(&rp, "/commerce/customers", std::slice::from_ref(&session)).await;
    token_answers(
        &rp,
        &id_token_with(
            &rp,
            &step.nonce,
            &["pwd", "mfa"],
            &[("sub", json!("someone-else")), ("oid", json!("eeeeeeee-0000-1111-2222-ffffffffffff"))],
        ),
    )
    .await;
    let back =
        callback(&rp, &format!("code=c&state={}", step.state), &[session.clone(), step.flow_cookie]).await;
    assert_eq!(back.status(), 403, "{}", body(&back));
    assert!(body(&back).contains("another account"), "{}", body(&back));
    // The flow is spent, and no session is written: the first account stays signed
    // in as it was, without MFA.
    let set = header(&back, "set-cookie");
    assert!(set.iter().all(|c| !c.starts_with("__Host-mfa-guard=")), "{set:?}");
    assert!(set.iter().any(|c| c.contains("-flow-") && c.contains("Max-Age=0")), "{set:?}");
    match navigate(&rp.guard, "/overview", std::slice::from_ref(&session)).await {
        Admission::Admitted(p) => {
            assert!(!p.mfa() && p.oid() != Some("eeeeeeee-0000-1111-2222-ffffffffffff"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_mfa_page_tells_a_skipped_second_factor_from_an_unrecognised_one_and_offers_a_retry() {
    for (amr, says, does_not_say) in [
        (&["pwd"][..], "without a second factor", "administrator"),
        (
            &["pwd", "otp"][..],
            "does not show MFA that this application recognises",
            "without a second factor",
        ),
    ] {
        let rp = rp().await;
        let session = sign_in(&rp, "/overview", &["pwd"]).await;
        let step = start(&rp, "/commerce/customers", std::slice::from_ref(&session)).await;
        token_answers(&rp, &id_token_with(&rp, &step.nonce, amr, &[])).await;
        let back = callback(&rp, &format!("code=c&state={}", step.state), &[session, step.flow_cookie]).await;
        let failed = cookies_set(&back).pop().unwrap();
        let a = answer(navigate(&rp.guard, "/commerce/customers", std::slice::from_ref(&failed)).await);
        let text = body(&a);
        assert!(text.contains(says) && !text.contains(does_not_say), "{amr:?}: {text}");
        // The retry link starts a step-up now, inside the step-up window, for the
        // page's own rule and the same user.
        let retry = "/auth/sign-in?return_to=%2Fcommerce%2Fcustomers&step_up=1";
        assert!(text.contains(&retry.replace('&', "&amp;")), "{text}");
        let again = start(&rp, retry, &[failed]).await;
        assert_eq!(query_param(&again.url, "prompt").as_deref(), Some("login"), "{}", again.url);
        assert!(query_param(&again.url, "claims").unwrap().contains("\"mfa\""));
        assert_eq!(query_param(&again.url, "login_hint").as_deref(), Some("adminagent@dev.example"));
    }
}

// Sessions that end (issue 22): with a revocation store every session carries its
// id, sign-out and back-channel logout revoke, sign-in and step-up rotate the id.

use mfa_guard_core::revocation::Revocations;

/// A relying party whose browser mode checks sessions against `store`.
async fn rp_with_store(store: &Revocations) -> Rp {
    let store = store.clone();
    rp_with(KEYS, move |b| b.session_store(store)).await
}

/// An ID token as [`id_token`]'s, carrying the provider's session id `sid`.
fn id_token_with_sid(rp: &Rp, nonce: &str, amr: &[&str], sid: &str) -> String {
    rp.dev
        .user()
        .audience(CLIENT)
        .claim("scp", Value::Null)
        .claim("nonce", json!(nonce))
        .claim("amr", json!(amr))
        .claim("auth_time", json!(rp.clock.now()))
        .claim("sid", json!(sid))
        .at(&rp.clock)
        .lifetime(Duration::from_secs(600))
        .sign()
        .unwrap()
}

/// Signs in with the provider's session `sid`; returns the session cookie.
async fn sign_in_with_sid(rp: &Rp, sid: &str) -> String {
    let s = start(rp, "/overview", &[]).await;
    token_answers(rp, &id_token_with_sid(rp, &s.nonce, &["pwd"], sid)).await;
    let back = callback(rp, &format!("code=c1&state={}", s.state), &[s.flow_cookie]).await;
    assert_eq!(back.status(), 302, "{}", body(&back));
    cookies_set(&back).pop().expect("a session cookie")
}

/// Whether a navigation to an MFA-free signed-in page with `cookie` is admitted.
async fn signed_in(rp: &Rp, cookie: &str) -> bool {
    matches!(navigate(&rp.guard, "/overview", &[cookie.to_owned()]).await, Admission::Admitted(_))
}

/// The claims of a valid logout token for the session `sid` of the development user.
fn logout_claims(rp: &Rp, sid: &str) -> Value {
    let mut claims = rp.dev.user().audience(CLIENT).at(&rp.clock).lifetime(Duration::from_secs(120)).claims();
    let object = claims.as_object_mut().unwrap();
    for name in ["scp", "roles", "amr", "wids", "nbf"] {
        object.remove(name);
    }
    object.insert("jti".into(), json!(format!("jti-{sid}")));
    object.insert("sid".into(), json!(sid));
    object.insert("events".into(), json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    claims
}

async fn backchannel(rp: &Rp, token: &str) -> Answer {
    let body = format!("logout_token={token}");
    rp.guard.backchannel_logout(Some(b"application/x-www-form-urlencoded"), body.as_bytes()).await
}

/// Asserts a back-channel refusal: `400`, `no-store`, an OAuth error body whose
/// description contains `why`.
fn assert_refused(a: &Answer, why: &str) {
    assert_eq!(a.status(), 400, "{}", body(a));
    assert_eq!(header(a, "cache-control"), ["no-store"]);
    assert_eq!(header(a, "content-type"), ["application/json"]);
    let json: Value = serde_json::from_str(&body(a)).unwrap();
    assert_eq!(json["error"], "invalid_request");
    let description = json["error_description"].as_str().unwrap();
    assert!(description.contains(why), "{description:?} should say {why:?}");
}

#[tokio::test]
async fn sign_out_revokes_the_session_so_a_copy_of_its_cookie_is_refused() {
    let store = Revocations::memory();
    let rp = rp_with_store(&store).await;
    let session = sign_in(&rp, "/overview", &["pwd"]).await;
    assert!(signed_in(&rp, &session).await);
    let out = answer(
        post(&rp.guard, "/auth/sign-out", std::slice::from_ref(&session), Some("same-origin"), Some(APP))
            .await,
    );
    assert_eq!(out.status(), 302);
    assert_eq!(store.len(), 1, "the session id is revoked");
    // The copy: a new sign-in, and the cookie is cleared.
    let again = answer(navigate(&rp.guard, "/overview", std::slice::from_ref(&session)).await);
    assert_eq!(again.status(), 302);
    assert!(location(&again).starts_with(&format!("{}/authorize?", rp.idp.uri())), "{}", location(&again));
    assert!(
        header(&again, "set-cookie")
            .iter()
            .any(|c| c.starts_with("__Host-mfa-guard=;") && c.contains("Max-Age=0")),
        "{:?}",
        header(&again, "set-cookie")
    );
    // A public page is still served, without a caller.
    match navigate(&rp.guard, "/health", std::slice::from_ref(&session)).await {
        Admission::Anonymous(_) => {}
        other => panic!("a public page with a revoked cookie: {other:?}"),
    }
    // Without a store the same sign-out only clears this browser's cookie.
    let cookie_only = self::rp().await;
    let kept = sign_in(&cookie_only, "/overview", &["pwd"]).await;
    post(&cookie_only.guard, "/auth/sign-out", std::slice::from_ref(&kept), Some("same-origin"), Some(APP))
        .await;
    assert!(signed_in(&cookie_only, &kept).await, "the documented limit of cookie-only sessions");
}

#[tokio::test]
async fn sign_in_and_step_up_give_a_new_session_id_and_the_old_cookie_is_refused() {
    let store = Revocations::memory();
    let rp = rp_with_store(&store).await;
    let first = sign_in(&rp, "/overview", &["pwd"]).await;
    // Step-up: a new cookie value and a new id; the old cookie is revoked.
    let step = start(&rp, "/commerce/customers", std::slice::from_ref(&first)).await;
    rp.clock.advance(5);
    token_answers(&rp, &id_token(&rp, &step.nonce, &["pwd", "mfa"], rp.clock.now())).await;
    let back =
        callback(&rp, &format!("code=c2&state={}", step.state), &[first.clone(), step.flow_cookie]).await;
    let stepped = cookies_set(&back).pop().unwrap();
    assert_ne!(stepped, first);
    assert!(matches!(
        navigate(&rp.guard, "/commerce/customers", std::slice::from_ref(&stepped)).await,
        Admission::Admitted(_)
    ));
    assert!(!signed_in(&rp, &first).await, "the cookie from before the step-up is refused");
    assert_eq!(store.len(), 1);
    // A sign-in over an existing session (a cookie planted by someone else, say)
    // replaces it, and the planted one is refused afterwards.
    let planted = stepped;
    let s = start(&rp, "/auth/sign-in?return_to=%2Foverview", std::slice::from_ref(&planted)).await;
    token_answers(&rp, &id_token(&rp, &s.nonce, &["pwd", "mfa"], rp.clock.now())).await;
    let back = callback(&rp, &format!("code=c3&state={}", s.state), &[planted.clone(), s.flow_cookie]).await;
    let fresh = cookies_set(&back).pop().unwrap();
    assert_ne!(fresh, planted);
    assert!(signed_in(&rp, &fresh).await);
    assert!(!signed_in(&rp, &planted).await);
}

#[tokio::test]
async fn a_step_up_that_comes_back_without_mfa_also_rotates_the_session_id() {
    let store = Revocations::memory();
    let rp = rp_with_store(&store).await;
    let first = sign_in(&rp, "/overview", &["pwd"]).await;
    let step = start(&rp, "/commerce/customers", std::slice::from_ref(&first)).await;
    let back = callback(
        &rp,
        &format!("error=access_denied&state={}", step.state),
        &[first.clone(), step.flow_cookie],
    )
    .await;
    let kept = cookies_set(&back).pop().expect("the session, remembering the failed step-up");
    assert_ne!(kept, first);
    assert!(signed_in(&rp, &kept).await);
    assert!(!signed_in(&rp, &first).await);
}

#[tokio::test]
async fn revoke_user_signs_every_session_of_that_user_out() {
    let store = Revocations::memory();
    let rp = rp_with_store(&store).await;
    let laptop = sign_in(&rp, "/overview", &["pwd"]).await;
    let phone = sign_in(&rp, "/overview", &["pwd"]).await;
    let sub = rp.dev.user().claims()["sub"].as_str().unwrap().to_owned();
    rp.guard.revoke_user(&sub).await.unwrap();
    assert!(!signed_in(&rp, &laptop).await);
    assert!(!signed_in(&rp, &phone).await);
    // Signing in again afterwards works (the cut is "signed in until now").
    rp.clock.advance(2);
    let again = sign_in(&rp, "/overview", &["pwd"]).await;
    assert!(signed_in(&rp, &again).await);
    // Without a store it says what is missing.
    let err = self::rp().await.guard.revoke_user(&sub).await.unwrap_err();
    assert!(err.to_string().contains("MFA_SESSION_STORE"), "{err}");
}

#[tokio::test]
async fn a_back_channel_logout_ends_the_sessions_of_the_provider_session_it_names() {
    let store = Revocations::memory();
    let rp = rp_with_store(&store).await;
    assert_eq!(rp.guard.backchannel_logout_path(), Some("/auth/backchannel-logout"));
    let ended = sign_in_with_sid(&rp, "op-session-1").await;
    let other = sign_in_with_sid(&rp, "op-session-2").await;
    let token = rp.dev.sign(&logout_claims(&rp, "op-session-1")).unwrap();
    let a = backchannel(&rp, &token).await;
    assert_eq!(a.status(), 200, "{}", body(&a));
    assert_eq!(header(&a, "cache-control"), ["no-store"]);
    assert!(!signed_in(&rp, &ended).await, "the named provider session is signed out");
    assert!(signed_in(&rp, &other).await, "another provider session is not");
    // The same token again: its jti is known.
    assert_refused(&backchannel(&rp, &token).await, "used before");
    // A token naming only the user signs out all of their sessions.
    let mut by_sub = logout_claims(&rp, "unused");
    by_sub.as_object_mut().unwrap().remove("sid");
    by_sub["jti"] = json!("jti-by-sub");
    let a = backchannel(&rp, &rp.dev.sign(&by_sub).unwrap()).await;
    assert_eq!(a.status(), 200, "{}", body(&a));
    assert!(!signed_in(&rp, &other).await);
}

#[tokio::test]
async fn logout_tokens_that_are_not_valid_are_refused_with_400_and_say_why() {
    let store = Revocations::memory();
    let rp = rp_with_store(&store).await;
    let session = sign_in_with_sid(&rp, "op-session").await;
    let signed = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = logout_claims(&rp, "op-session");
        edit(claims.as_object_mut().unwrap());
        rp.dev.sign(&claims).unwrap()
    };
    let unsigned = {
        let payload = URL_SAFE_NO_PAD.encode(logout_claims(&rp, "op-session").to_string());
        format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#))
    };
    let cases: Vec<(String, &str)> = vec![
        (unsigned, "refused"),
        (signed(&|c| drop(c.insert("aud".into(), json!("another-client")))), "refused"),
        (signed(&|c| drop(c.insert("nonce".into(), json!("n")))), "nonce"),
        (signed(&|c| drop(c.remove("events"))), "events"),
        (signed(&|c| drop(c.insert("events".into(), json!({"urn:other": {}})))), "events"),
        (
            signed(&|c| {
                c.remove("sid");
                c.remove("sub");
            }),
            "neither",
        ),
        (signed(&|c| drop(c.remove("jti"))), "jti"),
        (signed(&|c| drop(c.remove("iat"))), "iat"),
        (signed(&|c| drop(c.insert("exp".into(), json!(rp.clock.now() - 3600)))), "expired"),
    ];
    for (token, why) in &cases {
        assert_refused(&backchannel(&rp, token).await, why);
    }
    assert!(signed_in(&rp, &session).await, "no refused token signed anyone out");
    // Not a form, or no token in it.
    let token = signed(&|_| {});
    let json = rp.guard.backchannel_logout(Some(b"application/json"), token.as_bytes()).await;
    assert_refused(&json, "x-www-form-urlencoded");
    let empty = rp.guard.backchannel_logout(Some(b"application/x-www-form-urlencoded"), b"").await;
    assert_refused(&empty, "no logout_token");
    // Without a store: refused, saying revocation needs one.
    let cookie_only = self::rp().await;
    assert_refused(&backchannel(&cookie_only, &token).await, "MFA_SESSION_STORE");
}

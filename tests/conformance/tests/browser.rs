//! The seed's browser journeys on both example servers, in development mode, with a
//! scripted browser (`mfa_guard_conformance::browser`): examples 1, 3 and 4, the
//! role page, and API calls next to a session. Headless Chromium walks the same
//! journeys in `chromium.rs`; this suite needs no browser and reads the status line
//! as sent.

use mfa_guard_conformance::browser::{Browser, SignIn, Visit};
use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::http1;
use mfa_guard_conformance::servers::all_from_env;
use reqwest::Url;

async fn servers() -> Vec<Target> {
    all_from_env(&[]).await.expect("the example servers start")
}

fn url(target: &Target, path: &str) -> Url {
    Url::parse(&format!("http://{}{path}", target.addr)).unwrap()
}

/// The handler's JSON answer, as the page a navigation gets shows it.
fn answer(text: &str) -> serde_json::Value {
    mfa_guard_conformance::browser::shown_answer(text).unwrap_or_default()
}

fn area(text: &str) -> String {
    answer(text)["area"].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn example_1_mfa_at_sign_in_opens_mfa_pages_without_a_second_prompt() {
    for target in servers().await {
        let mut browser = Browser::new();
        let overview =
            browser.open(&url(&target, "/overview"), &mut vec![SignIn::PasswordAndMfa("admin")]).await;
        assert_eq!(
            (overview.status(), area(&overview.text())),
            (200, "\"overview\"".into()),
            "{}",
            target.name
        );
        let customers = browser.open(&url(&target, "/commerce/customers"), &mut vec![]).await;
        assert_eq!(customers.status(), 200, "{}: {}", target.name, customers.text());
        assert_eq!(answer(&customers.text())["mfa"], true);
        assert_eq!(browser.provider_trips, 1, "{}: one sign-in, no second prompt", target.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn example_3_sign_in_without_mfa_then_step_up_on_the_mfa_page() {
    for target in servers().await {
        let mut browser = Browser::new();
        for day in 1..=2 {
            let before = browser.provider_trips;
            let overview =
                browser.open(&url(&target, "/overview"), &mut vec![SignIn::Password("admin")]).await;
            assert_eq!(overview.status(), 200, "{} day {day}", target.name);
            assert_eq!(answer(&overview.text())["mfa"], false);
            // The MFA page sends the browser to the provider, which is asked for MFA.
            let mut steps = vec![SignIn::PasswordAndMfa("admin")];
            let customers = browser.open(&url(&target, "/commerce/customers?page=2"), &mut steps).await;
            assert!(steps.is_empty(), "{}: the step-up page was shown", target.name);
            assert_eq!(customers.status(), 200, "{}: {}", target.name, customers.text());
            assert_eq!(customers.url.path(), "/commerce/customers");
            assert_eq!(customers.url.query(), Some("page=2"), "the return path keeps the query");
            assert_eq!(answer(&customers.text())["mfa"], true);
            assert_eq!(
                browser.provider_trips - before,
                2,
                "{} day {day}: sign-in, then one step-up",
                target.name
            );
            // Another day: signed out with the sign-out page's button, the same again.
            let page = browser.get(&url(&target, "/auth/sign-out")).await;
            assert_eq!(page.status(), 200, "{}", target.name);
            assert!(browser.jar.contains_key("mfa-guard"), "showing the button signs no one out");
            let out = browser.submit_form(&page, "/auth/sign-out", &[]).await;
            assert_eq!(out.status(), 302, "{}: {}", target.name, out.text());
            assert!(!browser.jar.contains_key("mfa-guard"), "signing out clears the session");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn example_4_unrecognised_mfa_is_refused_with_the_mfa_page_everywhere() {
    for target in servers().await {
        let mut browser = Browser::new();
        browser.open(&url(&target, "/overview"), &mut vec![SignIn::Password("incompatible")]).await;
        let page = browser
            .open(&url(&target, "/commerce/customers"), &mut vec![SignIn::PasswordAndMfa("incompatible")])
            .await;
        assert_eq!(page.response.status_line, "HTTP/1.1 401 Unauthorized - MFA required", "{}", target.name);
        assert_eq!(page.url.path(), "/commerce/customers");
        let text = page.text();
        assert!(text.contains("<h1>Unauthorized - MFA required</h1>"), "{text}");
        assert!(text.contains("pwd, otp") && text.contains("administrator"), "{text}");
        assert_eq!(page.response.all("www-authenticate").len(), 1, "still one Bearer challenge");
        assert_eq!(browser.provider_trips, 2);
        // Every MFA page, at once and without another round trip: never a loop.
        for other in ["/billing/invoices", "/security/alerts", "/commerce/customers"] {
            let again = browser.open(&url(&target, other), &mut vec![]).await;
            assert_eq!(again.response.status_line, "HTTP/1.1 401 Unauthorized - MFA required", "{other}");
        }
        assert_eq!(browser.provider_trips, 2, "{}: at most one step-up per visit", target.name);
        // And the API refuses their tokens as ever (the session is not a token).
        let cookie = format!("Cookie: mfa-guard={}", browser.jar["mfa-guard"]).into_bytes();
        let api = http1::request(target.addr, "GET", "/commerce/customers", &[cookie]).await.unwrap();
        assert_eq!(api.status, 401);
        assert_eq!(api.code().as_deref(), Some("missing_token"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_role_is_a_403_page_on_both_servers() {
    for target in servers().await {
        let mut browser = Browser::new();
        let page = browser
            .open(&url(&target, "/billing/invoices"), &mut vec![SignIn::PasswordAndMfa("sales")])
            .await;
        assert_eq!(page.status(), 403, "{}: {}", target.name, page.text());
        assert!(page.text().contains("<h1>Forbidden</h1>"));
        // The sales agent's own area opens.
        let customers = browser.open(&url(&target, "/commerce/customers"), &mut vec![]).await;
        assert_eq!(customers.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn both_servers_answer_the_browser_alike() {
    let targets = servers().await;
    let mut seen = Vec::new();
    for target in &targets {
        let mut browser = Browser::new();
        let first = browser.get(&url(target, "/commerce/customers")).await;
        let location = first.location().unwrap();
        let params: Vec<String> = location.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let page = browser.open(&url(target, "/overview"), &mut vec![SignIn::Password("incompatible")]).await;
        let step = browser.get(&url(target, "/commerce/customers")).await;
        seen.push((
            first.status(),
            params,
            page.status(),
            step.status(),
            step.location().map(|l| l.path().to_owned()),
        ));
    }
    assert_eq!(seen[0], seen[1], "axum and actix");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_callback_or_a_code_of_another_sign_in_is_refused_by_the_development_issuer() {
    for target in servers().await {
        // Two sign-ins in two tabs of one browser: A and B.
        let mut browser = Browser::new();
        let a = browser.get(&url(&target, "/commerce/a")).await.location().unwrap();
        let b = browser.get(&url(&target, "/commerce/b")).await.location().unwrap();
        let page_a = browser.get(&a).await;
        let page_b = browser.get(&b).await;
        let back_a =
            browser.submit_dev_sign_in(&page_a, SignIn::PasswordAndMfa("admin")).await.location().unwrap();
        let back_b =
            browser.submit_dev_sign_in(&page_b, SignIn::PasswordAndMfa("admin")).await.location().unwrap();
        let code_b = back_b.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
        let state_a = back_a.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        // B's code under A's state: A's PKCE verifier does not match B's challenge.
        let mut forged = back_a.clone();
        forged.set_query(Some(&format!("code={code_b}&state={state_a}")));
        let saved = browser.jar.clone();
        let refused = browser.get(&forged).await;
        assert_eq!(refused.status(), 400, "{}: {}", target.name, refused.text());
        assert!(refused.text().contains("PKCE"), "{}", refused.text());
        assert!(!browser.jar.contains_key("mfa-guard"), "no session");
        // A's own callback, once: signed in. Replayed with A's flow cookie put back:
        // the code was spent.
        browser.jar = saved.clone();
        let first = browser.get(&back_a).await;
        assert_eq!(first.status(), 302, "{}", first.text());
        assert!(browser.jar.contains_key("mfa-guard"));
        let mut replay = Browser { jar: saved, provider_trips: 0 };
        let again = replay.get(&back_a).await;
        assert_eq!(again.status(), 400, "{}: {}", target.name, again.text());
        assert!(again.text().contains("already used"), "{}", again.text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_out_posted_from_another_site_is_refused_on_both_servers() {
    for target in servers().await {
        let mut browser = Browser::new();
        let overview = browser.open(&url(&target, "/overview"), &mut vec![SignIn::Password("admin")]).await;
        assert_eq!(overview.status(), 200, "{}", target.name);
        // Another site's page auto-submits a form to the sign-out path.
        let evil =
            Visit { url: Url::parse("https://evil.example/").unwrap(), response: overview.response.clone() };
        let refused = browser.submit_form(&evil, url(&target, "/auth/sign-out").as_str(), &[]).await;
        assert_eq!(refused.status(), 403, "{}: {}", target.name, refused.text());
        assert!(refused.response.all("set-cookie").is_empty(), "{}", target.name);
        assert!(browser.jar.contains_key("mfa-guard"), "{}: still signed in", target.name);
        assert_eq!(browser.get(&url(&target, "/overview")).await.status(), 200);
        // A post that says nothing of where it comes from is refused too.
        let silent = browser.post_form(&url(&target, "/auth/sign-out"), &[]).await;
        assert_eq!(silent.status(), 403, "{}", target.name);
        assert!(browser.jar.contains_key("mfa-guard"), "{}: still signed in", target.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_pages_are_private_and_core_pages_are_never_cached_on_both_servers() {
    for target in servers().await {
        let mut browser = Browser::new();
        let first = browser.get(&url(&target, "/overview")).await;
        assert_eq!(first.response.all("cache-control"), ["private, no-store"], "{}", target.name);
        let overview = browser.open(&url(&target, "/overview"), &mut vec![SignIn::Password("admin")]).await;
        assert_eq!(overview.status(), 200, "{}", target.name);
        assert_eq!(overview.response.all("cache-control"), ["private"], "{}: a signed-in page", target.name);
        // A public page without a session keeps its handler's own caching (none here).
        let anonymous = Browser::new().get(&url(&target, "/health")).await;
        assert!(anonymous.response.all("cache-control").is_empty(), "{}", target.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_navigation_to_an_unreadable_path_gets_an_html_page_on_both_servers() {
    for target in servers().await {
        let page = Browser::new().get(&url(&target, "/commerce%2Fcustomers")).await;
        assert_eq!(page.status(), 400, "{}", target.name);
        assert_eq!(
            page.response.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{}: {}",
            target.name,
            page.text()
        );
        assert!(page.text().contains("<h1>This address cannot be opened</h1>"), "{}", target.name);
        // An API call to the same path keeps the JSON refusal.
        let api = http1::request(target.addr, "GET", "/commerce%2Fcustomers", &[]).await.unwrap();
        assert_eq!((api.status, api.code().as_deref()), (400, Some("invalid_request")), "{}", target.name);
    }
}

/// docs/BROWSER.md's `[browser]` table is a file the servers accept, and builds the
/// browser sign-in it shows.
#[test]
fn the_browser_table_of_the_docs_is_a_valid_file() {
    let doc = include_str!("../../../docs/BROWSER.md");
    let block = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("docs/BROWSER.md shows a [browser] table");
    let config = mfa_guard_core::config::Config::from_toml_str(block, "docs/BROWSER.md")
        .unwrap_or_else(|e| panic!("{e}\n{block}"));
    assert!(config.has_browser());
    let keys = mfa_guard_core::browser::SessionKeys::random("doc").unwrap();
    let base =
        mfa_guard_core::browser::Browser::new("id", "https://a.example/cb", "https://a.example/d", keys);
    let browser = config.apply_browser(base).unwrap();
    assert!(format!("{browser:?}").contains(r#"Entra { auth_context: "c1" }"#), "{browser:?}");
}

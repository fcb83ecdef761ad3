//! The remote key source against a real HTTP server on 127.0.0.1 that scripts its
//! answers and counts requests (wiremock). Fetch counts are asserted exactly; time is
//! a `ManualClock` shared by the guard, the key source and the minted tokens.

use std::time::Duration;

use mfa_guard_core::{
    Guard, KeySource, ManualClock, Principal, Rejection, RejectionCode, RemoteOptions, RequestInfo,
};
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};
use serde_json::json;
use tokio::task::JoinSet;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const V2_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
const START: i64 = 1_800_000_000;

/// A scripted identity provider: discovery at `/.well-known/openid-configuration`,
/// keys at `/keys`.
struct Idp {
    server: MockServer,
    /// Priority of the next replacement answer (wiremock: lower wins).
    next_priority: std::sync::atomic::AtomicU8,
}

impl Idp {
    async fn start() -> Self {
        Self { server: MockServer::start().await, next_priority: std::sync::atomic::AtomicU8::new(4) }
    }

    fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.server.uri())
    }

    fn jwks_url(&self) -> String {
        format!("{}/keys", self.server.uri())
    }

    async fn serve_discovery(&self, issuer: &str) {
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(self.discovery_document(issuer))
            .mount(&self.server)
            .await;
    }

    async fn serve_keys(&self, response: ResponseTemplate) {
        Mock::given(method("GET")).and(path("/keys")).respond_with(response).mount(&self.server).await;
    }

    /// Replaces the keys answer by mounting one that takes priority (a reset would
    /// also forget the requests received, and with them the counts).
    async fn replace_keys(&self, response: ResponseTemplate) {
        let priority = self.next_priority.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(response)
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }

    /// Replaces the discovery answer, as [`replace_keys`](Self::replace_keys) does.
    async fn replace_discovery(&self, response: ResponseTemplate) {
        let priority = self.next_priority.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(response)
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }

    fn discovery_document(&self, issuer: &str) -> ResponseTemplate {
        let doc = json!({"issuer": issuer, "jwks_uri": self.jwks_url(), "token_endpoint": "https://x/token"});
        ResponseTemplate::new(200).set_body_json(doc)
    }

    async fn count(&self, p: &str) -> usize {
        self.server.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == p).count()
    }

    async fn jwks_fetches(&self) -> usize {
        self.count("/keys").await
    }

    async fn discovery_fetches(&self) -> usize {
        self.count("/.well-known/openid-configuration").await
    }
}

fn jwks(issuers: &[&DevIssuer]) -> ResponseTemplate {
    let keys: Vec<serde_json::Value> = issuers
        .iter()
        .map(|i| serde_json::from_str::<serde_json::Value>(i.jwks_json()).unwrap()["keys"][0].clone())
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({ "keys": keys }))
}

fn options(clock: &ManualClock) -> RemoteOptions {
    RemoteOptions::new().clock(clock.clone()).timeout(Duration::from_millis(400))
}

fn jwks_guard(idp: &Idp, clock: &ManualClock, opts: RemoteOptions) -> Guard {
    Guard::partner_center()
        .verifier(|v| {
            v.issuer(V2_TEMPLATE)
                .keys(KeySource::jwks_url_with(idp.jwks_url(), opts))
                .audience(DEV_AUDIENCE)
                .clock(clock.clone())
        })
        .build()
        .unwrap()
}

/// What a check concluded, as a `Result`.
type CheckResult = Result<Option<Principal>, Rejection>;

async fn check(guard: &Guard, token: &str) -> CheckResult {
    let header = format!("Bearer {token}");
    guard
        .check(&RequestInfo::new("GET", "/commerce/customers").with_authorization(header.as_bytes()))
        .await
        .into_result()
}

fn v2_token(issuer: &DevIssuer, clock: &ManualClock) -> String {
    issuer
        .user()
        .at(clock)
        .claim("iss", json!(format!("https://login.microsoftonline.com/{DEV_TENANT}/v2.0")))
        .claim("jti", json!(format!("{:x}", rand_u64())))
        .sign()
        .unwrap()
}

fn token_with_kid(issuer: &DevIssuer, clock: &ManualClock, kid: &str) -> String {
    let claims = issuer
        .user()
        .at(clock)
        .claim("iss", json!(format!("https://login.microsoftonline.com/{DEV_TENANT}/v2.0")))
        .claims();
    issuer.sign_with_header(&json!({"alg": "RS256", "kid": kid}), &claims).unwrap()
}

fn rand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

#[track_caller]
fn assert_code(result: &CheckResult, code: RejectionCode) {
    match result {
        Err(r) => assert_eq!(r.code(), code, "{}", r.detail()),
        Ok(p) => panic!("expected {code:?}, admitted {p:?}"),
    }
}

async fn wait_for(mut condition: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 2 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_100_concurrent_checks_cost_one_discovery_and_one_jwks_fetch() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_discovery(V2_TEMPLATE).await;
    // A slow answer, so the concurrent checks really overlap the fetch.
    idp.serve_keys(jwks(&[&issuer]).set_delay(Duration::from_millis(150))).await;
    let clock = ManualClock::new(START);
    // No issuer configured: discovery declares the templated v2 issuer.
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer_from_keys(KeySource::discovery_with(idp.discovery_url(), options(&clock)))
                .audience(DEV_AUDIENCE)
                .clock(clock.clone())
        })
        .build()
        .unwrap();
    let mut tasks = JoinSet::new();
    for _ in 0..100 {
        let (guard, token) = (guard.clone(), v2_token(&issuer, &clock));
        tasks.spawn(async move { check(&guard, &token).await.map(|p| p.is_some()) });
    }
    let results = tasks.join_all().await;
    assert!(
        results.iter().all(|r| matches!(r, Ok(true))),
        "{:?}",
        results.iter().find(|r| !matches!(r, Ok(true)))
    );
    assert_eq!(idp.discovery_fetches().await, 1);
    assert_eq!(idp.jwks_fetches().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_declared_by_discovery_admits_only_the_listed_tenants() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_discovery(V2_TEMPLATE).await;
    idp.serve_keys(jwks(&[&issuer])).await;
    let clock = ManualClock::new(START);
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer_from_keys(KeySource::discovery_with(idp.discovery_url(), options(&clock)))
                .audience(DEV_AUDIENCE)
                .tenants([DEV_TENANT])
                .clock(clock.clone())
        })
        .build()
        .unwrap();
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    let other = "11112222-3333-4444-5555-666677778888";
    let foreign = issuer
        .user()
        .at(&clock)
        .claim("tid", json!(other))
        .claim("iss", json!(format!("https://login.microsoftonline.com/{other}/v2.0")))
        .sign()
        .unwrap();
    let result = check(&guard, &foreign).await;
    assert_code(&result, RejectionCode::InvalidToken);
    let rejection = result.unwrap_err();
    assert_eq!(rejection.status(), 401);
    assert_eq!(
        rejection.www_authenticate(),
        Some(r#"Bearer error="invalid_token", error_description="the token's tenant is not allowed here""#)
    );
    assert_eq!(idp.discovery_fetches().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_costs_at_most_one_fetch_per_cooldown() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(jwks(&[&issuer])).await;
    let clock = ManualClock::new(START);
    let guard = jwks_guard(&idp, &clock, options(&clock));
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    assert_eq!(idp.jwks_fetches().await, 1);

    let mut tasks = JoinSet::new();
    for i in 0..1000 {
        let (guard, token) = (guard.clone(), token_with_kid(&issuer, &clock, &format!("random-{i}")));
        tasks.spawn(async move { check(&guard, &token).await.err().map(|r| r.code()) });
    }
    let codes = tasks.join_all().await;
    assert!(codes.iter().all(|c| *c == Some(RejectionCode::InvalidToken)), "{codes:?}");
    assert_eq!(idp.jwks_fetches().await, 2, "one refetch for the whole flood");

    // Within the cooldown: no fetch at all.
    clock.advance(29);
    assert_code(
        &check(&guard, &token_with_kid(&issuer, &clock, "random-late")).await,
        RejectionCode::InvalidToken,
    );
    assert_eq!(idp.jwks_fetches().await, 2);
    // After it: exactly one more.
    clock.advance(2);
    for i in 0..50 {
        assert_code(
            &check(&guard, &token_with_kid(&issuer, &clock, &format!("again-{i}"))).await,
            RejectionCode::InvalidToken,
        );
    }
    assert_eq!(idp.jwks_fetches().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_accepts_a_new_kid_after_one_fetch_and_drops_tokens_of_the_removed_kid() {
    let idp = Idp::start().await;
    let old = DevIssuer::generate(V2_TEMPLATE).unwrap();
    let new = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(jwks(&[&old])).await;
    let clock = ManualClock::new(START);
    let guard = jwks_guard(&idp, &clock, options(&clock));
    let old_token = v2_token(&old, &clock);
    assert!(check(&guard, &old_token).await.unwrap().is_some());
    // Served from the verified-token cache: no key lookup, no fetch.
    assert!(check(&guard, &old_token).await.unwrap().is_some());
    assert_eq!(idp.jwks_fetches().await, 1);

    // The provider rotates: the old key is gone, the new one published.
    idp.replace_keys(jwks(&[&new])).await;
    assert!(check(&guard, &v2_token(&new, &clock)).await.unwrap().is_some(), "new kid accepted");
    assert_eq!(idp.jwks_fetches().await, 2, "after exactly one fetch");

    // The old token was cached as verified; its key is retired, so it is refused.
    let result = check(&guard, &old_token).await;
    assert_code(&result, RejectionCode::InvalidToken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_control_max_age_is_honoured_and_refresh_runs_ahead_in_the_background() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(jwks(&[&issuer]).insert_header("cache-control", "public, max-age=600")).await;
    let clock = ManualClock::new(START);
    let guard = jwks_guard(&idp, &clock, options(&clock));
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    assert_eq!(idp.jwks_fetches().await, 1);

    // Well within max-age: no fetch.
    clock.advance(400);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(idp.jwks_fetches().await, 1);

    // Past 75% of max-age: the request is served at once, and one refresh starts.
    clock.advance(60);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    wait_for(async || idp.jwks_fetches().await == 2).await;
    // The refreshed set is fresh again: more requests cause no fetch.
    for _ in 0..5 {
        assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(idp.jwks_fetches().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_max_age_keys_stay_fresh_for_an_hour() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(jwks(&[&issuer])).await;
    let clock = ManualClock::new(START);
    let guard = jwks_guard(&idp, &clock, options(&clock));
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    clock.advance(2600);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(idp.jwks_fetches().await, 1, "75% of the default hour is 2700 s");
    clock.advance(200);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    wait_for(async || idp.jwks_fetches().await == 2).await;
}

/// Loads keys, breaks the source with `failure`, and checks that known keys keep
/// working (even past max-age) while a never-seen kid gets the 503 answer.
async fn known_keys_survive(failure: ResponseTemplate) {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(jwks(&[&issuer]).insert_header("cache-control", "max-age=60")).await;
    let clock = ManualClock::new(START);
    let guard = jwks_guard(&idp, &clock, options(&clock));
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());

    idp.replace_keys(failure).await;
    // Past max-age: the keys are stale, a background refresh is tried and fails.
    clock.advance(120);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    wait_for(async || idp.jwks_fetches().await == 2).await;
    // Still served, with the source down.
    for _ in 0..3 {
        assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    }
    // A kid never seen while the source is down: 503 with Retry-After, never a 500.
    clock.advance(400);
    let result = check(&guard, &token_with_kid(&issuer, &clock, "never-seen")).await;
    assert_code(&result, RejectionCode::KeySourceUnavailable);
    let rejection = result.unwrap_err();
    assert_eq!(rejection.status(), 503);
    assert!(rejection.retry_after().unwrap() >= 1);
    assert_eq!(rejection.www_authenticate(), None);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some(), "known keys still work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_keys_keep_working_while_the_source_returns_500() {
    known_keys_survive(ResponseTemplate::new(500).set_body_string("internal error")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_keys_keep_working_while_the_source_hangs_past_the_timeout() {
    known_keys_survive(jwks(&[]).set_delay(Duration::from_secs(30))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_keys_keep_working_while_the_source_returns_garbage() {
    known_keys_survive(ResponseTemplate::new(200).set_body_string("<html>not json</html>")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_keys_keep_working_while_the_source_returns_10_mib() {
    let huge = format!(r#"{{"keys":[],"padding":"{}"}}"#, "x".repeat(10 * 1024 * 1024));
    known_keys_survive(ResponseTemplate::new(200).set_body_string(huge)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_with_the_source_down_is_503_and_backs_off() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(ResponseTemplate::new(503)).await;
    let clock = ManualClock::new(START);
    let guard =
        jwks_guard(&idp, &clock, options(&clock).backoff(Duration::from_secs(10), Duration::from_secs(60)));
    assert_code(&check(&guard, &v2_token(&issuer, &clock)).await, RejectionCode::KeySourceUnavailable);
    assert_eq!(idp.jwks_fetches().await, 1);
    // Within the backoff: answered at once, no fetch.
    for _ in 0..20 {
        assert_code(&check(&guard, &v2_token(&issuer, &clock)).await, RejectionCode::KeySourceUnavailable);
    }
    assert_eq!(idp.jwks_fetches().await, 1);
    // After it, the source is back: one fetch and the request passes.
    idp.replace_keys(jwks(&[&issuer])).await;
    clock.advance(13);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    assert_eq!(idp.jwks_fetches().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_known_only_from_failing_discovery_backs_off_instead_of_refetching_per_request() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    // Slow, so the concurrent first requests below really overlap the fetch.
    idp.replace_discovery(ResponseTemplate::new(503).set_delay(Duration::from_millis(150))).await;
    idp.serve_keys(jwks(&[&issuer])).await;
    let clock = ManualClock::new(START);
    let opts = options(&clock).backoff(Duration::from_secs(10), Duration::from_secs(60));
    // No issuer configured: only discovery can say which issuer this is.
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer_from_keys(KeySource::discovery_with(idp.discovery_url(), opts))
                .audience(DEV_AUDIENCE)
                .clock(clock.clone())
        })
        .build()
        .unwrap();
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let (guard, token) = (guard.clone(), v2_token(&issuer, &clock));
        tasks.spawn(async move { check(&guard, &token).await });
    }
    let concurrent = tasks.join_all().await;
    assert_eq!(idp.discovery_fetches().await, 1, "concurrent first requests share one fetch");
    let mut sequential = Vec::new();
    for _ in 0..20 {
        sequential.push(check(&guard, &v2_token(&issuer, &clock)).await);
    }
    for (i, result) in concurrent.into_iter().chain(sequential).enumerate() {
        assert_code(&result, RejectionCode::KeySourceUnavailable);
        let rejection = result.unwrap_err();
        assert_eq!(rejection.status(), 503, "request {i}");
        assert_eq!(rejection.www_authenticate(), None, "request {i}");
        let body: serde_json::Value = serde_json::from_slice(&rejection.body()).unwrap();
        assert_eq!(body["code"], "key_source_unavailable", "request {i}");
        // 10 s of backoff with at most 20% jitter, counted down by the clock.
        let retry_after = rejection.retry_after().expect("a Retry-After");
        assert!((1..=12).contains(&retry_after), "request {i}: Retry-After {retry_after}");
    }
    assert_eq!(idp.discovery_fetches().await, 1, "one fetch within the backoff window, not one per request");
    assert_eq!(idp.jwks_fetches().await, 0);

    // After the backoff the discovery endpoint is asked once more; it is back.
    idp.replace_discovery(idp.discovery_document(V2_TEMPLATE)).await;
    clock.advance(13);
    for _ in 0..5 {
        assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    }
    assert_eq!(idp.discovery_fetches().await, 2);
    assert_eq!(idp.jwks_fetches().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_dropped_when_the_stale_if_error_window_ends() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(jwks(&[&issuer]).insert_header("cache-control", "max-age=60")).await;
    let clock = ManualClock::new(START);
    let opts = options(&clock).stale_if_error(Duration::from_secs(300));
    let guard = jwks_guard(&idp, &clock, opts);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    idp.replace_keys(ResponseTemplate::new(500)).await;
    clock.advance(60 + 299);
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some(), "still inside the window");
    clock.advance(2);
    assert_code(&check(&guard, &v2_token(&issuer, &clock)).await, RejectionCode::KeySourceUnavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_remote_issuers_are_kept_apart() {
    let (idp_a, idp_b) = (Idp::start().await, Idp::start().await);
    let a = DevIssuer::generate(V2_TEMPLATE).unwrap();
    let b = DevIssuer::generate("https://b.example/").unwrap();
    idp_a.serve_keys(jwks(&[&a])).await;
    idp_b.serve_keys(jwks(&[&b])).await;
    let clock = ManualClock::new(START);
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer(V2_TEMPLATE)
                .keys(KeySource::jwks_url_with(idp_a.jwks_url(), options(&clock)))
                .issuer("https://b.example/")
                .keys(KeySource::jwks_url_with(idp_b.jwks_url(), options(&clock)))
                .audience(DEV_AUDIENCE)
                .clock(clock.clone())
        })
        .build()
        .unwrap();
    assert!(check(&guard, &v2_token(&a, &clock)).await.unwrap().is_some());
    assert!(check(&guard, &b.user().at(&clock).sign().unwrap()).await.unwrap().is_some());
    // Claims issuer A, signed by B under B's kid: only A's keys are consulted.
    let claims = a
        .user()
        .at(&clock)
        .claim("iss", json!(format!("https://login.microsoftonline.com/{DEV_TENANT}/v2.0")))
        .claims();
    let forged = b.sign_with_header(&json!({"alg": "RS256", "kid": b.kid()}), &claims).unwrap();
    assert_code(&check(&guard, &forged).await, RejectionCode::InvalidToken);
    assert_eq!(idp_b.jwks_fetches().await, 1, "issuer B's source is never asked about A's tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_supplied_client_is_used() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    Mock::given(method("GET"))
        .and(path("/keys"))
        .and(header("x-proxy-auth", "granted"))
        .respond_with(jwks(&[&issuer]))
        .mount(&idp.server)
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-proxy-auth", "granted".parse().unwrap());
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let clock = ManualClock::new(START);
    let guard = jwks_guard(&idp, &clock, options(&clock).client(client));
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
}

#[test]
fn remote_sources_must_use_https_except_on_loopback() {
    let err = Guard::partner_center()
        .verifier(|v| {
            v.issuer("https://a/").keys(KeySource::jwks_url("http://login.example.com/keys")).audience("a")
        })
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), mfa_guard_core::BuildErrorKind::Keys);
    assert!(err.to_string().contains("HTTPS"), "{err}");
    assert!(KeySource::jwks_url("http://127.0.0.1:9/keys").error().is_none());
}

#[test]
fn a_jwks_url_without_an_issuer_is_refused() {
    let err = Guard::partner_center()
        .verifier(|v| v.issuer_from_keys(KeySource::jwks_url("https://a/keys")).audience("a"))
        .build();
    assert_eq!(err.unwrap_err().kind(), mfa_guard_core::BuildErrorKind::Issuer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_verified_token_does_not_outlive_its_exp() {
    let idp = Idp::start().await;
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    idp.serve_keys(jwks(&[&issuer])).await;
    let clock = ManualClock::new(START);
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer(V2_TEMPLATE)
                .keys(KeySource::jwks_url_with(idp.jwks_url(), options(&clock)))
                .audience(DEV_AUDIENCE)
                .clock(clock.clone())
        })
        .build()
        .unwrap();
    let token = issuer
        .user()
        .at(&clock)
        .lifetime(Duration::from_secs(600))
        .claim("iss", json!(format!("https://login.microsoftonline.com/{DEV_TENANT}/v2.0")))
        .sign()
        .unwrap();
    assert!(check(&guard, &token).await.unwrap().is_some());
    // 600 s lifetime + 60 s leeway: a cached entry must not outlive it.
    clock.advance(661);
    assert_code(&check(&guard, &token).await, RejectionCode::InvalidToken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warming_up_fetches_once_at_start_and_reports_a_source_that_cannot_be_had() {
    let clock = ManualClock::new(START);
    let issuer = DevIssuer::generate(V2_TEMPLATE).unwrap();
    let idp = Idp::start().await;
    idp.serve_discovery(V2_TEMPLATE).await;
    idp.serve_keys(jwks(&[&issuer])).await;
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer_from_keys(KeySource::discovery_with(idp.discovery_url(), options(&clock)))
                .audience(DEV_AUDIENCE)
                .tenants([DEV_TENANT])
                .clock(clock.clone())
        })
        .build()
        .unwrap();
    assert!(guard.verifier().warm_up().await.is_empty());
    assert_eq!((idp.discovery_fetches().await, idp.jwks_fetches().await), (1, 1));
    // The first request finds the keys there: no fetch of its own.
    assert!(check(&guard, &v2_token(&issuer, &clock)).await.unwrap().is_some());
    assert_eq!((idp.discovery_fetches().await, idp.jwks_fetches().await), (1, 1));

    let down = Guard::partner_center()
        .verifier(|v| {
            v.issuer(V2_TEMPLATE)
                .keys(KeySource::jwks_url_with("http://127.0.0.1:9/keys", options(&clock)))
                .audience(DEV_AUDIENCE)
                .tenants([DEV_TENANT])
                .clock(clock.clone())
        })
        .build()
        .unwrap();
    let failed = down.verifier().warm_up().await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].to_string().contains("127.0.0.1:9"), "{}", failed[0]);
    // The guard still answers, with the key source's 503.
    assert_code(&check(&down, &v2_token(&issuer, &clock)).await, RejectionCode::KeySourceUnavailable);
}

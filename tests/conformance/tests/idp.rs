//! End to end against a real OpenID provider: oidc-provider (`tests/idp`) issues the
//! tokens through real flows — authorization code with PKCE driven over HTTP, refresh
//! token, client credentials and a custom grant — and both example servers, configured
//! only with `MFA_DISCOVERY_URL` and `MFA_AUDIENCE`, answer them. Every assertion is
//! made against the axum and the actix server, on the raw status line.
//!
//! Without node 20+ (or without npm where `tests/idp/node_modules` is missing, or
//! when `npm ci` cannot install the provider, as without a registry) each test
//! passes at once and the suite prints one line saying it was skipped — except under
//! `CI=true` (or `1`), where each test fails saying which tool is missing, so a CI
//! run without node cannot report the suite as passed (`mfa_guard_conformance::tools`).
//! With node but without `tests/idp/node_modules`, `npm ci` runs first.

use std::time::Duration;

use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::http1::{RawResponse, request};
use mfa_guard_conformance::oidc::{ADMIN_AGENT, ADMIN_AGENT_OID, Idp, RESOURCE, TENANT, unverified_claims};
use mfa_guard_conformance::servers::{start_actix_from_env, start_axum_from_env};
use mfa_guard_dev::DevIssuer;
use serde_json::json;

/// The routes of the Partner Center table that need MFA and admit an Admin agent.
const MFA_ROUTES: &[&str] = &[
    "/commerce/customers",
    "/dashboard/v2/support/customers/requests",
    "/billing/invoices",
    "/security/alerts",
    "/v1/catalog/prices",
    "/v1/customers/contoso",
];

/// The unknown-kid refetch cooldown the servers run with (the default is 30 s).
const COOLDOWN: Duration = Duration::from_secs(1);

/// Starts a provider, or `None` where node is not usable outside CI (the suite is
/// skipped); under CI a missing tool panics here, failing the test.
async fn provider() -> Option<Idp> {
    Idp::start_or_skip().await.unwrap_or_else(|e| panic!("{e}"))
}

/// Both example servers, configured through the environment contract only: discovery
/// at the provider, its resource as audience, and a settings file that shortens the
/// unknown-kid cooldown and the fetch timeout.
async fn servers(idp: &Idp) -> [Target; 2] {
    let dir = std::env::temp_dir().join(format!("mfa-guard-idp-e2e-{}-{}", std::process::id(), idp.port()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("keys.toml");
    std::fs::write(
        &config,
        format!("[keys]\nunknown_kid_cooldown = \"{}s\"\ntimeout = \"2s\"\n", COOLDOWN.as_secs()),
    )
    .expect("write the settings file");
    let env = [
        ("MFA_DISCOVERY_URL", idp.discovery_url()),
        ("MFA_AUDIENCE", RESOURCE.to_owned()),
        ("MFA_CONFIG", config.display().to_string()),
    ];
    let axum = start_axum_from_env(&env).await.unwrap_or_else(|e| panic!("axum example: {e}"));
    let actix = start_actix_from_env(&env).await.unwrap_or_else(|e| panic!("actix example: {e}"));
    // Both servers read the file at start.
    std::fs::remove_dir_all(dir).ok();
    [axum, actix]
}

async fn get(target: Target, path: &str, token: &str) -> RawResponse {
    let header = format!("Authorization: Bearer {token}").into_bytes();
    request(target.addr, "GET", path, &[header])
        .await
        .unwrap_or_else(|e| panic!("{} GET {path}: {e}", target.name))
}

/// What a refusal says, for assertion messages (never the token).
fn answer(res: &RawResponse) -> String {
    format!(
        "{} / {:?} / {}",
        res.status_line,
        res.header("www-authenticate"),
        String::from_utf8_lossy(&res.body)
    )
}

async fn assert_admitted(targets: &[Target; 2], paths: &[&str], token: &str, kind: &str) {
    for &target in targets {
        for path in paths {
            let res = get(target, path, token).await;
            assert_eq!(res.status_line, "HTTP/1.1 200 OK", "{} {path}: {}", target.name, answer(&res));
            let body = res.json();
            assert_eq!(body["kind"], kind, "{} {path}: {body}", target.name);
        }
    }
}

async fn assert_mfa_required(targets: &[Target; 2], paths: &[&str], token: &str) {
    for &target in targets {
        for path in paths {
            let res = get(target, path, token).await;
            assert_eq!(
                (res.status_line.as_str(), res.header("www-authenticate"), res.code().as_deref()),
                (
                    "HTTP/1.1 401 Unauthorized - MFA required",
                    Some(r#"Bearer error="invalid_token""#),
                    Some("mfa_required")
                ),
                "{} {path}: {}",
                target.name,
                answer(&res)
            );
        }
    }
}

async fn assert_refused(
    targets: &[Target; 2],
    path: &str,
    token: &str,
    status_line: &str,
    www: &str,
    code: &str,
) {
    for &target in targets {
        let res = get(target, path, token).await;
        let got_www = res.header("www-authenticate").unwrap_or_default();
        assert_eq!(
            (res.status_line.as_str(), got_www.starts_with(www), res.code().as_deref()),
            (status_line, true, Some(code)),
            "{} {path}: {}",
            target.name,
            answer(&res)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_login_with_mfa_is_admitted_on_every_mfa_route() {
    let Some(idp) = provider().await else { return };
    let targets = servers(&idp).await;
    let tokens = idp.authorization_code(ADMIN_AGENT, &["pwd", "mfa"]).await.expect("authorization code flow");

    let claims = unverified_claims(&tokens.access_token).expect("a JWT");
    assert_eq!(
        (&claims["iss"], &claims["aud"], &claims["amr"], &claims["tid"]),
        (&json!(idp.issuer()), &json!(RESOURCE), &json!(["pwd", "mfa"]), &json!(TENANT))
    );
    assert_admitted(&targets, MFA_ROUTES, &tokens.access_token, "user").await;
    for target in targets {
        let body = get(target, "/commerce/customers", &tokens.access_token).await.json();
        assert_eq!(
            (&body["oid"], &body["mfa"], &body["roles"]),
            (&json!(ADMIN_AGENT_OID), &json!(true), &json!(["AdminAgent"])),
            "{}",
            target.name
        );
    }

    // A refreshed token keeps the amr of the login that produced the refresh token.
    let refreshed = idp
        .refresh(tokens.refresh_token.as_deref().expect("a refresh token for offline_access"))
        .await
        .expect("refresh token grant");
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert_admitted(&targets, MFA_ROUTES, &refreshed.access_token, "user").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_login_without_mfa_gets_the_exact_mfa_required_401() {
    let Some(idp) = provider().await else { return };
    let targets = servers(&idp).await;
    let tokens = idp.authorization_code(ADMIN_AGENT, &["pwd"]).await.expect("authorization code flow");

    // The token itself is good: routes that need no MFA admit it.
    assert_admitted(&targets, &["/overview"], &tokens.access_token, "user").await;
    assert_mfa_required(&targets, MFA_ROUTES, &tokens.access_token).await;

    let refreshed = idp
        .refresh(tokens.refresh_token.as_deref().expect("a refresh token for offline_access"))
        .await
        .expect("refresh token grant");
    assert_mfa_required(&targets, MFA_ROUTES, &refreshed.access_token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_grant_user_tokens_carry_the_amr_the_test_chose() {
    let Some(idp) = provider().await else { return };
    let targets = servers(&idp).await;
    let with_mfa = idp.custom_grant(ADMIN_AGENT, &["pwd", "mfa"]).await.expect("custom grant");
    let without = idp.custom_grant(ADMIN_AGENT, &["pwd", "otp"]).await.expect("custom grant");
    let no_amr = idp.custom_grant(ADMIN_AGENT, &[]).await.expect("custom grant");

    assert_admitted(&targets, MFA_ROUTES, &with_mfa, "user").await;
    assert_mfa_required(&targets, MFA_ROUTES, &without).await;
    assert_mfa_required(&targets, MFA_ROUTES, &no_amr).await;
    assert_admitted(&targets, &["/overview"], &no_amr, "user").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_app_token_is_allowed_on_the_catalog_and_refused_on_gdap() {
    let Some(idp) = provider().await else { return };
    let targets = servers(&idp).await;
    let app = idp.client_credentials().await.expect("client credentials grant");

    let claims = unverified_claims(&app).expect("a JWT");
    assert_eq!((&claims["idtyp"], claims.get("scp")), (&json!("app"), None));
    assert_admitted(&targets, &["/v1/catalog/prices", "/overview"], &app, "app").await;
    for path in ["/v1/customers/contoso", "/commerce/customers"] {
        assert_refused(
            &targets,
            path,
            &app,
            "HTTP/1.1 403 Forbidden",
            r#"Bearer error="insufficient_scope""#,
            "app_only_not_allowed",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_signing_key_at_the_provider_is_picked_up_and_the_old_one_retired() {
    let Some(idp) = provider().await else { return };
    let targets = servers(&idp).await;
    let old = idp.custom_grant(ADMIN_AGENT, &["pwd", "mfa"]).await.expect("custom grant");
    assert_admitted(&targets, &["/commerce/customers"], &old, "user").await;

    let old_kid = idp.kid().to_owned();
    let idp = idp.rotate().await.expect("the provider restarts on its port");
    assert_ne!(idp.kid(), old_kid, "a restart makes a new signing key");

    // An unknown kid makes each server refetch the JWKS once: the new key is found.
    let new = idp.authorization_code(ADMIN_AGENT, &["pwd", "mfa"]).await.expect("authorization code flow");
    assert_admitted(&targets, &["/commerce/customers"], &new.access_token, "user").await;
    let app = idp.client_credentials().await.expect("client credentials grant");
    assert_admitted(&targets, &["/v1/catalog/prices"], &app, "app").await;

    // The old key is gone from the JWKS: the token it signed, admitted before (and
    // cached as verified), is refused now.
    assert_refused(
        &targets,
        "/commerce/customers",
        &old,
        "HTTP/1.1 401 Unauthorized",
        r#"Bearer error="invalid_token""#,
        "invalid_token",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_provider_stopped_known_keys_keep_working_and_an_unseen_kid_gets_503() {
    let Some(idp) = provider().await else { return };
    let targets = servers(&idp).await;
    let first = idp.custom_grant(ADMIN_AGENT, &["pwd", "mfa"]).await.expect("custom grant");
    // Obtained now, first shown to the servers after the provider is gone: verified with
    // the cached key, not recognised from the verified-token cache.
    let later = idp.authorization_code(ADMIN_AGENT, &["pwd", "mfa"]).await.expect("authorization code flow");
    let later_no_mfa = idp.custom_grant(ADMIN_AGENT, &["pwd"]).await.expect("custom grant");
    let app = idp.client_credentials().await.expect("client credentials grant");
    assert_admitted(&targets, &["/commerce/customers"], &first, "user").await;

    let issuer = idp.issuer().to_owned();
    idp.stop();

    assert_admitted(&targets, &["/commerce/customers"], &first, "user").await;
    assert_admitted(&targets, MFA_ROUTES, &later.access_token, "user").await;
    assert_mfa_required(&targets, &["/commerce/customers"], &later_no_mfa).await;
    assert_admitted(&targets, &["/v1/catalog/prices"], &app, "app").await;

    // A kid never seen: the refetch it causes finds the provider down.
    let stranger = DevIssuer::generate(issuer.clone()).expect("RSA key generation");
    let claims =
        stranger.user().claim("iss", json!(issuer)).claim("tid", json!(TENANT)).audience(RESOURCE).claims();
    let unseen =
        stranger.sign_with_header(&json!({"alg": "RS256", "kid": "never-seen"}), &claims).expect("sign");
    // Twice: the second, just past the cooldown, refetches (or waits out the backoff)
    // and is still a 503.
    for round in 0..2 {
        if round > 0 {
            tokio::time::sleep(COOLDOWN + Duration::from_millis(100)).await;
        }
        for target in targets {
            let res = get(target, "/commerce/customers", &unseen).await;
            assert_eq!(
                (res.status_line.as_str(), res.header("www-authenticate"), res.code().as_deref()),
                ("HTTP/1.1 503 Service Unavailable", None, Some("key_source_unavailable")),
                "{}: {}",
                target.name,
                answer(&res)
            );
            let retry_after: u64 = res
                .header("retry-after")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{}: Retry-After in seconds: {}", target.name, answer(&res)));
            assert!(retry_after >= 1, "{}: Retry-After {retry_after}", target.name);
        }
    }
    // Known keys still serve after those failed refetches.
    assert_admitted(&targets, &["/commerce/customers"], &first, "user").await;
}

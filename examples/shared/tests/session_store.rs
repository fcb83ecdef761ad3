//! The examples' start-up and the session store: connected once when configured
//! and given to browser sign-in; refused when configured but never connected; the
//! memory store in development mode when none is named; none at all (cookie-only,
//! said) with a real provider and no store.

use example_shared::Startup;

const FORM: Option<&[u8]> = Some(b"application/x-www-form-urlencoded");

fn description(answer: &mfa_guard_core::Answer) -> String {
    let body: serde_json::Value = serde_json::from_slice(&answer.body()).unwrap();
    body["error_description"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn with_mfa_session_store_set_the_browser_gets_the_connected_store() {
    let startup =
        Startup::from_lookup(|name| (name == "MFA_SESSION_STORE").then(|| "memory".to_owned())).unwrap();
    let (guard, _) = startup.connect_store().await.unwrap().guard("127.0.0.1:9".parse().unwrap()).unwrap();
    let answer = guard.backchannel_logout(FORM, b"logout_token=a.b.c").await;
    assert_eq!(answer.status(), 400);
    // Past the store check: the token is what is refused now (its provider is not running).
    let why = description(&answer);
    assert!(!why.contains("MFA_SESSION_STORE"), "{why}");
}

/// A real provider (its keys fetched only when a token arrives) and browser
/// sign-in, with no session store named.
fn real_provider_without_a_store(name: &str) -> Option<String> {
    let value = match name {
        "MFA_ISSUER" => "https://login.example/tenant/v2.0",
        "MFA_JWKS_URL" => "http://127.0.0.1:9/keys",
        "MFA_AUDIENCE" => "api://app",
        "MFA_OIDC_CLIENT_ID" => "app",
        "MFA_OIDC_REDIRECT_URI" => "http://127.0.0.1:9/auth/callback",
        "MFA_OIDC_DISCOVERY_URL" => "http://127.0.0.1:9/.well-known/openid-configuration",
        "MFA_SESSION_KEYS" => "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        _ => return None,
    };
    Some(value.to_owned())
}

#[tokio::test]
async fn in_development_mode_without_mfa_session_store_the_memory_store_stands_in() {
    let startup = Startup::from_lookup(|_| None).unwrap();
    let (guard, dev) = startup.connect_store().await.unwrap().guard("127.0.0.1:9".parse().unwrap()).unwrap();
    assert!(dev.is_some(), "development mode");
    let answer = guard.backchannel_logout(FORM, b"logout_token=a.b.c").await;
    assert_eq!(answer.status(), 400);
    // Past the store check: revocation works with nothing else running.
    let why = description(&answer);
    assert!(!why.contains("MFA_SESSION_STORE"), "{why}");
}

#[tokio::test]
async fn with_a_real_provider_and_no_store_back_channel_logout_says_it_needs_one() {
    let startup = Startup::from_lookup(real_provider_without_a_store).unwrap();
    let (guard, dev) = startup.connect_store().await.unwrap().guard("127.0.0.1:9".parse().unwrap()).unwrap();
    assert!(dev.is_none(), "not development mode");
    assert_eq!(guard.sign_out_path(), Some("/auth/sign-out"), "browser sign-in is on");
    let answer = guard.backchannel_logout(FORM, b"logout_token=a.b.c").await;
    assert_eq!(answer.status(), 400);
    assert!(description(&answer).contains("needs a session store (MFA_SESSION_STORE)"));
}

#[test]
fn a_configured_store_left_unconnected_is_an_error_not_a_silent_cookie_only_start() {
    let startup =
        Startup::from_lookup(|name| (name == "MFA_SESSION_STORE").then(|| "memory".to_owned())).unwrap();
    let err = startup.guard("127.0.0.1:9".parse().unwrap()).unwrap_err();
    assert_eq!(
        err,
        "a session store is configured (MFA_SESSION_STORE) but not connected: call Startup::connect_store first"
    );
}

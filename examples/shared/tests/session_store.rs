//! The examples' start-up and the session store: connected once when configured
//! and given to browser sign-in; refused when configured but never connected.

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

#[tokio::test]
async fn without_a_store_back_channel_logout_says_it_needs_one() {
    let startup = Startup::from_lookup(|_| None).unwrap();
    let (guard, _) = startup.connect_store().await.unwrap().guard("127.0.0.1:9".parse().unwrap()).unwrap();
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

//! The built binary, started with no environment, in development mode: the tokens
//! it prints work as advertised.

use example_shared::testkit::DevServer;

#[test]
fn printed_tokens_get_200_and_the_exact_mfa_refusal() {
    let server = DevServer::start(env!("CARGO_BIN_EXE_example-axum-server")).unwrap();
    let ok = server.get("/commerce/customers", Some(server.token("TOKEN_MFA"))).unwrap();
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
    assert!(ok.contains(r#""area":"customers""#) && ok.contains(r#""kind":"user""#), "{ok}");

    let refused = server.get("/commerce/customers", Some(server.token("TOKEN_NO_MFA"))).unwrap();
    assert!(refused.starts_with("HTTP/1.1 401 Unauthorized - MFA required\r\n"), "{refused}");
    assert!(refused.contains("\r\nwww-authenticate: Bearer error=\"invalid_token\"\r\n"), "{refused}");
    assert!(refused.contains(r#""code":"mfa_required""#), "{refused}");

    let app = server.get("/v1/customers/contoso", Some(server.token("TOKEN_APP"))).unwrap();
    assert!(app.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{app}");
    let health = server.get("/health", None).unwrap();
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    // The development issuer publishes its discovery document and keys.
    let discovery = server.get("/.well-known/openid-configuration", None).unwrap();
    assert!(discovery.starts_with("HTTP/1.1 200 OK\r\n") && discovery.contains("jwks_uri"), "{discovery}");
}

#[test]
fn metrics_are_served_on_their_own_listener_when_asked_for() {
    example_shared::testkit::assert_metrics_are_served(env!("CARGO_BIN_EXE_example-axum-server"));
}

#[test]
fn startup_mistakes_are_said_before_binding_and_logs_fit_a_pipe() {
    example_shared::testkit::assert_startup_mistakes_are_said(env!("CARGO_BIN_EXE_example-axum-server"));
}

//! `mfa-guard mint` and `mfa-guard dev-issuer`: development tools whose tokens
//! verify, whose private key never leaks unasked, and that say what they are.

use crate::support::{AUDIENCE, DevIssuerProcess, ISSUER, exit, http_get, issuer, key_file, run, temp_dir};

#[test]
fn minted_tokens_carry_what_was_asked_for() {
    let out = run(
        &["mint", "--no-mfa", "--role", "SalesAgent", "--wid", "SecurityAdmin", "--expires-in", "10m"],
        None,
    )
    .expect(exit::OK);
    let token = out.stdout.trim();
    assert_eq!(out.stdout.lines().count(), 1, "only the token on stdout");
    let report = run(&["inspect", "--json", token], None).expect(exit::OK).json();
    let claims = &report["claims"];
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["roles"], serde_json::json!(["SalesAgent"]));
    assert_eq!(claims["wids"], serde_json::json!([mfa_guard_core::policy::wids::SECURITY_ADMINISTRATOR]));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);
    assert_eq!(report["roles"], serde_json::json!(["SalesAgent", "SecurityAdmin"]));

    let app = run(&["mint", "--app", "--json"], None).expect(exit::OK).json();
    assert_eq!(app["development_only"], true);
    let report = run(&["inspect", "--json", app["token"].as_str().unwrap()], None).expect(exit::OK).json();
    assert_eq!(report["caller"]["kind"], "app");

    let v2 = run(&["mint", "--v2", "--claim", "name=Ada", "--claim", "upn=null"], None).expect(exit::OK);
    let report = run(&["inspect", "--json", v2.stdout.trim()], None).expect(exit::OK).json();
    assert_eq!(report["claims"]["ver"], "2.0");
    assert_eq!(report["claims"]["name"], "Ada");
    assert!(report["claims"].get("amr").is_none() && report["claims"].get("upn").is_none());
    assert_eq!(report["version"]["carries_amr"], false);

    let expired = run(&["mint", "--expired"], None).expect(exit::OK);
    let report = run(&["inspect", "--json", expired.stdout.trim()], None).expect(exit::OK).json();
    assert_eq!(report["expiry"]["expired"], true);
}

#[test]
fn a_minted_token_verifies_against_the_jwks_printed_with_it() {
    let out = run(&["mint", "--print-jwks"], None).expect(exit::OK);
    let mut lines = out.stdout.lines();
    let (token, jwks) = (lines.next().unwrap(), lines.next().unwrap());
    assert!(!out.stdout.contains("PRIVATE KEY"));
    let jwks_path = temp_dir().join("printed.json");
    std::fs::write(&jwks_path, jwks).unwrap();
    let jwks_path = jwks_path.to_str().unwrap();
    run(&["verify", token, "--jwks-file", jwks_path, "--issuer", ISSUER, "--audience", AUDIENCE], None)
        .expect(exit::OK);
}

#[test]
fn the_private_key_is_saved_only_when_asked_and_never_over_a_file() {
    let dir = temp_dir();
    let key = dir.join("key.pem");
    let jwks = dir.join("jwks.json");
    let (key_s, jwks_s) = (key.to_str().unwrap(), jwks.to_str().unwrap());
    let first = run(&["mint", "--save-key", key_s, "--jwks-out", jwks_s], None).expect(exit::OK);
    assert!(!first.stdout.contains("PRIVATE KEY"));
    assert!(std::fs::read_to_string(&key).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = run(&["mint", "--save-key", key_s], None).expect(exit::ERROR);
    assert!(again.stderr.contains("never overwritten"), "{}", again.stderr);

    // The saved key signs tokens that verify with the JWKS written beside it.
    let second = run(&["mint", "--key", key_s, "--no-mfa"], None).expect(exit::OK);
    let v =
        ["verify", second.stdout.trim(), "--jwks-file", jwks_s, "--issuer", ISSUER, "--audience", AUDIENCE];
    run(&v, None).expect(exit::MFA_REQUIRED);
    let bad = run(&["mint", "--key", jwks_s], None).expect(exit::ERROR);
    assert!(bad.stderr.contains("hint:"), "{}", bad.stderr);
}

#[test]
fn dev_issuer_serves_discovery_jwks_and_tokens_that_verify() {
    let server = DevIssuerProcess::start(None);
    let (status, discovery) = http_get(server.addr, "/.well-known/openid-configuration");
    assert_eq!(status, 200);
    let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    assert_eq!(discovery["issuer"], server.issuer());
    assert_eq!(discovery["jwks_uri"], server.url("/.well-known/jwks.json"));
    let (status, jwks) = http_get(server.addr, "/.well-known/jwks.json");
    assert_eq!(status, 200);
    assert!(jwks.contains("\"kty\":\"RSA\"") && !jwks.contains("\"d\""), "public key only: {jwks}");

    let discovery_url = server.url("/.well-known/openid-configuration");
    let verify = |token: &str, extra: &[&str]| {
        let mut args = vec!["verify", token, "--discovery", &discovery_url, "--audience", AUDIENCE];
        args.extend_from_slice(extra);
        run(&args, None)
    };
    let (status, body) = http_get(server.addr, "/token?kind=user&mfa=false&format=raw");
    assert_eq!(status, 200);
    verify(body.trim(), &[]).expect(exit::MFA_REQUIRED);

    let (status, body) = http_get(server.addr, "/token?kind=user&roles=SalesAgent");
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    let token = answer["access_token"].as_str().unwrap();
    verify(token, &[]).expect(exit::OK);
    verify(token, &["--role", "AdminAgent"]).expect(exit::FORBIDDEN);

    let (status, body) = http_get(server.addr, "/token?kind=app&format=raw");
    assert_eq!(status, 200);
    verify(body.trim(), &["--users-only"]).expect(exit::FORBIDDEN);

    let (status, body) = http_get(server.addr, "/token?kind=robot");
    assert_eq!(status, 400);
    assert!(body.contains("invalid_request"), "{body}");
}

#[test]
fn dev_issuer_signs_with_a_given_key_and_listens_on_loopback_only() {
    let key = key_file();
    let server = DevIssuerProcess::start(Some(&key));
    let (_, jwks) = http_get(server.addr, "/.well-known/jwks.json");
    assert!(jwks.contains(issuer().kid()), "the given key's kid: {jwks}");
    drop(server);

    let out = run(&["dev-issuer", "--listen", "0.0.0.0:0"], None).expect(exit::USAGE);
    assert!(out.stderr.contains("not a loopback address") && out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn dev_issuer_signs_people_in_for_the_relying_party_its_redirect_uri_names() {
    let gate = "http://127.0.0.1:8080/.mfa-guard/callback";
    let server = DevIssuerProcess::start_with(&["--redirect-uri".as_ref(), gate.as_ref()]);
    let authorize = |redirect: &str| {
        let query = format!(
            "/dev-idp/authorize?client_id=mfa-guard-dev&redirect_uri={}&response_type=code\
             &code_challenge=c&code_challenge_method=S256&state=s",
            redirect.replace(':', "%3A").replace('/', "%2F")
        );
        http_get(server.addr, &query)
    };
    let (status, page) = authorize(gate);
    assert_eq!(status, 200, "{page}");
    let (status, page) = authorize(&server.url("/auth/callback"));
    assert_eq!(status, 400);
    assert!(page.contains(&format!("redirect_uri must be {gate}")), "{page}");
    drop(server);

    let out = run(&["dev-issuer", "--redirect-uri", "/.mfa-guard/callback"], None).expect(exit::USAGE);
    assert!(out.stderr.contains("not an absolute http or https URL"), "{}", out.stderr);
}

#[test]
fn help_marks_the_development_tools_and_documents_exit_codes() {
    let help = run(&["--help"], None).expect(exit::OK).stdout;
    assert!(help.contains("[development only] Mint a signed test token"), "{help}");
    assert!(help.contains("[development only] Serve a local issuer"), "{help}");
    for line in ["3  invalid token", "4  MFA required", "5  forbidden", "6  keys unavailable"] {
        assert!(help.contains(line), "{line} in {help}");
    }
    let inspect = run(&["inspect", "--help"], None).expect(exit::OK).stdout;
    assert!(inspect.contains("WITHOUT verifying"), "{inspect}");
    run(&["frobnicate"], None).expect(exit::USAGE);
}

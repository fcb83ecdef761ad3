//! `mfa-guard verify`: each documented exit code, keys from a file, a JWKS URL and
//! OIDC discovery on loopback.

use serde_json::Value;

use crate::support::{
    AUDIENCE, DevIssuerProcess, ISSUER, exit, failing_key_server, forger, issuer, jwks_file, key_file, run,
};

fn verify_with_file(token: &str, extra: &[&str]) -> crate::support::Run {
    let jwks = jwks_file();
    let jwks = jwks.to_str().unwrap();
    let mut args =
        vec!["verify", token, "--jwks-file", jwks, "--issuer", ISSUER, "--audience", AUDIENCE, "--json"];
    args.extend_from_slice(extra);
    run(&args, None)
}

#[test]
fn a_valid_mfa_token_exits_0_with_the_caller() {
    let out = verify_with_file(&issuer().user().sign().unwrap(), &[]).expect(exit::OK).json();
    assert_eq!(out["ok"], true);
    assert_eq!(out["principal"]["kind"], "user");
    assert_eq!(out["principal"]["mfa"], true);
    assert_eq!(out["principal"]["roles"], serde_json::json!(["AdminAgent"]));
    assert_eq!(out["principal"]["tid"], "aaaabbbb-0000-cccc-1111-dddd2222eeee");
}

#[test]
fn an_app_only_token_passes_by_default_and_is_forbidden_with_users_only() {
    let token = issuer().app().sign().unwrap();
    assert_eq!(verify_with_file(&token, &[]).expect(exit::OK).json()["principal"]["kind"], "app");
    let out = verify_with_file(&token, &["--users-only"]).expect(exit::FORBIDDEN).json();
    assert_eq!(out["code"], "app_only_not_allowed");
    assert_eq!(out["response"]["status"], 403);
}

#[test]
fn a_user_token_without_mfa_exits_4_unless_mfa_is_waived() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let out = verify_with_file(&token, &[]).expect(exit::MFA_REQUIRED).json();
    assert_eq!(out["ok"], false);
    assert_eq!(out["code"], "mfa_required");
    assert_eq!(out["response"]["status_line"], "HTTP/1.1 401 Unauthorized - MFA required");
    verify_with_file(&token, &["--no-mfa"]).expect(exit::OK);
}

#[test]
fn a_missing_role_exits_5() {
    let token = issuer().user().roles(["SalesAgent"]).sign().unwrap();
    let out = verify_with_file(&token, &["--role", "AdminAgent", "--role", "SecurityAdmin"])
        .expect(exit::FORBIDDEN)
        .json();
    assert_eq!(out["code"], "insufficient_role");
    verify_with_file(&token, &["--role", "SalesAgent"]).expect(exit::OK);
}

#[test]
fn forged_expired_and_misaddressed_tokens_exit_3() {
    let cases: [(&str, String); 4] = [
        ("forged", forger().user().sign().unwrap()),
        ("expired", issuer().user().claim("exp", 1_000_000_000.into()).sign().unwrap()),
        ("wrong audience", issuer().user().audience("https://graph.microsoft.com").sign().unwrap()),
        ("not a JWT", "abc.def".to_owned()),
    ];
    for (what, token) in cases {
        let out = verify_with_file(&token, &[]);
        assert_eq!(out.code, exit::INVALID_TOKEN, "{what}: {out:?}");
        if out.stdout.is_empty() {
            // Input the tool cannot even read as a token: one line on stderr.
            assert_eq!(out.stderr.lines().count(), 1, "{what}");
        } else {
            assert_eq!(out.json()["code"], "invalid_token", "{what}");
        }
    }
}

#[test]
fn keys_that_cannot_be_fetched_exit_6() {
    let down = failing_key_server();
    let token = issuer().user().sign().unwrap();
    let url = format!("http://{down}/keys");
    let out = run(&["verify", &token, "--jwks-url", &url, "--issuer", ISSUER, "--audience", AUDIENCE], None)
        .expect(exit::KEYS_UNAVAILABLE);
    assert!(out.stdout.contains("key_source_unavailable"), "{}", out.stdout);
    assert!(out.stdout.contains("503 Service Unavailable"), "{}", out.stdout);
}

#[test]
fn missing_or_contradictory_key_flags_are_usage_errors() {
    let token = issuer().user().sign().unwrap();
    let out = run(&["verify", &token, "--issuer", ISSUER, "--audience", AUDIENCE], None).expect(exit::USAGE);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    let jwks = jwks_file();
    let out = run(&["verify", &token, "--jwks-file", jwks.to_str().unwrap(), "--audience", AUDIENCE], None)
        .expect(exit::USAGE);
    assert!(out.stderr.contains("need --issuer"), "{}", out.stderr);
    let out = run(
        &["verify", &token, "--jwks-url", "http://example.com/k", "--issuer", ISSUER, "--audience", AUDIENCE],
        None,
    )
    .expect(exit::USAGE);
    assert!(out.stderr.contains("HTTPS"), "{}", out.stderr);
    let out = run(
        &[
            "verify",
            &token,
            "--jwks-file",
            "/nonexistent/keys.json",
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
        ],
        None,
    )
    .expect(exit::ERROR);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn verify_reads_an_authorization_line_from_stdin() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let jwks = jwks_file();
    let out = run(
        &["verify", "-", "--jwks-file", jwks.to_str().unwrap(), "--issuer", ISSUER, "--audience", AUDIENCE],
        Some(&format!("Authorization: Bearer {token}\n")),
    )
    .expect(exit::MFA_REQUIRED);
    assert!(out.stdout.starts_with("refused: mfa_required"), "{}", out.stdout);
}

#[test]
fn verify_discovers_the_issuer_and_keys_of_a_loopback_dev_issuer() {
    let key = key_file();
    let server = DevIssuerProcess::start(Some(&key));
    let discovery = server.url("/.well-known/openid-configuration");
    // Tokens signed with the same key for the issuer the server declares.
    let dev = mfa_guard_dev::DevIssuer::from_pem(server.issuer(), issuer().private_key_pem()).unwrap();
    let verify = |token: &str| {
        run(&["verify", token, "--discovery", &discovery, "--audience", AUDIENCE, "--json"], None)
    };

    let ok = verify(&dev.user().sign().unwrap()).expect(exit::OK).json();
    assert_eq!(
        ok["principal"]["issuer"],
        server.issuer().replace("{tenantid}", "aaaabbbb-0000-cccc-1111-dddd2222eeee")
    );
    let refused: Value = verify(&dev.user().mfa(false).sign().unwrap()).expect(exit::MFA_REQUIRED).json();
    assert_eq!(refused["code"], "mfa_required");
    // A token for another issuer is not accepted by the discovered one.
    verify(&issuer().user().sign().unwrap()).expect(exit::INVALID_TOKEN);

    // The JWKS URL with an explicit issuer works the same.
    let jwks_url = server.url("/.well-known/jwks.json");
    let iss = server.issuer();
    run(
        &[
            "verify",
            &dev.user().sign().unwrap(),
            "--jwks-url",
            &jwks_url,
            "--issuer",
            &iss,
            "--audience",
            AUDIENCE,
        ],
        None,
    )
    .expect(exit::OK);
}

//! `mfa-guard check`: the exact response the configured middleware would send,
//! for each refusal, and the exit code of each.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::{AUDIENCE, exit, failing_key_server, issuer, jwks_file, run, temp_dir};

/// A configuration file next to the issuer's JWKS, with one custom route.
fn config() -> PathBuf {
    let jwks = jwks_file();
    let path = jwks.parent().unwrap().join("policy.toml");
    std::fs::write(
        &path,
        format!(
            r#"audiences = ["{AUDIENCE}"]

[[issuers]]
issuer = "https://sts.windows.net/{{tenantid}}/"
jwks_file = "jwks.json"

[[policy.routes]]
path = "/reports/*"
access = "mfa"
callers = "users"
roles = ["BillingAdmin"]
name = "reports"
"#
        ),
    )
    .unwrap();
    path
}

fn check(config: &Path, method: &str, path: &str, token: Option<&str>, json: bool) -> crate::support::Run {
    let mut args = vec!["check", "--config", config.to_str().unwrap(), "--method", method, "--path", path];
    match token {
        Some(t) => args.push(t),
        None => args.push("--no-token"),
    }
    if json {
        args.push("--json");
    }
    run(&args, None)
}

#[test]
fn a_user_without_mfa_gets_partner_centers_exact_answer() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let out = check(&config(), "GET", "/commerce/customers", Some(&token), false).expect(exit::MFA_REQUIRED);
    let (head, body) = out.stdout.split_once("\n\n").expect("head and body");
    let body = body.strip_suffix('\n').unwrap();
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 401 Unauthorized - MFA required\n\
             content-type: application/problem+json\n\
             www-authenticate: Bearer error=\"invalid_token\"\n\
             content-length: {}",
            body.len()
        )
    );
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["code"], "mfa_required");
    assert_eq!(body["status"], 401);
}

#[test]
fn an_admitted_request_exits_0_with_the_caller() {
    let token = issuer().user().sign().unwrap();
    let out = check(&config(), "POST", "/v1/customers/contoso", Some(&token), true).expect(exit::OK).json();
    assert_eq!(out["outcome"], "admitted");
    assert_eq!(out["method"], "POST");
    assert_eq!(out["principal"]["kind"], "user");
    let out = check(&config(), "get", "/health", None, false).expect(exit::OK);
    assert!(out.stdout.starts_with("admitted: GET /health"), "{}", out.stdout);
}

#[test]
fn an_app_only_token_on_a_user_only_route_is_forbidden() {
    let token = issuer().app().sign().unwrap();
    let out = check(&config(), "GET", "/v1/customers/x", Some(&token), true).expect(exit::FORBIDDEN).json();
    assert_eq!(out["outcome"], "refused");
    let response = &out["response"];
    assert_eq!(response["status_line"], "HTTP/1.1 403 Forbidden");
    let body_len = response["body"].to_string().len().to_string();
    assert_eq!(
        response["headers"],
        json!([
            ["content-type", "application/problem+json"],
            ["www-authenticate", "Bearer error=\"insufficient_scope\""],
            ["content-length", body_len]
        ])
    );
    assert_eq!(response["body"]["code"], "app_only_not_allowed");
    check(&config(), "GET", "/v1/catalog/prices", Some(&token), false).expect(exit::OK);
}

#[test]
fn a_route_of_the_file_is_enforced_as_written() {
    let admin = issuer().user().sign().unwrap();
    let out = check(&config(), "GET", "/reports/q1", Some(&admin), true).expect(exit::FORBIDDEN).json();
    assert_eq!(out["response"]["body"]["code"], "insufficient_role");
    let billing = issuer().user().wids([mfa_guard_core::policy::wids::BILLING_ADMINISTRATOR]).sign().unwrap();
    check(&config(), "GET", "/reports/q1", Some(&billing), false).expect(exit::OK);
}

#[test]
fn no_token_and_bad_tokens_exit_3_with_their_challenges() {
    let out = check(&config(), "GET", "/billing/invoices", None, true).expect(exit::INVALID_TOKEN).json();
    assert_eq!(out["response"]["status_line"], "HTTP/1.1 401 Unauthorized");
    assert_eq!(out["response"]["headers"][1], json!(["www-authenticate", "Bearer"]));
    assert_eq!(out["response"]["code"], "missing_token");

    let expired = issuer().user().claim("exp", 1_000_000_000.into()).sign().unwrap();
    let out = check(&config(), "GET", "/billing/invoices", Some(&expired), false).expect(exit::INVALID_TOKEN);
    assert!(
        out.stdout.contains(
            "www-authenticate: Bearer error=\"invalid_token\", error_description=\"the token has expired\""
        ),
        "{}",
        out.stdout
    );

    let token = issuer().user().sign().unwrap();
    let out = check(&config(), "GET", "/commerce/x?access_token=abc", Some(&token), true)
        .expect(exit::INVALID_TOKEN)
        .json();
    assert_eq!(out["response"]["status"], 400);
    assert_eq!(out["response"]["code"], "invalid_request");
}

#[test]
fn keys_that_cannot_be_fetched_give_503_with_retry_after_and_exit_6() {
    let down = failing_key_server();
    let path = temp_dir().join("down.toml");
    std::fs::write(
        &path,
        format!(
            "audiences = [\"{AUDIENCE}\"]\n[[issuers]]\nissuer = \"https://sts.windows.net/{{tenantid}}/\"\njwks_url = \"http://{down}/keys\"\n"
        ),
    )
    .unwrap();
    let token = issuer().user().sign().unwrap();
    let out = check(&path, "GET", "/commerce/x", Some(&token), false).expect(exit::KEYS_UNAVAILABLE);
    assert!(out.stdout.starts_with("HTTP/1.1 503 Service Unavailable\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\nretry-after: "), "{}", out.stdout);
    assert!(!out.stdout.contains("www-authenticate"), "{}", out.stdout);
}

#[test]
fn key_flags_complete_a_file_that_holds_only_policy() {
    let dir = temp_dir();
    let path = dir.join("policy-only.toml");
    std::fs::write(&path, "[mfa]\namr = [\"mfa\", \"ngcmfa\"]\n").unwrap();
    let jwks = jwks_file();
    let token = issuer().user().claim("amr", json!(["ngcmfa"])).sign().unwrap();
    let base = ["check", "--config", path.to_str().unwrap(), "--path", "/commerce/x", &token];
    let out = run(&base, None).expect(exit::ERROR);
    assert!(out.stderr.contains("no issuer is configured") && out.stderr.contains("hint:"), "{}", out.stderr);
    let mut args = base.to_vec();
    args.extend(["--jwks-file", jwks.to_str().unwrap(), "--issuer", "https://sts.windows.net/{tenantid}/"]);
    args.extend(["--audience", AUDIENCE]);
    run(&args, None).expect(exit::OK);
}

#[test]
fn a_broken_configuration_is_one_line_naming_the_key() {
    let path = temp_dir().join("broken.toml");
    std::fs::write(&path, "audiences = [\"x\"]\n[challenge]\nstyle = \"loud\"\n").unwrap();
    let out = run(&["check", "--config", path.to_str().unwrap(), "--path", "/x", "--no-token"], None)
        .expect(exit::ERROR);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(":3: `challenge.style`"), "{}", out.stderr);
    let out = run(&["check", "--config", path.to_str().unwrap(), "--path", "x", "--no-token"], None)
        .expect(exit::USAGE);
    assert!(out.stderr.contains("does not start with '/'"), "{}", out.stderr);
}

/// A configuration with `/commerce/*` report-only and the compliance header on.
fn report_only_config() -> PathBuf {
    let jwks = jwks_file();
    let path = jwks.parent().unwrap().join("rollout.toml");
    std::fs::write(
        &path,
        format!(
            r#"audiences = ["{AUDIENCE}"]
compliance_header = "mfa-compliance"

[[issuers]]
issuer = "https://sts.windows.net/{{tenantid}}/"
jwks_file = "jwks.json"

[[policy.routes]]
path = "/commerce/*"
access = "mfa"
roles = ["AdminAgent"]
mode = "report-only"
"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn check_shows_what_report_only_would_have_done() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let out =
        check(&report_only_config(), "GET", "/commerce/customers", Some(&token), false).expect(exit::OK);
    assert!(out.stdout.starts_with("admitted: GET /commerce/customers"), "{}", out.stdout);
    assert!(out.stdout.contains("the response gets: mfa-compliance: missing"), "{}", out.stdout);
    assert!(out.stdout.contains("report-only:"), "{}", out.stdout);
    assert!(out.stdout.contains("HTTP/1.1 401 Unauthorized - MFA required\n"), "{}", out.stdout);

    let json = check(&report_only_config(), "GET", "/commerce/customers", Some(&token), true)
        .expect(exit::OK)
        .json();
    assert_eq!(json["outcome"], "admitted");
    assert_eq!(json["report_only"]["code"], "mfa_required");
    assert_eq!(json["report_only"]["status_line"], "HTTP/1.1 401 Unauthorized - MFA required");
    assert_eq!(json["response_headers"], json!([["mfa-compliance", "missing"]]));
    // Elsewhere the same token is refused as usual: report-only is per route.
    check(&report_only_config(), "GET", "/billing/x", Some(&token), false).expect(exit::MFA_REQUIRED);
}

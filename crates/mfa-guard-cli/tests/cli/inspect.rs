//! `mfa-guard inspect`: every verdict, every input form, and what is never printed.

use serde_json::Value;

use crate::support::{exit, issuer, run};

const AREAS: [&str; 6] = [
    "customers",
    "support-customer-requests",
    "billing",
    "security-workspace",
    "catalog-api",
    "customers-api",
];

fn inspect_json(token: &str) -> Value {
    run(&["inspect", "--json", token], None).expect(exit::OK).json()
}

/// The verdict of each Partner Center area, in the order of [`AREAS`].
fn verdicts(report: &Value) -> Vec<String> {
    let areas = report["areas"].as_array().expect("areas");
    let names: Vec<&str> = areas.iter().map(|a| a["area"].as_str().expect("area name")).collect();
    assert_eq!(names, AREAS);
    areas.iter().map(|a| a["verdict"].as_str().expect("verdict").to_owned()).collect()
}

#[test]
fn an_admin_agent_with_mfa_is_allowed_in_every_area() {
    let report = inspect_json(&issuer().user().sign().unwrap());
    assert_eq!(report["verified"], false);
    assert_eq!(verdicts(&report), ["allowed"; 6]);
    assert_eq!(report["caller"]["kind"], "user");
    assert_eq!(report["caller"]["rule"], "scp");
    assert_eq!(report["mfa"]["satisfied"], true);
    assert_eq!(report["mfa"]["evidence"], serde_json::json!({"claim": "amr", "value": "mfa"}));
    assert_eq!(report["mfa"]["amr"], serde_json::json!(["pwd", "mfa"]));
    assert_eq!(report["version"]["ver"], "1.0");
    assert_eq!(report["version"]["carries_amr"], true);
    assert_eq!(report["issuer"], "https://sts.windows.net/aaaabbbb-0000-cccc-1111-dddd2222eeee/");
    assert_eq!(report["tenant"], "aaaabbbb-0000-cccc-1111-dddd2222eeee");
    assert_eq!(report["roles"], serde_json::json!(["AdminAgent"]));
    assert_eq!(report["expiry"]["expired"], false);
    assert!(report["advice"].is_null());
}

#[test]
fn a_user_without_mfa_is_told_mfa_is_required_and_what_to_do() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let report = inspect_json(&token);
    assert_eq!(verdicts(&report), ["mfa_required"; 6]);
    assert_eq!(report["mfa"]["satisfied"], false);
    assert!(report["advice"].as_str().unwrap().contains("multi-factor"));

    let text = run(&["inspect", &token], None).expect(exit::OK).stdout;
    assert!(text.starts_with("NOT VERIFIED"), "{text}");
    assert!(text.contains("not satisfied: amr is [pwd]"), "{text}");
    assert!(text.contains("Customers                    /commerce/*"), "{text}");
    assert_eq!(text.matches("MFA required").count(), 6, "{text}");
}

#[test]
fn a_sales_agent_is_told_which_areas_miss_a_role() {
    let report = inspect_json(&issuer().user().roles(["SalesAgent"]).sign().unwrap());
    assert_eq!(
        verdicts(&report),
        [
            "allowed",
            "insufficient_role",
            "insufficient_role",
            "insufficient_role",
            "allowed",
            "insufficient_role"
        ]
    );
    let billing = &report["areas"][2];
    assert_eq!(billing["title"], "Billing");
    assert_eq!(
        billing["requires"]["roles"],
        serde_json::json!(["AdminAgent", "SecurityAdmin", "BillingAdmin"])
    );
    assert!(billing["explanation"].as_str().unwrap().starts_with("role missing"));
}

#[test]
fn a_security_admin_by_wids_is_allowed_in_billing_and_security_only() {
    let report = inspect_json(&issuer().user().security_admin().sign().unwrap());
    assert_eq!(report["roles"], serde_json::json!(["SecurityAdmin"]));
    assert_eq!(
        verdicts(&report),
        ["insufficient_role", "insufficient_role", "allowed", "allowed", "allowed", "insufficient_role"]
    );
}

#[test]
fn an_app_only_token_is_allowed_only_on_the_catalog_api() {
    let token = issuer().app().sign().unwrap();
    let report = inspect_json(&token);
    assert_eq!(
        verdicts(&report),
        [
            "app_only_not_allowed",
            "app_only_not_allowed",
            "app_only_not_allowed",
            "app_only_not_allowed",
            "allowed",
            "app_only_not_allowed"
        ]
    );
    assert_eq!(report["caller"]["kind"], "app");
    assert_eq!(report["caller"]["rule"], "idtyp");
    assert_eq!(report["mfa"]["applies"], false);
    let text = run(&["inspect", &token], None).expect(exit::OK).stdout;
    assert_eq!(text.matches("app-only not allowed").count(), 5, "{text}");
}

#[test]
fn an_entra_v2_token_is_explained_as_unable_to_carry_amr() {
    let token = issuer().user().claim("ver", "2.0".into()).claim("amr", Value::Null).sign().unwrap();
    let report = inspect_json(&token);
    assert_eq!(report["version"]["carries_amr"], false);
    assert!(report["version"]["advice"].as_str().unwrap().contains("accessTokenAcceptedVersion"));
    assert_eq!(verdicts(&report), ["mfa_required"; 6]);
    let text = run(&["inspect", &token], None).expect(exit::OK).stdout;
    assert!(text.contains("v2.0 access tokens never carry amr"), "{text}");
    assert!(text.contains("to fix: have the API's app registration issue v1.0 access tokens"), "{text}");
}

#[test]
fn an_expired_token_is_invalid_in_every_area() {
    let token = issuer().user().claim("exp", 1_000_000_000.into()).sign().unwrap();
    let report = inspect_json(&token);
    assert_eq!(verdicts(&report), ["invalid_token"; 6]);
    assert_eq!(report["expiry"]["expired"], true);
    assert_eq!(report["areas"][0]["detail"], "the token has expired");
    let text = run(&["inspect", &token], None).expect(exit::OK).stdout;
    assert!(text.contains("expired") && text.contains("2001-09-09 01:46:40 UTC"), "{text}");
}

#[test]
fn a_token_of_no_known_caller_kind_is_invalid_in_every_area() {
    let token = issuer().user().claim("scp", Value::Null).claim("roles", Value::Null).sign().unwrap();
    let report = inspect_json(&token);
    assert!(report["caller"]["kind"].is_null());
    assert_eq!(verdicts(&report), ["invalid_token"; 6]);
}

#[test]
fn a_malformed_token_exits_3_with_one_line_and_a_hint() {
    let out = run(&["inspect", "not-a-token"], None).expect(exit::INVALID_TOKEN);
    assert!(out.stdout.is_empty());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("mfa-guard: error: the token cannot be decoded"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);

    let report = run(&["inspect", "--json", "a.b.c"], None).expect(exit::INVALID_TOKEN).json();
    assert_eq!(report["decoded"], false);
    assert_eq!(report["error"]["code"], "invalid_token");
}

#[test]
fn a_token_is_read_from_an_argument_stdin_or_an_authorization_line() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let expected = inspect_json(&token)["claims"].clone();
    let inputs = [
        (vec!["inspect", "--json"], format!("{token}\n")),
        (vec!["inspect", "--json", "-"], token.clone()),
        (vec!["inspect", "--json"], format!("Authorization: Bearer {token}\r\n")),
        (vec!["inspect", "--json"], format!("bearer {token}")),
        (
            vec!["inspect", "--json"],
            format!("GET /commerce/x HTTP/1.1\nHost: api\nAuthorization: Bearer {token}\n\n"),
        ),
    ];
    for (args, stdin) in inputs {
        let report = run(&args, Some(&stdin)).expect(exit::OK).json();
        assert_eq!(report["claims"], expected, "input {stdin:?}");
    }
    let line = format!("Authorization: Bearer {token}");
    assert_eq!(run(&["inspect", "--json", &line], None).expect(exit::OK).json()["claims"], expected);
}

#[test]
fn other_schemes_and_oversized_input_are_refused() {
    let out = run(&["inspect"], Some("Authorization: Basic dXNlcjpwYXNz")).expect(exit::INVALID_TOKEN);
    assert!(out.stderr.contains("\"Basic\" scheme"), "{}", out.stderr);
    let out = run(&["inspect"], Some(&"a".repeat(64 * 1024))).expect(exit::INVALID_TOKEN);
    assert!(out.stderr.contains("more than 20 KiB"), "{}", out.stderr);
}

#[test]
fn the_signature_is_printed_only_when_asked_for() {
    let token = issuer().user().sign().unwrap();
    let signature = token.rsplit('.').next().unwrap();
    for args in [vec!["inspect"], vec!["inspect", "--json"]] {
        let out = run(&args, Some(&token)).expect(exit::OK);
        assert!(!out.stdout.contains(signature), "{args:?} printed the signature");
    }
    let out = run(&["inspect", "--show-signature"], Some(&token)).expect(exit::OK);
    assert!(out.stdout.contains(signature));
    let json = run(&["inspect", "--json", "--show-signature"], Some(&token)).expect(exit::OK).json();
    assert_eq!(json["signature"], signature);
}

#[test]
fn colour_is_used_only_when_asked_for_off_a_terminal() {
    let token = issuer().user().mfa(false).sign().unwrap();
    let piped = run(&["inspect", &token], None).expect(exit::OK);
    assert!(!piped.stdout.contains('\x1b'));
    let forced = run(&["--color", "always", "inspect", &token], None).expect(exit::OK);
    assert!(forced.stdout.contains("\x1b[31m"));
}

#[test]
fn control_characters_in_claims_are_shown_escaped_not_sent_to_the_terminal() {
    let token = issuer().user().claim("name", "evil\u{1b}[2Jname".into()).sign().unwrap();
    let out = run(&["inspect", &token], None).expect(exit::OK);
    assert!(!out.stdout.contains('\x1b'));
    assert!(out.stdout.contains("evil\\u{1b}[2Jname"), "{}", out.stdout);
}

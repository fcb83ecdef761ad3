//! Per-route assurance as `check` and `inspect --config` show it: the level a rule
//! requires against the token's, the freshness it requires against the token's
//! `auth_time`, and the challenge it answers with — for a token that meets the rule,
//! one short of its level and one too old for it.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::{AUDIENCE, Run, exit, issuer, jwks_file, run};

/// Security: phishing-resistant (`acrs` ∋ `c2`) within an hour, Entra's claims
/// challenge for `c2`; Billing: any MFA within ten minutes, RFC 9470 step-up for
/// `c1`; the rest is the Partner Center preset.
fn config() -> PathBuf {
    let jwks = jwks_file();
    let path = jwks.parent().unwrap().join("assurance.toml");
    std::fs::write(
        &path,
        format!(
            r#"audiences = ["{AUDIENCE}"]

[[issuers]]
issuer = "https://sts.windows.net/{{tenantid}}/"
jwks_file = "jwks.json"

[[assurance]]
name = "phishing-resistant"
acrs = ["c2"]

[[policy.routes]]
path = "/security/*"
name = "security-workspace"
access = "mfa"
roles = ["AdminAgent", "SecurityAdmin"]
assurance = "phishing-resistant"
max_age = "1h"
challenge = "entra:c2"

[[policy.routes]]
path = "/billing/*"
name = "billing"
access = "mfa"
roles = ["AdminAgent", "BillingAdmin"]
max_age = "10m"
challenge = "step-up:c1"
"#
        ),
    )
    .unwrap();
    path
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A user with MFA who signed in `ago` seconds ago, with these extra claims.
fn user(ago: i64, extra: &[(&str, Value)]) -> String {
    let mut token = issuer().user().claim("auth_time", json!(now() - ago));
    for (name, value) in extra {
        token = token.claim(*name, value.clone());
    }
    token.sign().unwrap()
}

fn check(path: &str, token: &str, json: bool) -> Run {
    let config = config();
    let mut args = vec!["check", "--config", config.to_str().unwrap(), "--path", path, token];
    if json {
        args.push("--json");
    }
    run(&args, None)
}

fn inspect(token: &str, json: bool) -> Run {
    let config = config();
    let mut args = vec!["inspect", "--config", config.to_str().unwrap(), token];
    if json {
        args.push("--json");
    }
    run(&args, None).expect(exit::OK)
}

/// The `www-authenticate` header of a refusal `check --json` printed.
fn www_authenticate(out: &Value) -> &str {
    let headers = out["response"]["headers"].as_array().expect("headers");
    headers.iter().find(|h| h[0] == "www-authenticate").and_then(|h| h[1].as_str()).expect("a challenge")
}

/// The rule named `name` of an `inspect --config --json` report.
fn rule<'a>(report: &'a Value, name: &str) -> &'a Value {
    let rules = report["rules"].as_array().expect("rules");
    rules.iter().find(|r| r["rule"] == name).unwrap_or_else(|| panic!("no rule {name} in {rules:?}"))
}

#[test]
fn a_token_that_meets_the_level_and_the_freshness_is_admitted_and_shown_meeting_them() {
    let strong = user(60, &[("acrs", json!(["c2"]))]);
    let out = check("/security/alerts", &strong, false).expect(exit::OK);
    assert!(out.stdout.starts_with("admitted: GET /security/alerts"), "{}", out.stdout);
    for line in [
        "  rule security-workspace (/security/*)\n",
        "    assurance  phishing-resistant required; the token shows phishing-resistant (acrs contains \"c2\"): met\n",
        "    freshness  a sign-in within 60 minutes; signed in ",
        "    challenge  entra-claims (insufficient_claims): auth context c2, at https://login.microsoftonline.com/common/oauth2/authorize; the client does not declare cp1 in xms_cc, so it gets Partner Center's answer\n",
    ] {
        assert!(out.stdout.contains(line), "{line:?} missing from:\n{}", out.stdout);
    }

    let out = check("/security/alerts", &strong, true).expect(exit::OK).json();
    assert_eq!(out["outcome"], "admitted");
    let rule = &out["rule"];
    assert_eq!((&rule["rule"], &rule["path"]), (&json!("security-workspace"), &json!("/security/*")));
    let a = &rule["assurance"];
    assert_eq!(a["required_level"], "phishing-resistant");
    assert_eq!(a["achieved_level"], "phishing-resistant");
    assert_eq!(a["evidence"], json!({"claim": "acrs", "value": "c2"}));
    assert_eq!((&a["level_met"], &a["fresh"], &a["max_age"]), (&json!(true), &json!(true), &json!(3600)));
    assert!((60..90).contains(&a["auth_age"].as_i64().unwrap()), "{a}");
    assert_eq!(
        rule["challenge"],
        json!({
            "style": "entra-claims",
            "acr_values": null,
            "max_age": null,
            "auth_context": "c2",
            "authorization_uri": "https://login.microsoftonline.com/common/oauth2/authorize",
            "client_handles_claims": false,
            "answered_with": "partner-center",
        })
    );
}

#[test]
fn a_token_short_of_the_level_is_refused_and_shown_too_weak_with_the_challenge_sent() {
    // Plain MFA (amr ∋ mfa) is the base level, not the Security workspace's.
    let plain = user(60, &[]);
    let out = check("/security/alerts", &plain, false).expect(exit::MFA_REQUIRED);
    assert!(out.stdout.starts_with("HTTP/1.1 401 Unauthorized - MFA required\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\nwww-authenticate: Bearer error=\"invalid_token\"\n"), "{}", out.stdout);
    let (_, explained) = out.stdout.split_once("}\n\n").expect("the rule after the body");
    assert!(explained.starts_with("rule security-workspace (/security/*)\n"), "{explained}");
    assert!(
        explained.contains(
            "  assurance  phishing-resistant required; the token shows mfa (amr contains \"mfa\"): too weak\n"
        ),
        "{explained}"
    );
    assert!(explained.contains("so it gets Partner Center's answer"), "{explained}");

    // A client that handles claims challenges gets Entra's, asking for c2.
    let cp1 = user(60, &[("xms_cc", json!(["cp1"]))]);
    let out = check("/security/alerts", &cp1, true).expect(exit::MFA_REQUIRED).json();
    let www = www_authenticate(&out);
    assert!(www.starts_with("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\""), "{www}");
    let a = &out["rule"]["assurance"];
    assert_eq!((&a["required_level"], &a["achieved_level"]), (&json!("phishing-resistant"), &json!("mfa")));
    assert_eq!((&a["level_met"], &a["fresh"]), (&json!(false), &json!(true)));
    let c = &out["rule"]["challenge"];
    assert_eq!((&c["client_handles_claims"], &c["answered_with"]), (&json!(true), &json!("entra-claims")));

    // inspect says the same of the rule, with the challenge it would send.
    let report = inspect(&plain, true).json();
    let security = rule(&report, "security-workspace");
    assert_eq!(security["verdict"], "mfa_required");
    assert_eq!(security["www_authenticate"], "Bearer error=\"invalid_token\"");
    assert_eq!(security["assurance"]["achieved_level"], "mfa");
    assert_eq!(security["assurance"]["level_met"], false);
    assert_eq!(rule(&report, "billing")["verdict"], "allowed");
    let text = inspect(&plain, false).stdout;
    assert!(text.contains("Rules of assurance.toml (what this configuration would decide)\n"), "{text}");
    assert!(text.contains("      www-authenticate  Bearer error=\"invalid_token\"\n"), "{text}");
    assert!(text.contains("(amr contains \"mfa\"): too weak\n"), "{text}");
}

#[test]
fn a_token_too_old_for_the_rule_is_refused_with_a_step_up_naming_its_max_age() {
    let twenty_minutes = user(1200, &[]);
    let out = check("/billing/invoices", &twenty_minutes, true).expect(exit::MFA_REQUIRED).json();
    assert_eq!(
        www_authenticate(&out),
        "Bearer error=\"insufficient_user_authentication\", error_description=\"this operation requires a recent multi-factor sign-in; sign in again with MFA\", acr_values=\"c1\", max_age=\"600\""
    );
    let a = &out["rule"]["assurance"];
    assert_eq!((&a["required_level"], &a["achieved_level"]), (&json!("mfa"), &json!("mfa")));
    assert_eq!((&a["level_met"], &a["fresh"], &a["max_age"]), (&json!(true), &json!(false), &json!(600)));
    assert!(a["auth_age"].as_i64().unwrap() >= 1200, "{a}");
    let c = &out["rule"]["challenge"];
    assert_eq!(
        (&c["style"], &c["acr_values"], &c["max_age"]),
        (&json!("step-up"), &json!("c1"), &json!(600))
    );

    let text = check("/billing/invoices", &twenty_minutes, false).expect(exit::MFA_REQUIRED).stdout;
    assert!(text.contains("\n\nrule billing (/billing/*)\n"), "{text}");
    assert!(
        text.contains("  freshness  a sign-in within 10 minutes; signed in 20 minutes ago: too old\n"),
        "{text}"
    );
    assert!(
        text.contains("  challenge  step-up (RFC 9470, insufficient_user_authentication): acr_values \"c1\", max_age 600\n"),
        "{text}"
    );

    // Where no freshness is asked, the same token passes, and plain MFA needs no
    // more words than the preset's.
    let out = check("/commerce/customers", &twenty_minutes, false).expect(exit::OK);
    assert!(!out.stdout.contains("rule "), "{}", out.stdout);
    let out = check("/commerce/customers", &twenty_minutes, true).expect(exit::OK).json();
    assert_eq!(out["rule"]["assurance"]["max_age"], Value::Null);
    assert_eq!(out["rule"]["challenge"]["style"], "partner-center");

    let report = inspect(&twenty_minutes, true).json();
    let billing = rule(&report, "billing");
    assert_eq!(billing["verdict"], "mfa_required");
    assert_eq!(billing["assurance"]["fresh"], false);
    assert_eq!(billing["www_authenticate"], www_authenticate(&out_of(&twenty_minutes)));
    let text = inspect(&twenty_minutes, false).stdout;
    assert!(text.contains("signed in 20 minutes ago: too old\n"), "{text}");
}

/// `check --json` of the Billing refusal.
fn out_of(token: &str) -> Value {
    check("/billing/invoices", token, true).expect(exit::MFA_REQUIRED).json()
}

#[test]
fn a_token_the_guard_does_not_accept_gets_no_rule_explained() {
    // The facts of a token that failed verification are only claims: check shows
    // the refusal alone.
    let expired = issuer().user().claim("exp", 1_000_000_000.into()).sign().unwrap();
    let out = check("/security/alerts", &expired, true).expect(exit::INVALID_TOKEN).json();
    assert_eq!(out["rule"], Value::Null);
    let out = check("/security/alerts", &expired, false).expect(exit::INVALID_TOKEN);
    assert!(!out.stdout.contains("rule "), "{}", out.stdout);
}

#[test]
fn inspect_without_a_configuration_adds_the_facts_to_json_and_keeps_its_text() {
    let token = user(60, &[]);
    let report = run(&["inspect", "--json", &token], None).expect(exit::OK).json();
    let customers = &report["areas"][0];
    assert_eq!(customers["assurance"]["required_level"], "mfa");
    assert_eq!(customers["challenge"]["style"], "partner-center");
    assert_eq!(customers["www_authenticate"], Value::Null);
    let text = run(&["inspect", &token], None).expect(exit::OK).stdout;
    assert!(!text.contains("assurance "), "{text}");
}

#[test]
fn inspect_with_a_configuration_that_builds_no_guard_says_why() {
    let path = crate::support::temp_dir().join("policy-only.toml");
    std::fs::write(&path, "[mfa]\namr = [\"mfa\"]\n").unwrap();
    let token = user(60, &[]);
    let out = run(&["inspect", "--config", path.to_str().unwrap(), &token], None).expect(exit::ERROR);
    assert!(out.stderr.contains("no issuer is configured") && out.stderr.contains("hint:"), "{}", out.stderr);
}

use std::time::Duration;

use super::*;
use crate::claims::parse_claims;
use crate::keys::VerifyingKey;
use crate::principal::VerifiedToken;
use crate::rejection::RejectionCode;
use std::sync::Arc;

fn verified(policy: &CompiledPolicy, json: &str) -> VerifiedToken {
    let claims = parse_claims(json.as_bytes()).unwrap();
    let kind = claims.caller_kind().unwrap();
    VerifiedToken::of(&claims, kind, Some(Arc::new(VerifyingKey::hmac(b"test", None))), policy)
}

fn decide(policy: &CompiledPolicy, method: &str, path: &str, json: &str) -> Result<(), RejectionCode> {
    let token = verified(policy, json);
    let claims = parse_claims(json.as_bytes()).unwrap();
    let d = policy.authorize(policy.select(method, path), &token.subject(), &|| &claims, 1_000);
    match d.refusal.or(d.reported) {
        Some(r) => Err(r.code),
        None => Ok(()),
    }
}

fn pc() -> CompiledPolicy {
    Policy::partner_center().compile().unwrap()
}

const ADMIN_MFA: &str = r#"{"scp":"user_impersonation","amr":["pwd","mfa"],"roles":["AdminAgent"]}"#;
const ADMIN_NO_MFA: &str = r#"{"scp":"user_impersonation","amr":["pwd"],"roles":["AdminAgent"]}"#;
const APP: &str = r#"{"idtyp":"app","roles":["AdminAgent"],"oid":"a","sub":"a"}"#;

#[test]
fn the_longest_pattern_wins() {
    let p = Policy::new()
        .route("/a/*", Requirement::public())
        .route("/a/b/*", Requirement::mfa())
        .compile()
        .unwrap();
    assert_eq!(&*p.select("GET", "/a/x").label, "/a/*");
    assert_eq!(&*p.select("GET", "/a/b/c").label, "/a/b/*");
    assert_eq!(&*p.select("GET", "/other").label, "fallback");
}

#[test]
fn an_exact_pattern_beats_a_prefix_of_the_same_length() {
    let p =
        Policy::new().route("/a/*", Requirement::mfa()).route("/a", Requirement::public()).compile().unwrap();
    assert_eq!(&*p.select("GET", "/a").label, "/a");
    assert_eq!(&*p.select("GET", "/a/b").label, "/a/*");
}

#[test]
fn rules_can_be_method_aware_and_get_covers_head() {
    let p = Policy::new()
        .rule(Rule::new("/r/*", Requirement::authenticated()).name("read"))
        .rule(Rule::new("/r/*", Requirement::mfa()).methods(["POST", "delete"]).name("write"))
        .rule(Rule::new("/g", Requirement::mfa()).methods(["GET"]).name("get-only"))
        .compile()
        .unwrap();
    assert_eq!(&*p.select("GET", "/r/1").label, "read");
    assert_eq!(&*p.select("POST", "/r/1").label, "write");
    assert_eq!(&*p.select("DELETE", "/r/1").label, "write");
    assert_eq!(&*p.select("HEAD", "/g").label, "get-only");
    assert_eq!(&*p.select("POST", "/g").label, "fallback");
}

#[test]
fn patterns_compare_with_the_routers_reading_literally() {
    let p = pc();
    // The policy reads no path its own way: what a router would not route to
    // Customers does not get the Customers rule either, and vice versa.
    assert_eq!(&*p.select("GET", "/commerce/x").label, "customers");
    assert_eq!(&*p.select("GET", "/commerce//x").label, "customers");
    assert_eq!(&*p.select("GET", "/COMMERCE/x").label, "fallback");
    assert_eq!(&*p.select("GET", "/%63ommerce/x").label, "fallback");
    assert_eq!(&*p.select("GET", "//commerce/x").label, "fallback");
    assert_eq!(&*p.select("GET", "/commerce;x=1/y").label, "fallback");
    assert!(p.select("GET", "/health").is_public());
    assert!(!p.select("GET", "/Health").is_public());
    assert!(!p.select("GET", "/health/").is_public());
}

#[test]
fn partner_center_routes_follow_the_design_table() {
    let p = pc();
    let security_admin_mfa = r#"{"scp":"x","amr":["mfa"],"wids":["194ae4cb-b126-40b2-bd5b-6091b380977d"]}"#;
    let billing_admin_mfa = r#"{"scp":"x","amr":["mfa"],"wids":["B0F54661-2D74-4C50-AFA3-1EC803F12EFE"]}"#;
    let sales_mfa = r#"{"scp":"x","amr":["mfa"],"roles":["SalesAgent"]}"#;
    let helpdesk_mfa = r#"{"scp":"x","amr":["mfa"],"roles":["HelpdeskAgent"]}"#;
    let no_role_mfa = r#"{"scp":"x","amr":["mfa"]}"#;
    let no_role_no_mfa = r#"{"scp":"x","amr":["pwd"]}"#;
    use RejectionCode::*;
    let table: &[(&str, &str, Result<(), RejectionCode>)] = &[
        ("/overview", no_role_no_mfa, Ok(())),
        ("/overview", APP, Ok(())),
        ("/unmatched/thing", no_role_no_mfa, Ok(())),
        ("/commerce/customers", ADMIN_MFA, Ok(())),
        ("/commerce/customers", sales_mfa, Ok(())),
        ("/commerce/customers", helpdesk_mfa, Ok(())),
        ("/commerce/customers", security_admin_mfa, Err(InsufficientRole)),
        ("/commerce/customers", ADMIN_NO_MFA, Err(MfaRequired)),
        ("/commerce/customers", APP, Err(AppOnlyNotAllowed)),
        ("/dashboard/v2/support/customers/1", helpdesk_mfa, Ok(())),
        ("/dashboard/v2/support/customers/1", sales_mfa, Err(InsufficientRole)),
        ("/billing/invoices", billing_admin_mfa, Ok(())),
        ("/billing/invoices", security_admin_mfa, Ok(())),
        ("/billing/invoices", sales_mfa, Err(InsufficientRole)),
        ("/security/alerts", security_admin_mfa, Ok(())),
        ("/security/alerts", billing_admin_mfa, Err(InsufficientRole)),
        ("/v1/catalog/prices", no_role_mfa, Ok(())),
        ("/v1/catalog/prices", no_role_no_mfa, Err(MfaRequired)),
        ("/v1/catalog/prices", APP, Ok(())),
        ("/v1/customers/123", ADMIN_MFA, Ok(())),
        ("/v1/customers/123", APP, Err(AppOnlyNotAllowed)),
        ("/v1/customers/123", sales_mfa, Err(InsufficientRole)),
        ("/v1/customers/123", ADMIN_NO_MFA, Err(MfaRequired)),
    ];
    for (path, token, expected) in table {
        assert_eq!(decide(&p, "GET", path, token), *expected, "{path} with {token}");
    }
}

#[test]
fn checks_run_in_order_caller_kind_then_mfa_then_roles() {
    let p = pc();
    // A user without MFA and without a role is told about MFA first.
    assert_eq!(decide(&p, "GET", "/commerce/x", r#"{"scp":"x"}"#), Err(RejectionCode::MfaRequired));
    // An app without a role on a users-only route is told it is app-only first.
    assert_eq!(
        decide(&p, "GET", "/commerce/x", r#"{"idtyp":"app","roles":["x"]}"#),
        Err(RejectionCode::AppOnlyNotAllowed)
    );
}

#[test]
fn mfa_needs_exactly_an_accepted_amr_value() {
    let p = pc();
    for amr in [r#"["MFA"]"#, r#"["mfa "]"#, r#"["\u043cf\u0430"]"#, r#"["ngcmfa"]"#, r#"[]"#] {
        let token = format!(r#"{{"scp":"x","roles":["AdminAgent"],"amr":{amr}}}"#);
        assert_eq!(decide(&p, "GET", "/commerce/x", &token), Err(RejectionCode::MfaRequired), "{amr}");
    }
    assert_eq!(decide(&p, "GET", "/commerce/x", r#"{"scp":"x","roles":["AdminAgent"],"amr":"mfa"}"#), Ok(()));
}

#[test]
fn a_user_token_without_amr_does_not_satisfy_mfa() {
    // Entra v2 access tokens carry no amr.
    let v2 = r#"{"scp":"x","roles":["AdminAgent"],"ver":"2.0"}"#;
    assert_eq!(decide(&pc(), "GET", "/commerce/x", v2), Err(RejectionCode::MfaRequired));
}

#[test]
fn ngcmfa_can_be_accepted_by_configuration() {
    let p = Policy::partner_center().mfa(MfaPolicy::new().amr_values(["mfa", "ngcmfa"])).compile().unwrap();
    assert_eq!(
        decide(&p, "GET", "/commerce/x", r#"{"scp":"x","roles":["AdminAgent"],"amr":["ngcmfa"]}"#),
        Ok(())
    );
}

#[test]
fn auth_context_and_acr_evidence_are_off_by_default_and_configurable() {
    let acrs = r#"{"scp":"x","roles":["AdminAgent"],"acrs":["c1"]}"#;
    let acr = r#"{"scp":"x","roles":["AdminAgent"],"acr":"possessionorinherence"}"#;
    assert_eq!(decide(&pc(), "GET", "/commerce/x", acrs), Err(RejectionCode::MfaRequired));
    assert_eq!(decide(&pc(), "GET", "/commerce/x", acr), Err(RejectionCode::MfaRequired));
    let p = Policy::partner_center()
        .mfa(MfaPolicy::new().auth_contexts(["c1"]).acr_values(["possessionorinherence"]))
        .compile()
        .unwrap();
    assert_eq!(decide(&p, "GET", "/commerce/x", acrs), Ok(()));
    assert_eq!(decide(&p, "GET", "/commerce/x", acr), Ok(()));
}

#[test]
fn freshness_requires_a_recent_auth_time() {
    let p =
        Policy::partner_center().mfa(MfaPolicy::new().max_age(Duration::from_secs(300))).compile().unwrap();
    // now is 1000 in `decide`.
    let fresh = r#"{"scp":"x","roles":["AdminAgent"],"amr":["mfa"],"auth_time":800}"#;
    let stale = r#"{"scp":"x","roles":["AdminAgent"],"amr":["mfa"],"auth_time":600}"#;
    let unknown = r#"{"scp":"x","roles":["AdminAgent"],"amr":["mfa"]}"#;
    assert_eq!(decide(&p, "GET", "/commerce/x", fresh), Ok(()));
    assert_eq!(decide(&p, "GET", "/commerce/x", stale), Err(RejectionCode::MfaRequired));
    assert_eq!(decide(&p, "GET", "/commerce/x", unknown), Err(RejectionCode::MfaRequired));
}

#[test]
fn roles_resolve_from_groups_and_scopes_through_the_role_map() {
    let map = RoleMap::partner_center()
        .grant(Role::AdminAgent, RoleMatcher::Group("0e9f5d2c-1111-4444-8888-123456789abc".into()))
        .grant(Role::Custom("Reader".into()), RoleMatcher::Scope("Reports.Read".into()));
    let p = Policy::partner_center()
        .role_map(map)
        .route("/reports/*", Requirement::mfa().any_role([Role::Custom("Reader".into())]))
        .compile()
        .unwrap();
    let by_group = r#"{"scp":"x","amr":["mfa"],"groups":["0E9F5D2C-1111-4444-8888-123456789ABC"]}"#;
    let by_scope = r#"{"scp":"Reports.Read","amr":["mfa"]}"#;
    assert_eq!(decide(&p, "GET", "/commerce/x", by_group), Ok(()));
    assert_eq!(decide(&p, "GET", "/reports/q1", by_scope), Ok(()));
    assert_eq!(decide(&p, "GET", "/reports/q1", by_group), Err(RejectionCode::InsufficientRole));
}

#[test]
fn a_groups_overage_fails_closed_with_its_own_reason() {
    let map = RoleMap::partner_center()
        .grant(Role::AdminAgent, RoleMatcher::Group("0e9f5d2c-1111-4444-8888-123456789abc".into()));
    let p = Policy::partner_center()
        .role_map(map)
        .route("/security-only/*", Requirement::mfa().any_role([Role::SecurityAdmin]))
        .compile()
        .unwrap();
    let overage = r#"{"scp":"x","amr":["mfa"],"_claim_names":{"groups":"src1"}}"#;
    assert_eq!(decide(&p, "GET", "/commerce/x", overage), Err(RejectionCode::GroupsOverage));
    // The overage does not matter when the role is held through another claim ...
    let overage_with_role =
        r#"{"scp":"x","amr":["mfa"],"roles":["SalesAgent"],"_claim_names":{"groups":"s"}}"#;
    assert_eq!(decide(&p, "GET", "/commerce/x", overage_with_role), Ok(()));
    // ... nor for roles no group can grant.
    assert_eq!(decide(&p, "GET", "/security-only/x", overage), Err(RejectionCode::InsufficientRole));
}

#[test]
fn a_route_naming_an_undefined_role_does_not_compile() {
    let err = Policy::new().route("/x", Requirement::mfa().any_role([Role::Custom("Nope".into())])).compile();
    assert_eq!(
        err.unwrap_err(),
        crate::policy::PolicyError::UnknownRole {
            rule: crate::policy::RuleName::Route("/x".into()),
            role: Role::Custom("Nope".into())
        }
    );
}

#[test]
fn the_neutral_policy_defines_no_role_and_the_preset_is_named_where_it_applies() {
    // `Policy::new()` (what `Guard::builder()` starts from) carries nothing of
    // Partner Center: not even its roles resolve until a map defines them.
    assert_eq!(Policy::new().roles(), &RoleMap::new());
    assert!(Policy::new().rules().is_empty());
    let admin = || Requirement::mfa().any_role([Role::AdminAgent]);
    assert_eq!(
        Policy::new().route("/x", admin()).compile().unwrap_err(),
        crate::policy::PolicyError::UnknownRole {
            rule: crate::policy::RuleName::Route("/x".into()),
            role: Role::AdminAgent
        }
    );
    // Named, the preset's map brings its roles back, alone or with the route table.
    let p = Policy::new().role_map(RoleMap::partner_center()).route("/x", admin()).compile().unwrap();
    assert_eq!(decide(&p, "GET", "/x", ADMIN_MFA), Ok(()));
    assert_eq!(Policy::partner_center().roles(), &RoleMap::partner_center());
}

#[test]
fn a_later_rule_replaces_an_earlier_one_with_the_same_pattern_and_methods() {
    let p = Policy::partner_center().route("/commerce/*", Requirement::authenticated());
    assert_eq!(p.rules().iter().filter(|r| r.pattern() == "/commerce/*").count(), 1);
    assert_eq!(decide(&p.compile().unwrap(), "GET", "/commerce/x", r#"{"scp":"x"}"#), Ok(()));
}

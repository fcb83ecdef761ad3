//! The guard end to end: real RS256 tokens from a development issuer, every row of
//! the response table on the Partner Center areas, asserting status, reason phrase, the exact
//! `WWW-Authenticate` and the body code.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::algorithm::Algorithm;
use crate::claims::CallerKind;
use crate::keys::{KeyError, KeyFuture, KeyProvider, KeySet, KeySource, Lookup};
use crate::policy::{Policy, Requirement, wids};
use crate::rejection::{ChallengeStyle, RejectionCode, parse_challenge};
use crate::test_issuer::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};

/// What a check concluded, as a `Result` (see [`Admission::into_result`]).
type CheckResult = Result<Option<Principal>, Rejection>;

const TEMPLATE: &str = "https://sts.windows.net/{tenantid}/";

fn issuer() -> &'static DevIssuer {
    static ISSUER: OnceLock<DevIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| DevIssuer::generate(TEMPLATE).unwrap())
}

fn other_issuer() -> &'static DevIssuer {
    static ISSUER: OnceLock<DevIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| DevIssuer::generate("https://other.example/").unwrap())
}

fn guard() -> Guard {
    Guard::partner_center()
        .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
        .build()
        .unwrap()
}

fn check_with(guard: &Guard, method: &str, path: &str, headers: &[&str], query: Option<&str>) -> CheckResult {
    let req = RequestInfo::new(method, path)
        .with_query(query)
        .with_authorizations(headers.iter().map(|h| h.as_bytes()));
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(guard.check(&req)).into_result()
}

fn check(path: &str, token: &str) -> CheckResult {
    check_with(&guard(), "GET", path, &[&format!("Bearer {token}")], None)
}

/// Asserts the whole answer of a refusal.
#[track_caller]
fn assert_refused(
    result: CheckResult,
    status: u16,
    reason: Option<&str>,
    www: Option<&str>,
    code: &str,
) -> Rejection {
    let r = match result {
        Err(r) => r,
        Ok(p) => panic!("expected {code}, got admitted: {p:?}"),
    };
    let body: Value = serde_json::from_slice(&r.body()).unwrap();
    assert_eq!(
        (r.status(), r.reason_phrase(), r.www_authenticate(), body["code"].as_str().unwrap()),
        (status, reason, www, code),
        "detail: {}",
        r.detail()
    );
    assert_eq!(r.content_type(), "application/problem+json");
    r
}

/// Asserts the path rule's refusal: `400`, `invalid_request`, the description in the
/// challenge too.
#[track_caller]
fn assert_unreadable_path(result: CheckResult) -> Rejection {
    let r = match result {
        Err(r) => r,
        Ok(p) => panic!("expected invalid_request, got admitted: {p:?}"),
    };
    let expected = format!(r#"Bearer error="invalid_request", error_description="{}""#, r.detail());
    assert_refused(Err(r.clone()), 400, None, Some(&expected), "invalid_request");
    assert!(r.detail().starts_with("the request path "), "{}", r.detail());
    r
}

#[track_caller]
fn assert_invalid_token(result: CheckResult, description_part: &str) {
    let r = match result {
        Err(r) => r,
        Ok(p) => panic!("expected invalid_token, got admitted: {p:?}"),
    };
    let expected = format!(r#"Bearer error="invalid_token", error_description="{}""#, r.detail());
    assert_refused(Err(r.clone()), 401, None, Some(&expected), "invalid_token");
    assert!(r.detail().contains(description_part), "{:?} does not contain {description_part:?}", r.detail());
}

const MFA_WWW: Option<&str> = Some(r#"Bearer error="invalid_token""#);
const MFA_REASON: Option<&str> = Some("Unauthorized - MFA required");

fn seed_claims(iss: &str) -> Value {
    json!({
      "aud": "https://api.partnercenter.microsoft.com",
      "iss": iss,
      "iat": 1549088552, "nbf": 1549088552, "exp": 4102444800u64,
      "acr": "1", "amr": ["pwd", "mfa"],
      "appid": "00001111-aaaa-2222-bbbb-3333cccc4444", "appidacr": "0",
      "family_name": "Adminagent", "given_name": "CSP", "ipaddr": "127.0.0.1",
      "name": "Adminagent CSP", "oid": "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
      "scp": "user_impersonation", "tenant_region_scope": "NA",
      "tid": "aaaabbbb-0000-cccc-1111-dddd2222eeee",
      "unique_name": "Adminagent.csp@testtestpartner.onmicrosoft.com",
      "upn": "Adminagent.csp@testtestpartner.onmicrosoft.com", "ver": "1.0"
    })
}

mod seed {
    use super::*;

    /// The seed's sample token, as published, with its own (anonymised) issuer
    /// configured exactly. Its `exp` is moved to 2100 so it is still valid.
    #[test]
    fn seed_sample_token_passes_on_an_mfa_route() {
        let iss = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
        let g = Guard::builder()
            .verifier(|v| v.issuer(iss).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(Policy::partner_center().route("/api/*", Requirement::mfa()))
            .build()
            .unwrap();
        let token = issuer().sign(&seed_claims(iss)).unwrap();
        let p =
            check_with(&g, "GET", "/api/customers", &[&format!("Bearer {token}")], None).unwrap().unwrap();
        assert_eq!(p.kind(), CallerKind::User);
        assert!(p.mfa());
        assert_eq!(p.upn(), Some("Adminagent.csp@testtestpartner.onmicrosoft.com"));
    }

    /// With the v1 template, the sample's tenant in `tid` must be the tenant in `iss`.
    #[test]
    fn seed_token_passes_the_v1_issuer_template() {
        let token = issuer().sign(&seed_claims(&format!("https://sts.windows.net/{DEV_TENANT}/"))).unwrap();
        let p = check("/v1/catalog/prices", &token).unwrap().unwrap();
        assert_eq!(p.tid(), Some(DEV_TENANT));
    }

    #[test]
    fn seed_token_without_mfa_gets_the_exact_mfa_required_answer() {
        let mut claims = seed_claims(&format!("https://sts.windows.net/{DEV_TENANT}/"));
        claims["amr"] = json!(["pwd"]);
        let token = issuer().sign(&claims).unwrap();
        assert_refused(check("/v1/catalog/prices", &token), 401, MFA_REASON, MFA_WWW, "mfa_required");
    }

    /// The sample as published names one tenant in `iss` and another in `tid`: under
    /// the template that is an issuer mismatch, and refused.
    #[test]
    fn seed_token_with_mismatched_tid_fails_the_template() {
        let token = issuer()
            .sign(&seed_claims("https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/"))
            .unwrap();
        assert_invalid_token(check("/overview", &token), "issuer is not accepted");
    }
}

mod rows {
    //! One test per row of the response table (docs/ARCHITECTURE.md).
    use super::*;

    #[test]
    fn no_token_on_a_protected_route_is_missing_token() {
        assert_refused(
            check_with(&guard(), "GET", "/commerce/x", &[], None),
            401,
            None,
            Some("Bearer"),
            "missing_token",
        );
        assert_refused(
            check_with(&guard(), "GET", "/overview", &[], None),
            401,
            None,
            Some("Bearer"),
            "missing_token",
        );
    }

    #[test]
    fn a_non_bearer_scheme_is_missing_token() {
        let r = check_with(&guard(), "GET", "/overview", &["Basic dXNlcjpwYXNz"], None);
        assert_refused(r, 401, None, Some("Bearer"), "missing_token");
    }

    #[test]
    fn missing_token_carries_a_configured_realm() {
        let g = Guard::partner_center()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .realm("partner-center")
            .build()
            .unwrap();
        let r = check_with(&g, "GET", "/overview", &[], None);
        assert_refused(r, 401, None, Some(r#"Bearer realm="partner-center""#), "missing_token");
    }

    #[test]
    fn malformed_token_is_invalid_token() {
        assert_invalid_token(check("/overview", "not-a-jwt"), "three dot-separated segments");
        assert_invalid_token(check("/overview", "a.b.c"), "base64url");
    }

    #[test]
    fn bad_signature_is_invalid_token() {
        let token = issuer().user().sign().unwrap();
        let (rest, sig) = token.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[10] ^= 1;
        assert_invalid_token(
            check("/overview", &format!("{rest}.{}", URL_SAFE_NO_PAD.encode(sig))),
            "signature",
        );
    }

    #[test]
    fn tampered_payload_is_invalid_token() {
        let token = issuer().user().mfa(false).sign().unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["amr"] = json!(["pwd", "mfa"]);
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_invalid_token(check("/commerce/x", &parts.join(".")), "signature");
    }

    #[test]
    fn signature_by_another_key_under_a_known_kid_is_invalid_token() {
        let claims = issuer().user().claims();
        let header = json!({"alg": "RS256", "kid": issuer().kid()});
        let forged = other_issuer().sign_with_header(&header, &claims).unwrap();
        assert_invalid_token(check("/overview", &forged), "signature");
    }

    #[test]
    fn expired_token_is_invalid_token() {
        let token = issuer().user().claim("exp", json!(1_000_000)).sign().unwrap();
        assert_invalid_token(check("/overview", &token), "expired");
    }

    #[test]
    fn token_without_exp_is_invalid_token() {
        let mut claims = issuer().user().claims();
        claims.as_object_mut().unwrap().remove("exp");
        assert_invalid_token(check("/overview", &issuer().sign(&claims).unwrap()), "no exp");
    }

    #[test]
    fn not_yet_valid_token_is_invalid_token() {
        let token = issuer()
            .user()
            .claim("nbf", json!(4_102_444_800u64))
            .claim("exp", json!(4_102_448_400u64))
            .sign()
            .unwrap();
        assert_invalid_token(check("/overview", &token), "not valid yet");
    }

    #[test]
    fn a_token_issued_in_the_future_is_invalid_token() {
        let now = crate::time::Clock::now_unix(&crate::time::SystemClock);
        let token = issuer().user().claim("iat", json!(now + 3600)).sign().unwrap();
        assert_invalid_token(
            check("/overview", &token),
            "the token was issued in the future (iat is ahead of this server's clock)",
        );
    }

    fn lifetime_guard() -> Guard {
        Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(issuer().key_source().unwrap())
                    .audience(DEV_AUDIENCE)
                    .max_token_lifetime(std::time::Duration::from_secs(2 * 3600))
            })
            .build()
            .unwrap()
    }

    #[test]
    fn a_token_living_longer_than_the_maximum_lifetime_is_invalid_token() {
        let g = lifetime_guard();
        let long = issuer().user().lifetime(std::time::Duration::from_secs(2 * 3600 + 1)).sign().unwrap();
        assert_invalid_token(
            check_with(&g, "GET", "/overview", &[&format!("Bearer {long}")], None),
            "the token's lifetime (exp - iat) is longer than the 7200 s allowed here",
        );
        let within = issuer().user().lifetime(std::time::Duration::from_secs(2 * 3600)).sign().unwrap();
        assert!(check_with(&g, "GET", "/overview", &[&format!("Bearer {within}")], None).unwrap().is_some());
        // Off by default.
        assert!(check("/overview", &long).unwrap().is_some());
    }

    #[test]
    fn a_token_without_iat_is_invalid_token_when_a_maximum_lifetime_is_set() {
        let mut claims = issuer().user().claims();
        claims.as_object_mut().unwrap().remove("iat");
        let token = issuer().sign(&claims).unwrap();
        assert_invalid_token(
            check_with(&lifetime_guard(), "GET", "/overview", &[&format!("Bearer {token}")], None),
            "the token has no iat claim, so its lifetime cannot be checked",
        );
        assert!(check("/overview", &token).unwrap().is_some(), "iat is optional without a limit");
    }

    #[test]
    fn wrong_issuer_is_invalid_token() {
        let token = issuer().user().claim("iss", json!("https://evil.example/")).sign().unwrap();
        assert_invalid_token(check("/overview", &token), "issuer is not accepted");
    }

    #[test]
    fn wrong_audience_is_invalid_token() {
        let token = issuer().user().audience("https://graph.microsoft.com").sign().unwrap();
        assert_invalid_token(check("/overview", &token), "another audience");
    }

    #[test]
    fn disallowed_algorithm_is_invalid_token() {
        let claims = issuer().user().claims();
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(issuer().jwks_json().as_bytes()),
        )
        .unwrap();
        assert_invalid_token(check("/overview", &hs), "HS256 is not allowed");
    }

    #[test]
    fn unknown_key_is_invalid_token() {
        let claims = issuer().user().claims();
        let token =
            issuer().sign_with_header(&json!({"alg": "RS256", "kid": "no-such-kid"}), &claims).unwrap();
        assert_invalid_token(check("/overview", &token), "no signing key with kid 'no-such-kid'");
    }

    #[test]
    fn token_with_neither_scopes_nor_roles_is_invalid_token() {
        let token = issuer().user().claim("scp", Value::Null).claim("roles", Value::Null).sign().unwrap();
        assert_invalid_token(check("/overview", &token), "neither");
    }

    #[test]
    fn user_token_without_mfa_on_an_mfa_route_is_mfa_required() {
        let token = issuer().user().mfa(false).sign().unwrap();
        for path in [
            "/commerce/x",
            "/dashboard/v2/support/customers/1",
            "/billing/x",
            "/security/x",
            "/v1/catalog/x",
            "/v1/customers/1",
        ] {
            assert_refused(check(path, &token), 401, MFA_REASON, MFA_WWW, "mfa_required");
        }
    }

    #[test]
    fn app_only_token_on_a_user_only_route_is_app_only_not_allowed() {
        let token = issuer().app().roles(["AdminAgent"]).sign().unwrap();
        for path in ["/commerce/x", "/v1/customers/1", "/billing/x"] {
            let r = check(path, &token);
            assert_refused(
                r,
                403,
                None,
                Some(r#"Bearer error="insufficient_scope""#),
                "app_only_not_allowed",
            );
        }
    }

    #[test]
    fn missing_role_is_insufficient_role() {
        let token = issuer().user().roles(["SalesAgent"]).sign().unwrap();
        let r = check("/security/alerts", &token);
        let r =
            assert_refused(r, 403, None, Some(r#"Bearer error="insufficient_scope""#), "insufficient_role");
        assert!(r.detail().contains("AdminAgent, SecurityAdmin"), "{}", r.detail());
    }

    #[test]
    fn two_authorization_headers_are_invalid_request() {
        let token = issuer().user().sign().unwrap();
        let h = format!("Bearer {token}");
        let r = check_with(&guard(), "GET", "/commerce/x", &[&h, &h], None);
        assert_refused(r, 400, None, Some(r#"Bearer error="invalid_request""#), "invalid_request");
    }

    #[test]
    fn token_in_header_and_query_is_invalid_request() {
        let token = issuer().user().sign().unwrap();
        let q = format!("access_token={token}");
        let r = check_with(&guard(), "GET", "/commerce/x", &[&format!("Bearer {token}")], Some(&q));
        assert_refused(r, 400, None, Some(r#"Bearer error="invalid_request""#), "invalid_request");
    }

    #[derive(Debug)]
    struct Down;

    impl KeyProvider for Down {
        fn lookup(&self, _: Option<&str>, _: Algorithm) -> Lookup {
            Lookup::NotLoaded
        }
        fn resolve<'a>(&'a self, _: Option<&'a str>, _: Algorithm) -> KeyFuture<'a> {
            Box::pin(std::future::ready(Err(KeyError::unavailable("connection refused", 15))))
        }
    }

    #[test]
    fn key_source_down_is_503_key_source_unavailable() {
        let g = Guard::partner_center()
            .verifier(|v| v.issuer(TEMPLATE).keys(KeySource::custom(Down)).audience(DEV_AUDIENCE))
            .build()
            .unwrap();
        let token = issuer().user().sign().unwrap();
        let r = check_with(&g, "GET", "/commerce/x", &[&format!("Bearer {token}")], None);
        let r = assert_refused(r, 503, None, None, "key_source_unavailable");
        assert_eq!(r.retry_after(), Some(15));
    }

    #[test]
    fn valid_mfa_token_with_role_is_admitted_with_its_principal() {
        let token = issuer().user().sign().unwrap();
        let p = check("/commerce/customers", &token).unwrap().unwrap();
        assert_eq!(p.kind(), CallerKind::User);
        assert_eq!(p.oid(), Some("aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"));
        assert_eq!(p.roles().map(|r| r.name()).collect::<Vec<_>>(), ["AdminAgent"]);
        assert!(p.mfa());
        assert_eq!(p.kid(), Some(issuer().kid()));
    }

    #[test]
    fn security_admin_by_wids_reaches_the_security_workspace() {
        let token = issuer().user().security_admin().sign().unwrap();
        let p = check("/security/alerts", &token).unwrap().unwrap();
        assert!(p.has_role(&crate::Role::SecurityAdmin));
        assert!(!p.has_role(&crate::Role::AdminAgent));
        let billing =
            issuer().user().roles(Vec::<String>::new()).wids([wids::BILLING_ADMINISTRATOR]).sign().unwrap();
        assert!(check("/billing/x", &billing).unwrap().is_some());
        assert_refused(
            check("/security/x", &billing),
            403,
            None,
            Some(r#"Bearer error="insufficient_scope""#),
            "insufficient_role",
        );
    }

    #[test]
    fn app_only_token_passes_where_apps_are_admitted() {
        let token = issuer().app().sign().unwrap();
        let p = check("/v1/catalog/prices", &token).unwrap().unwrap();
        assert_eq!(p.kind(), CallerKind::App);
        assert!(!p.mfa());
        assert!(check("/overview", &token).unwrap().is_some());
    }
}

mod public_routes {
    use super::*;

    #[test]
    fn public_route_without_token_passes_without_principal() {
        assert!(check_with(&guard(), "GET", "/health", &[], None).unwrap().is_none());
    }

    #[test]
    fn public_route_with_valid_token_yields_the_principal() {
        let token = issuer().user().mfa(false).sign().unwrap();
        assert!(check("/health", &token).unwrap().is_some());
    }

    #[test]
    fn public_route_with_invalid_token_passes_without_principal() {
        assert!(check("/health", "garbage").unwrap().is_none());
        let h = format!("Bearer {}", issuer().user().sign().unwrap());
        assert!(check_with(&guard(), "GET", "/health", &[&h, &h], None).unwrap().is_none());
    }

    #[test]
    fn a_path_that_cannot_be_read_one_way_is_refused_before_any_rule_even_on_a_public_route() {
        let token = issuer().user().mfa(false).sign().unwrap();
        let bearer = format!("Bearer {token}");
        for (path, says) in [
            ("/health/../commerce/x", "dot segment"),
            ("/health/%2e%2e/commerce/x", "dot segment"),
            ("/%63ommerce/customers/%zz", "malformed percent-escape"),
            ("/%62illing/x%2F..%2F..", "encoded '/'"),
            ("/billing%5Cx", "backslash"),
            ("/health%00", "control character"),
            ("/health/%ff", "not UTF-8"),
        ] {
            for headers in [vec![], vec![bearer.as_str()]] {
                let r = assert_unreadable_path(check_with(&guard(), "GET", path, &headers, None));
                assert!(r.detail().contains(says), "{path}: {}", r.detail());
            }
        }
    }

    #[test]
    fn the_rule_is_chosen_from_the_routers_reading() {
        let no_mfa = format!("Bearer {}", issuer().user().mfa(false).sign().unwrap());
        let g = guard();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let run = |req: RequestInfo<'_>| rt.block_on(g.check(&req)).into_result();
        // Read as received (axum): `/%63ommerce` is not the Customers route ...
        let as_received = RequestInfo::new("GET", "/%63ommerce/x").with_authorization(no_mfa.as_bytes());
        assert!(run(as_received).unwrap().is_some());
        // ... decoded by the router (actix) it is, and so is its rule.
        let decoded = RequestInfo::new("GET", "/%63ommerce/x")
            .with_routed_path("/commerce/x")
            .with_authorization(no_mfa.as_bytes());
        assert_refused(run(decoded), 401, MFA_REASON, MFA_WWW, "mfa_required");
        // A public reading of a protected-looking path is public: the router serves /health.
        let public = RequestInfo::new("GET", "/he%61lth").with_routed_path("/health");
        assert!(run(public).unwrap().is_none());
        // A router's reading with a dot segment is refused, whatever was received.
        let dots = RequestInfo::new("GET", "/x").with_routed_path("/health/../commerce");
        assert!(assert_unreadable_path(run(dots)).detail().contains("dot segment"));
    }

    fn strict_guard(rules: PathRules) -> Guard {
        Guard::builder()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(Policy::partner_center())
            .path_rules(rules)
            .build()
            .unwrap()
    }

    #[test]
    fn strict_rules_refuse_a_path_whose_case_picks_its_rule() {
        let token = format!("Bearer {}", issuer().user().sign().unwrap());
        let strict = strict_guard(PathRules::strict());
        // `/HEALTH` is unmatched by its case and public ignoring it; `/COMMERCE/x`
        // is unmatched by its case and the Customers rule ignoring it.
        for path in ["/HEALTH", "/Commerce/customers", "/BILLING"] {
            let e = assert_unreadable_path(check_with(&strict, "GET", path, &[&token], None));
            assert!(e.detail().contains("letter case"), "{path}: {}", e.detail());
        }
        // A case variant that picks the same rule either way is not ambiguous.
        assert!(check_with(&strict, "GET", "/unmatched/X", &[&token], None).unwrap().is_some());
        assert!(check_with(&strict, "GET", "/commerce/CUSTOMERS", &[&token], None).is_ok());
        // The default rules follow the router's reading, with its case.
        assert!(check_with(&guard(), "GET", "/HEALTH", &[&token], None).unwrap().is_some());
    }

    /// Every path of the red-team report that reached a protected handler through
    /// a proxy: each is refused before any rule, however the application behind
    /// would have read it.
    #[test]
    fn strict_rules_refuse_every_path_a_reader_behind_a_proxy_could_route_elsewhere() {
        let no_mfa = format!("Bearer {}", issuer().user().mfa(false).sign().unwrap());
        let strict = strict_guard(PathRules::strict());
        let unicode_allowed = strict_guard(PathRules::strict().refuse_non_ascii(false));
        for path in [
            // A fragment: routed as `/commerce`, `/v1/customers`, `/security`.
            "/commerce#/customers",
            "/v1/customers#",
            "/security#/alerts",
            "/v1/catalog#/x",
            "/admin#",
            // Trailing dots and spaces (IIS).
            "/commerce./customers",
            "/commerce%20/customers",
            "/commerce.",
            "/billing./invoices",
            "/security%20/x",
            "/v1/customers./1",
            "/dashboard./v2/support/customers/x",
            // Format suffixes (Rails, Spring before 5.3).
            "/commerce.json",
            "/billing.json",
            "/security.xml",
            "/v1/customers.json",
            "/dashboard/v2/support/customers.json",
            // A decoded `#`, `?` or `;` a reader cuts at.
            "/commerce%23/customers",
            "/commerce%3F/customers",
        ] {
            for guard in [&strict, &unicode_allowed] {
                assert_unreadable_path(check_with(guard, "GET", path, &[&no_mfa], None));
            }
        }
        // Unicode look-alikes (Java's equalsIgnoreCase, NFKC): refused as non-ASCII,
        // and as confusable where non-ASCII is allowed.
        for path in [
            "/%C5%BFecurity/x",
            "/b%C4%B1lling/x",
            "/%EF%BD%83ommerce/customers",
            "/commerce%EF%BC%8Fcustomers",
            "/health/%EF%BC%8E%EF%BC%8E/commerce/customers",
            "/%E2%84%AAey",
        ] {
            let e = assert_unreadable_path(check_with(&strict, "GET", path, &[&no_mfa], None));
            assert!(e.detail().contains("non-ASCII"), "{path}: {}", e.detail());
            if path != "/%E2%84%AAey" {
                let e = assert_unreadable_path(check_with(&unicode_allowed, "GET", path, &[&no_mfa], None));
                assert!(e.detail().contains("route's own spelling"), "{path}: {}", e.detail());
            }
        }
        // Non-ASCII that no reader folds onto a route stays usable where allowed.
        assert!(check_with(&unicode_allowed, "GET", "/overview/caf%C3%A9", &[&no_mfa], None).is_ok());
        assert!(check_with(&unicode_allowed, "GET", "/%E2%84%AAey", &[&no_mfa], None).is_ok());
        // Under a rule already, a suffix or dot changes nothing and is accepted.
        let mfa = format!("Bearer {}", issuer().user().sign().unwrap());
        for path in ["/commerce/customers.json", "/v1/catalog/prices.v2", "/overview/a.b"] {
            assert!(check_with(&strict, "GET", path, &[&mfa], None).is_ok(), "{path}");
        }
    }

    #[test]
    fn an_encoded_slash_is_let_through_only_when_configured() {
        let token = format!("Bearer {}", issuer().user().sign().unwrap());
        let strict = guard();
        assert_unreadable_path(check_with(&strict, "GET", "/v1/catalog/a%2Fb", &[&token], None));
        let relaxed = Guard::partner_center()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .path_rules(PathRules::default().allow_encoded_slash(true))
            .build()
            .unwrap();
        assert!(check_with(&relaxed, "GET", "/v1/catalog/a%2Fb", &[&token], None).unwrap().is_some());
        assert_unreadable_path(check_with(&relaxed, "GET", "/v1/catalog/a%5Cb", &[&token], None));
    }

    #[test]
    fn a_route_requirement_refuses_unreadable_paths_too() {
        let g = guard().for_requirement(&Requirement::public()).unwrap();
        assert_unreadable_path(check_with(&g, "GET", "/x/..", &[], None));
        assert!(check_with(&g, "GET", "/x", &[], None).unwrap().is_none());
    }
}

mod issuers {
    use super::*;

    #[test]
    fn templated_issuer_requires_tid_to_be_a_guid() {
        for tid in ["evil.example/x", "{tenantid}", "not-a-guid"] {
            let token = issuer()
                .user()
                .claim("tid", json!(tid))
                .claim("iss", json!(format!("https://sts.windows.net/{tid}/")))
                .sign()
                .unwrap();
            assert_invalid_token(check("/overview", &token), "not a GUID");
        }
    }

    #[test]
    fn v2_templated_issuer_is_matched() {
        let v2 = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let g = Guard::partner_center()
            .verifier(|v| v.issuer(v2).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .build()
            .unwrap();
        let token = issuer()
            .user()
            .claim("iss", json!(format!("https://login.microsoftonline.com/{DEV_TENANT}/v2.0")))
            .sign()
            .unwrap();
        assert!(check_with(&g, "GET", "/overview", &[&format!("Bearer {token}")], None).unwrap().is_some());
    }

    #[test]
    fn two_issuers_are_kept_apart() {
        let g = Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(issuer().key_source().unwrap())
                    .issuer("https://other.example/")
                    .keys(other_issuer().key_source().unwrap())
                    .audience(DEV_AUDIENCE)
            })
            .build()
            .unwrap();
        let check_g = |t: &str| check_with(&g, "GET", "/overview", &[&format!("Bearer {t}")], None);
        // Each issuer's own tokens pass.
        assert!(check_g(&issuer().user().sign().unwrap()).unwrap().is_some());
        let b = other_issuer().user().claim("iss", json!("https://other.example/")).sign().unwrap();
        assert!(check_g(&b).unwrap().is_some());
        // A token claiming issuer A but signed by B's key (under B's kid) is refused.
        let claims = issuer().user().claims();
        let header = json!({"alg": "RS256", "kid": other_issuer().kid()});
        let forged = other_issuer().sign_with_header(&header, &claims).unwrap();
        assert_invalid_token(check_g(&forged), "no signing key with kid");
    }
}

mod tenants {
    use super::*;

    const OTHER_TENANT: &str = "11112222-3333-4444-5555-666677778888";

    fn listing(tenants: &[&str]) -> Guard {
        Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(issuer().key_source().unwrap())
                    .audience(DEV_AUDIENCE)
                    .tenants(tenants.iter().copied())
            })
            .build()
            .unwrap()
    }

    /// A token of another tenant, consistent in itself (its `iss` names its `tid`),
    /// signed by the configured issuer's key, whose only roles are that tenant's
    /// Global and Security Administrator `wids`.
    fn foreign_admin() -> String {
        issuer()
            .user()
            .claim("tid", json!(OTHER_TENANT))
            .claim("iss", json!(format!("https://sts.windows.net/{OTHER_TENANT}/")))
            .roles(Vec::<String>::new())
            .wids([wids::GLOBAL_ADMINISTRATOR, wids::SECURITY_ADMINISTRATOR])
            .sign()
            .unwrap()
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn a_listed_tenant_is_admitted() {
        let token = issuer().user().sign().unwrap();
        let p = check_with(&listing(&[DEV_TENANT]), "GET", "/commerce/x", &[&bearer(&token)], None);
        assert_eq!(p.unwrap().unwrap().tid(), Some(DEV_TENANT));
        let upper = DEV_TENANT.to_ascii_uppercase();
        let p = check_with(&listing(&[&upper]), "GET", "/commerce/x", &[&bearer(&token)], None);
        assert!(p.unwrap().is_some(), "tenant ids compare without regard to case");
    }

    #[test]
    fn a_token_of_another_consistent_tenant_is_refused_when_tenants_are_listed() {
        let token = foreign_admin();
        // Without a list the template admits it, and its wids count here.
        let p = check("/security/alerts", &token).unwrap().unwrap();
        assert!(p.has_role(&crate::Role::GlobalAdmin) && p.has_role(&crate::Role::SecurityAdmin));
        let g = listing(&[DEV_TENANT]);
        for path in ["/security/alerts", "/overview"] {
            let r = check_with(&g, "GET", path, &[&bearer(&token)], None);
            assert_refused(
                r.clone(),
                401,
                None,
                Some(
                    r#"Bearer error="invalid_token", error_description="the token's tenant is not allowed here""#,
                ),
                "invalid_token",
            );
            assert_eq!(r.unwrap_err().detail(), "the token's tenant is not allowed here");
        }
    }

    #[test]
    fn an_exact_issuer_naming_an_unlisted_tenant_still_admits_its_tokens() {
        let exact = format!("https://sts.windows.net/{OTHER_TENANT}/");
        let g = Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(issuer().key_source().unwrap())
                    .issuer(exact)
                    .keys(issuer().key_source().unwrap())
                    .audience(DEV_AUDIENCE)
                    .tenants([DEV_TENANT])
            })
            .build()
            .unwrap();
        let p = check_with(&g, "GET", "/security/alerts", &[&bearer(&foreign_admin())], None);
        assert_eq!(p.unwrap().unwrap().tid(), Some(OTHER_TENANT));
    }

    #[test]
    fn a_tenant_list_that_is_empty_or_names_a_non_guid_is_refused_at_build() {
        let build = |tenants: Vec<&str>| {
            Guard::partner_center()
                .verifier(|v| {
                    v.issuer(TEMPLATE)
                        .keys(issuer().key_source().unwrap())
                        .audience(DEV_AUDIENCE)
                        .tenants(tenants)
                })
                .build()
                .unwrap_err()
        };
        let err = build(vec![DEV_TENANT, "common"]);
        assert_eq!(err.kind(), crate::BuildErrorKind::Issuer);
        assert_eq!(
            err.to_string(),
            r#"tenant "common" is not a tenant id (a GUID like aaaabbbb-0000-cccc-1111-dddd2222eeee)"#
        );
        assert!(build(Vec::new()).to_string().contains("the tenant allow-list is empty"));
    }
}

mod keys_and_headers {
    use super::*;

    #[test]
    fn jwk_alg_must_agree_with_the_token() {
        let mut jwks: Value = serde_json::from_str(issuer().jwks_json()).unwrap();
        jwks["keys"][0]["alg"] = json!("RS384");
        let g = Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(KeySource::jwks_json(jwks.to_string().as_bytes()).unwrap())
                    .audience(DEV_AUDIENCE)
            })
            .build()
            .unwrap();
        let token = issuer().user().sign().unwrap();
        let r = check_with(&g, "GET", "/overview", &[&format!("Bearer {token}")], None);
        assert_invalid_token(r, "differs from its key's (RS384)");
    }

    #[test]
    fn an_algorithm_of_another_key_family_is_invalid_token() {
        let claims = issuer().user().claims();
        // Header says ES256 but the kid is the issuer's RSA key.
        let header = json!({"alg": "ES256", "kid": issuer().kid()});
        let token = issuer().sign_with_header(&header, &claims).unwrap();
        assert_invalid_token(check("/overview", &token), "does not fit the issuer's key");
    }

    #[test]
    fn jku_x5u_jwk_and_x5c_headers_are_ignored() {
        let claims = issuer().user().claims();
        let attacker_jwk: Value =
            serde_json::from_str::<Value>(other_issuer().jwks_json()).unwrap()["keys"][0].clone();
        let header = json!({
            "alg": "RS256",
            "jku": "https://evil.example/jwks.json",
            "x5u": "https://evil.example/cert.pem",
            "jwk": attacker_jwk,
            "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
        });
        // Signed by the attacker's key: refused (the embedded jwk is not used) ...
        let forged = other_issuer().sign_with_header(&header, &claims).unwrap();
        assert_invalid_token(check("/overview", &forged), "signature");
        // ... while the same header on a genuinely signed token changes nothing.
        let genuine = issuer().sign_with_header(&header, &claims).unwrap();
        assert!(check("/overview", &genuine).unwrap().is_some());
    }

    #[test]
    fn crit_headers_are_refused_even_when_correctly_signed() {
        let claims = issuer().user().claims();
        let header = json!({"alg": "RS256", "kid": issuer().kid(), "crit": ["exp"], "exp": 1});
        let token = issuer().sign_with_header(&header, &claims).unwrap();
        assert_invalid_token(check("/overview", &token), "crit");
    }

    #[test]
    fn a_hostile_duplicate_name_is_never_echoed_into_the_challenge_or_the_body() {
        let hostile = r#"zz-injected\", error=\"x\", realm=\"\u00e9"#;
        let b64 = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, issuer().kid());
        let claims = issuer().user().claims().to_string();
        let duplicated_claim = format!(r#"{{"{hostile}":1,"{hostile}":2,{}"#, &claims[1..]);
        let duplicated_param = format!(r#"{{"alg":"RS256","{hostile}":1,"{hostile}":2}}"#);
        for (token, description) in [
            (
                format!("{}.{}.{}", b64(&header), b64(&duplicated_claim), b64("sig")),
                "claim (value not shown) appears more than once",
            ),
            (
                format!("{}.{}.{}", b64(&duplicated_param), b64(&claims), b64("sig")),
                "header parameter (value not shown) appears more than once",
            ),
        ] {
            let r = check("/overview", &token).unwrap_err();
            assert_eq!(r.detail(), description);
            assert_invalid_token(Err(r.clone()), description);
            let www = r.www_authenticate().unwrap();
            let params = parse_challenge(www).expect("the challenge parses").params;
            let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["error", "error_description"], "{www}");
            let body = String::from_utf8(r.body().to_vec()).unwrap();
            for shown in [www, &body] {
                assert!(!shown.contains("zz-injected") && !shown.contains('\u{e9}'), "{shown}");
            }
        }
    }

    #[test]
    fn a_public_jwks_holding_a_symmetric_key_never_yields_it() {
        let jwks = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}"#;
        assert!(KeySet::from_json(jwks).is_err());
    }

    #[test]
    fn hmac_only_with_a_configured_secret_and_allow_listed_algorithm() {
        let g = Guard::partner_center()
            .verifier(|v| {
                v.issuer("https://hmac.example/")
                    .keys(KeySource::hmac_secret(b"a shared secret of decent length!!"))
                    .audience(DEV_AUDIENCE)
                    .algorithms([Algorithm::HS256])
            })
            .build()
            .unwrap();
        let claims = issuer().user().claim("iss", json!("https://hmac.example/")).claims();
        let good = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"a shared secret of decent length!!"),
        )
        .unwrap();
        assert!(check_with(&g, "GET", "/overview", &[&format!("Bearer {good}")], None).unwrap().is_some());
        let bad = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"guessed"),
        )
        .unwrap();
        assert_invalid_token(
            check_with(&g, "GET", "/overview", &[&format!("Bearer {bad}")], None),
            "signature",
        );
    }
}

mod challenge_styles {
    use super::*;

    #[test]
    fn step_up_style_asks_for_acr_values_and_max_age() {
        let g = Guard::builder()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(
                Policy::partner_center()
                    .mfa(crate::MfaPolicy::new().max_age(std::time::Duration::from_secs(600))),
            )
            .challenge_style(ChallengeStyle::StepUp)
            .step_up_acr_values("c1")
            .build()
            .unwrap();
        let token = issuer().user().mfa(false).sign().unwrap();
        let r = check_with(&g, "GET", "/commerce/x", &[&format!("Bearer {token}")], None);
        let detail = "this operation requires multi-factor authentication: the access token's amr claim does not contain mfa; sign in again with MFA";
        let expected = format!(
            r#"Bearer error="insufficient_user_authentication", error_description="{detail}", acr_values="c1", max_age="600""#
        );
        let r = assert_refused(r, 401, None, Some(&expected), "mfa_required")
            .www_authenticate()
            .unwrap()
            .to_owned();
        let parsed = parse_challenge(&r).unwrap();
        let names: Vec<_> = parsed.params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["error", "error_description", "acr_values", "max_age"]);
        assert_eq!(parsed.params[0].1, "insufficient_user_authentication");
        assert_eq!(parsed.params[2].1, "c1");
        assert_eq!(parsed.params[3].1, "600");
    }

    #[test]
    fn entra_claims_style_uses_the_tokens_client_capabilities() {
        let g = Guard::partner_center()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .challenge_style(ChallengeStyle::EntraClaims)
            .entra_claims("https://login.microsoftonline.com/common/oauth2/authorize", "c1")
            .build()
            .unwrap();
        let capable = issuer().user().mfa(false).claim("xms_cc", json!(["cp1"])).sign().unwrap();
        let r = check_with(&g, "GET", "/commerce/x", &[&format!("Bearer {capable}")], None);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#);
        let expected = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{claims}""#
        );
        assert_refused(r, 401, None, Some(&expected), "mfa_required");
        let legacy = issuer().user().mfa(false).sign().unwrap();
        let r = check_with(&g, "GET", "/commerce/x", &[&format!("Bearer {legacy}")], None);
        assert_refused(r, 401, MFA_REASON, MFA_WWW, "mfa_required");
    }
}

mod building {
    use super::*;
    use crate::error::BuildErrorKind;

    fn kind(b: GuardBuilder) -> BuildErrorKind {
        b.build().unwrap_err().kind()
    }

    #[test]
    fn a_guard_needs_an_issuer_with_keys_and_an_audience() {
        assert_eq!(kind(Guard::partner_center().verifier(|v| v.audience("a"))), BuildErrorKind::Issuer);
        assert_eq!(
            kind(Guard::partner_center().verifier(|v| v.issuer("https://a/").audience("a"))),
            BuildErrorKind::Keys
        );
        assert_eq!(
            kind(
                Guard::partner_center()
                    .verifier(|v| v.issuer("https://a/").keys(issuer().key_source().unwrap()))
            ),
            BuildErrorKind::Audience
        );
    }

    #[test]
    fn hmac_secrets_and_hs_algorithms_must_come_together() {
        let b = Guard::partner_center()
            .verifier(|v| v.issuer("https://a/").keys(KeySource::hmac_secret(b"s")).audience("a"));
        assert_eq!(kind(b), BuildErrorKind::Algorithms);
        let b = Guard::partner_center().verifier(|v| {
            v.issuer("https://a/")
                .keys(issuer().key_source().unwrap())
                .audience("a")
                .algorithms([Algorithm::RS256, Algorithm::HS256])
        });
        assert_eq!(kind(b), BuildErrorKind::Algorithms);
    }

    #[test]
    fn challenge_styles_need_their_settings() {
        let base = || {
            Guard::partner_center()
                .verifier(|v| v.issuer("https://a/").keys(issuer().key_source().unwrap()).audience("a"))
        };
        assert_eq!(kind(base().challenge_style(ChallengeStyle::StepUp)), BuildErrorKind::Challenge);
        assert_eq!(kind(base().challenge_style(ChallengeStyle::EntraClaims)), BuildErrorKind::Challenge);
    }

    #[test]
    fn a_huge_leeway_is_refused() {
        let b = Guard::partner_center().verifier(|v| {
            v.issuer("https://a/")
                .keys(issuer().key_source().unwrap())
                .audience("a")
                .leeway(std::time::Duration::from_secs(3600))
        });
        assert_eq!(kind(b), BuildErrorKind::Policy);
    }

    #[test]
    fn a_maximum_lifetime_under_one_second_is_refused() {
        let err = Guard::partner_center()
            .verifier(|v| {
                v.issuer("https://a/")
                    .keys(issuer().key_source().unwrap())
                    .audience("a")
                    .max_token_lifetime(std::time::Duration::from_millis(500))
            })
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), BuildErrorKind::Policy);
        assert!(err.to_string().contains("max_token_lifetime must be at least one second"), "{err}");
    }
}

mod properties {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().build().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// No byte string as a token, nor as raw header values, panics the engine,
        /// and every answer renders a challenge that parses back to its parameters.
        #[test]
        fn no_input_panics_and_every_challenge_parses_back(
            token in proptest::collection::vec(any::<u8>(), 0..600),
            extra in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..3),
            path in "(/[a-zA-Z0-9%.]{0,12}){0,4}",
        ) {
            let g = guard();
            let mut header = b"Bearer ".to_vec();
            header.extend_from_slice(&token);
            let req = RequestInfo::new("GET", &path)
                .with_authorization(&header)
                .with_authorizations(extra.iter().map(Vec::as_slice));
            let rt = rt();
            for result in [rt.block_on(g.check(&req)).into_result(), rt.block_on(g.check(&RequestInfo::new("GET", &path).with_authorization(&token))).into_result()] {
                if let Err(r) = result {
                    prop_assert!(r.status() >= 400 && r.status() < 500 || r.status() == 503);
                    if let Some(www) = r.www_authenticate() {
                        prop_assert!(www.bytes().all(|b| (0x20..0x7f).contains(&b)));
                        let parsed = parse_challenge(www);
                        prop_assert!(parsed.is_some(), "unparseable: {www}");
                        let parsed = parsed.unwrap();
                        prop_assert_eq!(parsed.scheme, "Bearer");
                        if let Some((_, d)) = parsed.params.iter().find(|(k, _)| k == "error_description") {
                            prop_assert_eq!(d, r.detail());
                        }
                    }
                    let body: Value = serde_json::from_slice(&r.body()).unwrap();
                    prop_assert_eq!(body["code"].as_str().unwrap(), r.code().as_str());
                }
            }
        }

        /// JSON-shaped garbage in a well-formed, correctly signed token never panics.
        #[test]
        fn arbitrary_signed_claims_never_panic(json in "\\{(\"[a-z_]{1,8}\":(null|true|-?[0-9]{1,20}(\\.[0-9]{1,3})?|\"[a-z]{0,5}\"|\\[\\]|\\{\\}),?){0,6}\\}") {
            let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"{}"}}"#, issuer().kid()));
            let p = URL_SAFE_NO_PAD.encode(&json);
            let token = format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode([0u8; 256]));
            let _ = rt().block_on(guard().check(&RequestInfo::new("GET", "/commerce/x").with_authorization(format!("Bearer {token}").as_bytes())));
        }

        /// Rendering quotes and escapes any visible-ASCII value so it parses back intact.
        #[test]
        fn rendered_challenges_round_trip(values in proptest::collection::vec("[ -~]{0,40}", 1..5)) {
            let names = ["realm", "error", "error_description", "scope", "acr_values"];
            let params: Vec<(&str, &str)> = values.iter().enumerate().map(|(i, v)| (names[i], v.as_str())).collect();
            let rendered = crate::rejection::render_bearer(params.iter().copied());
            let parsed = parse_challenge(&rendered).unwrap();
            let back: Vec<(&str, &str)> = parsed.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(back, params);
        }
    }
}

mod token_cache {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::keys::StaticKeys;

    /// Counts key lookups: a lookup means a signature was verified.
    #[derive(Debug)]
    struct Counting(StaticKeys, Arc<AtomicUsize>);

    impl KeyProvider for Counting {
        fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.lookup(kid, alg)
        }
        fn resolve<'a>(&'a self, kid: Option<&'a str>, alg: Algorithm) -> KeyFuture<'a> {
            self.0.resolve(kid, alg)
        }
    }

    fn counting_guard(capacity: u64) -> (Guard, Arc<AtomicUsize>) {
        let lookups = Arc::new(AtomicUsize::new(0));
        let set = KeySet::from_json(issuer().jwks_json().as_bytes()).unwrap();
        let guard = Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(KeySource::custom(Counting(StaticKeys::new(set), Arc::clone(&lookups))))
                    .audience(DEV_AUDIENCE)
            })
            .token_cache_capacity(capacity)
            .build()
            .unwrap();
        (guard, lookups)
    }

    #[test]
    fn a_repeated_token_is_verified_once_and_policy_still_runs_every_time() {
        let (g, lookups) = counting_guard(100);
        let token = issuer().user().mfa(false).sign().unwrap();
        let h = format!("Bearer {token}");
        for _ in 0..5 {
            assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
            // Same cached token, MFA route: policy runs on every request.
            assert_refused(
                check_with(&g, "GET", "/commerce/x", &[&h], None),
                401,
                MFA_REASON,
                MFA_WWW,
                "mfa_required",
            );
        }
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
        assert_eq!(g.inner.token_cache.as_ref().unwrap().entry_count(), 1);
    }

    #[test]
    fn a_token_differing_from_a_cached_one_only_in_its_last_byte_is_verified_and_refused() {
        let (g, lookups) = counting_guard(100);
        let token = issuer().user().sign().unwrap();
        assert!(check_with(&g, "GET", "/overview", &[&format!("Bearer {token}")], None).unwrap().is_some());
        // A 256-byte signature ends in a character carrying two bits; its sibling
        // keeps the encoding canonical, so only the signature can refuse it.
        let (rest, last) = token.split_at(token.len() - 1);
        let sibling = match last {
            "A" => "Q",
            "Q" => "A",
            "g" => "w",
            "w" => "g",
            other => panic!("a 256-byte signature ends in A, Q, g or w, not {other}"),
        };
        let near = format!("{rest}{sibling}");
        assert_eq!(near.len(), token.len());
        // Same thread, so the per-thread level holds the first token: it must miss.
        assert_invalid_token(
            check_with(&g, "GET", "/overview", &[&format!("Bearer {near}")], None),
            "signature",
        );
        assert_eq!(lookups.load(Ordering::SeqCst), 2, "verified, not recognised from either cache level");
    }

    #[test]
    fn a_principal_served_from_the_cache_still_has_every_claim() {
        let (g, lookups) = counting_guard(100);
        let token = issuer().user().claim("custom_claim", json!({"nested": [1, 2]})).sign().unwrap();
        let h = format!("Bearer {token}");
        let first = check_with(&g, "GET", "/overview", &[&h], None).unwrap().unwrap();
        let second = check_with(&g, "GET", "/overview", &[&h], None).unwrap().unwrap();
        assert_eq!(lookups.load(Ordering::SeqCst), 1, "the second came from the cache");
        for p in [&first, &second] {
            assert_eq!(p.claims().extra()["custom_claim"], json!({"nested": [1, 2]}));
            assert_eq!(p.claims().upn(), Some("adminagent@dev.example"));
            assert_eq!(p.oid(), Some("aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"));
            assert_eq!(p.tid(), Some(DEV_TENANT));
            assert_eq!(p.sub(), Some("user-subject-0001"));
            assert_eq!(p.upn(), Some("adminagent@dev.example"));
        }
        assert_eq!(first.claims(), second.claims());
    }

    #[test]
    fn a_retired_key_is_never_served_from_either_cache_level() {
        let (g, lookups) = counting_guard(100);
        let h = format!("Bearer {}", issuer().user().sign().unwrap());
        assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
        assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
        assert_eq!(lookups.load(Ordering::SeqCst), 1, "the repeat came from the cache");
        let Some(verified) = g.inner.token_cache.as_ref().unwrap().get(&h.as_bytes()["Bearer ".len()..], 0)
        else {
            panic!("cached");
        };
        verified.1.key.as_ref().expect("a token has a key").retire();
        let _ = check_with(&g, "GET", "/overview", &[&h], None);
        assert_eq!(lookups.load(Ordering::SeqCst), 2, "verified again once its key was retired");
    }

    #[test]
    fn guards_never_share_remembered_tokens() {
        let (first, _) = counting_guard(100);
        let h = format!("Bearer {}", issuer().user().sign().unwrap());
        assert!(check_with(&first, "GET", "/overview", &[&h], None).unwrap().is_some());
        // Same thread, same bytes, another guard that accepts another audience only.
        let other = Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience("https://another.example")
            })
            .build()
            .unwrap();
        assert_invalid_token(check_with(&other, "GET", "/overview", &[&h], None), "another audience");
    }

    #[test]
    fn a_remembered_token_is_refused_once_expired() {
        let clock = crate::time::ManualClock::new(crate::time::Clock::now_unix(&crate::time::SystemClock));
        let g = Guard::partner_center()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(issuer().key_source().unwrap())
                    .audience(DEV_AUDIENCE)
                    .clock(clock.clone())
            })
            .build()
            .unwrap();
        let h = format!(
            "Bearer {}",
            issuer().user().at(&clock).lifetime(std::time::Duration::from_secs(120)).sign().unwrap()
        );
        assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
        assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
        clock.advance(120 + 61);
        assert_invalid_token(check_with(&g, "GET", "/overview", &[&h], None), "expired");
    }

    #[test]
    fn capacity_zero_verifies_every_request() {
        let (g, lookups) = counting_guard(0);
        let h = format!("Bearer {}", issuer().user().sign().unwrap());
        for _ in 0..5 {
            assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
        }
        assert_eq!(lookups.load(Ordering::SeqCst), 5);
        assert!(g.inner.token_cache.is_none());
    }

    #[test]
    fn refused_tokens_are_not_cached() {
        let (g, lookups) = counting_guard(100);
        let h = format!("Bearer {}", issuer().user().audience("https://other").sign().unwrap());
        for _ in 0..3 {
            assert!(check_with(&g, "GET", "/overview", &[&h], None).is_err());
        }
        assert_eq!(g.inner.token_cache.as_ref().unwrap().entry_count(), 0);
        assert_eq!(lookups.load(Ordering::SeqCst), 0, "refused before any key was needed");
    }

    #[test]
    fn the_cache_is_bounded() {
        let (g, _) = counting_guard(10);
        for i in 0..50 {
            let h = format!("Bearer {}", issuer().user().claim("jti", json!(i)).sign().unwrap());
            assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
        }
        assert!(g.inner.token_cache.as_ref().unwrap().entry_count() <= 10);
    }
}

mod rollout {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::policy::Mode;
    use crate::time::ManualClock;

    fn rollout_guard(policy: Policy, clock: &ManualClock) -> Guard {
        Guard::builder()
            .verifier(|v| {
                v.issuer(TEMPLATE)
                    .keys(issuer().key_source().unwrap())
                    .audience(DEV_AUDIENCE)
                    .clock(clock.clone())
            })
            .policy(policy)
            .compliance_header("MFA-Compliance")
            .build()
            .unwrap()
    }

    fn now() -> ManualClock {
        ManualClock::new(crate::time::Clock::now_unix(&crate::time::SystemClock))
    }

    fn header(p: &Principal) -> Option<(String, String)> {
        p.response_headers().next().map(|(n, v)| (n.to_owned(), v.to_owned()))
    }

    #[test]
    fn report_only_lets_a_would_be_refused_request_through_and_records_the_decision() {
        let clock = now();
        let g = rollout_guard(Policy::partner_center().default_mode(Mode::ReportOnly), &clock);
        let no_mfa = format!("Bearer {}", issuer().user().mfa(false).sign().unwrap());
        let p = check_with(&g, "GET", "/commerce/x", &[&no_mfa], None).unwrap().unwrap();
        let report = p.report_only_refusal().expect("the decision is recorded");
        assert_eq!(report.code(), RejectionCode::MfaRequired);
        assert_eq!(report.reason_phrase(), Some("Unauthorized - MFA required"));
        assert_eq!(header(&p), Some(("mfa-compliance".into(), "missing".into())));
        // Roles and app-only refusals are report-only too.
        let app = format!("Bearer {}", issuer().app().sign().unwrap());
        let p = check_with(&g, "GET", "/v1/customers/1", &[&app], None).unwrap().unwrap();
        assert_eq!(p.report_only_refusal().unwrap().code(), RejectionCode::AppOnlyNotAllowed);
        assert_eq!(header(&p), Some(("mfa-compliance".into(), "not-applicable".into())));
        let sales = format!("Bearer {}", issuer().user().roles(["SalesAgent"]).sign().unwrap());
        let p = check_with(&g, "GET", "/security/x", &[&sales], None).unwrap().unwrap();
        assert_eq!(p.report_only_refusal().unwrap().code(), RejectionCode::InsufficientRole);
        assert_eq!(header(&p), Some(("mfa-compliance".into(), "satisfied".into())));
    }

    #[test]
    fn token_validity_is_never_report_only() {
        let clock = now();
        let g = rollout_guard(Policy::partner_center().default_mode(Mode::ReportOnly), &clock);
        for bad in ["garbage".to_owned(), issuer().user().claim("exp", json!(1000)).sign().unwrap()] {
            assert_invalid_token(check_with(&g, "GET", "/commerce/x", &[&format!("Bearer {bad}")], None), "");
        }
        assert_refused(
            check_with(&g, "GET", "/commerce/x", &[], None),
            401,
            None,
            Some("Bearer"),
            "missing_token",
        );
    }

    #[test]
    fn a_route_can_be_report_only_while_others_enforce() {
        let clock = now();
        let policy = Policy::partner_center()
            .route("/commerce/*", Requirement::mfa().any_role([crate::Role::AdminAgent]).report_only());
        let g = rollout_guard(policy, &clock);
        let no_mfa = format!("Bearer {}", issuer().user().mfa(false).sign().unwrap());
        assert!(
            check_with(&g, "GET", "/commerce/x", &[&no_mfa], None)
                .unwrap()
                .unwrap()
                .report_only_refusal()
                .is_some()
        );
        let r = check_with(&g, "GET", "/billing/x", &[&no_mfa], None).unwrap_err();
        assert_eq!(r.code(), RejectionCode::MfaRequired);
        // The compliance signal is on enforced refusals too.
        assert_eq!(
            r.headers().last().map(|(n, v)| (n.to_owned(), v.into_owned())),
            Some(("mfa-compliance".into(), "missing".into()))
        );
    }

    #[test]
    fn enforce_from_switches_from_report_only_to_enforcement_at_its_time() {
        let clock = now();
        let at = clock.now_unix() + 3600;
        let policy = Policy::partner_center()
            .route("/commerce/*", Requirement::mfa().any_role([crate::Role::AdminAgent]).enforce_from(at));
        let g = rollout_guard(policy, &clock);
        let no_mfa = format!(
            "Bearer {}",
            issuer().user().mfa(false).lifetime(std::time::Duration::from_secs(7200)).sign().unwrap()
        );
        let before = check_with(&g, "GET", "/commerce/x", &[&no_mfa], None).unwrap().unwrap();
        assert_eq!(before.report_only_refusal().unwrap().code(), RejectionCode::MfaRequired);
        clock.set(at - 1);
        assert!(check_with(&g, "GET", "/commerce/x", &[&no_mfa], None).is_ok());
        clock.set(at);
        assert_refused(
            check_with(&g, "GET", "/commerce/x", &[&no_mfa], None),
            401,
            MFA_REASON,
            MFA_WWW,
            "mfa_required",
        );
    }

    #[test]
    fn the_compliance_header_is_off_by_default_and_names_the_mfa_state() {
        let token = format!("Bearer {}", issuer().user().sign().unwrap());
        let p = check_with(&guard(), "GET", "/commerce/x", &[&token], None).unwrap().unwrap();
        assert_eq!(p.response_headers().count(), 0);
        let clock = now();
        let g = rollout_guard(Policy::partner_center(), &clock);
        let p = check_with(&g, "GET", "/commerce/x", &[&token], None).unwrap().unwrap();
        assert_eq!(header(&p), Some(("mfa-compliance".into(), "satisfied".into())));
        let p = check_with(&g, "GET", "/overview", &[&token], None).unwrap().unwrap();
        assert_eq!(header(&p), Some(("mfa-compliance".into(), "not-required".into())));
        let bad = Guard::partner_center()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .compliance_header("WWW-Authenticate")
            .build();
        assert!(bad.is_err());
    }

    #[test]
    fn decisions_are_counted_by_rule_code_and_mode_without_identities() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let clock = now();
        let policy = Policy::partner_center()
            .route("/commerce/*", Requirement::mfa().any_role([crate::Role::AdminAgent]).report_only());
        let g = rollout_guard(policy, &clock);
        let no_mfa = format!("Bearer {}", issuer().user().mfa(false).sign().unwrap());
        let ok = format!("Bearer {}", issuer().user().sign().unwrap());
        ::metrics::with_local_recorder(&recorder, || {
            let _ = check_with(&g, "GET", "/commerce/customers", &[&no_mfa], None);
            let _ = check_with(&g, "GET", "/billing/b", &[&no_mfa], None);
            let _ = check_with(&g, "GET", "/billing/b", &[&ok], None);
            let _ = check_with(&g, "GET", "/health", &[], None);
            let _ = check_with(&g, "GET", "/overview", &["Bearer garbage"], None);
        });
        let mut counters = Vec::new();
        let mut histogram_samples = 0;
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let (_, key) = key.into_parts();
            match value {
                DebugValue::Counter(n) if key.name() == crate::metrics::DECISIONS => {
                    let mut labels: Vec<String> =
                        key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
                    labels.sort();
                    counters.push((labels.join(","), n));
                }
                DebugValue::Histogram(v) if key.name() == crate::metrics::CHECK_DURATION => {
                    histogram_samples += v.len()
                }
                _ => {}
            }
        }
        counters.sort();
        assert_eq!(
            counters,
            [
                ("code=admitted,mode=enforce,rule=billing".to_owned(), 1),
                ("code=anonymous,mode=enforce,rule=health".to_owned(), 1),
                ("code=invalid_token,mode=enforce,rule=overview".to_owned(), 1),
                ("code=mfa_required,mode=enforce,rule=billing".to_owned(), 1),
                ("code=mfa_required,mode=report-only,rule=/commerce/*".to_owned(), 1),
            ]
        );
        assert_eq!(histogram_samples, 5);
    }
}

mod extension_points {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::keys::StaticKeys;

    const APP_ID: &str = "4c3e7a9b-0000-1111-2222-333344445555";

    fn checked_guard(calls: Arc<AtomicUsize>, mode: Option<crate::policy::Mode>) -> Guard {
        let mut requirement =
            Requirement::mfa().claims_check("a token issued for the reporting app", move |c| {
                calls.fetch_add(1, Ordering::SeqCst);
                c.appid() == Some(APP_ID)
            });
        if let Some(m) = mode {
            requirement = requirement.mode(m);
        }
        Guard::builder()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(Policy::partner_center().route("/reports/*", requirement))
            .build()
            .unwrap()
    }

    #[test]
    fn a_claims_check_that_does_not_hold_is_403_claim_check_failed_naming_what_is_missing() {
        let calls = Arc::new(AtomicUsize::new(0));
        let g = checked_guard(Arc::clone(&calls), None);
        let other =
            format!("Bearer {}", issuer().user().claim("appid", json!("someone-else")).sign().unwrap());
        let r = assert_refused(
            check_with(&g, "GET", "/reports/q3", &[&other], None),
            403,
            None,
            Some(r#"Bearer error="insufficient_scope""#),
            "claim_check_failed",
        );
        assert_eq!(r.detail(), "this operation requires a token issued for the reporting app");
        // MFA comes first: a token without MFA is refused for that, unchecked.
        let no_mfa =
            format!("Bearer {}", issuer().user().mfa(false).claim("appid", json!(APP_ID)).sign().unwrap());
        let r = check_with(&g, "GET", "/reports/q3", &[&no_mfa], None);
        assert_refused(r, 401, MFA_REASON, MFA_WWW, "mfa_required");
        // Routes without the check never run it.
        assert!(check_with(&g, "GET", "/overview", &[&other], None).unwrap().is_some());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_claims_check_runs_on_every_request_cached_tokens_included() {
        let calls = Arc::new(AtomicUsize::new(0));
        let g = checked_guard(Arc::clone(&calls), None);
        let ours = format!("Bearer {}", issuer().user().claim("appid", json!(APP_ID)).sign().unwrap());
        for _ in 0..3 {
            assert!(check_with(&g, "GET", "/reports/q3", &[&ours], None).unwrap().is_some());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_claims_check_on_a_report_only_route_is_reported_not_sent() {
        let g = checked_guard(Arc::new(AtomicUsize::new(0)), Some(crate::policy::Mode::ReportOnly));
        let other = format!("Bearer {}", issuer().user().sign().unwrap());
        let p = check_with(&g, "GET", "/reports/q3", &[&other], None).unwrap().expect("let through");
        assert_eq!(p.report_only_refusal().map(Rejection::code), Some(RejectionCode::ClaimCheckFailed));
    }

    /// A key store of the application's own that declares the issuer of its keys.
    #[derive(Debug)]
    struct Declaring(StaticKeys);

    impl KeyProvider for Declaring {
        fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
            self.0.lookup(kid, alg)
        }
        fn resolve<'a>(&'a self, kid: Option<&'a str>, alg: Algorithm) -> KeyFuture<'a> {
            self.0.resolve(kid, alg)
        }
        fn declares_issuer(&self) -> bool {
            true
        }
        fn declared_issuer(&self) -> Option<String> {
            Some(TEMPLATE.to_owned())
        }
    }

    #[test]
    fn a_custom_key_source_may_declare_its_issuer() {
        let set = KeySet::from_json(issuer().jwks_json().as_bytes()).unwrap();
        let g = Guard::partner_center()
            .verifier(|v| {
                v.issuer_from_keys(KeySource::custom(Declaring(StaticKeys::new(set.clone()))))
                    .audience(DEV_AUDIENCE)
                    .tenants([DEV_TENANT])
            })
            .build()
            .unwrap();
        assert!(check("/overview", &issuer().user().sign().unwrap()).unwrap().is_some());
        let h = format!("Bearer {}", issuer().user().sign().unwrap());
        assert!(check_with(&g, "GET", "/overview", &[&h], None).unwrap().is_some());
        // One that does not declare cannot stand for an issuer.
        let e = Guard::partner_center()
            .verifier(|v| v.issuer_from_keys(KeySource::custom(StaticKeys::new(set))).audience(DEV_AUDIENCE))
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), crate::BuildErrorKind::Issuer);
    }
}

/// The rule is the unit of decision: each route's assurance level, freshness and
/// challenge, decided and rendered per rule.
mod per_route_assurance {
    use std::time::Duration;

    use super::*;
    use crate::policy::{AssuranceLevel, Role};
    use crate::rejection::Challenge;

    fn now() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }

    /// Customers needs any MFA; the Security workspace phishing-resistant MFA
    /// (Entra's auth context `c2`) within the last hour, asked for with Entra's
    /// claims challenge; Billing any MFA within ten minutes, asked for with RFC 9470.
    fn layered() -> Guard {
        Guard::builder()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(
                Policy::partner_center()
                    .assurance_level(AssuranceLevel::new("phishing-resistant").auth_contexts(["c2"]))
                    .route(
                        "/security/*",
                        Requirement::mfa()
                            .any_role([Role::AdminAgent, Role::SecurityAdmin])
                            .assurance("phishing-resistant")
                            .max_age(Duration::from_secs(3600))
                            .challenge("entra:c2".parse().unwrap()),
                    )
                    .route(
                        "/billing/*",
                        Requirement::mfa()
                            .any_role([Role::AdminAgent])
                            .max_age(Duration::from_secs(600))
                            .challenge("step-up:c1".parse().unwrap()),
                    ),
            )
            .build()
            .unwrap()
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn a_stronger_level_refuses_plain_mfa_and_admits_its_own_evidence() {
        let g = layered();
        let plain = issuer().user().claim("auth_time", json!(now() - 60)).sign().unwrap();
        let r = check_with(&g, "GET", "/security/alerts", &[&bearer(&plain)], None);
        let r = assert_refused(r, 401, MFA_REASON, MFA_WWW, "mfa_required");
        assert!(r.detail().contains("assurance level phishing-resistant"), "{}", r.detail());
        assert!(r.detail().contains("acrs c2"), "{}", r.detail());
        let strong = issuer().user().claim("acrs", json!(["c1", "c2"])).claim("auth_time", json!(now() - 60));
        let p = check_with(&g, "GET", "/security/alerts", &[&bearer(&strong.sign().unwrap())], None)
            .unwrap()
            .unwrap();
        assert_eq!(p.assurance_level(), Some("phishing-resistant"));
        // The stronger level satisfies the routes that ask for plain MFA, even
        // without `amr` ∋ `mfa`.
        let c2_only =
            issuer().user().claim("amr", json!(["pwd"])).claim("acrs", json!(["c2"])).sign().unwrap();
        assert!(check_with(&g, "GET", "/commerce/customers", &[&bearer(&c2_only)], None).unwrap().is_some());
        assert_eq!(
            check_with(&g, "GET", "/commerce/customers", &[&bearer(&plain)], None)
                .unwrap()
                .unwrap()
                .assurance_level(),
            Some("mfa")
        );
    }

    #[test]
    fn each_routes_freshness_is_its_own_for_the_same_token() {
        let g = layered();
        let twenty_minutes = issuer().user().claim("auth_time", json!(now() - 1200)).sign().unwrap();
        // Customers asks no freshness; Billing ten minutes.
        assert!(check_with(&g, "GET", "/commerce/customers", &[&bearer(&twenty_minutes)], None).is_ok());
        let r = check_with(&g, "GET", "/billing/invoices", &[&bearer(&twenty_minutes)], None);
        let detail = "this operation requires a recent multi-factor sign-in; sign in again with MFA";
        let expected = format!(
            r#"Bearer error="insufficient_user_authentication", error_description="{detail}", acr_values="c1", max_age="600""#
        );
        assert_refused(r, 401, None, Some(&expected), "mfa_required");
        let fresh = issuer().user().claim("auth_time", json!(now() - 60)).sign().unwrap();
        assert!(check_with(&g, "GET", "/billing/invoices", &[&bearer(&fresh)], None).unwrap().is_some());
        // No auth_time at all cannot be fresh.
        let unknown = issuer().user().sign().unwrap();
        assert!(check_with(&g, "GET", "/billing/invoices", &[&bearer(&unknown)], None).is_err());
    }

    #[test]
    fn a_routes_entra_challenge_is_byte_exact_for_cp1_clients_and_partner_centers_for_others() {
        let g = layered();
        let cp1 = issuer().user().claim("xms_cc", json!(["cp1"])).claim("auth_time", json!(now() - 60));
        let r = check_with(&g, "GET", "/security/alerts", &[&bearer(&cp1.sign().unwrap())], None);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"access_token":{"acrs":{"essential":true,"value":"c2"}}}"#);
        let expected = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{claims}""#
        );
        assert_refused(r, 401, None, Some(&expected), "mfa_required");
        // The guard-wide style stays Partner Center's on every other route, for
        // cp1 clients too.
        let cp1_no_mfa = issuer().user().mfa(false).claim("xms_cc", json!(["cp1"])).sign().unwrap();
        let r = check_with(&g, "GET", "/commerce/customers", &[&bearer(&cp1_no_mfa)], None);
        assert_refused(r, 401, MFA_REASON, MFA_WWW, "mfa_required");
    }

    #[test]
    fn a_level_is_asked_for_with_its_own_evidence_when_the_rule_names_no_values() {
        let g = Guard::builder()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(
                Policy::partner_center()
                    .assurance_level(AssuranceLevel::new("hardware").acr_values(["urn:hw", "urn:fido"]))
                    .route(
                        "/security/*",
                        Requirement::mfa()
                            .assurance("hardware")
                            .challenge(Challenge::StepUp { acr_values: None }),
                    ),
            )
            .build()
            .unwrap();
        let r = check_with(&g, "GET", "/security/x", &[&bearer(&issuer().user().sign().unwrap())], None)
            .unwrap_err();
        let parsed = parse_challenge(r.www_authenticate().unwrap()).unwrap();
        assert_eq!(
            parsed.params.iter().find(|(k, _)| k == "acr_values").map(|(_, v)| v.as_str()),
            Some("urn:hw urn:fido")
        );
        assert!(!parsed.params.iter().any(|(k, _)| k == "max_age"));
    }

    #[test]
    fn rules_that_cannot_be_asked_for_or_name_no_level_fail_the_build() {
        let build = |policy: Policy| {
            Guard::builder()
                .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
                .policy(policy)
                .build()
                .unwrap_err()
        };
        let e = build(Policy::partner_center().route("/x/*", Requirement::mfa().assurance("nope")));
        assert!(e.to_string().contains("assurance level \"nope\""), "{e}");
        assert!(e.to_string().contains("defined: mfa"), "{e}");
        let e = build(
            Policy::partner_center()
                .route("/x/*", Requirement::mfa().challenge(Challenge::StepUp { acr_values: None })),
        );
        assert!(e.to_string().contains("route /x/*: the step-up challenge needs acr_values"), "{e}");
        let e = build(
            Policy::partner_center()
                .route("/x/*", Requirement::mfa().challenge(Challenge::EntraClaims { auth_context: None })),
        );
        assert!(e.to_string().contains("needs an authentication context"), "{e}");
    }

    #[test]
    fn challenges_are_read_and_written_in_one_grammar() {
        for text in ["partner-center", "step-up", "step-up:c1 c2", "entra-claims", "entra:c2"] {
            let c: Challenge = text.parse().unwrap();
            assert_eq!(c.to_string(), text);
        }
        for bad in ["", "stepup", "step-up:", "entra:", "entra:c 2", "step-up:a\"b", "partner-center:x"] {
            let e = bad.parse::<Challenge>().unwrap_err();
            assert!(e.to_string().contains("is not a challenge"), "{bad:?}: {e}");
        }
    }
}

mod adoption {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::adoption::{AppAdoption, MfaCounts};

    /// `/commerce/*` report-only, `/billing/*` enforced, both asking MFA; `/overview`
    /// asks none.
    fn adoption_guard(apps: usize) -> Guard {
        Guard::builder()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(
                Policy::partner_center().route(
                    "/commerce/*",
                    Requirement::mfa().any_role([crate::Role::AdminAgent]).report_only(),
                ),
            )
            .adoption_apps(apps)
            .build()
            .unwrap()
    }

    fn user_of(app: &str, mfa: bool) -> String {
        format!("Bearer {}", issuer().user().mfa(mfa).claim("appid", json!(app)).sign().unwrap())
    }

    fn counts(report: &crate::AdoptionReport, app: &str) -> (MfaCounts, MfaCounts) {
        let a: &AppAdoption = report.app(app).unwrap_or_else(|| panic!("{app} not in {report:?}"));
        (a.enforce, a.report_only)
    }

    fn mfa(met: u64, missed: u64) -> MfaCounts {
        MfaCounts { met, missed }
    }

    #[test]
    fn report_only_and_enforced_rules_are_counted_apart_per_application() {
        let g = adoption_guard(100);
        let a_mfa = user_of("app-a", true);
        let a_no_mfa = user_of("app-a", false);
        // A v2 token names its application in azp.
        let b_no_mfa = format!(
            "Bearer {}",
            issuer()
                .user()
                .mfa(false)
                .claim("appid", Value::Null)
                .claim("azp", json!("app-b"))
                .sign()
                .unwrap()
        );
        for _ in 0..3 {
            // The same bytes again are cache hits: still counted, under the same app.
            assert!(check_with(&g, "GET", "/commerce/x", &[&a_mfa], None).is_ok());
        }
        assert!(check_with(&g, "GET", "/commerce/x", &[&a_no_mfa], None).unwrap().is_some());
        assert!(check_with(&g, "GET", "/billing/x", &[&a_mfa], None).is_ok());
        for _ in 0..2 {
            assert_eq!(
                check_with(&g, "GET", "/billing/x", &[&a_no_mfa], None).unwrap_err().code(),
                RejectionCode::MfaRequired
            );
        }
        assert!(check_with(&g, "GET", "/commerce/x", &[&b_no_mfa], None).is_ok());
        let report = g.adoption();
        assert_eq!(counts(&report, "app-a"), (mfa(1, 2), mfa(3, 1)));
        assert_eq!(counts(&report, "app-b"), (mfa(0, 0), mfa(0, 1)));
        let labels: Vec<&str> = report.applications.iter().map(|a| a.app.as_str()).collect();
        assert_eq!(labels, ["app-a", "app-b", "browser", "unknown", "other"], "busiest first");
    }

    #[test]
    fn requests_mfa_is_not_asked_of_and_refused_tokens_are_not_counted() {
        let g = adoption_guard(100);
        // A route without an MFA requirement: neither met nor missed.
        assert!(check_with(&g, "GET", "/overview", &[&user_of("app-a", false)], None).is_ok());
        // App-only callers have no user; their application takes no label.
        let app = format!("Bearer {}", issuer().app().claim("appid", json!("daemon")).sign().unwrap());
        assert!(check_with(&g, "GET", "/v1/catalog/x", &[&app], None).is_ok());
        // An expired token names no application anyone vouches for.
        let expired = issuer().user().mfa(false).claim("appid", json!("app-x")).claim("exp", json!(1000));
        let _ = check_with(&g, "GET", "/billing/x", &[&format!("Bearer {}", expired.sign().unwrap())], None);
        let report = g.adoption();
        assert_eq!(counts(&report, "app-a"), (mfa(0, 0), mfa(0, 0)));
        assert!(report.app("daemon").is_none() && report.app("app-x").is_none(), "{report:?}");
        assert_eq!(report.applications.iter().map(AppAdoption::total).sum::<u64>(), 0);
    }

    #[test]
    fn applications_beyond_the_limit_are_other_and_tokens_without_one_are_unknown() {
        let g = adoption_guard(2);
        for app in ["app-a", "app-b", "app-c", "app-d"] {
            assert!(check_with(&g, "GET", "/commerce/x", &[&user_of(app, false)], None).is_ok());
        }
        // A later token of a named application keeps its label.
        assert!(check_with(&g, "GET", "/commerce/x", &[&user_of("app-a", true)], None).is_ok());
        let none = format!("Bearer {}", issuer().user().claim("appid", Value::Null).sign().unwrap());
        assert!(check_with(&g, "GET", "/billing/x", &[&none], None).is_ok());
        let report = g.adoption();
        assert_eq!(report.limit, 2);
        assert_eq!(counts(&report, "app-a"), (mfa(0, 0), mfa(1, 1)));
        assert_eq!(counts(&report, "app-b"), (mfa(0, 0), mfa(0, 1)));
        assert_eq!(counts(&report, "other"), (mfa(0, 0), mfa(0, 2)));
        assert_eq!(counts(&report, "unknown"), (mfa(1, 0), mfa(0, 0)));
        assert!(report.app("app-c").is_none());
    }

    #[test]
    fn the_prometheus_counters_carry_the_same_counts_under_a_bounded_app_label() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let g = adoption_guard(1);
        ::metrics::with_local_recorder(&recorder, || {
            let _ = check_with(&g, "GET", "/commerce/x", &[&user_of("app-a", true)], None);
            let _ = check_with(&g, "GET", "/billing/x", &[&user_of("app-a", false)], None);
            let _ = check_with(&g, "GET", "/billing/x", &[&user_of("app-b", false)], None);
            let _ = check_with(&g, "GET", "/billing/x", &[&user_of("app-c", false)], None);
        });
        let mut seen = std::collections::BTreeMap::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let (_, key) = key.into_parts();
            if key.name() == crate::metrics::ADOPTION
                && let DebugValue::Counter(n) = value
            {
                let labels: Vec<String> =
                    key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
                seen.insert(labels.join(","), n);
            }
        }
        let expected: std::collections::BTreeMap<String, u64> = [
            ("app=app-a,mode=report-only,mfa=met", 1),
            ("app=app-a,mode=enforce,mfa=missed", 1),
            ("app=other,mode=enforce,mfa=missed", 2),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(seen, expected);
        assert_eq!(counts(&g.adoption(), "other"), (mfa(0, 2), mfa(0, 0)));
    }

    #[test]
    fn browser_sessions_are_counted_under_browser() {
        let browser = crate::browser::Browser::new(
            "web-app",
            "https://app.example/auth/callback",
            "https://issuer.example/.well-known/openid-configuration",
            crate::browser::SessionKeys::parse("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap(),
        );
        let g = Guard::partner_center()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .browser(browser)
            .build()
            .unwrap();
        let claims =
            Claims::from_json(br#"{"sub":"s","azp":"web-app","roles":["AdminAgent"],"amr":["pwd","mfa"]}"#)
                .unwrap();
        let cookie = crate::dev::session_cookie(&g, &claims).unwrap();
        let cookies = [cookie.as_bytes()];
        let req = RequestInfo::new("GET", "/commerce/customers")
            .with_cookies(&cookies)
            .with_navigation_headers(Some(b"navigate"), Some(b"text/html"));
        assert!(matches!(g.evaluate(&req), Evaluation::Ready(Admission::Admitted(_))));
        let report = g.adoption();
        assert_eq!(counts(&report, "browser"), (mfa(1, 0), mfa(0, 0)));
        assert!(report.app("web-app").is_none());
    }
}

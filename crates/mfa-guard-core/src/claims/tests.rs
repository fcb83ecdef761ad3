use super::*;

fn claims(json: &str) -> Claims {
    parse_claims(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn refused(json: &str) -> String {
    parse_claims(json.as_bytes()).expect_err(json).into_owned()
}

/// The seed's sample token (Partner Center documentation).
const SEED: &str = r#"{
  "aud": "https://api.partnercenter.microsoft.com",
  "iss": "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/",
  "iat": 1549088552, "nbf": 1549088552, "exp": 1549092452,
  "acr": "1", "amr": ["pwd", "mfa"],
  "appid": "00001111-aaaa-2222-bbbb-3333cccc4444", "appidacr": "0",
  "family_name": "Adminagent", "given_name": "CSP", "ipaddr": "127.0.0.1",
  "name": "Adminagent CSP", "oid": "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
  "scp": "user_impersonation", "tenant_region_scope": "NA",
  "tid": "aaaabbbb-0000-cccc-1111-dddd2222eeee",
  "unique_name": "Adminagent.csp@testtestpartner.onmicrosoft.com",
  "upn": "Adminagent.csp@testtestpartner.onmicrosoft.com", "ver": "1.0"
}"#;

#[test]
fn seed_token_claims_are_read() {
    let c = claims(SEED);
    assert_eq!(c.aud(), ["https://api.partnercenter.microsoft.com"]);
    assert_eq!(c.amr().unwrap(), ["pwd", "mfa"]);
    assert_eq!(c.scp().unwrap(), ["user_impersonation"]);
    assert_eq!(c.exp().unwrap().unix(), 1549092452);
    assert_eq!(c.ver(), Some("1.0"));
    assert_eq!(c.caller_kind(), Ok((CallerKind::User, KindRule::Scopes)));
    // Unknown claims are kept for custom checks.
    assert_eq!(c.extra()["tenant_region_scope"], "NA");
    assert_eq!(c.get("ipaddr").unwrap(), "127.0.0.1");
}

#[test]
fn aud_may_be_a_string_or_an_array() {
    assert_eq!(claims(r#"{"aud":"a"}"#).aud(), ["a"]);
    assert_eq!(claims(r#"{"aud":["a","b"]}"#).aud(), ["a", "b"]);
}

#[test]
fn amr_may_be_a_single_string() {
    assert_eq!(claims(r#"{"amr":"mfa"}"#).amr().unwrap(), ["mfa"]);
}

#[test]
fn scp_is_space_delimited_or_an_array() {
    assert_eq!(claims(r#"{"scp":"a  b c"}"#).scp().unwrap(), ["a", "b", "c"]);
    assert_eq!(claims(r#"{"scp":["a","b"]}"#).scp().unwrap(), ["a", "b"]);
}

#[test]
fn numeric_dates_may_be_floats() {
    assert_eq!(claims(r#"{"exp":1549092452.75}"#).exp().unwrap().unix(), 1549092452);
}

#[test]
fn known_claims_of_the_wrong_type_refuse_the_token() {
    for (json, claim) in [
        (r#"{"aud":5}"#, "aud"),
        (r#"{"aud":{"x":1}}"#, "aud"),
        (r#"{"aud":["a",null]}"#, "aud"),
        (r#"{"iss":["a"]}"#, "iss"),
        (r#"{"iss":null}"#, "iss"),
        (r#"{"amr":[["mfa"]]}"#, "amr"),
        (r#"{"amr":{"mfa":true}}"#, "amr"),
        (r#"{"amr":[1]}"#, "amr"),
        (r#"{"exp":"tomorrow"}"#, "exp"),
        (r#"{"exp":1e300}"#, "exp"),
        (r#"{"exp":18446744073709551616}"#, "exp"),
        (r#"{"nbf":true}"#, "nbf"),
        (r#"{"iat":"1"}"#, "iat"),
        (r#"{"tid":5}"#, "tid"),
        (r#"{"roles":[{"x":1}]}"#, "roles"),
        (r#"{"scp":5}"#, "scp"),
        (r#"{"idtyp":1}"#, "idtyp"),
    ] {
        let reason = refused(json);
        assert!(reason.contains(&format!("`{claim}`")), "{json}: {reason}");
    }
}

#[test]
fn duplicate_claims_refuse_the_token() {
    assert!(refused(r#"{"amr":["pwd"],"amr":["mfa"]}"#).contains("more than once"));
    assert!(refused(r#"{"aud":"a","aud":"b"}"#).contains("more than once"));
    assert!(refused(r#"{"custom":1,"custom":2}"#).contains("more than once"));
}

#[test]
fn duplicate_claim_names_are_quoted_only_when_plain() {
    assert_eq!(refused(r#"{"amr":["pwd"],"amr":["mfa"]}"#), "claim 'amr' appears more than once");
    assert_eq!(refused(r#"{"aud":"a","aud":"b"}"#), "claim 'aud' appears more than once");
    assert_eq!(refused(r#"{"custom":1,"custom":2}"#), "claim 'custom' appears more than once");
    for hostile in [
        r#"x\", error=\"y\", \u00e9"#,
        r#"a\r\nSet-Cookie: s=1"#,
        r#"\u202eevil"#,
        "no spaces allowed",
        &"n".repeat(65),
    ] {
        let json = format!(r#"{{"{hostile}":1,"{hostile}":2}}"#);
        assert_eq!(refused(&json), "claim (value not shown) appears more than once", "{hostile}");
    }
}

#[test]
fn payloads_that_are_not_json_objects_are_refused() {
    assert_eq!(refused("[1,2]"), "the token payload is not a JSON object");
    assert_eq!(refused(r#"{"a":1"#), "the token payload is not valid JSON");
    assert_eq!(refused(r#"{"a":1} trailing"#), "the token payload is not valid JSON");
    assert_eq!(
        refused(&format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200))),
        "the token payload is not valid JSON"
    );
    assert_eq!(parse_claims(b"{\"sub\":\"\xff\"}").unwrap_err(), "the token payload is not valid JSON");
}

#[test]
fn unicode_look_alikes_are_kept_verbatim() {
    // Cyrillic "м" and "а": no normalisation, so this is not "mfa".
    let c = claims(r#"{"amr":["\u043cf\u0430","mfa "]}"#);
    assert_eq!(c.amr().unwrap(), ["мfа", "mfa "]);
}

#[test]
fn groups_overage_is_recognised() {
    assert!(claims(r#"{"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{}}}"#).groups_overage());
    assert!(claims(r#"{"hasgroups":true}"#).groups_overage());
    assert!(!claims(r#"{"groups":["g"]}"#).groups_overage());
}

mod caller_kind {
    use super::*;

    #[test]
    fn idtyp_app_decides_app_only_even_with_scp() {
        assert_eq!(
            claims(r#"{"idtyp":"app","scp":"x"}"#).caller_kind(),
            Ok((CallerKind::App, KindRule::Idtyp))
        );
    }

    #[test]
    fn idtyp_user_decides_app_plus_user_even_without_scp() {
        assert_eq!(
            claims(r#"{"idtyp":"user","roles":["r"],"oid":"a","sub":"a"}"#).caller_kind(),
            Ok((CallerKind::User, KindRule::Idtyp))
        );
    }

    #[test]
    fn unknown_idtyp_is_refused() {
        assert!(claims(r#"{"idtyp":"device","scp":"x"}"#).caller_kind().is_err());
    }

    #[test]
    fn scp_without_idtyp_means_app_plus_user() {
        assert_eq!(
            claims(r#"{"scp":"user_impersonation"}"#).caller_kind(),
            Ok((CallerKind::User, KindRule::Scopes))
        );
    }

    #[test]
    fn roles_with_oid_equal_to_sub_means_app_only() {
        assert_eq!(
            claims(r#"{"roles":["r"],"oid":"x","sub":"x"}"#).caller_kind(),
            Ok((CallerKind::App, KindRule::RolesWithOidEqualsSub))
        );
    }

    #[test]
    fn roles_with_oid_different_from_sub_is_refused() {
        assert!(claims(r#"{"roles":["r"],"oid":"x","sub":"y"}"#).caller_kind().is_err());
        assert!(claims(r#"{"roles":["r"],"sub":"y"}"#).caller_kind().is_err());
    }

    #[test]
    fn neither_scopes_nor_roles_is_refused() {
        let err = claims(r#"{"oid":"x","sub":"x"}"#).caller_kind().unwrap_err();
        assert!(err.contains("neither"), "{err}");
        assert!(claims(r#"{"scp":""}"#).caller_kind().is_err(), "an empty scp is no scope");
    }
}

use super::*;
use std::time::Duration;

use crate::policy::{Access, Policy, Role};

fn parse(src: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(src, "policy.toml")
}

#[test]
fn an_empty_file_is_the_partner_center_preset() {
    let c = parse("").unwrap();
    assert_eq!(c.policy().unwrap(), Policy::partner_center());
}

#[test]
fn a_full_file_configures_every_setting() {
    let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    let src = format!(
        r#"
audiences = ["https://api.partnercenter.microsoft.com"]
algorithms = ["ES256"]
leeway = "30s"
max_header_bytes = 8192

[[issuers]]
issuer = "https://sts.windows.net/{{tenantid}}/"
jwks = '{jwks}'

[challenge]
style = "step-up"
acr_values = "c1"
realm = "partner"

[mfa]
amr = ["mfa", "ngcmfa"]
max_age = "12h"

[roles.AdminAgent]
app_roles = ["AdminAgent"]
groups = ["0e9f5d2c-1111-4444-8888-123456789abc"]

[roles.Reader]
scopes = ["Reports.Read"]

[policy]
preset = "partner-center"
fallback = {{ access = "mfa", callers = "users-and-apps" }}

[[policy.routes]]
path = "/reports/*"
methods = ["GET"]
access = "mfa"
callers = "users"
roles = ["Reader"]
name = "reports"
"#
    );
    let c = parse(&src).unwrap();
    let policy = c.policy().unwrap();
    assert_eq!(policy.fallback_requirement().access(), Access::Mfa);
    let reports = policy.rules().iter().find(|r| r.pattern() == "/reports/*").unwrap();
    assert_eq!(reports.rule_name(), Some("reports"));
    assert_eq!(reports.method_list(), ["GET"]);
    assert_eq!(policy.roles().matchers(&Role::AdminAgent).len(), 2);
    assert_eq!(
        policy.mfa_policy().accepted_amr().iter().map(|a| &**a).collect::<Vec<_>>(),
        ["mfa", "ngcmfa"]
    );
    assert_eq!(policy.mfa_policy().max_age_secs(), Some(12 * 3600));
    c.builder().unwrap().build().unwrap();
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let err = parse("audiences = [\"a\"]\n\n[policy]\npreset = \"none\"\nfalback = { access = \"mfa\" }\n")
        .unwrap_err();
    assert_eq!(err.line(), Some(5));
    assert_eq!(err.key(), Some("falback"));
    assert!(err.message().contains("unknown field `falback`"), "{err}");
    assert!(err.to_string().starts_with("policy.toml:5: `falback`:"), "{err}");
}

#[test]
fn a_bad_value_is_named_with_its_line() {
    let err = parse("[[policy.routes]]\npath = \"/x/*\"\naccess = \"mfaa\"\n").unwrap_err();
    assert_eq!(err.line(), Some(3));
    assert_eq!(err.key(), Some("access"));
    assert!(err.message().contains("mfaa"), "{err}");
}

#[test]
fn an_undefined_role_is_named_with_its_line() {
    let err =
        parse("[[policy.routes]]\npath = \"/x/*\"\naccess = \"mfa\"\nroles = [\"Auditor\"]\n").unwrap_err();
    assert_eq!(err.line(), Some(4));
    assert!(err.message().contains("Auditor"), "{err}");
}

#[test]
fn a_misspelt_role_is_named_with_the_role_it_likely_meant() {
    let err = parse("[[policy.routes]]\npath = \"/x/*\"\naccess = \"mfa\"\nroles = [\"AdminAgnet\"]\n")
        .unwrap_err();
    assert_eq!((err.line(), err.key()), (Some(4), Some("policy.routes.roles")), "{err}");
    assert!(
        err.message().contains(r#"role "AdminAgnet" is not defined; did you mean "AdminAgent"?"#),
        "{err}"
    );
    for (typo, meant) in
        [("adminagent", "AdminAgent"), ("SalesAgnt", "SalesAgent"), ("BillingAdmn", "BillingAdmin")]
    {
        let src = format!("[[policy.routes]]\npath = \"/x/*\"\naccess = \"mfa\"\nroles = [\"{typo}\"]\n");
        let err = parse(&src).unwrap_err();
        assert!(err.message().contains(&format!("did you mean {meant:?}?")), "{typo}: {err}");
    }
    // Nothing close: no guess.
    let err =
        parse("[[policy.routes]]\npath = \"/x/*\"\naccess = \"mfa\"\nroles = [\"Auditor\"]\n").unwrap_err();
    assert!(!err.message().contains("did you mean"), "{err}");
}

#[test]
fn a_bad_route_pattern_is_named_with_its_line() {
    let err = parse("\n[[policy.routes]]\npath = \"x/*\"\naccess = \"mfa\"\n").unwrap_err();
    assert_eq!(err.line(), Some(3));
    assert_eq!(err.key(), Some("policy.routes.path"));
}

#[test]
fn bad_style_algorithm_and_preset_are_named() {
    let e = parse("[challenge]\nstyle = \"loud\"\n").unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(2), Some("challenge.style")));
    let e = parse("algorithms = [\"RS256\", \"none\"]\n").unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(1), Some("algorithms")));
    let e = parse("[policy]\npreset = \"strict\"\n").unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(2), Some("policy.preset")));
}

#[test]
fn bad_durations_are_explained() {
    let e = parse("leeway = \"soon\"\n").unwrap_err();
    assert_eq!(e.line(), Some(1));
    assert!(e.message().contains("duration"), "{e}");
}

#[test]
fn a_missing_comma_is_reported_on_the_line_it_belongs_to() {
    // toml finds it at the next element; the comma belongs behind "a", on line 2.
    let e = parse("audiences = [\n  \"a\"\n  \"b\",\n]\n").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.message().contains("missing comma"), "{e}");
    assert!(e.to_string().starts_with("policy.toml:2:"), "{e}");
    let e = parse("audiences = [\n  \"a\"  # the first\n\n  # the next one\n  \"b\",\n]\n").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    let e = parse("[roles.Reader]\nscopes = [\"a\"\n  \"b\"]\n").unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(2), Some("scopes")), "{e}");
    // Other syntax errors are where toml found them.
    let e = parse("leeway = \"30s\"\n\n\n5\n").unwrap_err();
    assert_eq!(e.line(), Some(4), "{e}");
    let e = parse("leeway = \"30s\"\n[policy\n").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
}

#[test]
fn not_toml_at_all_is_one_clear_error() {
    let e = parse("this is = = not toml").unwrap_err();
    assert_eq!(e.line(), Some(1));
}

#[test]
fn an_issuer_needs_exactly_one_key_source() {
    let e =
        parse("audiences=[\"a\"]\n[[issuers]]\nissuer = \"https://a/\"\n").unwrap().builder().unwrap_err();
    assert!(e.message().contains("exactly one"), "{e}");
}

#[test]
fn durations_read_in_words_or_seconds() {
    assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
    assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
    assert!(parse_duration("5 parsecs").is_err());
    assert!(parse_duration("").is_err());
}

#[test]
fn oversized_files_are_refused() {
    let dir = std::env::temp_dir().join(format!("mfa-guard-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.toml");
    std::fs::write(&path, "#".repeat(MAX_CONFIG_BYTES as usize + 1)).unwrap();
    let e = Config::from_file(&path).unwrap_err();
    assert!(e.message().contains("larger than"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn remote_issuers_and_key_options_are_configured() {
    let src = r#"
audiences = ["api"]
token_cache_capacity = 0

[keys]
timeout = "3s"
unknown_kid_cooldown = "45s"
stale_if_error = "12h"

[[issuers]]
issuer = "https://sts.windows.net/{tenantid}/"
jwks_url = "https://login.microsoftonline.com/common/discovery/keys"

[[issuers]]
discovery_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"#;
    let c = parse(src).unwrap();
    let o = c.remote_options();
    assert_eq!(
        (o.timeout, o.cooldown, o.stale_if_error),
        (Duration::from_secs(3), Duration::from_secs(45), Duration::from_secs(12 * 3600))
    );
    c.builder().unwrap().build().unwrap();
}

#[test]
fn a_plain_http_key_source_is_named_with_its_line() {
    let src = "audiences = [\"api\"]\n\n[[issuers]]\nissuer = \"https://a/\"\njwks_url = \"http://keys.example/jwks\"\n";
    let e = parse(src).unwrap().builder().unwrap_err();
    assert_eq!(e.key(), Some("issuers.jwks_url"));
    assert!(e.message().contains("HTTPS"), "{e}");
    assert!(e.line().is_some());
}

#[test]
fn only_discovery_can_leave_the_issuer_out() {
    let src = "audiences = [\"api\"]\n[[issuers]]\njwks_url = \"https://a/keys\"\n";
    let e = parse(src).unwrap().builder().unwrap_err();
    assert_eq!(e.key(), Some("issuers.issuer"));
}

#[test]
fn an_issuer_with_two_key_sources_is_refused() {
    let src = "audiences = [\"api\"]\n[[issuers]]\nissuer = \"https://a/\"\njwks_url = \"https://a/keys\"\njwks_file = \"k.json\"\n";
    let e = parse(src).unwrap().builder().unwrap_err();
    assert!(e.message().contains("exactly one"), "{e}");
}

#[test]
fn rollout_settings_are_configured() {
    let src = r#"
compliance_header = "MFA-Compliance"

[policy]
default_mode = "report-only"

[[policy.routes]]
path = "/commerce/*"
access = "mfa"
roles = ["AdminAgent"]
enforce_from = "2027-03-01T00:00:00Z"

[[policy.routes]]
path = "/billing/*"
access = "mfa"
mode = "enforce"
enforce_from = 2027-04-01T00:00:00Z
"#;
    let c = parse(src).unwrap();
    let p = c.policy().unwrap();
    assert_eq!(p.default_mode_setting(), crate::policy::Mode::ReportOnly);
    let commerce = p.rules().iter().find(|r| r.pattern() == "/commerce/*").unwrap();
    assert_eq!(commerce.requirement().enforce_from_unix(), Some(1_803_859_200));
    let billing = p.rules().iter().find(|r| r.pattern() == "/billing/*").unwrap();
    assert_eq!(billing.requirement().mode_setting(), Some(crate::policy::Mode::Enforce));
    assert_eq!(billing.requirement().enforce_from_unix(), Some(1_806_537_600));
}

#[test]
fn adoption_apps_bounds_the_applications_the_adoption_counts_name() {
    let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    let src = format!(
        "adoption_apps = 7\naudiences = [\"a\"]\n[[issuers]]\nissuer = \"https://i.example/\"\njwks = '{jwks}'\n"
    );
    let guard = parse(&src).unwrap().builder().unwrap().build().unwrap();
    assert_eq!(guard.adoption().limit, 7);
    let e = parse("[policy]\nadoption_apps = 7\n").unwrap_err();
    assert!(e.to_string().contains("`adoption_apps` is a top-level key"), "{e}");
}

#[test]
fn a_bad_rollout_date_or_mode_is_named_with_its_line() {
    let e = parse("[[policy.routes]]\npath = \"/x/*\"\naccess = \"mfa\"\nenforce_from = \"next tuesday\"\n")
        .unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(4), Some("enforce_from")));
    let e = parse("[policy]\ndefault_mode = \"shadow\"\n").unwrap_err();
    assert_eq!(e.line(), Some(2));
    let e = parse("compliance_header = \"bad header\"\naudiences=[\"a\"]\n[[issuers]]\nissuer=\"https://a/\"\njwks_url=\"https://a/k\"\n")
        .unwrap()
        .builder()
        .unwrap()
        .build();
    assert!(e.is_err());
}

#[test]
fn encoded_slashes_are_refused_unless_the_paths_table_allows_them() {
    let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    let base =
        format!("audiences = [\"a\"]\n[[issuers]]\nissuer = \"https://i.example/\"\njwks = '{jwks}'\n");
    let code_for = |src: &str| {
        let guard = parse(src).unwrap().builder().unwrap().build().unwrap();
        let req = crate::RequestInfo::new("GET", "/reports/a%2Fb");
        match guard.evaluate(&req) {
            crate::Evaluation::Ready(crate::Admission::Refused(r)) => r.code(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    assert_eq!(code_for(&base), crate::RejectionCode::InvalidRequest);
    assert_eq!(
        code_for(&format!("{base}[paths]\nallow_encoded_slash = false\n")),
        crate::RejectionCode::InvalidRequest
    );
    assert_eq!(
        code_for(&format!("{base}[paths]\nallow_encoded_slash = true\n")),
        crate::RejectionCode::MissingToken
    );
    let e = parse("[paths]\nallow_dot_segments = true\n").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.to_string().contains("allow_dot_segments"), "{e}");
}

#[test]
fn each_strict_path_rule_can_be_turned_off_in_the_file() {
    use crate::PathRules;
    let jwks = r#"{"keys":[]}"#;
    let base =
        format!("audiences = [\"a\"]\n[[issuers]]\nissuer = \"https://i.example/\"\njwks = '{jwks}'\n");
    let rules = |src: &str| parse(src).unwrap().path_rules(PathRules::strict());
    assert!(rules(&base).is_strict());
    for key in [
        "refuse_matrix_parameters",
        "refuse_empty_segments",
        "refuse_encoded_unreserved",
        "refuse_non_ascii",
        "refuse_confusables",
    ] {
        let off = rules(&format!("{base}[paths]\n{key} = false\n"));
        assert!(!off.is_strict(), "{key} = false left the rules strict");
        let on = parse(&format!("{base}[paths]\n{key} = true\n")).unwrap().path_rules(PathRules::default());
        assert!(on != PathRules::default(), "{key} = true changed nothing");
    }
}

#[test]
fn max_token_lifetime_from_the_file_reaches_the_guard() {
    use crate::test_issuer::{DEV_AUDIENCE, DevIssuer};
    use crate::{RejectionCode, RequestInfo};

    let issuer = DevIssuer::generate("https://issuer.example/").unwrap();
    let src = format!(
        "audiences = [\"{DEV_AUDIENCE}\"]\nmax_token_lifetime = \"2h\"\n\n[[issuers]]\nissuer = \"https://issuer.example/\"\njwks = '{}'\n",
        issuer.jwks_json()
    );
    let guard = parse(&src).unwrap().builder().unwrap().build().unwrap();
    let check = |lifetime: u64| {
        let token = issuer.user().lifetime(Duration::from_secs(lifetime)).sign().unwrap();
        let header = format!("Bearer {token}");
        let req = RequestInfo::new("GET", "/overview").with_authorization(header.as_bytes());
        match guard.evaluate(&req) {
            crate::Evaluation::Ready(a) => a.into_result().map(|p| p.is_some()).map_err(|r| r.code()),
            crate::Evaluation::Pending(_) => panic!("static keys never wait"),
        }
    };
    assert_eq!(check(7200), Ok(true));
    assert_eq!(check(7201), Err(RejectionCode::InvalidToken));
}

#[test]
fn tenants_from_the_file_restrict_a_templated_issuer() {
    use crate::test_issuer::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};
    use crate::{RejectionCode, RequestInfo};

    let issuer = DevIssuer::generate("https://sts.windows.net/{tenantid}/").unwrap();
    let other = "11112222-3333-4444-5555-666677778888";
    let src = format!(
        "audiences = [\"{DEV_AUDIENCE}\"]\ntenants = [\"{}\"]\n\n[[issuers]]\nissuer = \"https://sts.windows.net/{{tenantid}}/\"\njwks = '{}'\n",
        DEV_TENANT.to_ascii_uppercase(),
        issuer.jwks_json()
    );
    let guard = parse(&src).unwrap().builder().unwrap().build().unwrap();
    let check = |tid: &str| {
        let token = issuer
            .user()
            .claim("tid", serde_json::json!(tid))
            .claim("iss", serde_json::json!(format!("https://sts.windows.net/{tid}/")))
            .sign()
            .unwrap();
        let header = format!("Bearer {token}");
        let req = RequestInfo::new("GET", "/overview").with_authorization(header.as_bytes());
        match guard.evaluate(&req) {
            crate::Evaluation::Ready(a) => a.into_result().map(|p| p.is_some()).map_err(|r| r.code()),
            crate::Evaluation::Pending(_) => panic!("static keys never wait"),
        }
    };
    assert_eq!(check(DEV_TENANT), Ok(true));
    assert_eq!(check(other), Err(RejectionCode::InvalidToken));
}

#[test]
fn a_tenant_that_is_not_a_guid_or_an_empty_list_is_named_with_its_line() {
    let e = parse(
        "audiences = [\"a\"]\ntenants = [\n  \"aaaabbbb-0000-cccc-1111-dddd2222eeee\",\n  \"common\",\n]\n",
    )
    .unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(4), Some("tenants")));
    assert!(e.message().contains("\"common\" is not a tenant id"), "{e}");
    let e = parse("tenants = []\n").unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(1), Some("tenants")));
    assert!(e.message().contains("empty"), "{e}");
}

#[test]
fn a_top_level_key_inside_a_table_says_where_it_belongs() {
    let e = parse("[policy]\ncompliance_header = \"mfa-compliance\"\n").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.to_string().contains("`compliance_header` is a top-level key"), "{e}");
}

#[test]
fn a_missing_jwks_file_is_reported_at_its_own_line() {
    let src = "audiences = [\"a\"]\n\n[[issuers]]\nissuer = \"https://i.example/\"\njwks_file = \"/nonexistent/keys.json\"\n";
    let e = parse(src).unwrap().builder().unwrap_err();
    assert_eq!(e.line(), Some(5), "{e}");
    assert_eq!(e.key(), Some("issuers.jwks_file"), "{e}");
    assert!(e.message().contains("/nonexistent/keys.json"), "{e}");
}

#[cfg(feature = "browser")]
mod browser_table {
    use super::*;
    use crate::browser::{Browser, SessionKeys, StepUp};

    fn base() -> Browser {
        Browser::new(
            "app",
            "https://app.example/auth/callback",
            "https://login.example/.well-known/openid-configuration",
            SessionKeys::random("t").unwrap(),
        )
    }

    #[test]
    fn every_key_of_the_browser_table_is_applied() {
        let c = parse(
            r#"
[browser]
client_id = "from-file"
step_up = "entra:c2"
scopes = ["openid", "email"]
idle_timeout = "20m"
absolute_timeout = "8h"
step_up_window = 300
sign_in_path = "/login"
sign_out_path = "/logout"
signed_out_path = "/bye"
post_logout_redirect_uri = "https://app.example/bye"
"#,
        )
        .unwrap();
        let b = c.apply_browser(base()).unwrap();
        assert_eq!(b.step_up, StepUp::Entra { auth_context: "c2".into() });
        assert_eq!(b.scopes, ["openid", "email"]);
        assert_eq!(
            (b.idle, b.absolute, b.step_up_window),
            (Duration::from_secs(1200), Duration::from_secs(8 * 3600), Duration::from_secs(300))
        );
        assert_eq!((b.sign_in_path.as_str(), b.sign_out_path.as_str()), ("/login", "/logout"));
        assert_eq!(b.signed_out_path, "/bye");
        assert_eq!(b.post_logout_redirect_uri.as_deref(), Some("https://app.example/bye"));
        // The client itself is what Browser::new took: the file's client id is read by
        // Environment::browser, not applied over a browser built in code.
        assert_eq!(b.client_id, "app");

        let untouched = parse("").unwrap().apply_browser(base()).unwrap();
        assert_eq!((untouched.idle, untouched.sign_in_path.as_str()), (base().idle, "/auth/sign-in"));
    }

    #[test]
    fn a_secret_in_the_file_is_refused_naming_its_variable_and_line_never_its_value() {
        for (key, variable) in
            [("client_secret", "MFA_OIDC_CLIENT_SECRET"), ("session_keys", "MFA_SESSION_KEYS")]
        {
            let e =
                parse(&format!("[browser]\nclient_id = \"app\"\n{key} = \"hunter2-secret\"\n")).unwrap_err();
            assert_eq!((e.line(), e.key()), (Some(3), Some(format!("browser.{key}").as_str())), "{e}");
            assert!(e.message().contains(&format!("set {variable} in the environment")), "{e}");
            assert!(!e.to_string().contains("hunter2"), "the secret in the error: {e}");
            assert!(!format!("{e:?}").contains("hunter2"), "the secret in Debug: {e:?}");
        }
    }

    #[test]
    fn a_bad_step_up_or_unknown_key_in_the_browser_table_is_named_with_its_line() {
        let e = parse("[browser]\n\nstep_up = \"okta:x\"\n").unwrap_err();
        assert_eq!((e.line(), e.key()), (Some(3), Some("browser.step_up")), "{e}");
        assert!(e.message().contains(r#""okta:x" is not `generic`"#), "{e}");
        let e = parse("[browser]\nidle_timeout = \"soon\"\n").unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
        let e = parse("[browser]\nclient = \"app\"\n").unwrap_err();
        assert!(e.message().contains("unknown field `client`"), "{e}");
        assert_eq!(e.line(), Some(2), "{e}");
    }
}

/// The TOML blocks of a Markdown text (or of `//!` documentation), as written.
fn toml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_start().strip_prefix("//!").map_or(line, |l| l.strip_prefix(' ').unwrap_or(l));
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_example_file_of_the_module_documentation_is_a_valid_file() {
    let blocks = toml_blocks(include_str!("mod.rs"));
    assert_eq!(blocks.len(), 1, "one example file in config/mod.rs");
    let c = parse(&blocks[0]).unwrap_or_else(|e| panic!("{e}\n{}", blocks[0]));
    assert!(c.has_issuers() && c.has_browser());
}

/// "The Security workspace needs phishing-resistant MFA done within the last hour,
/// asked for with Entra's claims challenge; Customers needs any MFA" — written in the
/// file alone, decided by the guard it builds.
#[test]
fn a_stronger_level_fresher_mfa_and_a_claims_challenge_on_one_area_are_configuration() {
    use crate::test_issuer::{DEV_AUDIENCE, DevIssuer};
    use crate::{RejectionCode, RequestInfo};
    use serde_json::json;

    let issuer = DevIssuer::generate("https://issuer.example/").unwrap();
    let src = format!(
        r#"audiences = ["{DEV_AUDIENCE}"]

[[issuers]]
issuer = "https://issuer.example/"
jwks = '{}'

[[assurance]]
name = "phishing-resistant"
acrs = ["c2"]

[[policy.routes]]
path = "/security/*"
access = "mfa"
roles = ["AdminAgent"]
assurance = "phishing-resistant"
max_age = "1h"
challenge = "entra:c2"
"#,
        issuer.jwks_json()
    );
    let guard = parse(&src).unwrap().builder().unwrap().build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let decide = |path: &str, token: String| {
        let header = format!("Bearer {token}");
        let req = RequestInfo::new("GET", path).with_authorization(header.as_bytes());
        match guard.evaluate(&req) {
            crate::Evaluation::Ready(a) => a
                .into_result()
                .map(|p| p.is_some())
                .map_err(|r| (r.code(), r.www_authenticate().map(str::to_owned))),
            crate::Evaluation::Pending(_) => panic!("static keys never wait"),
        }
    };
    let plain = || issuer.user().claim("auth_time", json!(now - 60));
    assert_eq!(decide("/commerce/customers", plain().sign().unwrap()), Ok(true));
    let (code, www) =
        decide("/security/alerts", plain().claim("xms_cc", json!(["cp1"])).sign().unwrap()).unwrap_err();
    assert_eq!(code, RejectionCode::MfaRequired);
    assert!(www.unwrap().contains(r#"error="insufficient_claims""#));
    let strong = || issuer.user().claim("acrs", json!(["c2"]));
    assert_eq!(
        decide("/security/alerts", strong().claim("auth_time", json!(now - 60)).sign().unwrap()),
        Ok(true)
    );
    let stale = strong().claim("auth_time", json!(now - 7200)).sign().unwrap();
    assert_eq!(decide("/security/alerts", stale).unwrap_err().0, RejectionCode::MfaRequired);
}

#[test]
fn each_new_route_key_is_refused_at_its_line_with_its_reason() {
    let route = |extra: &str| format!("[[policy.routes]]\npath = \"/x/*\"\naccess = \"mfa\"\n{extra}\n");
    let e = parse(&route("assurance = \"phishing-resistent\"")).unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(4), Some("policy.routes.assurance")), "{e}");
    assert!(e.to_string().contains("is not defined (defined: mfa)"), "{e}");
    let levels = "[[assurance]]\nname = \"phishing-resistant\"\nacrs = [\"c2\"]\n\n";
    let e = parse(&format!("{levels}{}", route("assurance = \"phishing-resistent\""))).unwrap_err();
    assert!(e.to_string().contains("did you mean \"phishing-resistant\""), "{e}");
    let e = parse(&route("challenge = \"entra:c 2\"")).unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(4), Some("policy.routes.challenge")), "{e}");
    let e = parse(&route("challenge = \"step-up\"")).unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(4), Some("policy.routes.challenge")), "{e}");
    assert!(e.to_string().contains("needs acr_values"), "{e}");
    let e = parse("[[policy.routes]]\npath = \"/x/*\"\naccess = \"authenticated\"\nmax_age = \"1h\"\n")
        .unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(4), Some("policy.routes.max_age")), "{e}");
    let e = parse("[policy.fallback]\npath = \"/x\"\naccess = \"mfa\"\n").unwrap_err();
    assert!(e.to_string().contains("takes no path"), "{e}");
    let e = parse("[[policy.routes]]\naccess = \"mfa\"\n").unwrap_err();
    assert!(e.to_string().contains("a route needs a path"), "{e}");
    let e = parse("[[assurance]]\nname = \"mfa\"\namr = [\"x\"]\n").unwrap_err();
    assert_eq!((e.line(), e.key()), (Some(1), Some("assurance")), "{e}");
    // The fallback takes the same keys as a route.
    let ok =
        parse("[policy.fallback]\naccess = \"mfa\"\nmax_age = \"10m\"\nchallenge = \"partner-center\"\n")
            .unwrap();
    assert_eq!(ok.policy().unwrap().fallback_requirement().max_age_secs(), Some(600));
}

/// The configuration files the README has a newcomer copy (examples/cli/) read as
/// the README says: the preset with one issuer, and the per-route assurance file.
#[test]
fn the_readmes_configuration_files_parse_and_build_their_policies() {
    let policy = parse(include_str!("../../../../examples/cli/policy.toml")).unwrap().policy().unwrap();
    assert_eq!(policy, Policy::partner_center());
    let assured = parse(include_str!("../../../../examples/cli/assurance.toml")).unwrap().policy().unwrap();
    assert_eq!(assured.assurance_levels().len(), 1);
    let security = assured.rules().iter().find(|r| r.pattern() == "/security/*").unwrap();
    assert_eq!(security.requirement().assurance_level(), Some("phishing-resistant"));
    assert_eq!(security.requirement().max_age_secs(), Some(3600));
}

//! The example servers configured only through the environment contract
//! (`config::Environment`), against keys served on loopback.

use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::fixture::{ISSUER, Tok};
use mfa_guard_conformance::http1::request;
use mfa_guard_conformance::idp::serve_static_idp;
use mfa_guard_conformance::servers::all_from_env;
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT, JWKS_PATH};

async fn get(target: Target, path: &str, tok: Tok) -> (String, Option<String>, Option<String>) {
    let header = format!("Authorization: Bearer {}", tok.mint()).into_bytes();
    let res = request(target.addr, "GET", path, &[header]).await.unwrap();
    (res.status_line.clone(), res.header("www-authenticate").map(str::to_owned), res.code())
}

async fn serves_the_partner_center_behaviour(target: Target) {
    assert_eq!(get(target, "/commerce/customers", Tok::AdminMfa).await.0, "HTTP/1.1 200 OK");
    assert_eq!(
        get(target, "/commerce/customers", Tok::AdminNoMfa).await,
        (
            "HTTP/1.1 401 Unauthorized - MFA required".to_owned(),
            Some(r#"Bearer error="invalid_token""#.to_owned()),
            Some("mfa_required".to_owned())
        )
    );
    assert_eq!(get(target, "/v1/catalog/prices", Tok::App).await.0, "HTTP/1.1 200 OK");
    assert_eq!(
        get(target, "/v1/customers/contoso", Tok::App).await.2.as_deref(),
        Some("app_only_not_allowed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_and_jwks_url_from_the_environment() {
    let idp = serve_static_idp().await;
    let env = [
        ("MFA_ISSUER", ISSUER.to_owned()),
        ("MFA_JWKS_URL", format!("http://{idp}{JWKS_PATH}")),
        ("MFA_AUDIENCE", format!("https://other.example, {DEV_AUDIENCE}")),
    ];
    for target in all_from_env(&env).await.unwrap() {
        serves_the_partner_center_behaviour(target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_from_the_environment_declares_the_issuer() {
    let idp = serve_static_idp().await;
    let env = [
        ("MFA_DISCOVERY_URL", format!("http://{idp}/.well-known/openid-configuration")),
        ("MFA_AUDIENCE", DEV_AUDIENCE.to_owned()),
        ("MFA_TOKEN_CACHE_CAPACITY", "0".to_owned()),
    ];
    for target in all_from_env(&env).await.unwrap() {
        serves_the_partner_center_behaviour(target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_replaces_the_policy_and_settings() {
    let idp = serve_static_idp().await;
    let dir = std::env::temp_dir().join(format!("mfa-guard-env-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        r#"
[challenge]
style = "step-up"
acr_values = "c1"

[[policy.routes]]
path = "/overview"
access = "mfa"
callers = "users"
"#,
    )
    .unwrap();
    let env = [
        ("MFA_ISSUER", ISSUER.to_owned()),
        ("MFA_JWKS_URL", format!("http://{idp}{JWKS_PATH}")),
        ("MFA_AUDIENCE", DEV_AUDIENCE.to_owned()),
        ("MFA_CONFIG", path.display().to_string()),
    ];
    for target in all_from_env(&env).await.unwrap() {
        let (line, www, code) = get(target, "/overview", Tok::AdminNoMfa).await;
        assert_eq!((line.as_str(), code.as_deref()), ("HTTP/1.1 401 Unauthorized", Some("mfa_required")));
        assert!(www.unwrap().contains(r#"acr_values="c1""#));
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_tenants_restricts_the_example_servers() {
    let idp = serve_static_idp().await;
    let other = "11112222-3333-4444-5555-666677778888";
    let env = |tenants: String| {
        [
            ("MFA_ISSUER", ISSUER.to_owned()),
            ("MFA_JWKS_URL", format!("http://{idp}{JWKS_PATH}")),
            ("MFA_AUDIENCE", DEV_AUDIENCE.to_owned()),
            ("MFA_TENANTS", tenants),
        ]
    };
    let elsewhere = env(other.to_owned());
    for target in all_from_env(&elsewhere).await.unwrap() {
        assert_eq!(
            get(target, "/commerce/customers", Tok::AdminMfa).await,
            (
                "HTTP/1.1 401 Unauthorized".to_owned(),
                Some(r#"Bearer error="invalid_token", error_description="the token's tenant is not allowed here""#.to_owned()),
                Some("invalid_token".to_owned())
            )
        );
    }
    let here = env(format!(" {other} , {DEV_TENANT} "));
    for target in all_from_env(&here).await.unwrap() {
        serves_the_partner_center_behaviour(target).await;
    }
}

#[tokio::test]
async fn a_bad_environment_is_one_clear_error() {
    let bad: &[(&[(&str, &str)], &str)] = &[
        (&[("MFA_LISTEN", "localhost")], "MFA_LISTEN"),
        (&[("MFA_TOKEN_CACHE_CAPACITY", "lots")], "MFA_TOKEN_CACHE_CAPACITY"),
        (&[("MFA_JWKS_URL", "https://a/keys"), ("MFA_DISCOVERY_URL", "https://a/d")], "not both"),
        (&[("MFA_JWKS_URL", "https://a/keys"), ("MFA_AUDIENCE", "x")], "MFA_ISSUER"),
        (&[("MFA_ISSUER", "https://a/"), ("MFA_AUDIENCE", "x")], "MFA_JWKS_URL"),
        (&[("MFA_ISSUER", "https://a/"), ("MFA_JWKS_URL", "https://a/keys")], "MFA_AUDIENCE"),
        (
            &[("MFA_ISSUER", "https://a/"), ("MFA_JWKS_URL", "http://a.example/keys"), ("MFA_AUDIENCE", "x")],
            "HTTPS",
        ),
        (&[("MFA_CONFIG", "/nonexistent/policy.toml")], "MFA_CONFIG"),
        (&[("MFA_TENANTS", "common")], "MFA_TENANTS: \"common\" is not a tenant id"),
        (&[("MFA_TENANTS", " , ")], "MFA_TENANTS=\" , \" names no tenant id"),
    ];
    for (env, expected) in bad {
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let err = all_from_env(&env).await.err().unwrap_or_else(|| panic!("{env:?} started"));
        assert!(err.contains(expected), "{env:?}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

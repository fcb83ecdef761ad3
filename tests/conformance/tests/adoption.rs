//! MFA adoption per client application, end to end: the axum example configured
//! only through the environment (`MFA_CONFIG` naming at most two applications and a
//! report-only route, `MFA_METRICS_LISTEN` on an ephemeral port), as `run` starts
//! it, called with tokens of several applications; `/mfa-adoption` and `/metrics`
//! on the metrics listener say the same.
//!
//! One test in this binary: the Prometheus recorder is global to the process.

use mfa_guard_conformance::fixture::{ISSUER, issuer};
use mfa_guard_conformance::http1::request;
use mfa_guard_conformance::idp::serve_static_idp;
use mfa_guard_dev::DEV_AUDIENCE;
use serde_json::{Value, json};

const CONFIG: &str = r#"
adoption_apps = 2

[[policy.routes]]
path = "/commerce/*"
access = "mfa"
mode = "report-only"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_is_counted_per_application_and_mode_and_served_beside_the_metrics() {
    let idp = serve_static_idp().await;
    let dir = std::env::temp_dir().join(format!("mfa-guard-adoption-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("policy.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let env = [
        ("MFA_ISSUER", ISSUER.to_owned()),
        ("MFA_JWKS_URL", format!("http://{idp}/.well-known/jwks.json")),
        ("MFA_AUDIENCE", DEV_AUDIENCE.to_owned()),
        ("MFA_CONFIG", config.display().to_string()),
        ("MFA_METRICS_LISTEN", "127.0.0.1:0".to_owned()),
    ];
    // What the example's `run` does, on ephemeral ports.
    let startup =
        example_shared::Startup::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let metrics = startup.bind_metrics().unwrap().expect("MFA_METRICS_LISTEN is set");
    let metrics_addr = metrics.local_addr();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (guard, _) = startup.guard(addr).unwrap();
    tokio::spawn(metrics.serve(guard.clone()));
    let app = example_axum_server::app(guard, None);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mint = |spec: mfa_guard_dev::TokenSpec<'_>| spec.sign().unwrap();
    let user = |app: &str, mfa: bool| mint(issuer().user().mfa(mfa).claim("appid", json!(app)));
    let a_mfa = user("app-a", true);
    let a_no_mfa = user("app-a", false);
    // A v2 token names its application in azp.
    let b_no_mfa = mint(issuer().user().mfa(false).claim("appid", Value::Null).claim("azp", json!("app-b")));
    let c_mfa = user("app-c", true);
    let daemon = mint(issuer().app().claim("appid", json!("app-daemon")));
    let calls: [(&str, &str, &str); 8] = [
        // First, so that it would take a label if app-only callers took one.
        ("/v1/catalog/prices", &daemon, "HTTP/1.1 200 OK"),
        ("/billing/invoices", &a_mfa, "HTTP/1.1 200 OK"),
        ("/commerce/customers", &a_mfa, "HTTP/1.1 200 OK"),
        ("/commerce/customers", &a_mfa, "HTTP/1.1 200 OK"),
        ("/commerce/customers", &a_no_mfa, "HTTP/1.1 200 OK"),
        ("/billing/invoices", &a_no_mfa, "HTTP/1.1 401 Unauthorized - MFA required"),
        ("/commerce/customers", &b_no_mfa, "HTTP/1.1 200 OK"),
        // A third application: beyond adoption_apps = 2.
        ("/billing/invoices", &c_mfa, "HTTP/1.1 200 OK"),
    ];
    for (path, token, status) in calls {
        let header = format!("Authorization: Bearer {token}").into_bytes();
        let res = request(addr, "GET", path, &[header]).await.unwrap();
        assert_eq!(res.status_line, status, "GET {path}");
    }

    let res = request(metrics_addr, "GET", "/mfa-adoption", &[]).await.unwrap();
    assert_eq!(res.status_line, "HTTP/1.1 200 OK");
    assert_eq!(res.header("content-type"), Some("application/json"));
    let counts = |enforce: [u64; 2], report_only: [u64; 2]| {
        json!({
            "enforce": {"met": enforce[0], "missed": enforce[1]},
            "report-only": {"met": report_only[0], "missed": report_only[1]},
        })
    };
    let entry = |app: &str, enforce, report_only| {
        let mut e = counts(enforce, report_only);
        e["app"] = json!(app);
        e
    };
    assert_eq!(
        res.json(),
        json!({
            "limit": 2,
            "applications": [
                entry("app-a", [1, 1], [2, 1]),
                entry("app-b", [0, 0], [0, 1]),
                entry("browser", [0, 0], [0, 0]),
                entry("unknown", [0, 0], [0, 0]),
                entry("other", [1, 0], [0, 0]),
            ],
        })
    );

    let res = request(metrics_addr, "GET", "/metrics", &[]).await.unwrap();
    assert_eq!(res.status_line, "HTTP/1.1 200 OK");
    let text = String::from_utf8_lossy(&res.body).into_owned();
    for line in [
        r#"mfa_guard_mfa_adoption_total{app="app-a",mode="enforce",mfa="met"} 1"#,
        r#"mfa_guard_mfa_adoption_total{app="app-a",mode="enforce",mfa="missed"} 1"#,
        r#"mfa_guard_mfa_adoption_total{app="app-a",mode="report-only",mfa="met"} 2"#,
        r#"mfa_guard_mfa_adoption_total{app="app-a",mode="report-only",mfa="missed"} 1"#,
        r#"mfa_guard_mfa_adoption_total{app="app-b",mode="report-only",mfa="missed"} 1"#,
        r#"mfa_guard_mfa_adoption_total{app="other",mode="enforce",mfa="met"} 1"#,
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    for absent in ["app-c", "app-daemon"] {
        assert!(!text.contains(absent), "{absent} has a label of its own:\n{text}");
    }
    std::fs::remove_dir_all(dir).ok();
}

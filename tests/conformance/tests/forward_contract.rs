//! Traefik and Envoy, which cannot be installed on the build machines, as models of
//! their documented forward-auth behaviour configured from the shipped recipes
//! (`mfa_guard_conformance::models`), in front of an upstream and asking the real
//! `mfa-guard serve`: every case of the conformance table, the path differential
//! against four upstream readings, client-forged control headers, mfa-guard down.
//! Then the recipes against the engine (every header mfa-guard sends is one the
//! recipe passes on), and Envoy's gRPC `Check` answered directly.

use std::collections::BTreeSet;

use envoy_types::ext_authz::v3::pb::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use mfa_guard_conformance::cases::{Auth, bearer_line, table};
use mfa_guard_conformance::fixture::{COMPLIANCE_HEADER, Style, Tok};
use mfa_guard_conformance::forward::{
    ComplianceTo, Proxy, Serve, StatusLine, differential, forged_control_headers, run_table, serve_guard,
    start_serve, start_upstream,
};
use mfa_guard_conformance::http1::request;
use mfa_guard_conformance::models::{
    EnvoyRecipe, TraefikRecipe, check_request, start_envoy_grpc_model, start_envoy_http_model,
    start_traefik_model,
};
use mfa_guard_serve::IDENTITY_HEADERS;

/// The models, by name.
#[derive(Debug, Clone, Copy)]
enum Model {
    Traefik,
    EnvoyGrpc,
    /// gRPC without `encode_raw_headers`: repeated headers joined with `,`.
    EnvoyGrpcJoined,
    EnvoyHttp,
}

const MODELS: [Model; 4] = [Model::Traefik, Model::EnvoyGrpc, Model::EnvoyGrpcJoined, Model::EnvoyHttp];

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Traefik => "traefik model",
            Model::EnvoyGrpc => "envoy gRPC model",
            Model::EnvoyGrpcJoined => "envoy gRPC model, joined headers",
            Model::EnvoyHttp => "envoy HTTP model",
        }
    }

    /// Where the model delivers the compliance signal.
    fn compliance_to(self) -> ComplianceTo {
        match self {
            Model::Traefik => ComplianceTo::Application,
            _ => ComplianceTo::Client,
        }
    }

    /// The model in front of `upstream`, asking `serve`.
    async fn start(self, serve: Serve, upstream: std::net::SocketAddr) -> Proxy {
        let Serve { http, grpc } = serve;
        let started = match self {
            Model::Traefik => {
                start_traefik_model(http, upstream).await.map(|p| p.expect("a model always runs"))
            }
            Model::EnvoyGrpc => match EnvoyRecipe::shipped("envoy.yaml") {
                Ok(recipe) => {
                    assert!(recipe.encodes_raw_headers(), "the gRPC recipe sets encode_raw_headers");
                    Ok(start_envoy_grpc_model(recipe, grpc, upstream).await)
                }
                Err(e) => Err(e),
            },
            Model::EnvoyGrpcJoined => match EnvoyRecipe::shipped("envoy.yaml") {
                Ok(recipe) => Ok(start_envoy_grpc_model(recipe.with_joined_headers(), grpc, upstream).await),
                Err(e) => Err(e),
            },
            Model::EnvoyHttp => match EnvoyRecipe::shipped("envoy-http.yaml") {
                Ok(recipe) => start_envoy_http_model(recipe, http, upstream).await,
                Err(e) => Err(e),
            },
        };
        started.unwrap_or_else(|e| panic!("{}: {e}", self.name()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_reaches_the_client_as_mfa_guard_answers_it_through_each_model() {
    let upstream = start_upstream().await;
    let mut failures = Vec::new();
    for style in Style::ALL {
        let serve = start_serve(serve_guard(style)).await;
        for model in MODELS {
            let proxy = model.start(serve, upstream).await;
            let found =
                run_table(model.name(), proxy.addr, style, StatusLine::Standard, model.compliance_to()).await;
            if !found.is_empty() {
                failures.push(format!("{}\n{}", found.join("\n"), proxy.log()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_generated_path_reaches_a_protected_handler_under_a_weaker_rule_through_each_model() {
    // Thousands of generated paths through three models: minutes, so the quick tier
    // leaves it out (and under CI that would fail, never pass).
    match mfa_guard_conformance::tools::quick_tier("the model differential of generated paths") {
        Ok(true) => {}
        Ok(false) => return,
        Err(why) => panic!("{why}"),
    }
    let mut failures = Vec::new();
    // Joining repeated headers has nothing to do with paths: one gRPC variant.
    for model in [Model::Traefik, Model::EnvoyGrpc, Model::EnvoyHttp] {
        match differential(model.name(), |serve, upstream| async move {
            Ok(Some(model.start(serve, upstream).await))
        })
        .await
        {
            Ok(Some(summary)) => eprintln!("{summary}"),
            Ok(None) => failures.push(format!("{}: did not run", model.name())),
            Err(found) => failures.push(found),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_name_the_original_request_through_any_model() {
    let upstream = start_upstream().await;
    let serve = start_serve(serve_guard(Style::PartnerCenter)).await;
    let mut failures = Vec::new();
    for model in MODELS {
        let proxy = model.start(serve, upstream).await;
        failures.extend(forged_control_headers(model.name(), proxy.addr).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mfa_guard_unreachable_no_model_lets_anything_through() {
    let upstream = start_upstream().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down = Serve { http: closed, grpc: closed };
    let mfa = format!("Authorization: Bearer {}", Tok::AdminMfa.mint()).into_bytes();
    for model in MODELS {
        let proxy = model.start(down, upstream).await;
        for path in ["/health", "/overview", "/commerce/customers"] {
            let res = request(proxy.addr, "GET", path, std::slice::from_ref(&mfa)).await.expect("an answer");
            assert!(
                res.status >= 500,
                "{}: {path} answered {} with mfa-guard down",
                model.name(),
                res.status_line
            );
            assert!(
                !String::from_utf8_lossy(&res.body).contains("\"area\""),
                "{}: {path} reached the upstream",
                model.name()
            );
        }
    }
}

/// Every header name mfa-guard's refusals carry, over the whole table.
async fn refusal_headers() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for style in Style::ALL {
        let serve = start_serve(serve_guard(style)).await;
        for case in table().into_iter().filter(|c| c.style == style) {
            let mut lines = match &case.auth {
                Auth::None => Vec::new(),
                Auth::Bearer(tok) => vec![bearer_line(*tok)],
                Auth::Raw(lines) => lines.clone(),
            };
            lines.push(format!("X-Forwarded-Method: {}", case.method).into_bytes());
            lines.push(format!("X-Forwarded-Uri: {}", case.target).into_bytes());
            let res = request(serve.http, "GET", "/auth", &lines).await.expect("an answer");
            if res.status != 200 {
                names.extend(res.headers.iter().map(|(n, _)| n.to_ascii_lowercase()));
            }
        }
    }
    for transport in ["content-length", "date", "connection"] {
        names.remove(transport);
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipe_passes_on_every_header_mfa_guard_sends() {
    let mut failures = Vec::new();
    let refusal = refusal_headers().await;
    for expected in ["www-authenticate", "content-type", "retry-after"] {
        assert!(refusal.contains(expected), "the table produces a refusal with {expected}: {refusal:?}");
    }
    let sent_on_admission: Vec<&str> = IDENTITY_HEADERS.iter().copied().chain([COMPLIANCE_HEADER]).collect();

    // Traefik: copies each identity header and the compliance header, strips the
    // client's copies first; refusals are passed on whole.
    let traefik = TraefikRecipe::shipped().unwrap();
    for h in &sent_on_admission {
        if !traefik.auth_response_headers().iter().any(|a| a.eq_ignore_ascii_case(h)) {
            failures.push(format!("traefik: authResponseHeaders lacks {h}"));
        }
        if !traefik.stripped().iter().any(|a| a.eq_ignore_ascii_case(h)) {
            failures.push(format!("traefik: the strip middleware lacks {h}"));
        }
    }

    // Envoy HTTP: identity to the upstream, compliance to the client, and every
    // refusal header to the client.
    let envoy = EnvoyRecipe::shipped("envoy-http.yaml").unwrap();
    for h in IDENTITY_HEADERS {
        if !envoy.to_upstream(h) {
            failures.push(format!("envoy-http: allowed_upstream_headers lacks {h}"));
        }
    }
    if !envoy.to_client_on_success(COMPLIANCE_HEADER) {
        failures.push(format!("envoy-http: allowed_client_headers_on_success lacks {COMPLIANCE_HEADER}"));
    }
    for h in &refusal {
        if !envoy.to_client_on_refusal(h) {
            failures.push(format!("envoy-http: allowed_client_headers lacks {h}, which refusals carry"));
        }
    }

    // nginx and Caddy run for real in their own suites; here, that their recipes
    // name every header (a header added to mfa-guard must be added to them).
    let read =
        |p: &str| std::fs::read_to_string(mfa_guard_conformance::forward::deploy_dir().join(p)).unwrap();
    let nginx = read("nginx/mfa-guard-protect.conf").to_ascii_lowercase();
    let caddy = read("caddy/Caddyfile").to_ascii_lowercase();
    let ingress = read("nginx/ingress-nginx.yaml").to_ascii_lowercase();
    for h in &sent_on_admission {
        let var = format!("$upstream_http_{}", h.replace('-', "_"));
        if !nginx.contains(&var) {
            failures.push(format!("nginx: mfa-guard-protect.conf does not read {var}"));
        }
        if !caddy.contains(&format!("-{h}\n")) || !caddy.contains(&format!(" {h}")) {
            failures.push(format!("caddy: the Caddyfile does not strip and copy {h}"));
        }
        if !ingress.contains(h) {
            failures.push(format!("ingress-nginx: auth-response-headers lacks {h}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_grpc_check_answers_with_the_matching_grpc_status_and_the_refusal() {
    let serve = start_serve(serve_guard(Style::PartnerCenter)).await;
    let mut client = AuthorizationClient::connect(format!("http://{}", serve.grpc)).await.unwrap();
    let no_mfa = format!("Bearer {}", Tok::AdminNoMfa.mint());
    let sales = format!("Bearer {}", Tok::SalesMfa.mint());
    let admin = format!("Bearer {}", Tok::AdminMfa.mint());
    let down = format!("Bearer {}", Tok::DownIssuer.mint());
    // (path, Authorization, gRPC status, HTTP status, code)
    let cases = [
        ("/commerce/customers", None, 16, 401, "missing_token"),
        ("/commerce/customers", Some(&no_mfa), 16, 401, "mfa_required"),
        ("/billing/invoices", Some(&sales), 7, 403, "insufficient_role"),
        ("/commerce/%2e%2e/billing", Some(&admin), 3, 400, "invalid_request"),
        ("/commerce/customers", Some(&down), 14, 503, "key_source_unavailable"),
    ];
    for raw in [true, false] {
        for (path, authorization, grpc, status, code) in &cases {
            let headers: Vec<(&str, &str)> =
                authorization.iter().map(|a| ("authorization", a.as_str())).collect();
            let answer = client.check(check_request("GET", path, &headers, raw)).await.unwrap().into_inner();
            let s = answer.status.clone().unwrap_or_default();
            assert_eq!(s.code, *grpc, "{path} {code}: {s:?}");
            let Some(HttpResponse::DeniedResponse(denied)) = answer.http_response else {
                panic!("{path}: a refusal without a denied response: {answer:?}")
            };
            assert_eq!(denied.status.map(|s| s.code), Some(*status), "{path}");
            let named = |name: &str| -> Vec<String> {
                denied
                    .headers
                    .iter()
                    .filter_map(|h| h.header.as_ref())
                    .filter(|h| h.key.eq_ignore_ascii_case(name))
                    .map(|h| h.value.clone())
                    .collect()
            };
            let www = named("www-authenticate");
            if *status == 503 {
                assert!(www.is_empty(), "{path}: no challenge when keys are unavailable: {www:?}");
                assert_eq!(named("retry-after").len(), 1, "{path}: Retry-After");
            } else {
                assert_eq!(www.len(), 1, "{path}: one WWW-Authenticate: {www:?}");
            }
            let body: serde_json::Value = serde_json::from_str(&denied.body).unwrap();
            assert_eq!(body["code"], *code, "{path}");
            if *code == "mfa_required" {
                assert!(www[0].contains("invalid_token"), "{}", www[0]);
            }
        }
    }

    // Admitted: the identity set (overwriting), the identity mfa-guard did not set
    // removed, whatever the client sent.
    let forged = [("x-mfa-guard-roles", "GlobalAdmin"), ("x-mfa-guard-kind", "user")];
    let app = format!("Bearer {}", Tok::App.mint());
    let mut headers = vec![("authorization", app.as_str())];
    headers.extend(forged);
    let answer =
        client.check(check_request("GET", "/v1/catalog", &headers, true)).await.unwrap().into_inner();
    assert_eq!(answer.status.unwrap_or_default().code, 0);
    let Some(HttpResponse::OkResponse(ok)) = answer.http_response else {
        panic!("an admission without ok_response")
    };
    let set: Vec<(String, String)> = ok
        .headers
        .iter()
        .filter_map(|o| o.header.as_ref())
        .map(|h| (h.key.clone(), h.value.clone()))
        .collect();
    assert!(set.contains(&("x-mfa-guard-kind".into(), "app".into())), "{set:?}");
    assert!(ok.headers_to_remove.contains(&"x-mfa-guard-roles".to_owned()), "{:?}", ok.headers_to_remove);
    assert!(ok.headers.iter().all(|o| o.append_action == 2), "every identity header overwrites");

    // Two Authorization headers, as Envoy joins them without encode_raw_headers,
    // are the same refusal as unproxied: 400, never the first one's answer.
    let two = [("authorization", admin.as_str()), ("authorization", no_mfa.as_str())];
    for raw in [true, false] {
        let answer =
            client.check(check_request("GET", "/commerce/customers", &two, raw)).await.unwrap().into_inner();
        let Some(HttpResponse::DeniedResponse(denied)) = answer.http_response else {
            panic!("two Authorization headers (raw: {raw}) admitted")
        };
        assert_eq!(denied.status.map(|s| s.code), Some(400), "raw: {raw}");
    }

    // No HTTP attributes: a gRPC error naming what is missing.
    let empty = client.check(envoy_types::ext_authz::v3::pb::CheckRequest::default()).await.unwrap_err();
    assert_eq!(empty.code(), tonic::Code::InvalidArgument);
    assert!(empty.message().contains("HTTP request attributes"), "{}", empty.message());
}

#[test]
fn every_yaml_recipe_is_valid_yaml() {
    let mut checked = Vec::new();
    let mut dirs = vec![mfa_guard_conformance::forward::deploy_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let docs = yaml_rust2::YamlLoader::load_from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(!docs.is_empty(), "{} holds no document", path.display());
                checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "envoy-http.yaml",
            "envoy.yaml",
            "gateway-security-policy.yaml",
            "ingress-nginx.yaml",
            "mfa-guard.yaml",
            "mfa-guard.yaml"
        ],
    );
}

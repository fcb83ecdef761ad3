//! People at the gate behind Envoy (issue 23): both Envoy recipes
//! (`deploy/envoy/`) pass browser sign-in what it reads and deliver its answers.
//! No Envoy binary can be installed on the build machines, so, as
//! `forward_contract.rs` does, the models of Envoy's documented `ext_authz`
//! behaviour (`mfa_guard_conformance::models`), configured from the recipe files,
//! stand in front of the real `serve` endpoints; the routes, which the models do
//! not read, are checked in the files themselves.
//!
//! Run: `cargo test -p mfa-guard-conformance --test gate_envoy`.

use mfa_guard_conformance::forward::{Proxy, deploy_dir, start_upstream};
use mfa_guard_conformance::gate::{gate_guard, start_provider};
use mfa_guard_conformance::http1::{RawResponse, request};
use mfa_guard_conformance::models::{EnvoyRecipe, start_envoy_grpc_model, start_envoy_http_model};
use mfa_guard_core::Claims;
use mfa_guard_serve::{AuthServer, BrowserPrefix};
use yaml_rust2::{Yaml, YamlLoader};

/// serve's HTTP listener in both recipes (`MFA_LISTEN=0.0.0.0:9000`).
const SERVE_HTTP_PORT: i64 = 9000;

/// Which Envoy recipe stands in front.
#[derive(Debug, Clone, Copy)]
enum Variant {
    Http,
    Grpc,
}

/// The model of `variant` in front of the differential's upstream, serve behind
/// it in browser mode, and a session cookie without MFA for an Admin agent.
async fn gate(variant: Variant) -> (Proxy, String, String) {
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (http_addr, grpc_addr) = (http.local_addr().expect("addr"), grpc.local_addr().expect("addr"));
    let upstream = start_upstream().await;
    let proxy = match variant {
        Variant::Http => {
            let recipe = EnvoyRecipe::shipped("envoy-http.yaml").expect("the HTTP recipe");
            start_envoy_http_model(recipe, http_addr, upstream).await.expect("the HTTP model")
        }
        Variant::Grpc => {
            let recipe = EnvoyRecipe::shipped("envoy.yaml").expect("the gRPC recipe");
            start_envoy_grpc_model(recipe, grpc_addr, upstream).await
        }
    };
    let (issuer, provider) = start_provider(proxy.addr).await;
    let guard = gate_guard(&issuer, &provider, proxy.addr);
    let claims = Claims::from_json(issuer.user().mfa(false).claims().to_string().as_bytes()).expect("claims");
    let cookie = mfa_guard_core::dev::session_cookie(&guard, &claims).expect("a session cookie");
    let server = AuthServer::new(guard);
    let service = server.grpc();
    tokio::spawn(async move { server.serve_http(http, std::future::pending()).await });
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(mfa_guard_serve::nodelay(grpc))
            .await
    });
    (proxy, provider, cookie)
}

/// A browser's address-bar navigation to `path` with `cookie`.
async fn navigate(proxy: &Proxy, path: &str, cookie: &str) -> RawResponse {
    let headers = [
        format!("Cookie: {cookie}").into_bytes(),
        b"Sec-Fetch-Mode: navigate".to_vec(),
        b"Sec-Fetch-Site: none".to_vec(),
        b"Sec-Fetch-Dest: document".to_vec(),
        b"Accept: text/html,application/xhtml+xml,*/*;q=0.8".to_vec(),
    ];
    request(proxy.addr, "GET", path, &headers).await.expect("an answer")
}

async fn a_session_without_mfa_is_stepped_up_and_admitted_where_no_mfa_is_needed(variant: Variant) {
    let (proxy, provider, cookie) = gate(variant).await;

    let mfa_page = navigate(&proxy, "/commerce/customers", &cookie).await;
    let location = mfa_page.header("location").unwrap_or_default();
    assert_eq!(
        mfa_page.status,
        302,
        "{variant:?}: the MFA page is the step-up: {} {:?} {}\n{}",
        mfa_page.status_line,
        mfa_page.headers,
        String::from_utf8_lossy(&mfa_page.body),
        proxy.log()
    );
    assert!(
        location.starts_with(&format!("{provider}/")) && location.contains("prompt=login"),
        "{variant:?}: the step-up goes to the provider: {location:?}"
    );
    assert!(
        mfa_page.all("set-cookie").iter().any(|c| c.contains("HttpOnly")),
        "{variant:?}: the sign-in's state cookie reaches the browser: {mfa_page:?}"
    );

    let overview = navigate(&proxy, "/overview", &cookie).await;
    assert_eq!(overview.status, 200, "{variant:?}: the session reaches the overview: {overview:?}");
    let seen = overview.json();
    assert_eq!(
        (&seen["area"], &seen["identity"]["x-mfa-guard-mfa"]),
        (&serde_json::json!("overview"), &serde_json::json!("false")),
        "{variant:?}: the application sees the session's user, without MFA: {seen}"
    );
}

#[tokio::test]
async fn a_browser_behind_envoy_http_is_stepped_up_with_its_session() {
    a_session_without_mfa_is_stepped_up_and_admitted_where_no_mfa_is_needed(Variant::Http).await;
}

#[tokio::test]
async fn a_browser_behind_envoy_grpc_is_stepped_up_with_its_session() {
    a_session_without_mfa_is_stepped_up_and_admitted_where_no_mfa_is_needed(Variant::Grpc).await;
}

#[test]
fn envoy_http_passes_a_session_refresh_to_the_browser() {
    let recipe = EnvoyRecipe::shipped("envoy-http.yaml").expect("the HTTP recipe");
    for name in ["set-cookie", "cache-control"] {
        assert!(recipe.to_client_on_success(name), "allowed_client_headers_on_success lacks {name}");
        assert!(recipe.to_client_on_refusal(name), "allowed_client_headers lacks {name}");
    }
    assert!(recipe.to_client_on_refusal("location"), "allowed_client_headers lacks location");
}

fn load(file: &str) -> Yaml {
    let path = deploy_dir().join("envoy").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    YamlLoader::load_from_str(&text).expect("YAML").swap_remove(0)
}

#[test]
fn both_envoy_recipes_send_the_browser_prefix_to_serve_without_asking_ext_authz() {
    let prefix = BrowserPrefix::default();
    for file in ["envoy-http.yaml", "envoy.yaml"] {
        let doc = load(file);
        let manager =
            &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
        let routes = manager["route_config"]["virtual_hosts"][0]["routes"].as_vec().expect("routes");
        let index = |p: &str| routes.iter().position(|r| r["match"]["prefix"].as_str() == Some(p));
        let (Some(pages), Some(app)) = (index(prefix.as_str()), index("/")) else {
            panic!("{file}: no route for {} beside /", prefix.as_str());
        };
        assert!(pages < app, "{file}: the {} route comes after /, which would take it", prefix.as_str());
        let route = &routes[pages];
        assert_eq!(
            route["typed_per_filter_config"]["envoy.filters.http.ext_authz"]["disabled"].as_bool(),
            Some(true),
            "{file}: ext_authz would ask serve about its own pages"
        );
        let cluster = route["route"]["cluster"].as_str().expect("a cluster");
        let clusters = doc["static_resources"]["clusters"].as_vec().expect("clusters");
        let target = clusters.iter().find(|c| c["name"].as_str() == Some(cluster)).expect("the cluster");
        let port = target["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
            ["socket_address"]["port_value"]
            .as_i64();
        assert_eq!(port, Some(SERVE_HTTP_PORT), "{file}: {cluster} is not serve's HTTP listener");
        assert!(
            target["typed_extension_protocol_options"].is_badvalue(),
            "{file}: {cluster} speaks HTTP/1.1, as serve's HTTP listener does"
        );
    }
}

#[test]
fn envoy_http_asks_serve_with_what_browser_sign_in_reads() {
    let doc = load("envoy-http.yaml");
    let ext = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
        [0]["typed_config"];
    let patterns = ext["http_service"]["authorization_request"]["allowed_headers"]["patterns"]
        .as_vec()
        .expect("allowed_headers");
    let allowed = |name: &str| {
        patterns.iter().any(|p| {
            p["exact"].as_str() == Some(name) || p["prefix"].as_str().is_some_and(|s| name.starts_with(s))
        })
    };
    for name in BROWSER_HEADERS {
        assert!(allowed(name), "envoy-http.yaml: allowed_headers lacks {name}");
    }
}

/// What browser sign-in reads of a request: the session cookie, what
/// `RequestInfo::is_navigation` reads and browser mode's origin check.
const BROWSER_HEADERS: [&str; 6] =
    ["cookie", "accept", "origin", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest"];

/// Every document of `deploy/<file>`.
fn load_all(file: &str) -> Vec<Yaml> {
    let path = deploy_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    YamlLoader::load_from_str(&text).expect("YAML")
}

fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter().filter(|d| d["kind"].as_str() == Some(kind)).collect()
}

#[test]
fn envoy_gateway_asks_serve_with_what_browser_sign_in_reads() {
    // Envoy Gateway sends the gRPC check only the headers headersToExtAuth names:
    // the same as the HTTP recipe's allowed_headers, or a person gets the API's 401.
    let docs = load_all("envoy/gateway-security-policy.yaml");
    let policies = of_kind(&docs, "SecurityPolicy");
    assert_eq!(policies.len(), 1, "one SecurityPolicy");
    let ext = &policies[0]["spec"]["extAuth"];
    let named: Vec<&str> =
        ext["headersToExtAuth"].as_vec().expect("headersToExtAuth").iter().filter_map(Yaml::as_str).collect();
    for name in ["authorization", "content-type"].iter().chain(&BROWSER_HEADERS) {
        assert!(named.contains(name), "gateway-security-policy.yaml: headersToExtAuth lacks {name}");
    }
    assert_eq!(ext["failOpen"].as_bool(), Some(false), "a gate that cannot ask lets nobody through");
}

#[test]
fn envoy_gateway_sends_the_browser_prefix_to_serve_without_asking_ext_authz() {
    let prefix = BrowserPrefix::default();
    let docs = load_all("envoy/gateway-security-policy.yaml");
    let policy = of_kind(&docs, "SecurityPolicy")[0];
    let targeted: Vec<&str> = policy["spec"]["targetRefs"]
        .as_vec()
        .expect("targetRefs")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let routes = of_kind(&docs, "HTTPRoute");
    let pages = routes
        .iter()
        .find(|r| {
            r["spec"]["rules"].as_vec().into_iter().flatten().any(|rule| {
                rule["matches"].as_vec().into_iter().flatten().any(|m| {
                    m["path"]["type"].as_str() == Some("PathPrefix")
                        && m["path"]["value"].as_str() == Some(prefix.as_str())
                })
            })
        })
        .unwrap_or_else(|| panic!("gateway-security-policy.yaml: no HTTPRoute for {}", prefix.as_str()));
    let name = pages["metadata"]["name"].as_str().expect("the route's name");
    assert!(!targeted.contains(&name), "the SecurityPolicy would ask ext_authz about serve's own pages");
    assert!(!pages["spec"]["hostnames"].is_badvalue(), "hostnames rank before paths: the route names them");
    let rule = &pages["spec"]["rules"][0];
    assert_eq!(
        (rule["backendRefs"][0]["name"].as_str(), rule["backendRefs"][0]["port"].as_i64()),
        (Some("mfa-guard"), Some(SERVE_HTTP_PORT)),
        "the prefix goes to serve's HTTP listener"
    );
    // That port is the Service's HTTP one (the gRPC check is on another).
    let service = load_all("kubernetes/mfa-guard.yaml")
        .into_iter()
        .find(|d| d["kind"].as_str() == Some("Service"))
        .expect("the Service");
    let http = service["spec"]["ports"]
        .as_vec()
        .expect("ports")
        .iter()
        .find(|p| p["port"].as_i64() == Some(SERVE_HTTP_PORT))
        .expect("the Service's port 9000");
    assert_eq!(http["name"].as_str(), Some("http"));
    assert!(http["appProtocol"].is_badvalue(), "serve's HTTP listener speaks HTTP/1.1");
    assert_eq!(
        policy["spec"]["extAuth"]["grpc"]["backendRefs"][0]["port"].as_i64(),
        service["spec"]["ports"]
            .as_vec()
            .expect("ports")
            .iter()
            .find(|p| p["name"].as_str() == Some("grpc"))
            .and_then(|p| p["port"].as_i64()),
        "the SecurityPolicy asks serve's gRPC listener"
    );
}

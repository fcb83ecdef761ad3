//! Proxies that cannot be installed on the build machines — Traefik and Envoy —
//! as models of their documented forward-auth behaviour, configured from the
//! recipes in `deploy/` (the files themselves, read as YAML), in front of an
//! upstream and asking the real `mfa-guard serve` endpoints.
//!
//! A model does what the proxy's documentation says it does with the auth
//! server's answer, and nothing more: it is a contract test, not Traefik or Envoy.
//! Where a proxy is documented to do something that would only make the outcome
//! safer, the model leaves it out, so the recipe and mfa-guard are tested on their
//! own: the Traefik model copies `authResponseHeaders` over the request without
//! deleting first (the recipe's strip middleware must do that), and the Envoy
//! models do not normalise paths (the strict path rules must hold without it).
//!
//! | model | recipe | asks | allowed | refused | mfa-guard down |
//! |---|---|---|---|---|---|
//! | Traefik `forwardAuth` | `deploy/traefik/mfa-guard.yaml` | `GET /auth`, every client header, `X-Forwarded-Method`/`-Uri` replaced | `authResponseHeaders` copied onto the request | the auth answer (status, headers, body) to the client | `500` |
//! | Envoy `ext_authz` gRPC | `deploy/envoy/envoy.yaml` | `Check` with the method, path and headers (`header_map` with `encode_raw_headers`, else the joined `headers` map) | `ok_response` headers set, `headers_to_remove` removed, `response_headers_to_add` to the client | `denied_response` to the client | `status_on_error` |
//! | Envoy `ext_authz` HTTP | `deploy/envoy/envoy-http.yaml` | the same method on `path_prefix` + path, with `allowed_headers` | `allowed_upstream_headers` set, `x-envoy-auth-headers-to-remove` removed, `allowed_client_headers_on_success` to the client | status, body and `allowed_client_headers` | `status_on_error` |
//!
//! Before either Envoy model asks, it applies the connection manager's
//! `common_http_protocol_options.headers_with_underscores_action` from the recipe,
//! as Envoy's codec does: `REJECT_REQUEST` answers `400` to a request carrying a
//! header name with `_`, `DROP_HEADER` drops those headers, `ALLOW` (Envoy's
//! default) lets them through.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HttpResponse};
use envoy_types::pb::envoy::config::core::v3::{HeaderMap as EnvoyHeaderMap, HeaderValue as EnvoyHeader};
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request as AttrRequest};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use yaml_rust2::{Yaml, YamlLoader};

use crate::forward::{Proxy, deploy_dir};
use crate::http1::{RawResponse, request};

/// Headers that belong to one connection and never cross a proxy.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// The client's request as a proxy holds it: method, target as sent (path and
/// query, undecoded), headers in order with lowercase names.
#[derive(Debug, Clone)]
struct Held {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Held {
    fn from(req: &Request) -> Self {
        let target =
            req.uri().path_and_query().map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
        let headers = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        Self { method: req.method().as_str().to_owned(), target, headers }
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.headers.push((name.to_ascii_lowercase(), value.to_owned()));
    }

    fn get_all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sends this request to `addr` (as `target`), end-to-end headers only.
    async fn send(&self, addr: SocketAddr, method: &str, target: &str) -> std::io::Result<RawResponse> {
        let lines: Vec<Vec<u8>> = self
            .headers
            .iter()
            .filter(|(n, _)| n != "host" && !HOP_BY_HOP.contains(&n.as_str()))
            .map(|(n, v)| format!("{n}: {v}").into_bytes())
            .collect();
        request(addr, method, target, &lines).await
    }
}

/// A response to the client: status, end-to-end headers, body.
fn respond(status: u16, headers: &[(String, String)], body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (n, v) in headers {
        if HOP_BY_HOP.contains(&n.to_ascii_lowercase().as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(n.as_bytes()), HeaderValue::from_str(v)) {
            response.headers_mut().append(n, v);
        }
    }
    response
}

/// The upstream's answer, passed on; a failure to reach it is the proxy's 502.
async fn forward(held: &Held, upstream: SocketAddr, extra: &[(String, String)]) -> Response {
    match held.send(upstream, &held.method, &held.target).await {
        Ok(res) => {
            let mut headers = res.headers.clone();
            headers.extend(extra.iter().cloned());
            respond(res.status, &headers, res.body)
        }
        Err(e) => respond(502, &[], format!("upstream: {e}").into_bytes()),
    }
}

/// Serves `handle` on an ephemeral loopback port, as a [`Proxy`].
async fn start_model<F, Fut>(name: &'static str, handle: F) -> Proxy
where
    F: Fn(Held, Arc<Mutex<String>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response> + Send + 'static,
{
    let log = Arc::new(Mutex::new(String::new()));
    let app = {
        let log = Arc::clone(&log);
        axum::Router::new().fallback(move |req: Request| {
            let handle = handle.clone();
            let log = Arc::clone(&log);
            async move {
                let held = Held::from(&req);
                // The model reads no request body: forward-auth never sends one.
                let _ = to_bytes(req.into_body(), 64 * 1024).await;
                handle(held, log).await
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Proxy::model(name, addr, task.abort_handle(), log)
}

fn note(log: &Mutex<String>, line: String) {
    if let Ok(mut log) = log.lock() {
        log.push_str(&line);
        log.push('\n');
    }
}

// ---------------------------------------------------------------------------
// The recipes, read.

fn load(relative: &str) -> Result<Yaml, String> {
    let path = deploy_dir().join(relative);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut docs = YamlLoader::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if docs.is_empty() {
        return Err(format!("{} holds no YAML document", path.display()));
    }
    Ok(docs.swap_remove(0))
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec().map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// Traefik's settings, from `deploy/traefik/mfa-guard.yaml`: the router's
/// middlewares in order, each a header strip or the forwardAuth.
#[derive(Debug, Clone)]
pub struct TraefikRecipe {
    steps: Vec<TraefikStep>,
}

#[derive(Debug, Clone)]
enum TraefikStep {
    /// `headers.customRequestHeaders` with empty values: removed.
    Strip(Vec<String>),
    ForwardAuth {
        path: String,
        auth_response_headers: Vec<String>,
        trust_forward_header: bool,
    },
}

impl TraefikRecipe {
    /// Reads the shipped recipe.
    pub fn shipped() -> Result<Self, String> {
        let doc = load("traefik/mfa-guard.yaml")?;
        let http = &doc["http"];
        let routers = http["routers"].as_hash().ok_or("traefik: no http.routers")?;
        let (_, router) = routers.iter().next().ok_or("traefik: no router")?;
        let mut steps = Vec::new();
        for name in strings(&router["middlewares"]) {
            let m = &http["middlewares"][name.as_str()];
            if let Some(fa) = m["forwardAuth"].as_hash().map(|_| &m["forwardAuth"]) {
                let address = fa["address"].as_str().ok_or("traefik: forwardAuth without an address")?;
                let path = address
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                    .unwrap_or_else(|| "/".into());
                steps.push(TraefikStep::ForwardAuth {
                    path,
                    auth_response_headers: strings(&fa["authResponseHeaders"]),
                    trust_forward_header: fa["trustForwardHeader"].as_bool().unwrap_or(false),
                });
            } else if let Some(custom) = m["headers"]["customRequestHeaders"].as_hash() {
                let removed = custom
                    .iter()
                    .filter(|(_, v)| v.as_str() == Some(""))
                    .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                    .collect();
                steps.push(TraefikStep::Strip(removed));
            } else {
                return Err(format!("traefik: middleware {name} is neither forwardAuth nor headers"));
            }
        }
        if !steps.iter().any(|s| matches!(s, TraefikStep::ForwardAuth { .. })) {
            return Err("traefik: the router runs no forwardAuth".into());
        }
        Ok(Self { steps })
    }

    /// Every header the recipe copies from mfa-guard's answer onto the request.
    pub fn auth_response_headers(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| match s {
                TraefikStep::ForwardAuth { auth_response_headers, .. } => auth_response_headers.clone(),
                TraefikStep::Strip(_) => Vec::new(),
            })
            .collect()
    }

    /// Every request header the recipe removes before asking.
    pub fn stripped(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| match s {
                TraefikStep::Strip(h) => h.clone(),
                TraefikStep::ForwardAuth { .. } => Vec::new(),
            })
            .collect()
    }
}

/// Traefik (`forwardAuth`, as its documentation and source describe it) in front
/// of `upstream`, asking `serve`, configured by the shipped recipe.
pub async fn start_traefik_model(serve: SocketAddr, upstream: SocketAddr) -> Result<Option<Proxy>, String> {
    let recipe = TraefikRecipe::shipped()?;
    Ok(Some(
        start_model("traefik model", move |mut held: Held, log| {
            let recipe = recipe.clone();
            async move {
                for step in &recipe.steps {
                    match step {
                        TraefikStep::Strip(names) => names.iter().for_each(|n| held.remove(n)),
                        TraefikStep::ForwardAuth { path, auth_response_headers, trust_forward_header } => {
                            let mut ask = held.clone();
                            if !trust_forward_header {
                                ask.headers.retain(|(n, _)| !n.starts_with("x-forwarded-"));
                            }
                            ask.set("x-forwarded-method", &held.method);
                            ask.set("x-forwarded-proto", "http");
                            ask.set("x-forwarded-host", "partner.example");
                            ask.set("x-forwarded-uri", &held.target);
                            ask.set("x-forwarded-for", "127.0.0.1");
                            let answer = match ask.send(serve, "GET", path).await {
                                Ok(answer) => answer,
                                Err(e) => {
                                    note(&log, format!("forwardAuth: {e}"));
                                    return respond(500, &[], b"Internal Server Error".to_vec());
                                }
                            };
                            if !(200..300).contains(&answer.status) {
                                return respond(answer.status, &answer.headers, answer.body);
                            }
                            for name in auth_response_headers {
                                let values: Vec<String> =
                                    answer.all(name).into_iter().map(str::to_owned).collect();
                                if !values.is_empty() {
                                    held.remove(name);
                                    for v in values {
                                        held.headers.push((name.to_ascii_lowercase(), v));
                                    }
                                }
                            }
                        }
                    }
                }
                forward(&held, upstream, &[]).await
            }
        })
        .await,
    ))
}

/// A string matcher of an Envoy recipe.
#[derive(Debug, Clone)]
enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
}

impl Matcher {
    fn read(y: &Yaml) -> Result<Self, String> {
        let get = |k: &str| y[k].as_str().map(str::to_ascii_lowercase);
        get("exact")
            .map(Matcher::Exact)
            .or_else(|| get("prefix").map(Matcher::Prefix))
            .or_else(|| get("suffix").map(Matcher::Suffix))
            .or_else(|| get("contains").map(Matcher::Contains))
            .ok_or_else(|| format!("envoy: unsupported string matcher {y:?}"))
    }

    fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        match self {
            Matcher::Exact(s) => name == *s,
            Matcher::Prefix(s) => name.starts_with(s.as_str()),
            Matcher::Suffix(s) => name.ends_with(s.as_str()),
            Matcher::Contains(s) => name.contains(s.as_str()),
        }
    }
}

fn matchers(y: &Yaml) -> Result<Option<Vec<Matcher>>, String> {
    match y["patterns"].as_vec() {
        Some(v) => v.iter().map(Matcher::read).collect::<Result<Vec<_>, _>>().map(Some),
        None => Ok(None),
    }
}

fn any_match(list: &[Matcher], name: &str) -> bool {
    list.iter().any(|m| m.matches(name))
}

/// The `ext_authz` filter's settings, from an Envoy recipe.
#[derive(Debug, Clone)]
pub struct EnvoyRecipe {
    underscores: Underscores,
    failure_mode_allow: bool,
    status_on_error: u16,
    encode_raw_headers: bool,
    http: Option<EnvoyHttp>,
}

/// `headers_with_underscores_action` of Envoy's HTTP connection manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Underscores {
    /// `ALLOW` (the default): headers with `_` in their name pass.
    Allow,
    /// `REJECT_REQUEST`: such a request is answered `400`.
    RejectRequest,
    /// `DROP_HEADER`: such headers are dropped.
    DropHeader,
}

#[derive(Debug, Clone)]
struct EnvoyHttp {
    path_prefix: String,
    allowed_headers: Vec<Matcher>,
    allowed_upstream_headers: Vec<Matcher>,
    allowed_client_headers: Option<Vec<Matcher>>,
    allowed_client_headers_on_success: Vec<Matcher>,
}

impl EnvoyRecipe {
    /// Reads `deploy/envoy/<file>`.
    pub fn shipped(file: &str) -> Result<Self, String> {
        let doc = load(&format!("envoy/{file}"))?;
        let manager =
            &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
        let underscores = match manager["common_http_protocol_options"]["headers_with_underscores_action"]
            .as_str()
        {
            None | Some("ALLOW") => Underscores::Allow,
            Some("REJECT_REQUEST") => Underscores::RejectRequest,
            Some("DROP_HEADER") => Underscores::DropHeader,
            Some(other) => {
                return Err(format!("envoy/{file}: headers_with_underscores_action {other} not modelled"));
            }
        };
        let filters = &manager["http_filters"];
        let ext = filters
            .as_vec()
            .and_then(|v| v.iter().find(|f| f["name"].as_str() == Some("envoy.filters.http.ext_authz")))
            .ok_or_else(|| format!("envoy/{file}: no ext_authz filter"))?;
        let c = &ext["typed_config"];
        let status_on_error = match c["status_on_error"]["code"].as_str() {
            None => 403,
            Some("ServiceUnavailable") => 503,
            Some("Forbidden") => 403,
            Some("InternalServerError") => 500,
            Some(other) => return Err(format!("envoy/{file}: status_on_error {other} not modelled")),
        };
        let http = if c["http_service"].is_badvalue() {
            None
        } else {
            let h = &c["http_service"];
            Some(EnvoyHttp {
                path_prefix: h["path_prefix"].as_str().unwrap_or("").to_owned(),
                allowed_headers: matchers(&h["authorization_request"]["allowed_headers"])?
                    .unwrap_or_default(),
                allowed_upstream_headers: matchers(&h["authorization_response"]["allowed_upstream_headers"])?
                    .unwrap_or_default(),
                allowed_client_headers: matchers(&h["authorization_response"]["allowed_client_headers"])?,
                allowed_client_headers_on_success: matchers(
                    &h["authorization_response"]["allowed_client_headers_on_success"],
                )?
                .unwrap_or_default(),
            })
        };
        if http.is_none() && c["grpc_service"].is_badvalue() {
            return Err(format!("envoy/{file}: ext_authz has neither grpc_service nor http_service"));
        }
        Ok(Self {
            underscores,
            failure_mode_allow: c["failure_mode_allow"].as_bool().unwrap_or(false),
            status_on_error,
            encode_raw_headers: c["encode_raw_headers"].as_bool().unwrap_or(false),
            http,
        })
    }

    /// Whether the recipe sends each header separately (`encode_raw_headers`).
    pub fn encodes_raw_headers(&self) -> bool {
        self.encode_raw_headers
    }

    /// Whether `name`, in mfa-guard's answer, reaches the upstream request (HTTP).
    pub fn to_upstream(&self, name: &str) -> bool {
        self.http.as_ref().is_some_and(|h| any_match(&h.allowed_upstream_headers, name))
    }

    /// Whether `name`, in mfa-guard's refusal, reaches the client (HTTP).
    pub fn to_client_on_refusal(&self, name: &str) -> bool {
        self.http
            .as_ref()
            .is_some_and(|h| h.allowed_client_headers.as_ref().is_none_or(|l| any_match(l, name)))
    }

    /// Whether `name`, in mfa-guard's admission, reaches the client (HTTP).
    pub fn to_client_on_success(&self, name: &str) -> bool {
        self.http.as_ref().is_some_and(|h| any_match(&h.allowed_client_headers_on_success, name))
    }

    /// With `encode_raw_headers` off, the gRPC variant as Envoy versions without
    /// the field send headers.
    pub fn with_joined_headers(mut self) -> Self {
        self.encode_raw_headers = false;
        self
    }
}

/// What Envoy does when mfa-guard cannot answer: the refusal, or `None` to let
/// the request through (`failure_mode_allow`).
fn on_error(recipe: &EnvoyRecipe, log: &Mutex<String>, why: String) -> Option<Response> {
    note(log, format!("ext_authz: {why}"));
    (!recipe.failure_mode_allow).then(|| respond(recipe.status_on_error, &[], Vec::new()))
}

/// What Envoy's HTTP/1 codec does with a request whose header names hold `_`,
/// before any filter: `Some(400)` to refuse it, else the request (headers dropped
/// under `DROP_HEADER`).
fn underscores(recipe: &EnvoyRecipe, held: &mut Held, log: &Mutex<String>) -> Option<Response> {
    match recipe.underscores {
        Underscores::Allow => None,
        Underscores::DropHeader => {
            held.headers.retain(|(n, _)| !n.contains('_'));
            None
        }
        Underscores::RejectRequest => held.headers.iter().any(|(n, _)| n.contains('_')).then(|| {
            note(log, "codec: a header name with an underscore, request rejected".into());
            respond(400, &[], b"Bad Request".to_vec())
        }),
    }
}

/// Envoy's gRPC `ext_authz` filter in front of `upstream`, asking the gRPC
/// service at `grpc`, configured by `recipe`.
pub async fn start_envoy_grpc_model(recipe: EnvoyRecipe, grpc: SocketAddr, upstream: SocketAddr) -> Proxy {
    // One HTTP/2 connection for every check, as Envoy keeps its cluster's.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
        .expect("a loopback URI")
        .connect_lazy();
    start_model("envoy gRPC model", move |mut held: Held, log| {
        let recipe = recipe.clone();
        let client = AuthorizationClient::new(channel.clone());
        async move {
            if let Some(refused) = underscores(&recipe, &mut held, &log) {
                return refused;
            }
            let answer = match check(client, &recipe, &held).await {
                Ok(answer) => answer,
                Err(why) => match on_error(&recipe, &log, why) {
                    Some(refusal) => return refusal,
                    None => return forward(&held, upstream, &[]).await,
                },
            };
            let ok = answer.status.as_ref().is_none_or(|s| s.code == 0);
            match answer.http_response {
                Some(HttpResponse::DeniedResponse(denied)) if !ok => {
                    let status = denied.status.map_or(403, |s| s.code as u16);
                    let status = if status == 0 { 403 } else { status };
                    let headers = denied
                        .headers
                        .iter()
                        .filter_map(|o| o.header.as_ref())
                        .map(|h| (h.key.clone(), header_text(h)))
                        .collect::<Vec<_>>();
                    respond(status, &headers, denied.body.into_bytes())
                }
                _ if !ok => respond(403, &[], Vec::new()),
                Some(HttpResponse::OkResponse(allowed)) => {
                    for option in &allowed.headers {
                        let Some(h) = &option.header else { continue };
                        // APPEND_IF_EXISTS_OR_ADD = 0, ADD_IF_ABSENT = 1,
                        // OVERWRITE_IF_EXISTS_OR_ADD = 2, OVERWRITE_IF_EXISTS = 3.
                        let present = held.get_all(&h.key).next().is_some();
                        match option.append_action {
                            0 => held.headers.push((h.key.to_ascii_lowercase(), header_text(h))),
                            1 if !present => held.headers.push((h.key.to_ascii_lowercase(), header_text(h))),
                            2 => held.set(&h.key, &header_text(h)),
                            3 if present => held.set(&h.key, &header_text(h)),
                            _ => {}
                        }
                    }
                    for name in &allowed.headers_to_remove {
                        held.remove(name);
                    }
                    let extra = allowed
                        .response_headers_to_add
                        .iter()
                        .filter_map(|o| o.header.as_ref())
                        .map(|h| (h.key.clone(), header_text(h)))
                        .collect::<Vec<_>>();
                    forward(&held, upstream, &extra).await
                }
                _ => forward(&held, upstream, &[]).await,
            }
        }
    })
    .await
}

fn header_text(h: &EnvoyHeader) -> String {
    if h.raw_value.is_empty() { h.value.clone() } else { String::from_utf8_lossy(&h.raw_value).into_owned() }
}

/// The `Check` call, with the request attributes Envoy sends.
async fn check(
    mut client: AuthorizationClient<tonic::transport::Channel>,
    recipe: &EnvoyRecipe,
    held: &Held,
) -> Result<CheckResponse, String> {
    let request = envoy_check_request(held, recipe.encode_raw_headers);
    client.check(request).await.map(tonic::Response::into_inner).map_err(|s| s.to_string())
}

fn envoy_check_request(held: &Held, raw: bool) -> CheckRequest {
    // Envoy includes the pseudo-headers with the others.
    let mut all: Vec<(String, String)> = vec![
        (":authority".into(), "partner.example".into()),
        (":method".into(), held.method.clone()),
        (":path".into(), held.target.clone()),
        (":scheme".into(), "http".into()),
    ];
    all.extend(held.headers.iter().filter(|(n, _)| n != "host").cloned());
    let mut http = HttpRequest {
        method: held.method.clone(),
        path: held.target.clone(),
        host: "partner.example".into(),
        scheme: "http".into(),
        protocol: "HTTP/1.1".into(),
        ..Default::default()
    };
    if raw {
        http.header_map = Some(EnvoyHeaderMap {
            headers: all
                .into_iter()
                .map(|(key, v)| EnvoyHeader { key, raw_value: v.into_bytes(), ..Default::default() })
                .collect(),
        });
    } else {
        for (name, value) in all {
            http.headers
                .entry(name)
                .and_modify(|v| {
                    v.push(',');
                    v.push_str(&value);
                })
                .or_insert(value);
        }
    }
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(AttrRequest { http: Some(http), ..Default::default() }),
            ..Default::default()
        }),
    }
}

/// Envoy's HTTP `ext_authz` filter in front of `upstream`, asking mfa-guard's
/// HTTP endpoints at `serve`, configured by `recipe` (which must be the HTTP one).
pub async fn start_envoy_http_model(
    recipe: EnvoyRecipe,
    serve: SocketAddr,
    upstream: SocketAddr,
) -> Result<Proxy, String> {
    let http = recipe.http.clone().ok_or("the Envoy recipe has no http_service")?;
    Ok(start_model("envoy HTTP model", move |mut held: Held, log| {
        let recipe = recipe.clone();
        let http = http.clone();
        async move {
            if let Some(refused) = underscores(&recipe, &mut held, &log) {
                return refused;
            }
            // Host, Method, Path, Content-Length and Authorization always go; the
            // rest as `allowed_headers` says.
            let mut ask = held.clone();
            ask.headers.retain(|(n, _)| n == "authorization" || any_match(&http.allowed_headers, n));
            let target = format!("{}{}", http.path_prefix, held.target);
            let answer = match ask.send(serve, &held.method, &target).await {
                Ok(answer) => answer,
                Err(e) => match on_error(&recipe, &log, e.to_string()) {
                    Some(refusal) => return refusal,
                    None => return forward(&held, upstream, &[]).await,
                },
            };
            if answer.status != 200 {
                let headers: Vec<(String, String)> =
                    answer.headers.iter().filter(|(n, _)| recipe.to_client_on_refusal(n)).cloned().collect();
                return respond(answer.status, &headers, answer.body);
            }
            for (name, value) in &answer.headers {
                if any_match(&http.allowed_upstream_headers, name) {
                    held.set(name, value);
                }
            }
            for list in answer.all("x-envoy-auth-headers-to-remove") {
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    held.remove(name);
                }
            }
            let extra: Vec<(String, String)> =
                answer.headers.iter().filter(|(n, _)| recipe.to_client_on_success(n)).cloned().collect();
            forward(&held, upstream, &extra).await
        }
    })
    .await)
}

/// The check request Envoy sends for a request with this method, target and
/// headers: each header separately with `raw` (`encode_raw_headers`), else
/// repeated ones joined with `,`.
pub fn check_request(method: &str, target: &str, headers: &[(&str, &str)], raw: bool) -> CheckRequest {
    let held = Held {
        method: method.to_owned(),
        target: target.to_owned(),
        headers: headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned())).collect(),
    };
    envoy_check_request(&held, raw)
}

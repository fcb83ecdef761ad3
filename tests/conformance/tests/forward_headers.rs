//! Headers a client sends to pass for mfa-guard's own, and requests of many
//! headers, through every proxy (real nginx and Caddy with the shipped recipes, the
//! Traefik and Envoy models configured from theirs) and against `mfa-guard serve`'s
//! endpoints directly.
//!
//! The upstream here is not the axum application of the other suites: it answers
//! with every header line as it received it, name spelled as sent and no limit on
//! their number, so a respelled header cannot hide in a framework's normalisation.

use std::net::SocketAddr;

use envoy_types::ext_authz::v3::pb::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use mfa_guard_conformance::cases::bearer_line;
use mfa_guard_conformance::fixture::{COMPLIANCE_HEADER, Style, Tok};
use mfa_guard_conformance::forward::{Proxy, Serve, serve_guard, start_caddy, start_nginx, start_serve};
use mfa_guard_conformance::http1::{RawResponse, request};
use mfa_guard_conformance::models::{
    EnvoyRecipe, check_request, start_envoy_grpc_model, start_envoy_http_model, start_traefik_model,
};
use mfa_guard_serve::MAX_HEADERS;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// mfa-guard's own headers spelled with `_` for `-`, in several shapes, each with
/// the value a forger would want an application to read. CGI-style gateways
/// (WSGI, Rack, PHP) read each as the `-` spelling.
const RESPELLED: [(&str, &str); 8] = [
    ("X_Mfa_Guard_Roles", "AdminAgent"),
    ("X-Mfa-Guard_Mfa", "true"),
    ("x_mfa_guard_kind", "app"),
    ("X_MFA_GUARD_OID", "00000000-0000-0000-0000-000000000000"),
    ("X-MFA_GUARD-TID", "forged-tenant"),
    ("x-mfa-guard-roles_", "AdminAgent"),
    // A future identity header: the whole `X-Mfa-Guard-` family is covered.
    ("X_Mfa_Guard_Clearance", "top-secret"),
    // The compliance header of the rollout configuration.
    ("Mfa_Compliance", "satisfied"),
];

/// Whether `name` reads as one of mfa-guard's headers to a CGI-style gateway.
fn in_family(name: &str) -> bool {
    let read = name.to_ascii_lowercase().replace('_', "-");
    read.starts_with("x-mfa-guard-") || read == COMPLIANCE_HEADER
}

fn line(name: &str, value: &str) -> Vec<u8> {
    format!("{name}: {value}").into_bytes()
}

/// An upstream answering `200` with `{"headers": [[name, value], ...]}`: every
/// header line it received, in order, spelled as received.
async fn start_raw_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 4 << 20 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let lines = text.split("\r\n\r\n").next().unwrap_or_default().split("\r\n").skip(1);
                let headers: Vec<Value> =
                    lines.filter_map(|l| l.split_once(':')).map(|(n, v)| json!([n, v.trim()])).collect();
                let body = json!({ "upstream": true, "headers": headers }).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// The header lines the raw upstream received, or `None` when the answer is not
/// the upstream's.
fn received(res: &RawResponse) -> Option<Vec<(String, String)>> {
    let body: Value = serde_json::from_slice(&res.body).ok()?;
    if body["upstream"] != true {
        return None;
    }
    Some(
        body["headers"]
            .as_array()?
            .iter()
            .filter_map(|h| Some((h[0].as_str()?.to_owned(), h[1].as_str()?.to_owned())))
            .collect(),
    )
}

/// What a proxy does with a request carrying a respelled header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Drops the header itself and lets the request through (nginx: a name with
    /// `_` is invalid to it by default).
    Dropped,
    /// Passes it to mfa-guard, which refuses the request: `400 invalid_request`
    /// reaches the client (Caddy, Traefik).
    RefusedByServe,
    /// Refuses the request itself, `400` (Envoy, `headers_with_underscores_action:
    /// REJECT_REQUEST` in the recipes).
    RefusedByProxy,
}

/// The proxies under test, each in front of `upstream` asking `serve`; `None` for
/// a real proxy that is not installed (outside CI).
async fn proxies(serve: Serve, upstream: SocketAddr) -> Vec<(&'static str, Proxy, Outcome)> {
    let mut out = Vec::new();
    if let Some(p) = start_nginx(serve.http, upstream).await.unwrap_or_else(|e| panic!("{e}")) {
        out.push(("nginx", p, Outcome::Dropped));
    }
    if let Some(p) = start_caddy(serve.http, upstream).await.unwrap_or_else(|e| panic!("{e}")) {
        out.push(("caddy", p, Outcome::RefusedByServe));
    }
    let traefik = start_traefik_model(serve.http, upstream).await.unwrap().expect("a model always runs");
    out.push(("traefik model", traefik, Outcome::RefusedByServe));
    let grpc = EnvoyRecipe::shipped("envoy.yaml").unwrap();
    let http = EnvoyRecipe::shipped("envoy-http.yaml").unwrap();
    out.push((
        "envoy gRPC model",
        start_envoy_grpc_model(grpc, serve.grpc, upstream).await,
        Outcome::RefusedByProxy,
    ));
    let http = start_envoy_http_model(http, serve.http, upstream).await.unwrap();
    out.push(("envoy HTTP model", http, Outcome::RefusedByProxy));
    out
}

/// The failures of one answer: a respelled header or a forged value at the
/// upstream, or an answer other than `expected`.
fn judge(what: &str, res: &RawResponse, expected: Outcome, forged: &[(&str, &str)]) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |why: String| failures.push(format!("{what}: {why}"));
    if let Some(headers) = received(res) {
        for (name, value) in headers.iter().filter(|(n, _)| in_family(n)) {
            if name.contains('_') {
                fail(format!("{name}: {value} reached the upstream"));
            }
            let exact = |n: &str| name.eq_ignore_ascii_case(n);
            if exact("x-mfa-guard-roles") || exact("x-mfa-guard-clearance") {
                fail(format!("{name}: {value} reached the upstream for a caller without roles"));
            }
            if forged.iter().any(|(_, v)| v == value) && !(exact("x-mfa-guard-mfa") && value == "true") {
                fail(format!("the forged value of {name} ({value}) reached the upstream"));
            }
        }
    }
    match expected {
        Outcome::Dropped if res.status != 200 || received(res).is_none() => {
            fail(format!("{} instead of the upstream's 200", res.status_line))
        }
        Outcome::RefusedByServe if res.status != 400 || res.code().as_deref() != Some("invalid_request") => {
            fail(format!("{} {:?} instead of mfa-guard's 400 invalid_request", res.status_line, res.code()))
        }
        Outcome::RefusedByProxy if res.status != 400 || received(res).is_some() => {
            fail(format!("{} instead of the proxy's 400", res.status_line))
        }
        _ => {}
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_respelled_identity_or_compliance_header_never_reaches_the_upstream_through_any_proxy() {
    let upstream = start_raw_upstream().await;
    let serve = start_serve(serve_guard(Style::Rollout)).await;
    // A user with MFA and no role, on a route any signed-in user may call: what
    // the forger lacks is roles.
    let token = bearer_line(Tok::NoRoleMfa);
    let mut failures = Vec::new();
    for (name, proxy, outcome) in proxies(serve, upstream).await {
        // Each shape alone, then all of them together.
        let mut sets: Vec<Vec<(&str, &str)>> = RESPELLED.iter().map(|h| vec![*h]).collect();
        sets.push(RESPELLED.to_vec());
        for set in sets {
            let mut lines = vec![token.clone()];
            lines.extend(set.iter().map(|(n, v)| line(n, v)));
            let what = format!("[{name}] {}", set.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "));
            match request(proxy.addr, "GET", "/overview", &lines).await {
                Ok(res) => failures.extend(judge(&what, &res, outcome, &set)),
                Err(e) => failures.push(format!("{what}: no answer: {e}")),
            }
        }
        if !failures.is_empty() {
            failures.push(format!("{name} log:\n{}", proxy.log()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_own_compliance_header_never_reaches_the_upstream_through_any_proxy() {
    let upstream = start_raw_upstream().await;
    let serve = start_serve(serve_guard(Style::Rollout)).await;
    let mut failures = Vec::new();
    for (name, proxy, _) in proxies(serve, upstream).await {
        for spelling in ["Mfa-Compliance", "MFA-COMPLIANCE"] {
            for (who, token) in [("a user", Some(Tok::NoRoleMfa)), ("anonymous", None)] {
                let mut lines = vec![line(spelling, "forged")];
                lines.extend(token.map(bearer_line));
                let path = if token.is_some() { "/overview" } else { "/health" };
                let what = format!("[{name}] {who}, {spelling}: forged");
                let res = match request(proxy.addr, "GET", path, &lines).await {
                    Ok(res) => res,
                    Err(e) => {
                        failures.push(format!("{what}: no answer: {e}"));
                        continue;
                    }
                };
                match received(&res) {
                    None => {
                        failures.push(format!("{what}: {} instead of the upstream's 200", res.status_line))
                    }
                    Some(headers) => {
                        if let Some((n, v)) = headers.iter().find(|(_, v)| v == "forged") {
                            failures.push(format!("{what}: {n}: {v} reached the upstream"));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The answer of each of serve's HTTP endpoints to a request for `/overview` with
/// `extra` header lines: (endpoint, response).
async fn ask_every_http_endpoint(serve: Serve, extra: &[Vec<u8>]) -> Vec<(&'static str, RawResponse)> {
    let token = bearer_line(Tok::NoRoleMfa);
    let mut answers = Vec::new();
    for (endpoint, method_header, uri_header, target) in [
        ("/auth", "X-Forwarded-Method", "X-Forwarded-Uri", "/auth"),
        ("/nginx/auth", "X-Original-Method", "X-Original-URI", "/nginx/auth"),
        ("/nginx/refusal", "X-Original-Method", "X-Original-URI", "/nginx/refusal"),
        ("/envoy/…", "", "", "/envoy/overview"),
    ] {
        let mut lines = vec![token.clone()];
        if !method_header.is_empty() {
            lines.push(line(method_header, "GET"));
            lines.push(line(uri_header, "/overview"));
        }
        lines.extend(extra.iter().cloned());
        let res = request(serve.http, "GET", target, &lines).await.expect("an answer");
        answers.push((endpoint, res));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_of_serve_refuses_a_respelled_header_with_invalid_request() {
    let serve = start_serve(serve_guard(Style::Rollout)).await;
    let mut grpc = AuthorizationClient::connect(format!("http://{}", serve.grpc)).await.unwrap();
    let token = format!("Bearer {}", Tok::NoRoleMfa.mint());

    // Controls: without a respelled header, or with mfa-guard's own spelling in
    // any case (the proxies' to replace), every endpoint admits the caller.
    let exact = [line("X-Mfa-Guard-Roles", "forged"), line("MFA-COMPLIANCE", "forged")];
    for extra in [&[][..], &exact[..]] {
        for (endpoint, res) in ask_every_http_endpoint(serve, extra).await {
            let expected = if endpoint == "/nginx/refusal" { 400 } else { 200 };
            assert_eq!(res.status, expected, "{endpoint} with {extra:?}: {}", res.status_line);
        }
    }

    for (name, value) in RESPELLED {
        for (endpoint, res) in ask_every_http_endpoint(serve, &[line(name, value)]).await {
            let what = format!("{endpoint} with {name}");
            if endpoint == "/nginx/auth" {
                // nginx understands only 401 and 403: a bare 401, then /nginx/refusal.
                assert_eq!(res.status, 401, "{what}: {}", res.status_line);
                continue;
            }
            assert_eq!(res.status, 400, "{what}: {}", res.status_line);
            assert_eq!(res.code().as_deref(), Some("invalid_request"), "{what}");
            let www = res.header("www-authenticate").unwrap_or_default();
            assert!(www.contains("another spelling"), "{what}: {www}");
            let body = String::from_utf8_lossy(&res.body);
            assert!(body.contains("another spelling"), "{what}: {body}");
            for text in [www, &body] {
                assert!(!text.contains(value), "{what}: the value is echoed: {text}");
                assert!(!text.contains(name), "{what}: the name is echoed: {text}");
            }
        }
        for raw in [true, false] {
            let headers = [("authorization", token.as_str()), (name, value)];
            let answer =
                grpc.check(check_request("GET", "/overview", &headers, raw)).await.unwrap().into_inner();
            assert_eq!(answer.status.clone().unwrap_or_default().code, 3, "gRPC with {name} (raw {raw})");
            let Some(HttpResponse::DeniedResponse(denied)) = answer.http_response else {
                panic!("gRPC with {name} (raw {raw}): admitted")
            };
            assert_eq!(denied.status.map(|s| s.code), Some(400), "gRPC with {name}");
            let body: Value = serde_json::from_str(&denied.body).unwrap();
            assert_eq!(body["code"], "invalid_request", "gRPC with {name}");
        }
    }
    // The gRPC control: mfa-guard's spelling is admitted.
    let headers = [("authorization", token.as_str()), ("x-mfa-guard-roles", "forged")];
    let answer = grpc.check(check_request("GET", "/overview", &headers, true)).await.unwrap().into_inner();
    assert_eq!(answer.status.unwrap_or_default().code, 0, "gRPC with mfa-guard's own spelling");
}

/// `n` distinct filler header lines.
fn fillers(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("X-Filler-{i}: {i}").into_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_many_headers_gets_its_decision_through_nginx_never_a_500() {
    let upstream = start_raw_upstream().await;
    let serve = start_serve(serve_guard(Style::PartnerCenter)).await;
    let Some(nginx) = start_nginx(serve.http, upstream).await.unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    // 997 fillers with Host, Connection and Authorization are 1,000 header lines:
    // the most nginx 1.22 accepts from a client with its defaults (it answers its
    // own 400 beyond).
    for n in [100, 200, 500, 997] {
        let admin = [vec![bearer_line(Tok::AdminMfa)], fillers(n)].concat();
        let res = request(nginx.addr, "GET", "/commerce/customers", &admin).await.expect("an answer");
        let seen = received(&res).map(|h| h.iter().filter(|(n, _)| n.starts_with("X-Filler-")).count());
        assert_eq!(
            (res.status, seen),
            (200, Some(n)),
            "{n} headers, admitted: {}\n{}",
            res.status_line,
            nginx.log()
        );
        let no_mfa = [vec![bearer_line(Tok::AdminNoMfa)], fillers(n)].concat();
        let res = request(nginx.addr, "GET", "/commerce/customers", &no_mfa).await.expect("an answer");
        assert_eq!(res.status_line, "HTTP/1.1 401 Unauthorized - MFA required", "{n} headers, refused");
        assert_eq!(res.code().as_deref(), Some("mfa_required"), "{n} headers, refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_decides_on_up_to_max_headers_lines_and_answers_431_beyond() {
    let serve = start_serve(serve_guard(Style::PartnerCenter)).await;
    // Host and Connection (the client adds them), Authorization and the two
    // X-Forwarded headers, then fillers up to the bound.
    let base = vec![
        bearer_line(Tok::NoRoleMfa),
        line("X-Forwarded-Method", "GET"),
        line("X-Forwarded-Uri", "/overview"),
    ];
    let at_bound = [base.clone(), fillers(MAX_HEADERS - 5)].concat();
    let res = request(serve.http, "GET", "/auth", &at_bound).await.expect("an answer");
    assert_eq!(res.status, 200, "{MAX_HEADERS} header lines: {}", res.status_line);
    let beyond = [base, fillers(MAX_HEADERS - 4)].concat();
    let res =
        request(serve.http, "GET", "/auth", &beyond).await.expect("an answer, not a dropped connection");
    assert_eq!(
        res.status_line,
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{} header lines",
        MAX_HEADERS + 1
    );
}

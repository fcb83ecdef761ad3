//! Through a real actix-web server: the HTTP/1.1 status line on the wire, and
//! checks that must wait for keys fetched over HTTP (the boxed, pending path).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use common::{DEV, guard, user_mfa, user_no_mfa};
use mfa_guard_actix::{MfaMiddleware, Principal};
use mfa_guard_core::{Guard, KeySource, Policy};
use mfa_guard_dev::DEV_AUDIENCE;

async fn whoami(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.oid().unwrap_or("?").to_owned())
}

/// Serves `guard` in front of `whoami` on every path; returns the address.
fn serve(guard: Guard) -> (SocketAddr, ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = HttpServer::new(move || {
        App::new().wrap(MfaMiddleware::new(guard.clone())).default_service(web::to(whoami))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

/// Serves the development issuer's JWKS at `/jwks`; returns the address.
fn serve_jwks() -> (SocketAddr, ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = HttpServer::new(|| {
        App::new().route(
            "/jwks",
            web::get().to(|| async {
                HttpResponse::Ok().content_type("application/json").body(DEV.jwks_json().to_owned())
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

/// One HTTP/1.1 request over a plain socket, on a blocking thread so the servers
/// on this runtime keep running; returns the raw response head and body.
async fn raw_get(addr: SocketAddr, path: &str, token: Option<String>) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    })
    .await
    .expect("client thread")
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[actix_web::test]
async fn mfa_refusal_sends_the_partner_center_status_line_on_http1() {
    let (addr, server) = serve(guard());
    let response = raw_get(addr, "/commerce/customers", Some(user_no_mfa())).await;
    assert!(response.starts_with("HTTP/1.1 401 Unauthorized - MFA required\r\n"), "{response}");
    assert_eq!(header(&response, "www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    assert_eq!(header(&response, "content-type"), Some("application/problem+json"));
    assert!(response.contains(r#""code":"mfa_required""#), "{response}");

    let response = raw_get(addr, "/commerce/customers", Some(user_mfa())).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"), "{response}");
    server.stop(false).await;
}

#[actix_web::test]
async fn check_that_waits_for_remote_keys_admits_and_then_refuses_like_a_ready_one() {
    let (jwks, jwks_server) = serve_jwks();
    let guard = Guard::builder()
        .verifier(|v| {
            v.issuer(DEV.issuer())
                .keys(KeySource::jwks_url(format!("http://{jwks}/jwks")))
                .audience(DEV_AUDIENCE)
        })
        .policy(Policy::partner_center())
        .build()
        .expect("guard");
    let (addr, server) = serve(guard);
    // Keys are not loaded yet: this check waits for the fetch, then calls the handler.
    let response = raw_get(addr, "/commerce/customers", Some(user_mfa())).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"), "{response}");
    let response = raw_get(addr, "/commerce/customers", Some(user_no_mfa())).await;
    assert!(response.starts_with("HTTP/1.1 401 Unauthorized - MFA required\r\n"), "{response}");
    server.stop(false).await;
    jwks_server.stop(false).await;
}

#[actix_web::test]
async fn check_that_cannot_get_keys_answers_503_key_source_unavailable() {
    // A port nobody listens on: bind one, learn it, close it.
    let closed = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
    let guard = Guard::builder()
        .verifier(|v| {
            v.issuer(DEV.issuer())
                .keys(KeySource::jwks_url(format!("http://{closed}/jwks")))
                .audience(DEV_AUDIENCE)
        })
        .policy(Policy::partner_center())
        .build()
        .expect("guard");
    let (addr, server) = serve(guard);
    let response = raw_get(addr, "/commerce/customers", Some(user_mfa())).await;
    assert!(response.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{response}");
    assert!(header(&response, "retry-after").is_some(), "{response}");
    assert_eq!(header(&response, "www-authenticate"), None);
    assert!(response.contains(r#""code":"key_source_unavailable""#), "{response}");
    server.stop(false).await;
}

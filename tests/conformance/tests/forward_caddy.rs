//! Caddy (Debian's `caddy`) in front of an application, asking `mfa-guard serve`
//! through the shipped `deploy/caddy/Caddyfile`: what the client sees (Go writes
//! the standard reason phrase, so the MFA refusal reads `401 Unauthorized`; its
//! `WWW-Authenticate` and body code say `mfa_required`) and what the upstream
//! receives, for every case of the conformance table; the path differential; and
//! mfa-guard down.

use mfa_guard_conformance::fixture::{Style, Tok};
use mfa_guard_conformance::forward::{
    ComplianceTo, StatusLine, differential, forged_control_headers, red_team_requests, run_table,
    serve_guard, start_caddy, start_serve, start_upstream,
};
use mfa_guard_conformance::http1::request;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fragment_requests_of_the_red_team_report_are_refused_through_caddy() {
    match red_team_requests("caddy", |serve, upstream| start_caddy(serve.http, upstream)).await {
        Ok(Some(failures)) => assert!(failures.is_empty(), "{}", failures.join("\n")),
        Ok(None) => {}
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_reaches_the_client_as_mfa_guard_answers_it_through_caddy() {
    let upstream = start_upstream().await;
    let mut failures = Vec::new();
    for style in Style::ALL {
        let serve = start_serve(serve_guard(style)).await;
        let Some(caddy) = start_caddy(serve.http, upstream).await.unwrap_or_else(|e| panic!("{e}")) else {
            return;
        };
        let found = run_table("caddy", caddy.addr, style, StatusLine::Standard, ComplianceTo::Client).await;
        if !found.is_empty() {
            failures.push(format!("{}\ncaddy log:\n{}", found.join("\n"), caddy.log()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_generated_path_reaches_a_protected_handler_under_a_weaker_rule_through_caddy() {
    match differential("caddy", |serve, upstream| start_caddy(serve.http, upstream)).await {
        Ok(Some(summary)) => eprintln!("{summary}"),
        Ok(None) => {}
        Err(failures) => panic!("{failures}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_name_the_original_request_through_caddy() {
    let upstream = start_upstream().await;
    let serve = start_serve(serve_guard(Style::PartnerCenter)).await;
    let Some(proxy) = start_caddy(serve.http, upstream).await.unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let failures = forged_control_headers("caddy", proxy.addr).await;
    assert!(failures.is_empty(), "{}\ncaddy log:\n{}", failures.join("\n"), proxy.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mfa_guard_unreachable_caddy_lets_nothing_through() {
    let upstream = start_upstream().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let Some(caddy) = start_caddy(closed, upstream).await.unwrap_or_else(|e| panic!("{e}")) else { return };
    let mfa = format!("Authorization: Bearer {}", Tok::AdminMfa.mint()).into_bytes();
    for path in ["/health", "/overview", "/commerce/customers"] {
        let res = request(caddy.addr, "GET", path, std::slice::from_ref(&mfa)).await.expect("an answer");
        assert!(res.status >= 500, "{path} answered {} with mfa-guard down", res.status_line);
        assert!(!String::from_utf8_lossy(&res.body).contains("\"area\""), "{path} reached the upstream");
    }
}
